package pools

import (
	"net/netip"
	"testing"
)

func TestMemberAt(t *testing.T) {
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	p := &Pool{Members: []Member{{Addr: a, Port: 80}, {Addr: b}}}
	for _, tc := range []struct {
		addr    netip.Addr
		port    uint16
		anyPort bool
		want    *Member
	}{
		{a, 80, false, &p.Members[0]},
		{a, 81, false, nil},
		{a, 81, true, &p.Members[0]}, // a DSR flow keeps the virtual's port
		{b, 8080, false, &p.Members[1]},
		{netip.MustParseAddr("::ffff:10.0.0.2"), 1, false, nil},
		{netip.MustParseAddr("10.0.0.3"), 80, true, nil},
	} {
		if got := p.MemberAt(tc.addr, tc.port, tc.anyPort); got != tc.want {
			t.Errorf("MemberAt(%v, %d, %v) = %v, want %v", tc.addr, tc.port, tc.anyPort, got, tc.want)
		}
	}
	if (*Pool)(nil).MemberAt(a, 80, false) != nil {
		t.Error("nil pool: a member")
	}
}
