// Command bench measures lbx against its peers in one run on the namespace
// testbed, and writes the result to docs/BENCHMARKS.md (and standard
// output).
//
// It brings the testbed up (the appliance on TAP ports: lbx-tap), attaches
// the other contenders to the same bridges, each in its own lbx-bench-*
// namespace (peers.go: a second lbx on AF_XDP ports, nftables DNAT,
// HAProxy mode tcp and mode http, plain kernel routing), pins the ends
// to CPU 0 and the contenders to CPU 1 (measure.go: place), then runs
// every workload against every contender in turn, for a number of rounds:
// wrk keep-alive and new connections, 64-byte UDP through the bench's own
// sender and sinks (udp.go; this executable run as `bench udp-send` and
// `bench udp-sink` inside the namespaces), iperf3 bulk, and the L7
// workloads against the HTTP full proxies only (each lbx's HTTP virtuals
// and HAProxy mode http): keep-alive requests and new TLS handshakes
// (tls.go: one certificate for all, the negotiated parameters checked).
// Per round and
// workload it divides each lbx's figure by each peer's, and reports the
// median, min and max of those ratios beside the absolute medians and
// the issue's targets. Last, on lbx-tap, the scale workload (scale.go):
// the time to apply 10,000 virtuals / 100,000 members with a UDP stream
// running, and the CPU of 10,000 members monitored at 1 s.
//
// Needs root (namespaces); installs wrk, haproxy, nftables, iperf3 and
// curl with apt-get when missing. `make bench` builds bin/lbx and runs
// it; `make bench-quick` passes -quick. Every run is bounded by its
// duration plus a margin; SIGINT or SIGTERM stop it and tear everything
// down, and every process it started is stopped by its PID.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// target is one contender.
type target struct {
	Name string     // short name in tables
	Desc string     // what it is
	Addr netip.Addr // where the client connects (httpPort, udpPort, bulkPort)
	SNAT netip.Addr // the source address the servers see
	// Spread is how many servers it balances over (the ceiling: one).
	Spread int
	// Skip names the workloads it does not serve, with why.
	Skip map[string]string
	LBX  bool // an lbx: its figures are divided by the others'
	// L7 is the address of its HTTP full proxy (the L7 workloads): plain
	// HTTP on httpPort, TLS on tlsPort; invalid for contenders that are
	// not HTTP proxies (they skip the L7 workloads, named in Skip).
	L7 netip.Addr
}

func (t target) URL() string { return "http://" + t.Addr.String() + "/" }

// urlFor is the URL wrk loads for w: the L7 workloads go to the
// contender's HTTP proxy, over TLS for l7-tls.
func (t target) urlFor(w workload) string {
	switch {
	case w.TLS:
		return fmt.Sprintf("https://%s:%d/", t.L7, tlsPort)
	case w.L7:
		return "http://" + t.L7.String() + "/"
	}
	return t.URL()
}

// workload kinds.
const (
	kindWrk = iota
	kindUDP
	kindBulk
)

// workload is one kind of load.
type workload struct {
	Name  string   // short name in tables
	Desc  string   // what it measures
	Unit  string   // of the rate
	Kind  int      // kindWrk, kindUDP, kindBulk
	Extra []string // wrk arguments beyond the common ones
	L7    bool     // through the contenders' HTTP full proxies (target.L7)
	TLS   bool     // over TLS (an L7 workload)
}

// goal is one of the issues' targets: lbx's median ratio to Peer on
// Workload at least Min.
type goal struct {
	Workload, Peer string
	Min            float64
	Issue          int
}

