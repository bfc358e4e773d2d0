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

// /cfg/l3/vrrp shows the boot config's ha section in Alteon's words and
// refuses to change it, naming the boot key that does.
func TestAlteonCfgVRRP(t *testing.T) {
	s, _ := newTestStore(t, "")
	if out := altExec(t, s.NewSession(), "/c/l3/vrrp/cur"); out != "/c/l3/vrrp\n\toff\n" {
		t.Errorf("standalone /c/l3/vrrp/cur: %q", out)
	}
	s.Dialect.src.Failover = failoverFixed{status.FailoverStatus{Unit: "lbx1", State: "active", VRID: 51, Priority: 200,
		Interval: 100 * time.Millisecond, Preempt: true, Ports: []string{"lbx-ext", "lbx-int"},
		Addrs: []netip.Addr{netip.MustParseAddr("198.18.1.1"), netip.MustParseAddr("198.18.1.100")}, FailsafeVLANs: []string{"lbx-int"},
		GatewayPool: "/Common/gw", GatewayMinUp: 1, Watchdog: 2 * time.Second}}
	want := "/c/l3/vrrp\n\ton\n/c/l3/vrrp/vr 1\n\tena\n\tvrid 51\n\taddr 198.18.1.1\n\taddr 198.18.1.100\n\tif lbx-ext lbx-int\n\tprio 200\n\tadver 10\n\tpreem ena\n\tshare dis\n" +
		"/c/l3/vrrp/vr 1/track\n\tifs ena lbx-int\n\treals ena /Common/gw 1\n\twdog 2s\n"
	if out := altExec(t, s.NewSession(), "/c/l3/vrrp/cur"); out != want {
		t.Errorf("/c/l3/vrrp/cur:\n%q\nwant\n%q", out, want)
	}
	for cmd, want := range map[string]string{
		"/c/l3/vrrp/vr 1/prio":        "Current priority: 200\n",
		"/c/l3/vrrp/vr 1/preem":       "Current preemption: enabled, delay 0s\n",
		"/c/l3/vrrp/vr 1/track/ifs":   "Current tracked interfaces: lbx-int\n",
		"/c/l3/vrrp/vr 1/track/reals": "Current tracked real servers: pool /Common/gw, at least 1 up\n",
		"/c/l3/vrrp/vr 1/adver":       "Current advertisement interval: 100ms (10 centiseconds)\n",
		"/c/l3/vrrp/vr 1/track/wdog":  "Current dataplane watchdog: 2s\n",
		"/c/l3/vrrp/vr 1/if":          "Current interfaces: lbx-ext lbx-int\n",
		"/c/l3/vrrp/vr 1/addr":        "Current addresses: [198.18.1.1 198.18.1.100]\n",
		"/c/l3/vrrp/vr 1/track/cur":   want,
		"/c/l3/vrrp/vr 1/share":       "Current sharing: disabled\n",
		"/c/l3/vrrp/vr 1/vrid":        "Current virtual router ID: 51\n",
		"/c/l3/vrrp/on":               "Current status: VRRP on, unit lbx1\n",
	} {
		if out := altExec(t, s.NewSession(), cmd); out != want {
			t.Errorf("%s: %q, want %q", cmd, out, want)
		}
	}
	for cmd, want := range map[string]string{
		"/c/l3/vrrp/vr 1/prio 90":           "/c/l3/vrrp/vr 1/prio: set in the boot config, not here: ha.priority is device-local and read at start (lbx run --ha.priority",
		"/c/l3/vrrp/vr 1/track/ifs lbx-ext": "ha.failsafe_vlans is device-local",
		"/c/l3/vrrp/vr 2":                   "vr 2: lbx has one virtual router, 1 (traffic-group-1)",
	} {
		if _, err := s.NewSession().Exec(cmd); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", cmd, err, want)
		}
	}
}
