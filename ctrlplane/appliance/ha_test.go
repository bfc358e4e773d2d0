package appliance_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lbx/dataplane/drop"

	"lbx/ctrlplane/appliance"
	"lbx/dataplane"
	"lbx/dataplane/porttest"
	"lbx/ha"
)

// haConf is the pair's shared traffic config: floating self IPs on both
// segments (the server's gateway is the internal one) and one VIP.
const haConf = `
net self /Common/float_ext { address 198.18.1.1/24 traffic-group /Common/traffic-group-1 vlan /Common/ext }
net self /Common/float_int { address 198.18.2.1/24 traffic-group /Common/traffic-group-1 vlan /Common/int }
ltm pool /Common/web { members { /Common/198.18.2.11:80 { address 198.18.2.11 } } }
ltm virtual /Common/vs { destination /Common/198.18.1.100:80 ip-protocol tcp pool /Common/web }
`

// haUnit boots one unit of the pair on the two switches: own addresses
// 198.18.1.N and 198.18.2.N, VRRP every 100ms on both ports.
func (l *lab) haUnit(csw, ssw *porttest.Switch, name string, n byte, prio uint8) *appliance.Appliance {
	l.t.Helper()
	return l.haUnitWith(csw, ssw, name, n, prio, haOpts{})
}

// haOpts vary haUnit: a wrapper for the int port, fail-safes.
type haOpts struct {
	wrapInt  func(dataplane.Port) dataplane.Port
	failsafe ha.Failsafe
	peer     byte // non-zero: advertise unicast to the unit with this host number
}

func (l *lab) haUnitWith(csw, ssw *porttest.Switch, name string, n byte, prio uint8, o haOpts) *appliance.Appliance {
	l.t.Helper()
	ext, int_ := l.port(csw, name+"-ext"), l.port(ssw, name+"-int")
	var intPort dataplane.Port = renamed{int_, "int"}
	if o.wrapInt != nil {
		intPort = o.wrapInt(intPort)
	}
	eAddr, iAddr := netip.AddrFrom4([4]byte{198, 18, 1, n}), netip.AddrFrom4([4]byte{198, 18, 2, n})
	saved := filepath.Join(l.t.TempDir(), "bigip.conf")
	if err := os.WriteFile(saved, []byte(haConf), 0o644); err != nil {
		l.t.Fatal(err)
	}
	app, err := appliance.New(appliance.Config{
		Ports: []dataplane.Port{renamed{ext, "ext"}, intPort},
		SelfIPs: []dataplane.SelfIP{
			{Name: "self_ext", Prefix: netip.PrefixFrom(eAddr, 24), Port: "ext"},
			{Name: "self_int", Prefix: netip.PrefixFrom(iAddr, 24), Port: "int"},
		},
		SavedPath: saved, FlowCapacity: 4096, MonitorClock: l.clock,
		HA: &ha.Config{Unit: name, VRID: 51, Priority: prio, Preempt: true, Interval: 100 * time.Millisecond,
			Ports: haPorts(eAddr, iAddr, o.peer), Failsafe: o.failsafe},
	})
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { app.Close() })
	return app
}

// haPorts are a unit's VRRP ports, advertising unicast to host number
// peer of each network when it is not 0.
func haPorts(ext, int_ netip.Addr, peer byte) []ha.Port {
	ports := []ha.Port{{Name: "ext", Addr: ext}, {Name: "int", Addr: int_}}
	if peer != 0 {
		for i := range ports {
			a := ports[i].Addr.As4()
			a[3] = peer
			ports[i].Peers = []netip.Addr{netip.AddrFrom4(a)}
		}
	}
	return ports
}

// renamed gives a switch port (unique on its switch) the name both units
// use for it: the VLAN of the shared config's floating self IPs.
type renamed struct {
	*porttest.Port
	name string
}

func (r renamed) Name() string { return r.name }

func haState(a *appliance.Appliance) ha.State { return a.HA().Status().State }

// getWithin retries a request until it is answered, bounded by limit: after
// a takeover the client's first SYN may still go to the old unit.
func getWithin(t *testing.T, h *porttest.Host, url string, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		body, err := h.Get(ctx, url)
		cancel()
		if err == nil {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("get %s: not answered within %v: %v", url, limit, err)
		}
	}
}

