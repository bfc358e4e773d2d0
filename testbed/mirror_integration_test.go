package testbed

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The connection-mirroring lab runs in namespaces of its own (lbxmr-*),
// under the host lock. Two lbx units run in lbxmr-sw, each with a TAP port
// on the client bridge (brc) and one on the server bridge (brs); their
// mirroring streams use lbxmr-sw's loopback (127.0.0.1:4801 and :4802),
// the management network of this lab, as their config sync (:4811,
// :4812), whose device trust authenticates the mirroring streams
// (trust() makes it). The client (lbxmr-cl,
// 198.51.100.10) reaches the VIPs; the emulated server (lbxmr-sv,
// 203.0.113.10:8080) routes through the floating server-side self IP
// 203.0.113.1, so its answers follow traffic-group-1. Two virtual servers
// share the pool: vs_mirror (198.51.100.100:80, mirror enabled) and
// vs_plain (198.51.100.101:80, not mirrored). VRID 52, advertisements
// every 100 ms, no preemption: a failover moves the active unit for good.
const (
	mrPassword       = "mirror-lab-admin"
	mrSW, mrCL, mrSV = "lbxmr-sw", "lbxmr-cl", "lbxmr-sv"
	mrVIPMirror      = "198.51.100.100"
	mrVIPPlain       = "198.51.100.101"
)

type mrUnit struct {
	name string
	dir  string
	cmd  *exec.Cmd
	logs int
}

type mirrorLab struct {
	t     *testing.T
	dir   string
	units [2]*mrUnit
	srv   *exec.Cmd
}

