package status

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lbx/ctrlplane/compile"
	"lbx/ctrlplane/config"
	"lbx/ctrlplane/ctrltest"
	"lbx/monitors"
	"lbx/pools"
)

// fakeHealth answers for the members it knows.
type fakeHealth map[string]monitors.MemberStatus

func (h fakeHealth) MemberStatus(pool, member string) (monitors.MemberStatus, bool) {
	st, ok := h[pool+" "+member]
	return st, ok
}
func (h fakeHealth) NodeStatus(string) (monitors.MemberStatus, bool) {
	return monitors.MemberStatus{}, false
}
func (h fakeHealth) InstanceHealth(owner, target, monitor string) (string, string, bool) {
	return "", "", false
}
func (h fakeHealth) Trace(string, string) []monitors.Result { return nil }

// rig is a configuration of two pools behind two virtuals, compiled and
// installed on a fake dataplane.
func rig(t *testing.T, monitored bool) (*config.Config, *ctrltest.Dataplane) {
	t.Helper()
	c := config.NewConfig()
	for i, a := range []string{"10.0.0.1", "10.0.0.2"} {
		n := config.NewNode("/Common/" + a)
		n.Address = netip.MustParseAddr(a)
		c.Nodes[n.Name] = n
		p := config.NewPool("/Common/p" + string(rune('1'+i)))
		p.Members = []config.Member{config.NewMember(n.Name, 80)}
		if monitored {
			p.Monitor = config.MonitorRule{Names: []string{"/Common/tcp"}}
		}
		c.Pools[p.Name] = p
		v := config.NewVirtual("/Common/vs" + string(rune('1'+i)))
		v.Destination = netip.AddrPortFrom(netip.MustParseAddr("198.18.1.10"+string(rune('0'+i))), 80)
		v.Pool = p.Name
		c.Virtuals[v.Name] = v
	}
	c.ApplyDefaults()
	prog, err := compile.Compile(c, ctrltest.Net)
	if err != nil {
		t.Fatal(err)
	}
	dp := &ctrltest.Dataplane{}
	if err := dp.Install(prog); err != nil {
		t.Fatal(err)
	}
	return c, dp
}

// A virtual server's availability follows its pool's: available with a
// member up, offline with all down, unknown when nothing monitors it.
func TestVirtualFollowsPool(t *testing.T) {
	c, dp := rig(t, true)
	dp.MemberHealth("/Common/p1", "/Common/10.0.0.1:80").Set(pools.HealthUp, 0)
	dp.MemberHealth("/Common/p2", "/Common/10.0.0.2:80").Set(pools.HealthDown, 0)
	h := fakeHealth{
		"/Common/p1 /Common/10.0.0.1:80": {State: monitors.Up},
		"/Common/p2 /Common/10.0.0.2:80": {State: monitors.Down, Reason: "connection refused"},
	}
	dp.VirtualStats("/Common/vs1").TotalConns.Add(5)
	v := New(c, Sources{Program: dp.Program, Runtime: dp, Health: h})
	tests := []struct {
		name         string
		availability Availability
		reason       string
		total        uint64
	}{
		{"/Common/vs1", Available, ReasonVirtualAvailable, 5},
		{"/Common/vs2", Offline, ReasonMembersDown, 0},
	}
	for _, tt := range tests {
		st, ok := v.Virtual(tt.name)
		if !ok || st.Availability != tt.availability || st.Reason != tt.reason || st.Traffic.TotalConns != tt.total {
			t.Errorf("%s: %+v, want %v %q total %d", tt.name, st, tt.availability, tt.reason, tt.total)
		}
	}
	p, _ := v.Pool("/Common/p2")
	want := []Member{{Name: "/Common/10.0.0.2:80", Node: "/Common/10.0.0.2", Address: netip.MustParseAddr("10.0.0.2"), Port: 80, Status: "down", Reason: "connection refused"}}
	if diff := cmp.Diff(want, p.Members, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("pool p2 members (-want +got):\n%s", diff)
	}
	if p.Availability != Offline || p.Reason != "0 of 1 members are up" {
		t.Errorf("pool p2: %v %q", p.Availability, p.Reason)
	}

	// Unmonitored: unknown, as BIG-IP's blue square; forced offline wins.
	c, dp = rig(t, false)
	c.Pools["/Common/p1"].Members[0].State = config.StateUserDown
	v = New(c, Sources{Program: dp.Program, Runtime: dp})
	if st, _ := v.Virtual("/Common/vs2"); st.Availability != Unknown || st.Reason != ReasonUnmonitored {
		t.Errorf("unmonitored vs2: %+v", st)
	}
	if m, _ := v.Member("/Common/p1", "/Common/10.0.0.1:80"); m.Status != "offline" || m.Up || m.Reason != "forced offline by the operator; unknown" {
		t.Errorf("forced offline member: %+v", m)
	}
	delete(c.Pools, "/Common/p2")
	if st, _ := v.Virtual("/Common/vs2"); st.Availability != Offline || st.Reason != ReasonNoPool {
		t.Errorf("vs2 without its pool: %+v", st)
	}
	if _, ok := v.Virtual("/Common/nope"); ok {
		t.Error("a missing virtual has a status")
	}
	if n, _ := v.Node("/Common/10.0.0.1"); n.Members != 1 || n.State != "enabled" || n.Availability != Unknown {
		t.Errorf("node: %+v", n)
	}
}
