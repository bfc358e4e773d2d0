package flowtable

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"lbx/pools"
)

func TestFlowTableConnections(t *testing.T) {
	cl, vp, mem, sn := addr4(cIP), addr4(vIP), addr4(mIP), addr4(snIP)
	ap := netip.AddrPortFrom
	// Two flows from the client without SNAT, one with, one to a second
	// member; idle 3 s, 2 s, 1 s, 0 s at the listing.
	conns := []Connection{
		{CSClient: ap(cl, 40000), CSServer: ap(vp, 80), SSClient: ap(cl, 40000), SSServer: ap(mem, 8080), Protocol: protoTCP, Virtual: "vs", Idle: 3 * time.Second},
		{CSClient: ap(cl, 40001), CSServer: ap(vp, 80), SSClient: ap(cl, 40001), SSServer: ap(mem, 8080), Protocol: protoTCP, Virtual: "vs", Idle: 2 * time.Second},
		{CSClient: ap(cl, 40002), CSServer: ap(vp, 80), SSClient: ap(sn, 40002), SSServer: ap(mem, 8080), Protocol: protoTCP, Virtual: "vs", Idle: time.Second},
		{CSClient: ap(cl, 40003), CSServer: ap(vp, 80), SSClient: ap(cl, 40003), SSServer: ap(addr4(mIP+1), 8080), Protocol: protoTCP, Virtual: "vs", Idle: 0},
	}
	setup := func(t *testing.T) (*Table, []*pools.MemberStats) {
		ft := newTestTable(1024)
		var ms []*pools.MemberStats
		for i, c := range conns {
			nf := tcpNew(c.CSClient.Port(), 0)
			nf.Member = u32(c.SSServer.Addr())
			if c.SSClient.Addr() == sn {
				nf.SNAT = snIP
			}
			nf.MS = new(pools.MemberStats)
			ms = append(ms, nf.MS)
			if _, r := ft.Insert(nf, at(ft, time.Duration(i)*time.Second), flags(tcpSYN)); r != OK {
				t.Fatalf("insert %d: %v", i, r)
			}
		}
		return ft, ms
	}
	now := testTime.Add(3 * time.Second)
	tests := []struct {
		name string
		sel  ConnFilter
		want []int // indexes into conns
	}{
		{name: "all", want: []int{0, 1, 2, 3}},
		{name: "cs-client-addr", sel: ConnFilter{CSClientAddr: cl}, want: []int{0, 1, 2, 3}},
		{name: "cs-client-port", sel: ConnFilter{CSClientPort: 40001}, want: []int{1}},
		{name: "cs-server-addr elsewhere", sel: ConnFilter{CSServerAddr: netip.MustParseAddr("192.0.2.1")}, want: nil},
		{name: "ss-server-addr", sel: ConnFilter{SSServerAddr: addr4(mIP + 1)}, want: []int{3}},
		{name: "ss-client-addr (snat)", sel: ConnFilter{SSClientAddr: sn}, want: []int{2}},
		{name: "two filters", sel: ConnFilter{SSServerAddr: mem, CSClientPort: 40000}, want: []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ft, ms := setup(t)
			var want []Connection
			for _, i := range tt.want {
				want = append(want, conns[i])
			}
			if diff := cmp.Diff(want, ft.Connections(tt.sel, now), cmpopts.EquateComparable(netip.AddrPort{})); diff != "" {
				t.Errorf("Connections (-want +got):\n%s", diff)
			}
			if n := ft.DeleteConnections(tt.sel); n != len(tt.want) {
				t.Errorf("DeleteConnections removed %d, want %d", n, len(tt.want))
			}
			if got := ft.Len(); got != len(conns)-len(tt.want) {
				t.Errorf("Len after delete = %d, want %d", got, len(conns)-len(tt.want))
			}
			for _, i := range tt.want {
				if c := ms[i].CurConns.Load(); c != 0 {
					t.Errorf("member stats of deleted flow %d: current connections %d, want 0", i, c)
				}
				if _, ok := ft.Lookup(Key{Src: cIP, Dst: vIP, Sport: conns[i].CSClient.Port(), Dport: 80, Proto: protoTCP}, at(ft, 3*time.Second), flags(tcpACK)); ok {
					t.Errorf("deleted flow %d still found", i)
				}
			}
			if rest := ft.Connections(ConnFilter{}, now); len(rest) != len(conns)-len(tt.want) {
				t.Errorf("%d connections left, want %d", len(rest), len(conns)-len(tt.want))
			}
		})
	}
	t.Run("expired flows are not listed", func(t *testing.T) {
		ft, _ := setup(t)
		if got := ft.Connections(ConnFilter{}, testTime.Add(time.Hour)); len(got) != 0 {
			t.Errorf("an hour later %d connections listed, want none (all past the embryonic timeout)", len(got))
		}
	})
}
