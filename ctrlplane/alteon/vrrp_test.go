package alteon

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"lbx/ctrlplane/status"
)

// failoverFixed is a unit's failover state as package ha reports it (the
// appliance test TestHAPairFailover runs the real one); SetVRRP keeps
// what it is given, as the unit does (ha checks the values again).
type failoverFixed struct{ st status.FailoverStatus }

func (f *failoverFixed) FailoverStatus() status.FailoverStatus { return f.st }
func (f *failoverFixed) FailoverAction(string) error           { return nil }
func (f *failoverFixed) SetTrack(t status.TrackSettings) error {
	f.st.FailsafeVLANs, f.st.GatewayPool, f.st.GatewayMinUp, f.st.Watchdog = t.VLANs, t.GatewayPool, t.GatewayMinUp, t.Watchdog
	return nil
}
func (f *failoverFixed) SetVRRP(s status.VRRPSettings) error {
	f.st.Priority, f.st.Preempt, f.st.PreemptDelay, f.st.Interval = uint8(s.Priority), s.Preempt, s.PreemptDelay, s.Interval
	return nil
}

func TestAlteonInfoVRRP(t *testing.T) {
	s, _ := newTestStore(t, "")
	ss := s.NewSession()
	if out := altExec(t, ss, "/info/l3/vrrp"); !strings.Contains(out, "none (no ha section in the boot config; standalone)") {
		t.Errorf("standalone /info/l3/vrrp:\n%s", out)
	}
	s.Dialect.src.Failover = &failoverFixed{status.FailoverStatus{Unit: "lbx2", State: "standby", VRID: 51, Priority: 100,
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
	s.Dialect.src.Failover = &failoverFixed{status.FailoverStatus{Unit: "lbx1", State: "active", VRID: 51, Priority: 200,
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
		"/c/l3/vrrp/vr 1/vrid 90":              "/c/l3/vrrp/vr 1/vrid: set in the boot config, not here: ha.vrid is device-local and read at start (lbx run --ha.vrid",
		"/c/l3/vrrp/vr 1/track/ifs lbx-ext":    "/c/l3/vrrp/vr 1/track/ifs lbx-ext: want ena PORT … or dis",
		"/c/l3/vrrp/vr 1/track/reals ena":      "want ena POOL-NAME [MIN-UP] or dis",
		"/c/l3/vrrp/vr 1/track/reals ena gw 0": "min-up: want 1 to 1024",
		"/c/l3/vrrp/vr 1/track/wdog 10ms":      "want a duration (200ms to 1m) or dis",
		"/c/l3/vrrp/vr 1/prio 255":             "/c/l3/vrrp/vr 1/prio 255: want a priority of 1 to 254",
		"/c/l3/vrrp/vr 1/prio x":               "/c/l3/vrrp/vr 1/prio x: want a priority of 1 to 254",
		"/c/l3/vrrp/vr 1/adver 0":              "/c/l3/vrrp/vr 1/adver 0: want 1 to 4095 centiseconds",
		"/c/l3/vrrp/vr 1/preem maybe":          "/c/l3/vrrp/vr 1/preem maybe: want ena or dis",
		"/c/l3/vrrp/vr 2":                      "vr 2: lbx has one virtual router, 1 (traffic-group-1)",
	} {
		if _, err := s.NewSession().Exec(cmd); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", cmd, err, want)
		}
	}
}

// prio, adver and preem change the running unit's settings at once.
func TestAlteonCfgVRRPSet(t *testing.T) {
	s, _ := newTestStore(t, "")
	if _, err := s.NewSession().Exec("/c/l3/vrrp/vr 1/prio 90"); err == nil || !strings.Contains(err.Error(), "VRRP is off") {
		t.Errorf("standalone prio 90: %v, want VRRP is off", err)
	}
	f := &failoverFixed{status.FailoverStatus{Unit: "lbx1", State: "active", VRID: 51, Priority: 200, Interval: 100 * time.Millisecond, Preempt: true}}
	s.Dialect.src.Failover = f
	for cmd, want := range map[string]string{
		"/c/l3/vrrp/vr 1/prio 90":   "Current priority: 90 (running unit; not saved: the boot config's ha.priority sets it at the next start)\n",
		"/c/l3/vrrp/vr 1/adver 25":  "Current advertisement interval: 250ms (25 centiseconds) (running unit; not saved: the boot config's ha.advert_interval sets it at the next start)\n",
		"/c/l3/vrrp/vr 1/preem dis": "Current preemption: disabled, delay 0s (running unit; not saved: the boot config's ha.preempt sets it at the next start)\n",
	} {
		if out := altExec(t, s.NewSession(), cmd); out != want {
			t.Errorf("%s: %q, want %q", cmd, out, want)
		}
	}
	if st := f.st; st.Priority != 90 || st.Interval != 250*time.Millisecond || st.Preempt {
		t.Errorf("settings after the changes: %+v", st)
	}
	for _, c := range []struct{ cmd, want string }{
		{"/c/l3/vrrp/vr 1/track/ifs ena lbx-int lbx-ext", "Current tracked interfaces: lbx-int lbx-ext (running unit;"},
		{"/c/l3/vrrp/vr 1/track/reals ena gw 2", "Current tracked real servers: pool /Common/gw, at least 2 up (running unit;"},
		{"/c/l3/vrrp/vr 1/track/wdog 2s", "Current dataplane watchdog: 2s (running unit; not saved: the boot config's ha.watchdog sets it at the next start)"},
		{"/c/l3/vrrp/vr 1/track/ifs dis", "Current tracked interfaces: none (running unit;"},
	} {
		if out := altExec(t, s.NewSession(), c.cmd); !strings.HasPrefix(out, c.want) {
			t.Errorf("%s: %q, want %q…", c.cmd, out, c.want)
		}
	}
	if st := f.st; len(st.FailsafeVLANs) != 0 || st.GatewayPool != "/Common/gw" || st.GatewayMinUp != 2 || st.Watchdog != 2*time.Second {
		t.Errorf("fail-safes after the changes: %+v", st)
	}
}
