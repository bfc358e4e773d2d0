package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"lbx/ctrlplane/ctlsock"
	"lbx/testbed"
)

// sample is one run of one workload against one target.
type sample struct {
	Rate     float64       // in the workload's unit
	P50, P99 time.Duration // wrk's; zero for the other workloads
	Errors   int64         // wrk: socket errors + non-2xx; iperf3: retransmits
	Sent     int64         // UDP: datagrams the client sent
	// CPUPerReq is the contender process's CPU time (utime+stime) over a
	// wrk run divided by the requests completed, in seconds; 0 when the
	// contender is not a process (nft, route) or it could not be read.
	CPUPerReq float64
}

// scaleResult is the scale workload's outcome on lbx-tap.
type scaleResult struct {
	Ran               bool
	Virtuals          int
	Members           int
	Lines             int
	Apply             time.Duration
	ApplyCPU          float64 // lbx's CPU time (utime+stime) over the push, seconds; the stream's share included
	StreamPPS         int
	CtrlSent          int64 // the same stream for ctrlStream, no push
	CtrlReceived      int64
	Sent, Received    int64
	Err               string
	MonRan            bool
	Monitored         int
	Window            time.Duration
	Baseline, WithMon float64 // lbx's CPU in cores over Window
	// Answers is how many packets reached lbx-tap's server-side port over
	// the monitored Window: one RST per probe (nothing else runs then), so
	// the probe rate, which falls when lbx's core is contended.
	Answers int64
	MonErr  string
}

// bench is one run's live state.
type bench struct {
	c     config
	tb    *testbed.Testbed
	p     *peers
	exe   string   // this executable, for the UDP roles
	pin0  []string // prefix that places a command on CPU 0 (nil: no pinning)
	hosts []testbed.Host
}

// measure brings everything up, runs the rounds into d, and tears
// everything down again on every path.
func measure(ctx context.Context, c config, d *runData) (err error) {
	dir, err := os.MkdirTemp("", "lbx-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	tb, err := testbed.Up(testbed.Options{Binary: c.Binary, Log: os.Stderr})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(os.Stderr, "bench: tearing down")
		err = errors.Join(err, tb.Down())
	}()
	p := &peers{log: os.Stderr, dir: dir}
	if runtime.NumCPU() >= 2 {
		p.pin0, p.pin1 = []string{"taskset", "-c", "0"}, []string{"taskset", "-c", "1"}
	}
	defer func() { err = errors.Join(err, p.down()) }()
	var servers []netip.Addr
	for _, h := range tb.Topo.Servers() {
		servers = append(servers, h.Addr.Addr())
	}
	b := &bench{c: c, tb: tb, p: p, exe: exe, hosts: tb.Topo.Servers()}
	if p.cert, err = writeCert(dir); err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	d.lbxScript = lbxScript(targets[0].Addr, targets[0].L7, servers, servers[0], false, p.cert.Cert, p.cert.Key)
	cl := tb.Client()
	cl.PushTimeout = time.Minute
	if _, err := cl.Push(d.lbxScript); err != nil {
		return fmt.Errorf("lbx-tap: push: %w", err)
	}
	if c.ScaleOnly {
		if d.placement, err = b.placeScale(); err != nil {
			return err
		}
		if err := checkTarget(ctx, tb, targets[0], targets[0].URL()); err != nil {
			return err
		}
		d.scale = b.scale(ctx, servers)
		return nil
	}
	if err := p.setUp(ctx, tb, c.Binary, servers); err != nil {
		return err
	}
	d.nftRules = nftRuleset(nftPeer.VIP.Addr(), servers, servers[0], nftPeer.Inside.Addr(), "eth1")
	d.haproxyTCP = haproxyConfig("tcp", haproxyPeer.VIP.Addr(), servers, servers[0], haproxyPeer.Inside.Addr(), "")
	d.haproxyHTTP = haproxyConfig("http", haproxyHTTPPeer.VIP.Addr(), servers, servers[0], haproxyHTTPPeer.Inside.Addr(), p.cert.PEM)
	if d.placement, err = b.place(); err != nil {
		return err
	}
	d.tls = map[string]tlsParams{}
	for _, t := range targets {
		if err := checkTarget(ctx, tb, t, t.URL()); err != nil {
			return err
		}
		if !t.L7.IsValid() {
			continue
		}
		for _, w := range workloads {
			if w.L7 {
				if err := checkTarget(ctx, tb, t, t.urlFor(w)); err != nil {
					return err
				}
			}
		}
		if d.tls[t.Name], err = checkTLS(ctx, tb, t); err != nil {
			return err
		}
	}
	if c.Warmup > 0 {
		for _, t := range targets {
			if _, err := b.wrk(ctx, c.Warmup, workloads[0], t); err != nil {
				return fmt.Errorf("warm-up: %w", err)
			}
		}
	}
	d.res = map[string]map[string][]sample{}
	for _, w := range workloads {
		d.res[w.Name] = map[string][]sample{}
	}
	for r := 1; r <= c.Rounds; r++ {
		for _, w := range workloads {
			for _, t := range roundOrder(r) {
				if !t.serves(w) {
					continue
				}
				s, err := b.run(ctx, w, t)
				if err != nil {
					return fmt.Errorf("round %d: %w", r, err)
				}
				fmt.Fprintf(os.Stderr, "bench: round %d/%d %-10s %-12s %12s %s  p50 %-9s p99 %-9s errors %d\n",
					r, c.Rounds, w.Name, t.Name, fmtRate(s.Rate), w.Unit, fmtDur(s.P50), fmtDur(s.P99), s.Errors)
				d.res[w.Name][t.Name] = append(d.res[w.Name][t.Name], s)
			}
		}
	}
	d.scale = b.scale(ctx, servers)
	return nil
}