// Two units elect the higher priority; traffic flows through it; when it
// leaves (priority 0 on Close) the other takes over, announces the
// addresses with gratuitous ARP and carries new connections; standby on the
// way back with preemption.
func TestHAPairFailover(t *testing.T) {
	l := newLab(t)
	csw, ssw := porttest.NewSwitch(), porttest.NewSwitch()
	l.server(ssw, "server1", "198.18.2.11/24", "198.18.2.1")
	client := l.host(csw, "client", "198.18.1.10/24", "")
	lbx1 := l.haUnit(csw, ssw, "lbx1", 2, 200)
	lbx2 := l.haUnit(csw, ssw, "lbx2", 3, 100)

	// lbx2 is standby from its start, before lbx1's first advertisement
	// reaches it: wait for that too.
	waitFor(t, "lbx1 active, lbx2 standby and heard lbx1", func() bool {
		return haState(lbx1) == ha.Active && haState(lbx2) == ha.Standby && lbx2.HA().Status().PeerPriority == 200
	})
	if st := lbx2.HA().Status(); st.Peer != netip.MustParseAddr("198.18.1.2") && st.Peer != netip.MustParseAddr("198.18.2.2") {
		t.Errorf("lbx2 sees master %v priority %d", st.Peer, st.PeerPriority)
	}
	if name := porttest.ServerName(get(t, client, "http://198.18.1.100/")); name != "server1" {
		t.Fatalf("through lbx1: served by %q", name)
	}
	if n := lbx2.Engine().Drops(drop.Standby); n == 0 {
		t.Error("lbx2 refused nothing as standby (drop.standby 0): did both answer?")
	}

	out := exec(t, lbx2, "show cm failover-status")
	for _, want := range []string{"Status           STANDBY", "Unit             lbx2", "Active Peer      198.18.", "(priority 200)", "Advert Interval  100ms"} {
		if !strings.Contains(out, want) {
			t.Errorf("lbx2 show cm failover-status: no %q in\n%s", want, out)
		}
	}
	if out := exec(t, lbx1, "show cm failover-status"); !strings.Contains(out, "Status           ACTIVE") {
		t.Errorf("lbx1 show cm failover-status:\n%s", out)
	}

	out = exec(t, lbx1, "list cm traffic-group traffic-group-1")
	want := "cm traffic-group /Common/traffic-group-1 {\n    is-floating true\n    advert-interval 10\n    auto-failback-enabled true\n    auto-failback-time 0\n    ha-priority 200\n    ha-order { /Common/lbx1 }\n    mac 00:00:5e:00:01:33\n    unit-id 51\n}\n"
	if out != want {
		t.Errorf("lbx1 list cm traffic-group traffic-group-1:\n%s\nwant\n%s", out, want)
	}
	if _, err := lbx1.Exec("run sys failover standby traffic-group traffic-group-local-only"); err == nil || !strings.Contains(err.Error(), "not floating") {
		t.Errorf("run sys failover standby traffic-group traffic-group-local-only: %v", err)
	}

	// lbx1 hands over (BIG-IP's form, naming the traffic group) and stays
	// standby.
	exec(t, lbx1, "run sys failover standby traffic-group traffic-group-1")
	waitFor(t, "lbx2 active after lbx1 went standby", func() bool { return haState(lbx2) == ha.Active && haState(lbx1) == ha.Standby })
	if name := porttest.ServerName(getWithin(t, client, "http://198.18.1.100/", 5*time.Second)); name != "server1" {
		t.Fatalf("through lbx2: served by %q", name)
	}
	if lbx2.HA().Status().GARPsSent == 0 {
		t.Error("lbx2 sent no gratuitous ARP on takeover")
	}
	// Online again: lbx1 preempts (priority 200).
	exec(t, lbx1, "run sys failover online")
	waitFor(t, "lbx1 active again after online", func() bool { return haState(lbx1) == ha.Active && haState(lbx2) == ha.Standby })

	// Offline: lbx1 leaves the election (priority 0), lbx2 takes over.
	exec(t, lbx1, "run sys failover offline")
	waitFor(t, "lbx2 active after lbx1 went offline", func() bool { return haState(lbx2) == ha.Active && haState(lbx1) == ha.Offline })
	exec(t, lbx1, "run sys failover online")
	waitFor(t, "lbx1 active again after online", func() bool { return haState(lbx1) == ha.Active && haState(lbx2) == ha.Standby })

	// lbx1 leaves: lbx2 takes over and serves.
	if err := lbx1.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "lbx2 active after lbx1 closed", func() bool { return haState(lbx2) == ha.Active })
	if name := porttest.ServerName(getWithin(t, client, "http://198.18.1.100/", 5*time.Second)); name != "server1" {
		t.Fatalf("after failover: served by %q", name)
	}
}