func newMirrorLab(t *testing.T) *mirrorLab {
	t.Helper()
	requireRoot(t)
	lock, err := acquireLock(LockPath, lockWait, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	l := &mirrorLab{t: t, dir: t.TempDir()}
	t.Cleanup(func() {
		for _, u := range l.units {
			if u != nil {
				l.stopUnit(u, syscall.SIGKILL)
			}
		}
		if l.srv != nil && l.srv.Process != nil {
			stop(l.srv.Process.Pid, l.srv)
		}
		for _, ns := range []string{mrCL, mrSV, mrSW} {
			exec.Command("ip", "netns", "del", ns).Run()
		}
		lock.release()
	})
	for _, ns := range []string{mrSW, mrCL, mrSV} {
		exec.Command("ip", "netns", "del", ns).Run() // a crashed run's leftovers
		sh(t, "ip", "netns", "add", ns)
	}
	sh(t, "ip", "-n", mrSW, "link", "set", "lo", "up")
	for _, br := range []string{"brc", "brs"} {
		sh(t, "ip", "-n", mrSW, "link", "add", br, "type", "bridge")
		sh(t, "ip", "-n", mrSW, "link", "set", br, "up")
	}
	for _, h := range []struct{ ns, sw, br, addr, gw string }{
		{mrCL, "pc", "brc", "198.51.100.10/24", ""},
		{mrSV, "ps", "brs", "203.0.113.10/24", "203.0.113.1"},
	} {
		sh(t, "ip", "link", "add", h.sw, "netns", mrSW, "type", "veth", "peer", "name", "eth0", "netns", h.ns)
		sh(t, "ip", "-n", mrSW, "link", "set", h.sw, "master", h.br, "up")
		sh(t, "ip", "-n", h.ns, "addr", "add", h.addr, "dev", "eth0")
		sh(t, "ip", "-n", h.ns, "link", "set", "eth0", "up")
		sh(t, "ip", "-n", h.ns, "link", "set", "lo", "up")
		if h.gw != "" {
			sh(t, "ip", "-n", h.ns, "route", "add", "default", "via", h.gw)
		}
	}
	conf := `ltm node /Common/203.0.113.10 { address 203.0.113.10 }
ltm pool /Common/web { members { /Common/203.0.113.10:8080 { address 203.0.113.10 } } }
ltm virtual /Common/vs_mirror { destination /Common/198.51.100.100:80 ip-protocol tcp mask 255.255.255.255 mirror enabled pool /Common/web }
ltm virtual /Common/vs_plain { destination /Common/198.51.100.101:80 ip-protocol tcp mask 255.255.255.255 pool /Common/web }
net self /Common/float_ext { address 198.51.100.1/24 traffic-group /Common/traffic-group-1 vlan /Common/ext }
net self /Common/float_int { address 203.0.113.1/24 traffic-group /Common/traffic-group-1 vlan /Common/int }
`
	for i := range l.units {
		u := &mrUnit{name: fmt.Sprintf("lbx%d", i+1), dir: filepath.Join(l.dir, fmt.Sprintf("u%d", i+1))}
		l.units[i] = u
		if err := os.MkdirAll(u.dir, 0o755); err != nil {
			t.Fatal(err)
		}
		boot := fmt.Sprintf(`ports:
  - {name: ext, driver: tap, device: lbxmr-%[1]de, mac: "02:00:5e:78:0%[1]d:02"}
  - {name: int, driver: tap, device: lbxmr-%[1]di, mac: "02:00:5e:78:1%[1]d:02"}
selfips:
  - {name: /Common/self_ext, address: 198.51.100.%[2]d/24, port: ext}
  - {name: /Common/self_int, address: 203.0.113.%[2]d/24, port: int}
control: {socket: %[3]s}
config: {saved: %[4]s}
ssh: {admin_password: %[9]s}
ha: {unit: %[5]s, vrid: 52, priority: %[6]d, preempt: false, advert_interval: 10, ports: [ext, int],
     mirror_addr: "127.0.0.1:480%[7]d", mirror_peer: "127.0.0.1:480%[8]d", configsync: "127.0.0.1:481%[7]d"}
`, i+1, i+2, filepath.Join(u.dir, "lbx.sock"), filepath.Join(u.dir, "bigip.conf"), u.name, 200-100*i, i+1, 2-i, mrPassword)
		for name, text := range map[string]string{"boot.yaml": boot, "bigip.conf": conf} {
			if err := os.WriteFile(filepath.Join(u.dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The emulated server: /drip is a long transfer.
	o := ServerOptions{Name: "srv", HTTP: ":8080"}
	l.srv = exec.Command(lbxBinary, append([]string{"testbed", "serve"}, o.Args()...)...)
	logf, err := os.Create(filepath.Join(l.dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	l.srv.Stdout, l.srv.Stderr = logf, logf
	l.srv.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := startIn(mrSV, l.srv); err != nil {
		t.Fatal(err)
	}
	if err := waitListening(mrSV, o.ReadyAddr(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	return l
}

func (l *mirrorLab) stopUnit(u *mrUnit, sig syscall.Signal) {
	if u.cmd == nil || u.cmd.Process == nil || u.cmd.ProcessState != nil {
		return
	}
	u.cmd.Process.Signal(sig)
	u.cmd.Wait()
}

// start runs unit i and joins its TAP ports to the bridges.
func (l *mirrorLab) start(i int) {
	l.t.Helper()
	u := l.units[i]
	l.stopUnit(u, syscall.SIGKILL)
	u.logs++
	log, err := os.Create(filepath.Join(u.dir, fmt.Sprintf("lbx.%d.log", u.logs)))
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { log.Close() })
	u.cmd = exec.Command("ip", "netns", "exec", mrSW, lbxBinary, "run", "-f", filepath.Join(u.dir, "boot.yaml"))
	u.cmd.Stdout, u.cmd.Stderr = log, log
	if err := u.cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	for _, p := range []struct{ dev, br string }{{fmt.Sprintf("lbxmr-%de", i+1), "brc"}, {fmt.Sprintf("lbxmr-%di", i+1), "brs"}} {
		l.waitUntil(u.name+"'s TAP port "+p.dev, 10*time.Second, func() bool {
			return exec.Command("ip", "-n", mrSW, "link", "show", p.dev).Run() == nil
		})
		sh(l.t, "ip", "-n", mrSW, "link", "set", p.dev, "master", p.br, "up")
	}
}

// exec runs a tmsh command on unit i.
func (l *mirrorLab) exec(i int, cmd string) (string, error) {
	out, err := exec.Command("ip", "netns", "exec", mrSW, lbxBinary, "--socket", filepath.Join(l.units[i].dir, "lbx.sock"), "-c", cmd).CombinedOutput()
	return string(out), err
}

func (l *mirrorLab) state(i int) string {
	out, err := l.exec(i, "show cm failover-status")
	if err != nil {
		return "unreachable"
	}
	return out
}

// debug is what a failure prints of unit i.
func (l *mirrorLab) debug(i int) string {
	var b strings.Builder
	b.WriteString(l.state(i))
	for _, c := range []string{"show sys connection", "show sys dataplane"} {
		out, _ := l.exec(i, c)
		b.WriteString(c + ":\n" + out)
	}
	return b.String()
}

func (l *mirrorLab) is(i int, state string) bool {
	return strings.Contains(l.state(i), "Status           "+state)
}

func (l *mirrorLab) waitUntil(what string, limit time.Duration, cond func() bool) time.Duration {
	l.t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			l.t.Fatalf("%s: not within %v\nlbx1: %s\nlbx2: %s", what, limit, l.debug(0), l.debug(1))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// trust adds lbx2 to lbx1's trust domain (and lbx1 to lbx2's): the
// device trust that authenticates the mirroring streams both ways.
func (l *mirrorLab) trust() {
	l.t.Helper()
	if out, err := l.exec(0, "modify cm trust-domain Root ca-devices add { 127.0.0.1:4812 } name lbx2 username admin password "+mrPassword); err != nil {
		l.t.Fatalf("trust: %v\n%s", err, out)
	}
}

// hasConn reports whether unit i's flow table holds the client's
// connection to vip.
func (l *mirrorLab) hasConn(i int, vip string) bool {
	out, err := l.exec(i, "show sys connection cs-server-addr "+vip)
	return err == nil && strings.Contains(out, "198.51.100.10:")
}

// transfer is a running curl of a long response through a VIP.
type transfer struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan error
}

// dripLines and dripMS: each transfer lasts about 15 s, unless broken.
const dripLines, dripMS = 150, 100

func (l *mirrorLab) startTransfer(vip string) *transfer {
	tr := &transfer{done: make(chan error, 1)}
	tr.cmd = exec.Command("ip", "netns", "exec", mrCL, "curl", "-sS", "-N", "--max-time", "40",
		fmt.Sprintf("http://%s/drip?n=%d&ms=%d", vip, dripLines, dripMS))
	tr.cmd.Stdout, tr.cmd.Stderr = &syncWriter{w: &tr.out}, &syncWriter{w: &tr.out}
	if err := tr.cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() {
		if tr.cmd.ProcessState == nil {
			tr.cmd.Process.Kill()
		}
	})
	go func() { tr.done <- tr.cmd.Wait() }()
	return tr
}

// lines is how many lines the transfer has received so far.
func (tr *transfer) lines() int {
	return strings.Count(syncString(&tr.out), "\n")
}

// wait waits for curl to end, or for its output to stall for 3 s (10 ×
// the drip's pace: the connection is broken), then kills it.
func (tr *transfer) wait(t *testing.T) (string, error) {
	last, since := -1, time.Now()
	for limit := time.Now().Add(45 * time.Second); time.Now().Before(limit); {
		select {
		case err := <-tr.done:
			return syncString(&tr.out), err
		case <-time.After(100 * time.Millisecond):
		}
		if n := tr.lines(); n != last {
			last, since = n, time.Now()
		} else if time.Since(since) > 3*time.Second {
			tr.cmd.Process.Kill()
			<-tr.done
			return syncString(&tr.out), fmt.Errorf("stalled at %d lines for 3 s", n)
		}
	}
	t.Fatal("curl did not end within 45 s (its --max-time is 40 s)")
	return "", nil
}

// complete reports whether out is the whole drip, in order.
func complete(out string) bool {
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != dripLines {
		return false
	}
	for i, s := range lines {
		if s != "server=srv i="+strconv.Itoa(i+1) {
			return false
		}
	}
	return true
}

// A long transfer through the mirrored VIP survives a planned failover
// (run sys failover standby) and kill -9 of the active appliance; the
// same transfer through the unmirrored VIP breaks both ways, so mirroring
// is what carries it. Before each failover the standby is checked to hold
// the mirrored flow (and not the unmirrored one).
func TestIntegrationHAMirror(t *testing.T) {
	l := newMirrorLab(t)
	begin := time.Now()
	l.start(0)
	l.waitUntil("lbx1 active alone", 10*time.Second, func() bool { return l.is(0, "ACTIVE") })
	l.start(1)
	// Before the trust step nothing streams: lbx1 trusts no device.
	l.waitUntil("lbx2 standby, lbx1 not streaming for want of trust", 10*time.Second, func() bool {
		return l.is(1, "STANDBY") && strings.Contains(l.state(0), "no device in the trust domain")
	})
	if st := l.state(0); !strings.Contains(st, "Streaming        no") {
		t.Fatalf("lbx1 streams before the trust step:\n%s", st)
	}
	// A stranger on the management network (plain TCP, here curl's
	// HTTP) is refused by lbx2 and counted.
	exec.Command("ip", "netns", "exec", mrSW, "curl", "-s", "--max-time", "3", "http://127.0.0.1:4802/").Run()
	l.waitUntil("lbx2 counts the stranger's stream", 5*time.Second, func() bool {
		return strings.Contains(l.state(1), "Untrusted Peers  1 streams refused")
	})
	l.trust()
	l.waitUntil("lbx1 streaming to lbx2 after the trust step", 10*time.Second, func() bool {
		return strings.Contains(l.state(0), "Streaming        yes")
	})
	t.Logf("pair up, lbx1 streaming to lbx2, after %v", time.Since(begin).Round(time.Millisecond))
	active := 0
	for _, round := range []struct {
		how      string
		mirrored bool
	}{
		{"run sys failover standby", true},
		{"run sys failover standby", false},
		{"kill -9", true},
		{"kill -9", false},
	} {
		vip := mrVIPPlain
		if round.mirrored {
			vip = mrVIPMirror
		}
		standby := 1 - active
		name := fmt.Sprintf("%s, %s (mirrored %v), lbx%d → lbx%d", round.how, vip, round.mirrored, active+1, standby+1)
		tr := l.startTransfer(vip)
		l.waitUntil(name+": transfer under way", 10*time.Second, func() bool { return tr.lines() >= 5 })
		if round.mirrored {
			l.waitUntil(name+": the standby holds the mirrored flow", 5*time.Second, func() bool { return l.hasConn(standby, vip) })
		} else {
			time.Sleep(300 * time.Millisecond) // 30 drain intervals
			if !l.hasConn(active, vip) || l.hasConn(standby, vip) {
				t.Fatalf("%s: active holds the flow %v, standby %v: want only the active", name, l.hasConn(active, vip), l.hasConn(standby, vip))
			}
		}
		at := tr.lines()
		if round.how == "kill -9" {
			l.stopUnit(l.units[active], syscall.SIGKILL)
		} else if out, err := l.exec(active, "run sys failover standby"); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		took := l.waitUntil(name+": the standby takes over", 10*time.Second, func() bool { return l.is(standby, "ACTIVE") })
		out, err := tr.wait(t)
		t.Logf("%s: lbx%d active after %v; the transfer had %d of %d lines at the failover, ended with %d (curl: %v)",
			name, standby+1, took.Round(time.Millisecond), at, dripLines, strings.Count(out, "\n"), err)
		if at >= dripLines {
			t.Fatalf("%s: the transfer was over before the failover", name)
		}
		switch {
		case round.mirrored && (err != nil || !complete(out)):
			t.Errorf("%s: the mirrored transfer broke: curl %v\n%s", name, err, out)
		case !round.mirrored && err == nil && complete(out):
			t.Errorf("%s: the unmirrored transfer survived the failover: mirroring is not what carries flows", name)
		}
		// The old active unit rejoins as standby: back online, or
		// restarted after kill -9.
		if round.how == "kill -9" {
			l.start(active)
		} else if out, err := l.exec(active, "run sys failover online"); err != nil {
			t.Fatalf("%s: online: %v\n%s", name, err, out)
		}
		old := active
		l.waitUntil(name+": the old active unit is standby, the new one streams to it", 10*time.Second, func() bool {
			return l.is(old, "STANDBY") && strings.Contains(l.state(standby), "Streaming        yes")
		})
		active = standby
	}
}

// syncWriter and syncString: curl writes while the test reads.
type syncWriter struct{ w *bytes.Buffer }

var outMu = make(chan struct{}, 1)

func (s *syncWriter) Write(p []byte) (int, error) {
	outMu <- struct{}{}
	defer func() { <-outMu }()
	return s.w.Write(p)
}

func syncString(b *bytes.Buffer) string {
	outMu <- struct{}{}
	defer func() { <-outMu }()
	return b.String()
}

// wrkResult is what wrk printed: requests done and requests lost: socket
// errors, non-2xx answers and timeouts as wrk counts them (wrk 4 did not
// count the stalled keep-alive connections of an unmirrored failover:
// compare the requests done).
type wrkResult struct {
	requests, lost int
	text           string
}

var (
	wrkRequests = regexp.MustCompile(`(\d+) requests in`)
	wrkErrors   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

func parseWrk(out string) wrkResult {
	r := wrkResult{text: out}
	if m := wrkRequests.FindStringSubmatch(out); m != nil {
		r.requests, _ = strconv.Atoi(m[1])
	}
	if m := wrkErrors.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(s)
			r.lost += n
		}
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		n, _ := strconv.Atoi(m[1])
		r.lost += n
	}
	return r
}

// wrk runs wrk from the client for d against vip, with extra arguments,
// calling during (if not nil) after at.
func (l *mirrorLab) wrk(vip string, d time.Duration, at time.Duration, during func(), extra ...string) wrkResult {
	l.t.Helper()
	args := append([]string{"netns", "exec", mrCL, "wrk", "-t2", "-c16", "--timeout", "2s", "-d", fmt.Sprintf("%ds", int(d/time.Second))}, extra...)
	cmd := exec.Command("ip", append(args, "http://"+vip+"/")...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	if during != nil {
		time.Sleep(at)
		during()
	}
	if err := cmd.Wait(); err != nil {
		l.t.Fatalf("wrk: %v\n%s", err, out.String())
	}
	return parseWrk(out.String())
}

// cpu is the CPU time unit i's process has used.
func (l *mirrorLab) cpu(i int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", l.units[i].cmd.Process.Pid))
	if err != nil {
		l.t.Fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)            // utime, field 14
	st, _ := strconv.ParseInt(f[12], 10, 64)            // stime, field 15
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ 100
}

var sentRe = regexp.MustCompile(`(?m)^(Flows Sent|Ends Sent) +(\d+)`)

// updatesSent is how many flow updates (records and ends) unit i has sent.
func (l *mirrorLab) updatesSent(i int) int {
	n := 0
	for _, m := range sentRe.FindAllStringSubmatch(l.state(i), -1) {
		v, _ := strconv.Atoi(m[2])
		n += v
	}
	return n
}

// The figures of docs/BENCHMARKS.md ("Connection mirroring"), measured
// and logged, not held to thresholds: what mirroring costs the active
// unit under new connections (CPU, flow updates sent a second), the time
// from kill -9 of the active unit to the first request answered through
// the other, and the requests wrk loses over a planned failover with and
// without mirroring. What it checks: the numbers were measured (wrk ran,
// the standby answered), and mirroring streamed updates.
func TestIntegrationHAMirrorFigures(t *testing.T) {
	if testing.Short() {
		t.Skip("figures: not in -short")
	}
	l := newMirrorLab(t)
	l.start(0)
	l.waitUntil("lbx1 active alone", 10*time.Second, func() bool { return l.is(0, "ACTIVE") })
	l.start(1)
	l.waitUntil("lbx2 answering", 10*time.Second, func() bool { return l.is(1, "STANDBY") })
	l.trust()
	l.waitUntil("lbx2 standby, lbx1 streaming to it", 10*time.Second, func() bool {
		return l.is(1, "STANDBY") && strings.Contains(l.state(0), "Streaming        yes")
	})

	// New connections (Connection: close) through each VIP: the active
	// unit's CPU a connection, and the flow updates sent a second.
	const d = 5 * time.Second
	for _, vip := range []string{mrVIPPlain, mrVIPMirror, mrVIPPlain, mrVIPMirror} {
		c0, u0 := l.cpu(0), l.updatesSent(0)
		r := l.wrk(vip, d, 0, nil, "-H", "Connection: close")
		c1, u1 := l.cpu(0), l.updatesSent(0)
		if r.requests == 0 {
			t.Fatalf("wrk through %s: no requests\n%s", vip, r.text)
		}
		t.Logf("figure: new connections through %s (mirror %v): %.0f conn/s, active unit CPU %.1f µs a connection (%.0f%% of a core), %.0f flow updates/s sent, %d lost",
			vip, vip == mrVIPMirror, float64(r.requests)/d.Seconds(), float64((c1-c0).Microseconds())/float64(r.requests),
			100*(c1-c0).Seconds()/d.Seconds(), float64(u1-u0)/d.Seconds(), r.lost)
		if vip == mrVIPMirror && u1 <= u0 {
			t.Errorf("no flow updates sent while %d connections went through the mirrored VIP", r.requests)
		}
	}

	// kill -9 of the active unit: the first request answered through the
	// other, three times.
	active := 0
	for range 3 {
		standby := 1 - active
		l.stopUnit(l.units[active], syscall.SIGKILL)
		start := time.Now()
		l.waitUntil("first request answered after kill -9", 10*time.Second, func() bool {
			return exec.Command("ip", "netns", "exec", mrCL, "curl", "-s", "-o", "/dev/null", "--max-time", "0.2", "http://"+mrVIPMirror+"/").Run() == nil
		})
		t.Logf("figure: kill -9 of lbx%d: first request answered through lbx%d after %v (advertisements every 100 ms)",
			active+1, standby+1, time.Since(start).Round(time.Millisecond))
		l.start(active)
		old := active
		l.waitUntil("the killed unit back as standby", 10*time.Second, func() bool {
			return l.is(old, "STANDBY") && strings.Contains(l.state(standby), "Streaming        yes")
		})
		active = standby
	}

	// A planned failover under wrk load (keep-alive connections), with
	// and without mirroring.
	for _, vip := range []string{mrVIPMirror, mrVIPPlain} {
		standby := 1 - active
		from := active
		r := l.wrk(vip, 10*time.Second, 3*time.Second, func() {
			if out, err := l.exec(from, "run sys failover standby"); err != nil {
				t.Fatalf("run sys failover standby: %v\n%s", err, out)
			}
		})
		l.waitUntil("the standby took over", 10*time.Second, func() bool { return l.is(standby, "ACTIVE") })
		t.Logf("figure: run sys failover standby under wrk (16 keep-alive connections, 10 s, 2 s timeout) through %s (mirror %v): %d requests, %d lost",
			vip, vip == mrVIPMirror, r.requests, r.lost)
		if r.requests == 0 {
			t.Fatalf("wrk: no requests\n%s", r.text)
		}
		if out, err := l.exec(from, "run sys failover online"); err != nil {
			t.Fatalf("online: %v\n%s", err, out)
		}
		l.waitUntil("the old active unit is standby, the new one streams to it", 10*time.Second, func() bool {
			return l.is(from, "STANDBY") && strings.Contains(l.state(standby), "Streaming        yes")
		})
		active = standby
	}
}