// roundOrder is the targets in the order round r runs them: rotated by
// one each round, so no contender always runs first or after the same
// other.
func roundOrder(r int) []target {
	n := len(targets)
	out := make([]target, n)
	for i := range out {
		out[i] = targets[(i+r-1)%n]
	}
	return out
}

func (b *bench) run(ctx context.Context, w workload, t target) (sample, error) {
	switch w.Kind {
	case kindWrk:
		pid := b.pidOf(t)
		t0, terr := cpuTicks(pid)
		res, err := b.wrk(ctx, b.c.Duration, w, t)
		s := sample{Rate: res.RPS, P50: res.P50, P99: res.P99, Errors: res.SocketErrors + res.Non2xx}
		if t1, terr1 := cpuTicks(pid); pid > 0 && terr == nil && terr1 == nil && res.Requests > 0 {
			s.CPUPerReq = float64(t1-t0) / clockTicks / float64(res.Requests)
		}
		return s, err
	case kindUDP:
		pid := b.pidOf(t)
		t0, terr := cpuTicks(pid)
		sent, recv, err := b.udp(ctx, t, b.c.Duration, 0, nil)
		s := sample{Rate: float64(recv) / b.c.Duration.Seconds(), Sent: sent}
		if t1, terr1 := cpuTicks(pid); pid > 0 && terr == nil && terr1 == nil && recv > 0 {
			s.CPUPerReq = float64(t1-t0) / clockTicks / float64(recv)
		}
		return s, err
	case kindBulk:
		// iperf3 -s serves one test at a time: on a loaded machine the
		// previous run's teardown may still hold it (busy, or a reset
		// control connection), so such a run is tried again.
		var res iperfResult
		for try := 1; ; try++ {
			c, err := b.tb.Command("client", append(b.pin0, iperfArgs(b.c.Duration, t)...)...)
			if err != nil {
				return sample{}, err
			}
			out, err := runIn(ctx, c, b.c.Duration+15*time.Second)
			if err == nil {
				if res, err = parseIperf(out); err == nil {
					break
				}
			}
			if try == iperfTries || !iperfRetryable(out) {
				return sample{}, fmt.Errorf("bulk %s: %w\n%s", t.Name, err, out)
			}
			time.Sleep(time.Second)
		}
		return sample{Rate: res.Gbps, Errors: res.Retransmits}, nil
	}
	return sample{}, fmt.Errorf("workload %s: unknown kind", w.Name)
}