func exec(t *testing.T, a *appliance.Appliance, cmd string) string {
	t.Helper()
	out, err := a.Exec(cmd)
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return out
}

// Without an ha section the unit is standalone: always active.
func TestFailoverCommandsStandalone(t *testing.T) {
	l := newLab(t)
	sw := porttest.NewSwitch()
	app := l.appliance([]dataplane.Port{l.port(sw, "ext")}, "", "self_ext 198.18.1.2/24 ext")
	if out := exec(t, app, "show cm failover-status"); !strings.Contains(out, "Status           ACTIVE") || !strings.Contains(out, "standalone") {
		t.Errorf("show cm failover-status:\n%s", out)
	}
	if _, err := app.Exec("run sys failover standby"); err == nil || !strings.Contains(err.Error(), "standalone") {
		t.Errorf("run sys failover standby: %v", err)
	}
	if _, err := app.Exec("run sys failover sideways"); err == nil || !strings.Contains(err.Error(), `"sideways": want standby, offline or online`) {
		t.Errorf("run sys failover sideways: %v", err)
	}
	want := "cm traffic-group /Common/traffic-group-1 {\n    is-floating true\n}\ncm traffic-group /Common/traffic-group-local-only {\n    is-floating false\n}\n"
	if out := exec(t, app, "list cm traffic-group"); out != want {
		t.Errorf("list cm traffic-group:\n%s\nwant\n%s", out, want)
	}
	if _, err := app.Exec("list cm traffic-group traffic-group-2"); err == nil || !strings.Contains(err.Error(), "no such traffic group") {
		t.Errorf("list cm traffic-group traffic-group-2: %v", err)
	}
}