var (
	lbxSelfInt  = netip.MustParseAddr("198.18.2.2") // SNAT automap: the self IP on the server side
	server1     = netip.MustParseAddr("198.18.2.11")
	noHAProxyUD = "HAProxy has no UDP load balancing"
	notL7       = "not an HTTP proxy"
	skipL7      = map[string]string{"l7-keep-alive": notL7, "l7-tls": notL7}
	targets     = []target{
		{Name: "lbx-tap", Desc: "lbx appliance, TAP ports (the testbed's), SNAT automap; L7: HTTP virtuals (http + oneconnect, and client-ssl) at " + lbxTapL7.String(),
			Addr: netip.MustParseAddr("198.18.1.100"), SNAT: lbxSelfInt, Spread: 3, LBX: true, L7: lbxTapL7},
		{Name: "lbx-xdp", Desc: "a second lbx, AF_XDP ports on veth pairs to the same bridges, SNAT automap; L7: HTTP virtuals as lbx-tap's at " + lbxXDPL7.String(),
			Addr: xdpPeer.VIP.Addr(), SNAT: xdpPeer.Inside.Addr(), Spread: 3, LBX: true, L7: lbxXDPL7},
		{Name: "nft", Desc: "Linux kernel router, nftables DNAT (numgen inc mod 3) + SNAT", Addr: nftPeer.VIP.Addr(), SNAT: nftPeer.Inside.Addr(), Spread: 3, Skip: skipL7},
		{Name: "haproxy-tcp", Desc: "HAProxy, mode tcp, roundrobin, source = its server-side address", Addr: haproxyPeer.VIP.Addr(), SNAT: haproxyPeer.Inside.Addr(), Spread: 3,
			Skip: map[string]string{"udp": noHAProxyUD, "l7-keep-alive": "mode tcp", "l7-tls": "mode tcp"}},
		{Name: "haproxy-http", Desc: "HAProxy, mode http (keep-alive both sides), roundrobin, source = its server-side address; L7: the same, and TLS termination on :" + fmt.Sprint(tlsPort),
			Addr: haproxyHTTPPeer.VIP.Addr(), SNAT: haproxyHTTPPeer.Inside.Addr(), Spread: 3, L7: haproxyHTTPPeer.VIP.Addr(),
			Skip: map[string]string{"udp": noHAProxyUD, "bulk": "iperf3 is not HTTP"}},
		{Name: "route", Desc: "ceiling: plain kernel routing (a router namespace, no NAT, no balancing) to server1", Addr: server1, SNAT: netip.MustParseAddr("198.18.1.10"), Spread: 1, Skip: skipL7},
	}
	workloads = []workload{
		{Name: "keep-alive", Desc: "HTTP/1.1 requests over persistent connections (wrk)", Unit: "req/s", Kind: kindWrk},
		{Name: "new-conn", Desc: "one new TCP connection per HTTP request (wrk, `Connection: close`)", Unit: "conn/s", Kind: kindWrk, Extra: []string{"-H", "Connection: close"}},
		{Name: "udp", Desc: "64-byte UDP frames offered above capacity, received at the servers", Unit: "pkt/s", Kind: kindUDP},
		{Name: "bulk", Desc: "bulk TCP, one iperf3 stream through the virtual to one server", Unit: "Gbit/s", Kind: kindBulk},
		{Name: "l7-keep-alive", Desc: "HTTP/1.1 requests over persistent connections through an HTTP full proxy (wrk)", Unit: "req/s", Kind: kindWrk, L7: true},
		{Name: "l7-tls", Desc: "new TLS handshakes: one new TLS connection per HTTP request through a TLS-terminating HTTP proxy (wrk over https, `Connection: close`)",
			Unit: "conn/s", Kind: kindWrk, L7: true, TLS: true, Extra: []string{"-H", "Connection: close"}},
	}
	goals = []goal{
		{"keep-alive", "nft", 1.0, 15}, {"keep-alive", "haproxy-tcp", 1.5, 15},
		{"new-conn", "nft", 1.0, 15}, {"new-conn", "haproxy-tcp", 1.2, 15},
		{"udp", "route", 0.8, 15}, {"bulk", "route", 0.8, 15},
		{"l7-keep-alive", "haproxy-http", 1.0, 17}, {"l7-tls", "haproxy-http", 1.0, 17},
	}
)

// selectWorkloads keeps the named workloads (a comma-separated list) and
// the goals on them.
func selectWorkloads(list string, ws []workload, gs []goal) ([]workload, []goal, error) {
	var keptW []workload
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(ws, func(w workload) bool { return w.Name == name })
		if i < 0 {
			var all []string
			for _, w := range ws {
				all = append(all, w.Name)
			}
			return nil, nil, fmt.Errorf("unknown workload %q (have %s)", name, strings.Join(all, ", "))
		}
		if !slices.ContainsFunc(keptW, func(w workload) bool { return w.Name == name }) {
			keptW = append(keptW, ws[i])
		}
	}
	var keptG []goal
	for _, g := range gs {
		if slices.ContainsFunc(keptW, func(w workload) bool { return w.Name == g.Workload }) {
			keptG = append(keptG, g)
		}
	}
	return keptW, keptG, nil
}