// pidOf is the PID of t's process (the one whose CPU time is its work),
// 0 for the kernel contenders.
func (b *bench) pidOf(t target) int {
	switch t.Name {
	case "lbx-tap":
		for _, p := range b.tb.State.Procs {
			if p.Name == "appliance" {
				return p.PID
			}
		}
	case "lbx-xdp", "haproxy-tcp", "haproxy-http":
		return b.p.pid(t.Name)
	}
	return 0
}

// place pins every process to a CPU, the same way for every contender:
// the load generators and the servers (the ends) on CPU 0, each
// contender's userspace processes on CPU 1, and the kernel contenders'
// receive processing (where forwarding, NAT and HAProxy's TCP happen) on
// CPU 1 by RPS on their interfaces. It returns the placement as the
// report states it.
func (b *bench) place() ([]string, error) {
	if runtime.NumCPU() < 2 {
		return []string{"One CPU: nothing pinned."}, nil
	}
	b.pin0 = b.p.pin0
	pin := func(cpu string, pid int, name string) error {
		if pid == 0 {
			return fmt.Errorf("pin %s: not running", name)
		}
		out, err := exec.Command("taskset", "-a", "-p", "-c", cpu, fmt.Sprint(pid)).CombinedOutput()
		if err != nil {
			return fmt.Errorf("pin %s (pid %d): %w: %s", name, pid, err, out)
		}
		return nil
	}
	procs := map[string]int{}
	for _, p := range b.tb.State.Procs {
		procs[p.Name] = p.PID
	}
	for _, h := range b.hosts {
		if err := pin("0", procs[h.Name], h.Name); err != nil {
			return nil, err
		}
		if err := pin("0", b.p.pid("iperf3-"+h.Name), "iperf3-"+h.Name); err != nil {
			return nil, err
		}
	}
	if err := pin("1", procs["appliance"], "lbx-tap"); err != nil {
		return nil, err
	}
	for _, n := range []string{"lbx-xdp", "haproxy-tcp", "haproxy-http"} {
		if err := pin("1", b.p.pid(n), n); err != nil {
			return nil, err
		}
	}
	// The NAPI threads that take lbx-xdp's frames through GRO on its
	// switch ends (testbed/ethtool.VethGRO) do the receive work that RPS puts
	// on CPU 1 for the kernel contenders.
	napi, err := napiThreads("napi/" + xdpPeer.SwExt[:len(xdpPeer.SwExt)-1])
	if err != nil {
		return nil, err
	}
	if len(napi) == 0 {
		return nil, fmt.Errorf("pin lbx-xdp's NAPI threads: no thread named napi/%s*", xdpPeer.SwExt[:len(xdpPeer.SwExt)-1])
	}
	for _, pid := range napi {
		if err := pin("1", pid, "NAPI thread"); err != nil {
			return nil, err
		}
	}
	for _, s := range []peerSpec{nftPeer, routePeer, haproxyPeer, haproxyHTTPPeer} {
		for _, dev := range []string{"eth0", "eth1"} {
			out, err := exec.Command("ip", "netns", "exec", s.NS, "sh", "-c",
				"echo 2 > /sys/class/net/"+dev+"/queues/rx-0/rps_cpus").CombinedOutput()
			if err != nil {
				return nil, fmt.Errorf("rps %s %s: %w: %s", s.NS, dev, err, out)
			}
		}
	}
	return []string{
		"CPU 0 — the ends: wrk, iperf3 -c and the UDP sender in lbx-client (`taskset -c 0`), the iperf3 servers and UDP sinks (`taskset -c 0`), and the emulated servers, which the testbed starts (`taskset -a -p -c 0 PID`).",
		"CPU 1 — the contender: lbx-xdp's `lbx run` and both HAProxy processes start under `taskset -c 1` (so HAProxy starts one thread and Go's GOMAXPROCS is 1); lbx-tap's `lbx run`, which the testbed starts, is moved there with `taskset -a -p -c 1 PID` (every thread; Go follows the new affinity); for the kernel's work in the nft, route and HAProxy namespaces, RPS on their eth0 and eth1 (`rps_cpus` = 2) moves receive processing — forwarding, conntrack and NAT, HAProxy's TCP — to CPU 1 too.",
		"CPU 1 also — the kernel threads that run GRO on lbx-xdp's switch-side veth ends (threaded NAPI, set up by the testbed for AF_XDP ports so that the frames lbx-xdp sends reach the bridge and the servers aggregated, as a server's NIC would aggregate them) (`taskset -p -c 1 PID`): the same receive work that RPS puts on CPU 1 for the kernel contenders.",
		"Not pinnable: the kernel work done in the sending thread's context (a veth transmit runs the bridge in the switch namespace on the sender's CPU; lbx-tap's TAP writes deliver to the servers on CPU 1; lbx-xdp's veth peers have native XDP, which runs before RPS, on the sender's CPU).",
	}, nil
}