// The VRRP settings change on running units, in both dialects, and the
// election follows: lbx2 raised above lbx1 (tmsh) preempts it; lowered
// again (Alteon) it is preempted back; a new interval on the active unit
// reaches the standby's master-down timer through its advertisements.
// Bad values are refused, naming the setting, and change nothing.
func TestHAVRRPSettingsAtRunTime(t *testing.T) {
	l := newLab(t)
	csw, ssw := porttest.NewSwitch(), porttest.NewSwitch()
	l.server(ssw, "server1", "198.18.2.11/24", "198.18.2.1")
	client := l.host(csw, "client", "198.18.1.10/24", "")
	lbx1 := l.haUnit(csw, ssw, "lbx1", 2, 200)
	lbx2 := l.haUnit(csw, ssw, "lbx2", 3, 100)
	waitFor(t, "lbx1 active, lbx2 standby behind it", func() bool {
		return haState(lbx1) == ha.Active && haState(lbx2) == ha.Standby && lbx2.HA().Status().PeerPriority == 200
	})

	exec(t, lbx2, "modify cm traffic-group traffic-group-1 ha-priority 250")
	waitFor(t, "lbx2 (now 250) preempts lbx1", func() bool { return haState(lbx2) == ha.Active && haState(lbx1) == ha.Standby })
	if st := lbx1.HA().Status(); st.PeerPriority != 250 {
		t.Errorf("lbx1 hears the master at priority %d, want 250", st.PeerPriority)
	}
	if name := porttest.ServerName(getWithin(t, client, "http://198.18.1.100/", 5*time.Second)); name != "server1" {
		t.Fatalf("through lbx2: served by %q", name)
	}
	if out := exec(t, lbx2, "show cm failover-status"); !strings.Contains(out, "Priority         250") {
		t.Errorf("lbx2 show cm failover-status:\n%s", out)
	}

	alteon := lbx2.Dialects()[1].NewSession()
	out, err := alteon.Exec("/c/l3/vrrp/vr 1/prio 50")
	if err != nil || !strings.Contains(out, "Current priority: 50 (running unit") {
		t.Fatalf("/c/l3/vrrp/vr 1/prio 50: %q %v", out, err)
	}
	waitFor(t, "lbx1 (200) preempts lbx2 (now 50)", func() bool { return haState(lbx1) == ha.Active && haState(lbx2) == ha.Standby })

	exec(t, lbx1, "modify cm traffic-group traffic-group-1 advert-interval 25 auto-failback-time 5")
	// lbx2 times lbx1 by the interval lbx1 advertises: 3 × 250ms + skew
	// (256-50)/256 × 250ms.
	waitFor(t, "lbx2's master-down interval from lbx1's new interval", func() bool {
		return lbx2.HA().Status().MasterDown == 3*250*time.Millisecond+206*250*time.Millisecond/256
	})
	want := "cm traffic-group /Common/traffic-group-1 {\n    is-floating true\n    advert-interval 25\n    auto-failback-enabled true\n    auto-failback-time 5\n    ha-priority 200\n    ha-order { /Common/lbx1 }\n    mac 00:00:5e:00:01:33\n    unit-id 51\n}\n"
	if out := exec(t, lbx1, "list cm traffic-group traffic-group-1"); out != want {
		t.Errorf("lbx1 list cm traffic-group traffic-group-1:\n%s\nwant\n%s", out, want)
	}

	before := lbx1.HA().Status()
	for cmd, want := range map[string]string{
		"modify cm traffic-group traffic-group-1 ha-priority 255":             `ha-priority: "255": want 1 to 254`,
		"modify cm traffic-group traffic-group-1 advert-interval 0":           `advert-interval: "0": want 1 to 4095`,
		"modify cm traffic-group traffic-group-1 auto-failback-enabled maybe": `auto-failback-enabled: "maybe": want true or false`,
		"modify cm traffic-group traffic-group-1 ha-order { lbx1 }":           `unexpected "ha-order"`,
		"modify cm traffic-group traffic-group-local-only ha-priority 10":     "not floating",
		"modify cm traffic-group traffic-group-1":                             "no setting to change",
	} {
		if _, err := lbx1.Exec(cmd); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", cmd, err, want)
		}
	}
	if _, err := lbx1.Push("modify cm traffic-group traffic-group-1 ha-priority 10\n"); err == nil || !strings.Contains(err.Error(), "line of its own") {
		t.Errorf("in a pushed script: %v, want it refused", err)
	}
	if after := lbx1.HA().Status(); after.Priority != before.Priority || after.Interval != before.Interval || after.Preempt != before.Preempt {
		t.Errorf("refused changes changed the settings: %+v, was %+v", after, before)
	}

	// Tracking (the fail-safes) at run time, Alteon's track menu: a
	// gateway fail-safe on a pool lbx1 does not have fails it over; its
	// removal brings it back, and it preempts lbx2 again.
	exec(t, lbx1, "modify cm traffic-group traffic-group-1 auto-failback-time 0")
	alteon1 := lbx1.Dialects()[1].NewSession()
	if _, err := alteon1.Exec("/c/l3/vrrp/vr 1/track/ifs ena eth9"); err == nil || !strings.Contains(err.Error(), `no such port "eth9"`) {
		t.Errorf("track ifs ena eth9: %v, want no such port", err)
	}
	if out, err := alteon1.Exec("/c/l3/vrrp/vr 1/track/reals ena nopool"); err != nil || !strings.Contains(out, "pool /Common/nopool, at least 1 up") {
		t.Fatalf("track reals ena nopool: %q %v", out, err)
	}
	waitFor(t, "lbx1 fails over on the new gateway fail-safe", func() bool { return haState(lbx2) == ha.Active && haState(lbx1) == ha.Standby })
	if st := lbx1.HA().Status(); len(st.Conditions) != 1 || !strings.Contains(st.Conditions[0], "gateway-failsafe /Common/nopool: no such pool") {
		t.Errorf("lbx1's failover conditions: %q", st.Conditions)
	}
	if out, err := alteon1.Exec("/c/l3/vrrp/vr 1/track/reals dis"); err != nil || !strings.Contains(out, "Current tracked real servers: none") {
		t.Fatalf("track reals dis: %q %v", out, err)
	}
	waitFor(t, "lbx1 back and active once the fail-safe is gone", func() bool { return haState(lbx1) == ha.Active && haState(lbx2) == ha.Standby })
	if st := lbx1.HA().Status(); len(st.Conditions) != 0 || st.Failsafe.GatewayPool != "" {
		t.Errorf("lbx1 after track reals dis: conditions %q, fail-safes %+v", st.Conditions, st.Failsafe)
	}
}
