package alteon

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"lbx/ctrlplane/status"
)

// failoverFixed is a unit's failover state as package ha reports it (the
// appliance test TestHAPairFailover runs the real one).
type failoverFixed struct{ st status.FailoverStatus }

func (f failoverFixed) FailoverStatus() status.FailoverStatus { return f.st }
func (f failoverFixed) FailoverAction(string) error           { return nil }

func TestAlteonInfoVRRP(t *testing.T) {
	s, _ := newTestStore(t, "")
	ss := s.NewSession()
	if out := altExec(t, ss, "/info/l3/vrrp"); !strings.Contains(out, "none (no ha section in the boot config; standalone)") {
		t.Errorf("standalone /info/l3/vrrp:\n%s", out)
	}
	s.Dialect.src.Failover = failoverFixed{status.FailoverStatus{Unit: "lbx2", State: "standby", VRID: 51, Priority: 100,
		Interval: 100 * time.Millisecond, MasterDown: 360937500, Peer: netip.MustParseAddr("198.18.1.2"), PeerPriority: 200}}
	want := "VRRP information:\n  1: vrid 51, /Common/traffic-group-1, prio 100, advertisement 100ms, master down 360.9375ms, BACKUP\n     master 198.18.1.2, prio 200\n"
	if out := altExec(t, s.NewSession(), "/info/l3/vrrp"); out != want {
		t.Errorf("/info/l3/vrrp:\n%q\nwant\n%q", out, want)
	}
}

func TestAlteonCfgVRRP(t *testing.T) {
	s, _ := newTestStore(t, "")
	if out := altExec(t, s.NewSession(), "/c/l3/vrrp/cur"); !strings.Contains(out, "\toff\n") {
		t.Errorf("standalone /c/l3/vrrp/cur:\n%s", out)
	}
	s.Dialect.src.Failover = failoverFixed{status.FailoverStatus{Unit: "lbx1", State: "active", VRID: 51, Priority: 200, Interval: 100 * time.Millisecond}}
	out := altExec(t, s.NewSession(), "/c/l3/vrrp/cur")
	for _, want := range []string{"/c/l3/vrrp\n\ton\n", "/c/l3/vrrp/vr 1\n\tena\n\tvrid 51\n\tprio 200\n\tadver 10\n", "boot config's ha section"} {
		if !strings.Contains(out, want) {
			t.Errorf("/c/l3/vrrp/cur: no %q in\n%s", want, out)
		}
	}
}