// serves says whether t takes part in w.
func (t target) serves(w workload) bool {
	_, skip := t.Skip[w.Name]
	return !skip && (!w.L7 || t.L7.IsValid())
}

// config is the bench's parameters, all recorded in the report.
type config struct {
	Rounds   int
	Duration time.Duration
	Threads  int
	Conns    int
	Timeout  time.Duration // wrk --timeout
	Warmup   time.Duration
	Window   time.Duration // of the monitor CPU reading
	Scale    scaleSpec
	Quick    bool
	Binary   string
	Out      string
	Install  bool
	// ScaleOnly runs only the scale step (the apply and the monitors)
	// against lbx-tap, for A/B runs of those two: no other contender is
	// set up, no round runs, and no report is written.
	ScaleOnly bool
}

func (c config) validate() error {
	switch {
	case c.Rounds < 1 || c.Rounds > 50:
		return fmt.Errorf("-rounds %d: want 1..50", c.Rounds)
	case c.Duration < time.Second || c.Duration > time.Minute:
		return fmt.Errorf("-duration %s: want 1s..1m", c.Duration)
	case c.Duration%time.Second != 0:
		return fmt.Errorf("-duration %s: want whole seconds (wrk's -d)", c.Duration)
	case c.Warmup%time.Second != 0 || c.Warmup < 0 || c.Warmup > 10*time.Second:
		return fmt.Errorf("-warmup %s: want whole seconds, 0..10s", c.Warmup)
	case c.Threads < 1 || c.Conns < c.Threads || c.Conns > 10000:
		return fmt.Errorf("-threads %d -connections %d: want 1 <= threads <= connections <= 10000", c.Threads, c.Conns)
	case c.Timeout < time.Second:
		return fmt.Errorf("-timeout %s: want at least 1s", c.Timeout)
	case c.Window < time.Second || c.Window > time.Minute:
		return fmt.Errorf("-window %s: want 1s..1m", c.Window)
	case c.Scale.Virtuals < 0 || c.Scale.Monitored < 0:
		return fmt.Errorf("-virtuals %d -monitored %d: want >= 0", c.Scale.Virtuals, c.Scale.Monitored)
	}
	return nil
}

// quick is `make bench-quick`: the same workloads, fewer and shorter runs.
func (c *config) quick() {
	c.Quick = true
	c.Rounds, c.Duration, c.Warmup, c.Window = 2, 2*time.Second, 0, 3*time.Second
}

// wrkArgs is the exact wrk command line for one run.
func (c config) wrkArgs(d time.Duration, w workload, t target) []string {
	argv := []string{"wrk",
		fmt.Sprintf("-t%d", c.Threads), fmt.Sprintf("-c%d", c.Conns),
		fmt.Sprintf("-d%ds", int(d/time.Second)), "--latency",
		"--timeout", fmt.Sprintf("%ds", int(c.Timeout/time.Second))}
	argv = append(argv, w.Extra...)
	return append(argv, t.urlFor(w))
}

// iperfArgs is the iperf3 client command line for one bulk run.
func iperfArgs(d time.Duration, t target) []string {
	return []string{"iperf3", "-c", t.Addr.String(), "-p", fmt.Sprint(bulkPort), "-t", fmt.Sprint(int(d / time.Second)), "-J"}
}

// udpArgs is the UDP sender's command line (after the executable).
func udpArgs(d time.Duration, t target, pps int) []string {
	argv := []string{"udp-send", "-to", fmt.Sprintf("%s:%d", t.Addr, udpPort), "-for", d.String()}
	if pps > 0 {
		argv = append(argv, "-pps", fmt.Sprint(pps))
	}
	return argv
}