// placeScale is place for -scale-only: the servers on CPU 0, lbx-tap on
// CPU 1, as the full run places them.
func (b *bench) placeScale() ([]string, error) {
	if runtime.NumCPU() < 2 {
		return []string{"One CPU: nothing pinned."}, nil
	}
	b.pin0 = b.p.pin0
	procs := map[string]int{}
	for _, p := range b.tb.State.Procs {
		procs[p.Name] = p.PID
	}
	for _, pc := range []struct{ cpu, name string }{{"0", ""}, {"1", "appliance"}} {
		names := []string{pc.name}
		if pc.name == "" {
			names = names[:0]
			for _, h := range b.hosts {
				names = append(names, h.Name)
			}
		}
		for _, n := range names {
			if procs[n] == 0 {
				return nil, fmt.Errorf("pin %s: not running", n)
			}
			out, err := exec.Command("taskset", "-a", "-p", "-c", pc.cpu, fmt.Sprint(procs[n])).CombinedOutput()
			if err != nil {
				return nil, fmt.Errorf("pin %s (pid %d): %w: %s", n, procs[n], err, out)
			}
		}
	}
	return []string{"CPU 0: the servers and the UDP ends; CPU 1: lbx-tap's `lbx run`."}, nil
}

// checkTarget sends a few requests to url (one connection each) and checks
// that the target spreads them over its servers and that the servers see
// the translated source address, so every contender does the same job.
func checkTarget(ctx context.Context, tb *testbed.Testbed, t target, url string) error {
	seen := map[string]int{}
	n := 2 * t.Spread
	for range n {
		// -k: the run's certificate is self-signed, as wrk does not verify.
		c, err := tb.Command("client", "curl", "-sSk", "--max-time", "3", url)
		if err != nil {
			return err
		}
		out, err := runIn(ctx, c, 5*time.Second)
		if err != nil {
			return fmt.Errorf("%s %s: %w", t.Name, url, err)
		}
		name, peer := answerFields(string(out))
		if name == "" {
			return fmt.Errorf("%s %s: unexpected answer %q", t.Name, url, out)
		}
		if host, _, ok := strings.Cut(peer, ":"); !ok || host != t.SNAT.String() {
			return fmt.Errorf("%s %s: server %s saw source %q, want %s", t.Name, url, name, peer, t.SNAT)
		}
		seen[name]++
	}
	if len(seen) != t.Spread {
		return fmt.Errorf("%s %s: %d requests reached %v, want %d servers", t.Name, url, n, seen, t.Spread)
	}
	fmt.Fprintf(os.Stderr, "bench: %s at %s answers, spread %v, servers see %s\n", t.Name, url, seen, t.SNAT)
	return nil
}

