package testbed

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The HA interop test runs in namespaces of its own (lbxha-*), under the
// host lock: one segment (a bridge in lbxha-sw) joins an lbx unit (its TAP
// port in lbxha-sw), a keepalived instance (lbxha-ka, 198.51.100.3) and a
// client (lbxha-cl, 198.51.100.10). The floating address 198.51.100.1 is
// traffic-group-1 on lbx and keepalived's virtual_ipaddress, VRID 51,
// advertisements every 100 ms.
const (
	haSW, haKA, haCL = "lbxha-sw", "lbxha-ka", "lbxha-cl"
	haFloat          = "198.51.100.1"
	haVMAC           = "00:00:5e:00:01:33"
)

type haLab struct {
	t    *testing.T
	dir  string
	lbx  *exec.Cmd
	ka   *exec.Cmd
	logs int
	// joined runs after startLBX has joined the ext TAP to its bridge:
	// labs with more ports join theirs.
	joined func()
	lbxLog string // the running lbx's log file
	kaLog  string // the running keepalived's
	// kaKilled is the process group of a keepalived killed with kill -9:
	// its VRRP child is reaped by init, not us, and until it is gone a new
	// keepalived finds its pid file alive ("daemon is already running").
	kaKilled int
}

func sh(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func newHALab(t *testing.T) *haLab {
	t.Helper()
	requireRoot(t)
	if _, err := exec.LookPath("keepalived"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("keepalived not installed (.ci/run installs it)")
		}
		t.Skip("keepalived not installed")
	}
	lock, err := acquireLock(LockPath, lockWait, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	l := &haLab{t: t, dir: t.TempDir()}
	t.Cleanup(func() {
		l.stop(l.lbx, syscall.SIGKILL)
		l.stop(l.ka, syscall.SIGTERM)
		for _, ns := range []string{haCL, haKA, haSW} {
			exec.Command("ip", "netns", "del", ns).Run()
		}
		lock.release()
	})
	for _, ns := range []string{haSW, haKA, haCL} {
		exec.Command("ip", "netns", "del", ns).Run() // a crashed run's leftovers
		sh(t, "ip", "netns", "add", ns)
	}
	sh(t, "ip", "-n", haSW, "link", "add", "br0", "type", "bridge")
	sh(t, "ip", "-n", haSW, "link", "set", "br0", "up")
	for _, h := range []struct{ ns, addr string }{{haKA, "198.51.100.3/24"}, {haCL, "198.51.100.10/24"}} {
		sw := "p-" + strings.TrimPrefix(h.ns, "lbxha-")
		sh(t, "ip", "link", "add", sw, "netns", haSW, "type", "veth", "peer", "name", "eth0", "netns", h.ns)
		sh(t, "ip", "-n", haSW, "link", "set", sw, "master", "br0", "up")
		sh(t, "ip", "-n", h.ns, "addr", "add", h.addr, "dev", "eth0")
		sh(t, "ip", "-n", h.ns, "link", "set", "eth0", "up")
		sh(t, "ip", "-n", h.ns, "link", "set", "lo", "up")
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(l.dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("boot.yaml", fmt.Sprintf(`ports:
  - {name: ext, driver: tap, device: lbxha-e, mac: "02:00:5e:77:00:02"}
selfips:
  - {name: /Common/self_ext, address: 198.51.100.2/24, port: ext}
control: {socket: %s}
config: {saved: %s}
ha: {unit: lbx1, vrid: 51, priority: 200, advert_interval: 10, ports: [ext]}
`, filepath.Join(l.dir, "lbx.sock"), filepath.Join(l.dir, "bigip.conf")))
	write("bigip.conf", "net self /Common/float_ext { address "+haFloat+"/24 traffic-group /Common/traffic-group-1 vlan /Common/ext }\n")
	write("keepalived.conf", `global_defs {
  vrrp_version 3
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 0.1
  virtual_ipaddress {
    `+haFloat+`/24
  }
}
`)
	return l
}

func (l *haLab) stop(c *exec.Cmd, sig syscall.Signal) {
	if c == nil || c.Process == nil || c.ProcessState != nil {
		return
	}
	c.Process.Signal(sig)
	c.Wait()
}

func (l *haLab) logFile(name string) *os.File {
	l.logs++
	f, err := os.Create(filepath.Join(l.dir, fmt.Sprintf("%s.%d.log", name, l.logs)))
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { f.Close() })
	return f
}

// startLBX runs lbx in lbxha-sw with extra flags and joins its TAP port to
// the bridge.
func (l *haLab) startLBX(flags ...string) {
	l.t.Helper()
	l.stop(l.lbx, syscall.SIGKILL)
	log := l.logFile("lbx")
	l.lbxLog = log.Name()
	l.lbx = exec.Command("ip", append([]string{"netns", "exec", haSW, lbxBinary, "run", "-f", filepath.Join(l.dir, "boot.yaml")}, flags...)...)
	l.lbx.Stdout, l.lbx.Stderr = log, log
	if err := l.lbx.Start(); err != nil {
		l.t.Fatal(err)
	}
	l.waitUntil("lbx's TAP port", 10*time.Second, func() bool {
		return exec.Command("ip", "-n", haSW, "link", "show", "lbxha-e").Run() == nil
	})
	sh(l.t, "ip", "-n", haSW, "link", "set", "lbxha-e", "master", "br0", "up")
	if l.joined != nil {
		l.joined()
	}
}

func (l *haLab) startKA() {
	l.t.Helper()
	l.stop(l.ka, syscall.SIGKILL)
	if l.kaKilled != 0 {
		l.waitUntil("the killed keepalived's processes gone", 10*time.Second, func() bool {
			return syscall.Kill(-l.kaKilled, 0) == syscall.ESRCH
		})
		l.kaKilled = 0
	}
	log := l.logFile("keepalived")
	l.kaLog = log.Name()
	l.ka = exec.Command("ip", "netns", "exec", haKA, "keepalived", "-n", "-l", "-D", "-f", filepath.Join(l.dir, "keepalived.conf"),
		"-p", filepath.Join(l.dir, "ka.pid"), "-r", filepath.Join(l.dir, "ka-vrrp.pid"))
	l.ka.Stdout, l.ka.Stderr = log, log
	// Its own process group, so kill -9 reaches the VRRP child too.
	l.ka.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := l.ka.Start(); err != nil {
		l.t.Fatal(err)
	}
}

// killKA is kill -9 of keepalived and its VRRP child.
func (l *haLab) killKA() {
	syscall.Kill(-l.ka.Process.Pid, syscall.SIGKILL)
	l.ka.Wait()
	l.kaKilled = l.ka.Process.Pid
}

func (l *haLab) lbxState() string {
	out, err := exec.Command("ip", "netns", "exec", haSW, lbxBinary, "--socket", filepath.Join(l.dir, "lbx.sock"), "-c", "show cm failover-status").CombinedOutput()
	if err != nil {
		return "unreachable"
	}
	return string(out)
}

func (l *haLab) lbxIs(state string) bool {
	return strings.Contains(l.lbxState(), "Status           "+state)
}

// kaMaster reports whether keepalived holds the floating address.
func (l *haLab) kaMaster() bool {
	out, _ := exec.Command("ip", "-n", haKA, "-4", "addr", "show", "eth0").CombinedOutput()
	return strings.Contains(string(out), haFloat+"/24")
}

// clientMAC is the client's neighbour entry for the floating address.
func (l *haLab) clientMAC() string {
	out, _ := exec.Command("ip", "-n", haCL, "neigh", "show", haFloat).CombinedOutput()
	f := strings.Fields(string(out))
	for i, w := range f {
		if w == "lladdr" && i+1 < len(f) {
			return f[i+1]
		}
	}
	return ""
}

func (l *haLab) ping() bool {
	return exec.Command("ip", "netns", "exec", haCL, "ping", "-c", "1", "-W", "1", haFloat).Run() == nil
}

func (l *haLab) waitUntil(what string, limit time.Duration, cond func() bool) time.Duration {
	l.t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			state := l.lbxState()
			if state == "unreachable" && l.lbx != nil && l.lbx.ProcessState == nil {
				// A hung appliance: its goroutines, into its log.
				l.lbx.Process.Signal(syscall.SIGQUIT)
				l.lbx.Wait()
			}
			tail, _ := os.ReadFile(l.lbxLog)
			if len(tail) > 200000 {
				tail = tail[len(tail)-200000:]
			}
			ka, _ := os.ReadFile(l.kaLog)
			if len(ka) > 4000 {
				ka = ka[len(ka)-4000:]
			}
			l.t.Fatalf("%s: not within %v\nlbx: %s\nlbx log (tail):\n%s\nkeepalived log (tail):\n%s", what, limit, state, tail, ka)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// lbx and keepalived in one VRRP group elect correctly both ways, each
// takes over when the other is killed, and the client follows through
// gratuitous ARP: to lbx's virtual MAC, to keepalived's own MAC.
func TestIntegrationHAKeepalived(t *testing.T) {
	l := newHALab(t)
	l.startLBX()
	l.waitUntil("lbx active alone", 10*time.Second, func() bool { return l.lbxIs("ACTIVE") })
	l.startKA()
	// keepalived starts BACKUP and must stay so while it hears lbx's
	// priority 200: give it 20 advertisement intervals.
	time.Sleep(2 * time.Second)
	if l.kaMaster() || !l.lbxIs("ACTIVE") {
		t.Fatalf("lbx (200) and keepalived (100): keepalived master %v\nlbx: %s", l.kaMaster(), l.lbxState())
	}
	if !l.ping() || l.clientMAC() != haVMAC {
		t.Fatalf("client: ping %s through lbx failed or neighbour %q, want %s", haFloat, l.clientMAC(), haVMAC)
	}

	// kill -9 lbx: keepalived takes over and the client moves to it.
	l.stop(l.lbx, syscall.SIGKILL)
	took := l.waitUntil("keepalived master after lbx killed", 10*time.Second, l.kaMaster)
	l.waitUntil("client follows keepalived's gratuitous ARP", 10*time.Second, func() bool { m := l.clientMAC(); return m != "" && m != haVMAC })
	t.Logf("lbx killed: keepalived master after %v", took)

	// lbx returns with the higher priority and preempts; the client moves
	// back through lbx's gratuitous ARP.
	l.startLBX()
	l.waitUntil("lbx preempts keepalived", 10*time.Second, func() bool { return l.lbxIs("ACTIVE") && !l.kaMaster() })
	l.waitUntil("client follows lbx's gratuitous ARP", 10*time.Second, func() bool { return l.clientMAC() == haVMAC })

	// lbx with the lower priority: keepalived master, lbx standby and
	// refusing the address; then kill -9 keepalived and lbx takes over.
	l.stop(l.lbx, syscall.SIGTERM) // priority 0: keepalived within its skew time
	l.waitUntil("keepalived master after lbx stopped", 10*time.Second, l.kaMaster)
	l.startLBX("--ha.priority", "50")
	l.waitUntil("lbx standby behind keepalived", 10*time.Second, func() bool {
		s := l.lbxState()
		return strings.Contains(s, "Status           STANDBY") && strings.Contains(s, "Active Peer      198.51.100.3 (priority 100)")
	})
	l.killKA()
	start := time.Now()
	l.waitUntil("lbx active after keepalived killed", 10*time.Second, func() bool { return l.lbxIs("ACTIVE") })
	l.waitUntil("first ping answered through lbx", 10*time.Second, func() bool {
		return exec.Command("ip", "netns", "exec", haCL, "ping", "-c", "1", "-W", "0.2", haFloat).Run() == nil
	})
	t.Logf("keepalived killed: first ping to %s answered by lbx after %v (advertisements every 100 ms, lbx priority 50)", haFloat, time.Since(start))
	if m := l.clientMAC(); m != haVMAC {
		t.Errorf("client neighbour %q after lbx took over, want %s", m, haVMAC)
	}
}
