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

// The config-sync test runs two lbx processes, each in a namespace of its
// own (lbxcs-a, lbxcs-b), under the host lock. A veth pair between them is
// the management network their config sync runs on (192.0.2.1 and
// 192.0.2.2, port 4353). Each unit has a TAP data port ext (198.51.100.N);
// lbx1 has a second one, int (203.0.113.2), that lbx2 lacks.
const csA, csB = "lbxcs-a", "lbxcs-b"

type csUnit struct {
	name, ns, dir, boot string
	cmd                 *exec.Cmd
	logs                int
}

type csLab struct {
	t    *testing.T
	a, b *csUnit
}

func newCSLab(t *testing.T) *csLab {
	t.Helper()
	requireRoot(t)
	lock, err := acquireLock(LockPath, lockWait, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	l := &csLab{t: t, a: &csUnit{name: "lbx1", ns: csA, dir: t.TempDir()}, b: &csUnit{name: "lbx2", ns: csB, dir: t.TempDir()}}
	t.Cleanup(func() {
		for _, u := range []*csUnit{l.a, l.b} {
			u.stop(syscall.SIGKILL)
		}
		for _, ns := range []string{csA, csB} {
			exec.Command("ip", "netns", "del", ns).Run()
		}
		lock.release()
	})
	for _, ns := range []string{csA, csB} {
		exec.Command("ip", "netns", "del", ns).Run() // a crashed run's leftovers
		sh(t, "ip", "netns", "add", ns)
		sh(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	sh(t, "ip", "link", "add", "mgmt", "netns", csA, "type", "veth", "peer", "name", "mgmt", "netns", csB)
	for i, ns := range []string{csA, csB} {
		sh(t, "ip", "-n", ns, "addr", "add", fmt.Sprintf("192.0.2.%d/24", i+1), "dev", "mgmt")
		sh(t, "ip", "-n", ns, "link", "set", "mgmt", "up")
	}
	for i, u := range []*csUnit{l.a, l.b} {
		n := i + 2
		ports := fmt.Sprintf("  - {name: ext, driver: tap, device: lbxcs-e, mac: \"02:00:5e:78:00:0%d\"}\n", n)
		selfs := fmt.Sprintf("  - {name: /Common/self_ext, address: 198.51.100.%d/24, port: ext}\n", n)
		if u == l.a {
			ports += "  - {name: int, driver: tap, device: lbxcs-i, mac: \"02:00:5e:78:01:02\"}\n"
			selfs += "  - {name: /Common/self_int, address: 203.0.113.2/24, port: int}\n"
		}
		u.boot = filepath.Join(u.dir, "boot.yaml")
		text := fmt.Sprintf("ports:\n%sselfips:\n%scontrol: {socket: %s}\nconfig: {saved: %s}\n"+
			"ha: {unit: %s, vrid: 52, priority: %d, advert_interval: 10, ports: [ext], configsync: \"192.0.2.%d\"}\n",
			ports, selfs, filepath.Join(u.dir, "lbx.sock"), filepath.Join(u.dir, "bigip.conf"), u.name, 200-i*100, i+1)
		if err := os.WriteFile(u.boot, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

func (u *csUnit) stop(sig syscall.Signal) {
	if u.cmd == nil || u.cmd.Process == nil || u.cmd.ProcessState != nil {
		return
	}
	u.cmd.Process.Signal(sig)
	u.cmd.Wait()
}

// start runs the unit's lbx in its namespace and waits for its control
// socket.
func (l *csLab) start(u *csUnit) {
	l.t.Helper()
	u.logs++
	log, err := os.Create(filepath.Join(u.dir, fmt.Sprintf("lbx.%d.log", u.logs)))
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { log.Close() })
	u.cmd = exec.Command("ip", "netns", "exec", u.ns, lbxBinary, "run", "-f", u.boot)
	u.cmd.Env = append(os.Environ(), "LBX_ADMIN_PASSWORD=secret-"+u.name)
	u.cmd.Stdout, u.cmd.Stderr = log, log
	if err := u.cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	l.until(u.name+" up", 20*time.Second, func() bool { _, err := u.run("list ltm pool"); return err == nil })
}

// run is `lbx -c` on the unit's control socket.
func (u *csUnit) run(cmd string) (string, error) {
	out, err := exec.Command(lbxBinary, "--socket", filepath.Join(u.dir, "lbx.sock"), "-c", cmd).CombinedOutput()
	return string(out), err
}

func (l *csLab) must(u *csUnit, cmd string) string {
	l.t.Helper()
	out, err := u.run(cmd)
	if err != nil {
		l.t.Fatalf("%s: %s: %v\n%s", u.name, cmd, err, out)
	}
	return out
}

func (l *csLab) until(what string, limit time.Duration, cond func() bool) time.Duration {
	l.t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			l.t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

func (l *csLab) has(u *csUnit, cmd, want string) bool {
	out, err := u.run(cmd)
	return err == nil && strings.Contains(out, want)
}

// Two lbx processes, config sync over mutual TLS between their
// namespaces: trust, manual sync keeping device-local objects, refusal of
// a configuration the peer cannot apply, conflict detection, auto-sync,
// and catch-up of a unit killed with kill -9 and started again.
func TestIntegrationConfigSync(t *testing.T) {
	l := newCSLab(t)
	a, b := l.a, l.b
	l.start(a)
	l.start(b)

	out := l.must(a, "modify cm trust-domain Root ca-devices add { 192.0.2.2 } name lbx2 username admin password secret-lbx2")
	if !strings.Contains(out, "/Common/lbx2 added to the trust domain") {
		t.Fatalf("trust: %s", out)
	}
	l.must(a, "create cm device-group dg1 devices { lbx1 lbx2 } type sync-failover")
	l.until("lbx2 takes the group", 10*time.Second, func() bool { return l.has(b, "list cm device-group", "/Common/dg1") })

	// Manual sync: the pool and virtual go, each unit's route stays its own.
	l.must(a, "create net route /Common/r_a network 10.1.0.0/16 gw 198.51.100.254")
	l.must(b, "create net route /Common/r_b network 10.2.0.0/16 gw 198.51.100.254")
	l.must(a, "create ltm pool /Common/web members add { 198.51.100.11:80 }")
	l.must(a, "create ltm virtual /Common/vs destination 198.51.100.100:80 ip-protocol tcp pool /Common/web")
	l.must(a, "run cm config-sync to-group dg1")
	if out := l.must(b, "list ltm virtual"); !strings.Contains(out, "/Common/vs") {
		t.Fatalf("lbx2 after to-group:\n%s", out)
	}
	if out := l.must(b, "list net route"); !strings.Contains(out, "r_b") || strings.Contains(out, "r_a") {
		t.Fatalf("lbx2's routes after to-group:\n%s", out)
	}
	if out := l.must(a, "show cm sync-status"); !strings.Contains(out, "Status           In Sync") {
		t.Fatalf("lbx1 after to-group:\n%s", out)
	}

	// A floating self IP on int, a VLAN lbx2 lacks: refused with the
	// reason, lbx2 unchanged.
	l.must(a, "create net self /Common/float_int address 203.0.113.1/24 vlan /Common/int traffic-group /Common/traffic-group-1")
	before := l.must(b, "list net self")
	out, err := a.run("run cm config-sync to-group dg1")
	if err == nil || !strings.Contains(out, "lbx2 refused: lbx2 kept its configuration") {
		t.Fatalf("to-group lbx2 cannot apply: %v\n%s", err, out)
	}
	t.Logf("refused: %s", strings.TrimSpace(out))
	if after := l.must(b, "list net self"); after != before {
		t.Fatalf("lbx2 changed:\n%s", after)
	}
	l.must(a, "delete net self /Common/float_int")

	// Both change: a possible change conflict, reported on both, never
	// merged; lbx1 takes lbx2's.
	l.must(a, "create ltm pool /Common/only_a")
	l.must(b, "create ltm pool /Common/only_b")
	for _, u := range []*csUnit{a, b} {
		if out := l.must(u, "show cm sync-status"); !strings.Contains(out, "possible change conflict") {
			t.Fatalf("%s in a conflict:\n%s", u.name, out)
		}
	}
	if l.has(b, "list ltm pool", "only_a") {
		t.Fatal("merged")
	}
	l.must(a, "run cm config-sync from-group dg1")
	if out := l.must(a, "list ltm pool"); !strings.Contains(out, "only_b") || strings.Contains(out, "only_a") {
		t.Fatalf("lbx1 after from-group:\n%s", out)
	}

	// Auto-sync.
	l.must(a, "modify cm device-group dg1 auto-sync enabled")
	l.until("lbx2 takes auto-sync", 10*time.Second, func() bool { return l.has(b, "list cm device-group", "auto-sync enabled") })
	l.must(b, "create ltm pool /Common/auto_b")
	took := l.until("auto-sync to lbx1", 10*time.Second, func() bool { return l.has(a, "list ltm pool", "auto_b") })
	t.Logf("auto-sync: a pool created on lbx2 listed on lbx1 after %v", took)

	// kill -9 lbx2 (its own change saved first); lbx1 changes; lbx2 comes
	// back and catches up, and the pair is in sync again.
	l.must(b, "save sys config")
	b.stop(syscall.SIGKILL)
	l.must(a, "create ltm pool /Common/while_down")
	l.until("lbx1 sees lbx2 disconnected", 10*time.Second, func() bool { return l.has(a, "show cm sync-status", "Status           Disconnected") })
	l.start(b)
	took = l.until("lbx2 catches up", 20*time.Second, func() bool { return l.has(b, "list ltm pool", "while_down") })
	t.Logf("catch-up: lbx2 had lbx1's change %v after its control socket answered", took)
	l.until("In Sync", 10*time.Second, func() bool { return l.has(a, "show cm sync-status", "Status           In Sync") })
	if !l.has(b, "list net route", "r_b") {
		t.Fatal("lbx2 lost its own route")
	}
}