// answerFields reads an emulated server's answer line
// "server=NAME addr=LOCAL peer=REMOTE".
func answerFields(body string) (server, peer string) {
	for _, f := range strings.Fields(body) {
		if v, ok := strings.CutPrefix(f, "server="); ok {
			server = v
		} else if v, ok := strings.CutPrefix(f, "peer="); ok {
			peer = v
		}
	}
	return server, peer
}

// wrk runs one load from the client and parses it. A run that completes
// no request is an error: the target is broken, not slow.
func (b *bench) wrk(ctx context.Context, d time.Duration, w workload, t target) (wrkResult, error) {
	argv := append(append([]string{}, b.pin0...), b.c.wrkArgs(d, w, t)...)
	cmd, err := b.tb.Command("client", argv...)
	if err != nil {
		return wrkResult{}, err
	}
	out, err := runIn(ctx, cmd, d+b.c.Timeout+15*time.Second)
	if err != nil {
		return wrkResult{}, fmt.Errorf("%s %s: %w", w.Name, t.Name, err)
	}
	res, err := parseWrk(string(out))
	if err != nil {
		return res, fmt.Errorf("%s %s: %w\n%s", w.Name, t.Name, err, out)
	}
	if res.Requests == 0 {
		return res, fmt.Errorf("%s %s: no request completed\n%s", w.Name, t.Name, out)
	}
	return res, nil
}

