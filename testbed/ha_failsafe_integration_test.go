package testbed

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The fail-safe lab is the HA interop lab (ha_integration_test.go) with a
// second segment: lbx's port int (TAP lbxha-i on bridge br1 in lbxha-sw,
// self IP 198.51.101.2) and a gateway (lbxha-gw, 198.51.101.20) that the
// pool /Common/gw monitors with gateway_icmp every second. lbx (priority
// 200) advertises on ext only, so keepalived (100) keeps hearing it while
// int or the gateway fails: only the fail-safes can move traffic-group-1.
const (
	haGW     = "lbxha-gw"
	haGWAddr = "198.51.101.20"
)

func newHAFailsafeLab(t *testing.T, haExtra string) *haLab {
	t.Helper()
	l := newHALab(t)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", haGW).Run() })
	exec.Command("ip", "netns", "del", haGW).Run() // a crashed run's leftovers
	sh(t, "ip", "netns", "add", haGW)
	sh(t, "ip", "-n", haSW, "link", "add", "br1", "type", "bridge")
	sh(t, "ip", "-n", haSW, "link", "set", "br1", "up")
	sh(t, "ip", "link", "add", "p-gw", "netns", haSW, "type", "veth", "peer", "name", "eth0", "netns", haGW)
	sh(t, "ip", "-n", haSW, "link", "set", "p-gw", "master", "br1", "up")
	sh(t, "ip", "-n", haGW, "addr", "add", haGWAddr+"/24", "dev", "eth0")
	sh(t, "ip", "-n", haGW, "link", "set", "eth0", "up")
	sh(t, "ip", "-n", haGW, "link", "set", "lo", "up")
	l.joined = func() {
		l.waitUntil("lbx's int TAP port", 10*time.Second, func() bool {
			return exec.Command("ip", "-n", haSW, "link", "show", "lbxha-i").Run() == nil
		})
		sh(t, "ip", "-n", haSW, "link", "set", "lbxha-i", "master", "br1", "up")
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(l.dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("boot.yaml", fmt.Sprintf(`ports:
  - {name: ext, driver: tap, device: lbxha-e, mac: "02:00:5e:77:00:02"}
  - {name: int, driver: tap, device: lbxha-i, mac: "02:00:5e:77:00:03"}
selfips:
  - {name: /Common/self_ext, address: 198.51.100.2/24, port: ext}
  - {name: /Common/self_int, address: 198.51.101.2/24, port: int}
control: {socket: %s}
config: {saved: %s}
ha: {unit: lbx1, vrid: 51, priority: 200, preempt: true, advert_interval: 10, ports: [ext]%s}
`, filepath.Join(l.dir, "lbx.sock"), filepath.Join(l.dir, "bigip.conf"), haExtra))
	write("bigip.conf", `net self /Common/float_ext { address `+haFloat+`/24 traffic-group /Common/traffic-group-1 vlan /Common/ext }
ltm monitor gateway-icmp /Common/gw_mon { defaults-from /Common/gateway_icmp interval 1 timeout 3 }
ltm pool /Common/gw { members { /Common/`+haGWAddr+`:0 { address `+haGWAddr+` } } monitor /Common/gw_mon }
`)
	return l
}

// lbxStandbyFor reports whether lbx is standby with a failover condition
// containing cond.
func (l *haLab) lbxStandbyFor(cond string) bool {
	s := l.lbxState()
	return strings.Contains(s, "Status           STANDBY") && strings.Contains(s, cond)
}

// The gateway and VLAN fail-safes move traffic-group-1 to keepalived while
// lbx still advertises and keepalived still hears it: the gateway's
// monitor failing (its link down in its own namespace), then lbx's int
// port's link going down (ip link set lbxha-i down). Each time lbx comes
// back and preempts when the condition clears, and show cm
// failover-status names the condition meanwhile.
func TestIntegrationHAFailsafe(t *testing.T) {
	l := newHAFailsafeLab(t, ", failsafe_vlans: [int], gateway_failsafe_pool: /Common/gw, gateway_failsafe_min_up: 1")
	l.startLBX()
	// Standby until the monitor first finds the gateway up, then active.
	l.waitUntil("lbx active once the gateway is up", 15*time.Second, func() bool { return l.lbxIs("ACTIVE") })
	if s := l.lbxState(); !strings.Contains(s, "Failover Conditions\n"+strings.Repeat("-", 40)+"\nnone") {
		t.Errorf("lbx active with conditions:\n%s", s)
	}
	l.startKA()
	time.Sleep(time.Second) // 10 advertisements: keepalived must stay backup
	if l.kaMaster() {
		t.Fatalf("keepalived master while lbx (200) is active\nlbx: %s", l.lbxState())
	}

	// Gateway fail-safe: the gateway's link goes down; the monitor (1s
	// interval, 3s timeout) marks it down and lbx fails over.
	sh(t, "ip", "-n", haGW, "link", "set", "eth0", "down")
	start := time.Now()
	l.waitUntil("lbx standby for the gateway fail-safe", 15*time.Second, func() bool {
		return l.lbxStandbyFor("gateway-failsafe /Common/gw: 0 of 1 members up, min-up-members 1")
	})
	l.waitUntil("keepalived master after the gateway fail-safe", 5*time.Second, l.kaMaster)
	t.Logf("gateway down: keepalived master after %v (monitor timeout 3s)", time.Since(start).Round(time.Millisecond))
	sh(t, "ip", "-n", haGW, "link", "set", "eth0", "up")
	l.waitUntil("lbx preempts again once the gateway is up", 15*time.Second, func() bool { return l.lbxIs("ACTIVE") && !l.kaMaster() })

	// VLAN fail-safe: lbx's int port's link goes down.
	sh(t, "ip", "-n", haSW, "link", "set", "lbxha-i", "down")
	start = time.Now()
	l.waitUntil("lbx standby for the VLAN fail-safe", 5*time.Second, func() bool { return l.lbxStandbyFor("vlan-failsafe int: link down") })
	l.waitUntil("keepalived master after the VLAN fail-safe", 5*time.Second, l.kaMaster)
	t.Logf("int link down: keepalived master after %v", time.Since(start).Round(time.Millisecond))
	if !l.ping() {
		t.Errorf("client: %s not answered by keepalived after lbx's fail-over", haFloat)
	}
	sh(t, "ip", "-n", haSW, "link", "set", "lbxha-i", "up")
	l.waitUntil("lbx preempts again once int is up", 15*time.Second, func() bool { return l.lbxIs("ACTIVE") && !l.kaMaster() })
	if s := l.lbxState(); strings.Contains(s, "failsafe") {
		t.Errorf("lbx active with a fail-safe condition left:\n%s", s)
	}
}

// writeFile writes one of the lab's files.
func (l *haLab) writeFile(name, text string) {
	l.t.Helper()
	if err := os.WriteFile(filepath.Join(l.dir, name), []byte(text), 0o644); err != nil {
		l.t.Fatal(err)
	}
}

// kaUnicastConf is keepalived advertising unicast to lbx (198.51.100.2)
// from 198.51.100.3, with priority prio and the virtual addresses vips.
func kaUnicastConf(prio int, vips ...string) string {
	return fmt.Sprintf(`global_defs {
  vrrp_version 3
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority %d
  advert_int 0.1
  unicast_src_ip 198.51.100.3
  unicast_peer {
    198.51.100.2
  }
  virtual_ipaddress {
    %s
  }
}
`, prio, strings.Join(vips, "\n    "))
}

// Unicast VRRP with keepalived both ways (lbx's ha.unicast_peers,
// keepalived's unicast_peer): lbx master heard by keepalived, keepalived
// master heard by lbx, each taking over when the other goes; no VRRP
// multicast from lbx reaches the client. Then keepalived advertises one
// address more than lbx has: lbx logs and counts the mismatch (RFC 5798
// §7.1) and still follows the advertisements, staying standby.
func TestIntegrationHAKeepalivedUnicast(t *testing.T) {
	l := newHALab(t)
	l.writeFile("boot.yaml", fmt.Sprintf(`ports:
  - {name: ext, driver: tap, device: lbxha-e, mac: "02:00:5e:77:00:02"}
selfips:
  - {name: /Common/self_ext, address: 198.51.100.2/24, port: ext}
control: {socket: %s}
config: {saved: %s}
ha: {unit: lbx1, vrid: 51, priority: 200, advert_interval: 10, ports: [ext], unicast_peers: [198.51.100.3]}
`, filepath.Join(l.dir, "lbx.sock"), filepath.Join(l.dir, "bigip.conf")))
	l.writeFile("keepalived.conf", kaUnicastConf(100, haFloat+"/24"))
	l.startLBX()
	l.waitUntil("lbx active alone", 10*time.Second, func() bool { return l.lbxIs("ACTIVE") })
	l.startKA()
	time.Sleep(2 * time.Second) // 20 advertisements: keepalived must stay backup
	if l.kaMaster() || !l.lbxIs("ACTIVE") {
		t.Fatalf("lbx (200) and keepalived (100), unicast: keepalived master %v\nlbx: %s", l.kaMaster(), l.lbxState())
	}
	if _, err := exec.LookPath("tcpdump"); err == nil {
		// The client is on the segment: the group's adverts would reach it,
		// adverts unicast to keepalived's MAC do not (the bridge learnt it).
		out, _ := exec.Command("ip", "netns", "exec", haCL, "timeout", "1", "tcpdump", "-n", "-l", "-i", "eth0", "ip proto 112 and dst 224.0.0.18").CombinedOutput()
		if strings.Contains(string(out), "198.51.100.2 > 224.0.0.18") {
			t.Errorf("lbx with unicast peers advertised to the group:\n%s", out)
		}
	}

	// lbx leaves (priority 0, unicast): keepalived takes over; lbx back
	// with priority 50 follows keepalived's unicast advertisements.
	l.stop(l.lbx, syscall.SIGTERM)
	l.waitUntil("keepalived master after lbx stopped", 10*time.Second, l.kaMaster)
	l.startLBX("--ha.priority", "50")
	l.waitUntil("lbx standby behind keepalived", 10*time.Second, func() bool {
		s := l.lbxState()
		return strings.Contains(s, "Status           STANDBY") && strings.Contains(s, "Active Peer      198.51.100.3 (priority 100)")
	})
	l.killKA()
	l.waitUntil("lbx active after keepalived killed", 10*time.Second, func() bool { return l.lbxIs("ACTIVE") })

	// keepalived with an address lbx does not have, priority 150: it
	// ignores lbx's advertisements (its own check) and takes over; lbx
	// counts the mismatch and still yields to the higher priority.
	l.writeFile("keepalived.conf", kaUnicastConf(150, haFloat+"/24", "198.51.100.50/24"))
	l.startKA()
	l.waitUntil("lbx standby behind keepalived with another address list", 10*time.Second, func() bool {
		s := l.lbxState()
		return strings.Contains(s, "Status           STANDBY") && strings.Contains(s, "Active Peer      198.51.100.3 (priority 150)")
	})
	time.Sleep(time.Second) // 10 advertisements with the mismatch: lbx must stay standby
	s := l.lbxState()
	if !strings.Contains(s, "Status           STANDBY") || !strings.Contains(s, "Addr Mismatches") ||
		!strings.Contains(s, "from 198.51.100.3 on ext: advertised [198.51.100.1 198.51.100.50], this unit has [198.51.100.1]") {
		t.Errorf("lbx after 1s of mismatching advertisements:\n%s", s)
	}
}