func main() {
	var c config
	flag.IntVar(&c.Rounds, "rounds", 5, "rounds; each runs every metric against every target once")
	flag.DurationVar(&c.Duration, "duration", 5*time.Second, "length of one wrk run")
	flag.IntVar(&c.Threads, "threads", 2, "wrk threads")
	flag.IntVar(&c.Conns, "connections", 32, "wrk connections")
	flag.DurationVar(&c.Timeout, "timeout", 2*time.Second, "wrk's per-request timeout")
	flag.DurationVar(&c.Warmup, "warmup", time.Second, "a discarded keep-alive run per target before the rounds (0: none)")
	flag.DurationVar(&c.Window, "window", 10*time.Second, "window over which the monitor engine's CPU is read")
	flag.IntVar(&c.Scale.Virtuals, "virtuals", scaleFull.Virtuals, "virtual servers of the scale push (0: skip it)")
	flag.IntVar(&c.Scale.MembersPerPool, "members-per-pool", scaleFull.MembersPerPool, "members of each scale virtual's pool")
	flag.IntVar(&c.Scale.Monitored, "monitored", scaleFull.Monitored, "members under a 1 s tcp monitor (0: skip it)")
	quick := flag.Bool("quick", false, "`make bench-quick`: 2 rounds of 2 s, no warm-up, a 3 s monitor window (overrides those flags)")
	flag.StringVar(&c.Binary, "lbx", "bin/lbx", "the lbx binary to boot the appliance and servers with")
	flag.StringVar(&c.Out, "out", "docs/BENCHMARKS.md", "report file (its generated section is replaced); empty: stdout only")
	flag.BoolVar(&c.Install, "install", true, "apt-get install wrk, haproxy, nftables, curl when missing")
	only := flag.String("workloads", "", "comma-separated workloads to run (default: all), e.g. l7-keep-alive,l7-tls")
	flag.BoolVar(&c.ScaleOnly, "scale-only", false, "run only the scale step (apply and monitors) on lbx-tap; print its figures, write no report")
	if ok, err := roleMain(os.Args); ok {
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", os.Args[1]+":", err)
			os.Exit(1)
		}
		return
	}
	flag.Parse()
	if *quick {
		c.quick()
	}
	if *only != "" {
		var err error
		if workloads, goals, err = selectWorkloads(*only, workloads, goals); err != nil {
			fmt.Fprintln(os.Stderr, "bench: -workloads:", err)
			os.Exit(2)
		}
	}
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "bench: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	start := time.Now()
	if err := c.validate(); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("needs root (network namespaces, nftables); run `sudo make bench`")
	}
	bin, err := filepath.Abs(c.Binary)
	if err == nil {
		_, err = os.Stat(bin)
	}
	if err != nil {
		return fmt.Errorf("lbx binary: %w (build it with `make build`; `make bench` does)", err)
	}
	c.Binary = bin
	if err := ensureTools(ctx, c.Install); err != nil {
		return err
	}
	d := &runData{cfg: c, date: time.Now(), mach: machineInfo(), argv: os.Args, loadStart: loadAvg()}
	if err := measure(ctx, c, d); err != nil {
		return err
	}
	if c.ScaleOnly {
		fmt.Print(scaleText(d))
		return nil
	}
	d.loadEnd = loadAvg()
	d.elapsed = time.Since(start)
	text := report(d)
	fmt.Print(text)
	if c.Out != "" {
		if err := writeReport(c.Out, text); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bench: wrote %s (%s)\n", c.Out, d.elapsed.Round(time.Second))
	}
	return nil
}

// tools maps each command the bench runs to its Debian package.
var tools = []struct{ cmd, pkg string }{
	{"wrk", "wrk"}, {"haproxy", "haproxy"}, {"nft", "nftables"}, {"curl", "curl"}, {"iperf3", "iperf3"}, {"taskset", "util-linux"},
}

// ensureTools installs the packages of missing commands with apt-get.
func ensureTools(ctx context.Context, install bool) error {
	var pkgs []string
	for _, t := range tools {
		if _, err := exec.LookPath(t.cmd); err != nil {
			pkgs = append(pkgs, t.pkg)
		}
	}
	if len(pkgs) == 0 {
		return nil
	}
	if !install {
		return fmt.Errorf("missing %s (install: apt-get install -y %s)", strings.Join(pkgs, ", "), strings.Join(pkgs, " "))
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("missing %s and no apt-get to install them: install them by hand", strings.Join(pkgs, ", "))
	}
	fmt.Fprintf(os.Stderr, "bench: installing %s\n", strings.Join(pkgs, " "))
	for _, argv := range [][]string{
		{"apt-get", "update", "-qq"},
		append([]string{"apt-get", "install", "-y", "-qq", "--no-install-recommends"}, pkgs...),
	} {
		ictx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		cmd := exec.CommandContext(ictx, argv[0], argv[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		err := cmd.Run()
		cancel()
		if err != nil {
			return fmt.Errorf("%s: %w (install %s by hand)", strings.Join(argv, " "), err, strings.Join(pkgs, " "))
		}
	}
	for _, t := range tools {
		if _, err := exec.LookPath(t.cmd); err != nil {
			return fmt.Errorf("%s still missing after installing %s", t.cmd, t.pkg)
		}
	}
	return nil
}