// sink is one server's UDP sink, running.
type sink struct {
	cmd   *testbed.HostCmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// udp runs the UDP sender against t for d (0: until during returns),
// at pps (0: as fast as it can), with sinks on every server, and returns
// what the client sent and the servers received. during, if not nil, runs
// while the sender sends, after a second of traffic.
func (b *bench) udp(ctx context.Context, t target, d time.Duration, pps int, during func() error) (sent, received int64, err error) {
	var sinks []*sink
	defer func() {
		for _, s := range sinks { // on an error path: stop them by PID
			if s.cmd.ProcessState == nil {
				s.cmd.Process.Kill()
				s.cmd.Wait()
			}
		}
	}()
	for _, h := range b.hosts {
		c, err := b.tb.Command(h.Name, append(append([]string{}, b.pin0...), b.exe, "udp-sink", fmt.Sprintf("-listen=:%d", udpPort))...)
		if err != nil {
			return 0, 0, err
		}
		s := &sink{cmd: c}
		if s.stdin, err = c.StdinPipe(); err != nil {
			return 0, 0, err
		}
		out, err := c.StdoutPipe()
		if err != nil {
			return 0, 0, err
		}
		c.Stderr = os.Stderr
		s.out = bufio.NewReader(out)
		if err := c.Start(); err != nil {
			return 0, 0, err
		}
		sinks = append(sinks, s)
		ready := make(chan error, 1)
		go func() {
			line, err := s.out.ReadString('\n')
			if err == nil && strings.TrimSpace(line) != "ready" {
				err = fmt.Errorf("sink on %s: %q", h.Name, line)
			}
			ready <- err
		}()
		select {
		case err := <-ready:
			if err != nil {
				return 0, 0, fmt.Errorf("udp sink on %s: %w", h.Name, err)
			}
		case <-time.After(10 * time.Second):
			return 0, 0, fmt.Errorf("udp sink on %s: not ready after 10s", h.Name)
		}
	}
	before, err := b.udpArrived(ctx)
	if err != nil {
		return 0, 0, err
	}
	c, err := b.tb.Command("client", append(append(append([]string{}, b.pin0...), b.exe), udpArgs(d, t, pps)...)...)
	if err != nil {
		return 0, 0, err
	}
	var stop io.WriteCloser
	if d == 0 {
		if stop, err = c.StdinPipe(); err != nil {
			return 0, 0, err
		}
	}
	var out strings.Builder
	c.Stdout, c.Stderr = &out, os.Stderr
	if err := c.Start(); err != nil {
		return 0, 0, err
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	if during != nil {
		time.Sleep(time.Second)
		err = during()
		time.Sleep(time.Second)
	}
	if stop != nil {
		stop.Close()
	}
	limit := d + 15*time.Second
	select {
	case werr := <-done:
		err = errors.Join(err, werr)
	case <-time.After(limit):
		c.Process.Kill()
		<-done
		return 0, 0, fmt.Errorf("udp sender to %s: still running after %s, killed", t.Name, limit)
	case <-ctx.Done():
		c.Process.Kill()
		<-done
		return 0, 0, ctx.Err()
	}
	if err != nil {
		return 0, 0, fmt.Errorf("udp %s: %w", t.Name, err)
	}
	if sent, err = parseCount(out.String(), "sent"); err != nil {
		return 0, 0, fmt.Errorf("udp sender: %w", err)
	}
	// Let what is in flight land, then count what arrived and stop the
	// sinks.
	time.Sleep(200 * time.Millisecond)
	after, err := b.udpArrived(ctx)
	if err != nil {
		return 0, 0, err
	}
	received = after - before
	for _, s := range sinks {
		s.stdin.Close()
	}
	var read int64
	for _, s := range sinks {
		rest, _ := io.ReadAll(s.out)
		s.cmd.Wait()
		n, err := parseCount(string(rest), "received")
		if err != nil {
			return 0, 0, fmt.Errorf("udp sink: %w", err)
		}
		read += n
	}
	if read < received {
		fmt.Fprintf(os.Stderr, "bench: udp %s: %d datagrams arrived at the servers, the sinks read %d (the rest overflowed their socket buffers)\n", t.Name, received, read)
	}
	return sent, received, nil
}

// udpArrived is the number of UDP datagrams that have arrived at the
// servers' UDP layers so far: the sum over the server namespaces of
// /proc/net/snmp's InDatagrams and RcvbufErrors (a datagram the sink had
// no room for has still been delivered by the contender).
func (b *bench) udpArrived(ctx context.Context) (int64, error) {
	var sum int64
	for _, h := range b.hosts {
		c, err := b.tb.Command(h.Name, "cat", "/proc/net/snmp")
		if err != nil {
			return 0, err
		}
		out, err := runIn(ctx, c, 5*time.Second)
		if err != nil {
			return 0, err
		}
		n, err := parseSnmpUDP(string(out))
		if err != nil {
			return 0, fmt.Errorf("%s: %w", h.Name, err)
		}
		sum += n
	}
	return sum, nil
}

// scale pushes the scale config to lbx-tap while a UDP stream runs
// through it, then puts members under a 1 s monitor and reads lbx's CPU.
func (b *bench) scale(ctx context.Context, servers []netip.Addr) (r scaleResult) {
	s := b.c.Scale
	cl := b.tb.Client()
	cl.PushTimeout = 5 * time.Minute
	pid := 0
	for _, p := range b.tb.State.Procs {
		if p.Name == "appliance" {
			pid = p.PID
		}
	}
	if s.Virtuals > 0 {
		r.Ran, r.Virtuals, r.Members = true, s.Virtuals, s.Virtuals*s.MembersPerPool
		script, err := scaleScript(s)
		if err != nil {
			r.Err = err.Error()
			return r
		}
		r.Lines = strings.Count(script, "\n")
		r.StreamPPS = 20000
		// The control: the same stream without a push, so a loss during
		// the push is the push's.
		if r.CtrlSent, r.CtrlReceived, err = b.udp(ctx, targets[0], ctrlStream, r.StreamPPS, nil); err != nil {
			r.Err = err.Error()
			return r
		}
		fmt.Fprintf(os.Stderr, "bench: scale: pushing %d virtuals, %d members (%d lines) with a %d pkt/s stream through lbx-tap\n",
			r.Virtuals, r.Members, r.Lines, r.StreamPPS)
		r.Sent, r.Received, err = b.udp(ctx, targets[0], 0, r.StreamPPS, func() error {
			t0, terr := cpuTicks(pid)
			start := time.Now()
			_, err := cl.Push(script)
			r.Apply = time.Since(start)
			if t1, terr1 := cpuTicks(pid); terr == nil && terr1 == nil {
				r.ApplyCPU = float64(t1-t0) / clockTicks
			}
			return err
		})
		if err != nil {
			r.Err = err.Error()
		}
		fmt.Fprintf(os.Stderr, "bench: scale: applied in %s (lbx used %.2f s of CPU); stream sent %d received %d\n", r.Apply.Round(time.Millisecond), r.ApplyCPU, r.Sent, r.Received)
	}
	if s.Monitored > 0 {
		r.MonRan, r.Monitored, r.Window = true, s.Monitored, b.c.Window
		var err error
		if r.Baseline, err = cpuOver(pid, b.c.Window); err != nil {
			r.MonErr = err.Error()
			return r
		}
		script, err := monitorScript(s.Monitored, servers)
		if err == nil {
			_, err = cl.Push(script)
		}
		if err != nil {
			r.MonErr = err.Error()
			return r
		}
		fmt.Fprintf(os.Stderr, "bench: scale: %d monitored members pushed; reading lbx's CPU over %s in 2s\n", r.Monitored, b.c.Window)
		time.Sleep(2 * time.Second) // every member probed at least once
		in0, err0 := pktsIn(cl, "lbx-int")
		if r.WithMon, err = cpuOver(pid, b.c.Window); err != nil {
			r.MonErr = err.Error()
		}
		in1, err1 := pktsIn(cl, "lbx-int")
		if err := errors.Join(err0, err1); err != nil {
			r.MonErr = err.Error()
		}
		r.Answers = in1 - in0
		fmt.Fprintf(os.Stderr, "bench: scale: lbx CPU %.3f cores without monitors, %.3f with %d; %d probe answers in %s\n",
			r.Baseline, r.WithMon, r.Monitored, r.Answers, b.c.Window)
	}
	return r
}

// pktsIn reads a port's pkts_in from `show net interface NAME -o json`.
func pktsIn(cl *ctlsock.Client, port string) (int64, error) {
	out, err := cl.ShowJSON("show net interface " + port)
	if err != nil {
		return 0, err
	}
	var ifs []struct {
		Name   string `json:"name"`
		PktsIn int64  `json:"pkts_in"`
	}
	if err := json.Unmarshal([]byte(out), &ifs); err != nil {
		return 0, fmt.Errorf("show net interface %s: %w", port, err)
	}
	for _, i := range ifs {
		if i.Name == port {
			return i.PktsIn, nil
		}
	}
	return 0, fmt.Errorf("show net interface %s: no such port in %q", port, out)
}

// ctrlStream is how long the control stream of the scale push runs.
const ctrlStream = 3 * time.Second

// cpuOver is the CPU pid used over window, in cores.
func cpuOver(pid int, window time.Duration) (float64, error) {
	t0, err := cpuTicks(pid)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	time.Sleep(window)
	t1, err := cpuTicks(pid)
	if err != nil {
		return 0, err
	}
	return float64(t1-t0) / clockTicks / time.Since(start).Seconds(), nil
}

// napiThreads returns the PIDs of the kernel threads whose name starts with
// prefix (a threaded NAPI instance is named napi/DEVICE-ID, cut to 15
// bytes).
func napiThreads(prefix string) ([]int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err == nil && strings.HasPrefix(string(comm), prefix) {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}
