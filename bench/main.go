// Command bench measures lbx against its peers — the kernel's nftables DNAT
// and HAProxy — in one run on the namespace testbed, and writes the result
// to docs/BENCHMARKS.md (and standard output).
//
// It brings the testbed up (client, server1..3, the appliance with its
// default config: VIP 198.18.1.100:80, round robin, SNAT automap), attaches
// two peers to the same bridges, each in its own lbx-bench-* namespace with
// the same three servers and the same source translation, then runs the
// same wrk load from the client against each in turn (lbx, nft, haproxy,
// lbx, …) for a number of rounds. Per round and metric it divides lbx's
// figure by each peer's, and reports the median, min and max of those
// ratios beside the absolute medians.
//
// Needs root (namespaces); installs wrk, haproxy, nftables and curl with
// apt-get when missing. `make bench` builds bin/lbx and runs it. Every load
// run is bounded by its duration plus a margin, and the whole run by the
// rounds; SIGINT or SIGTERM stop it and tear everything down.
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
	"strings"
	"syscall"
	"time"

	"lbx/testbed"
)

// target is one load balancer under test.
type target struct {
	Name string     // short name in tables
	Desc string     // what it is
	VIP  netip.Addr // where the client connects (port 80)
	SNAT netip.Addr // the source address the servers see
}

func (t target) URL() string { return "http://" + t.VIP.String() + "/" }

// metric is one kind of load.
type metric struct {
	Name  string   // short name in tables
	Desc  string   // what it measures
	Unit  string   // of the rate
	Extra []string // wrk arguments beyond the common ones
}

var (
	lbxSelfInt = netip.MustParseAddr("198.18.2.2") // SNAT automap: the self IP on the server side
	targets    = []target{
		{Name: "lbx", Desc: "lbx appliance (userspace TAP dataplane), vs_http, SNAT automap", VIP: netip.MustParseAddr("198.18.1.100"), SNAT: lbxSelfInt},
		{Name: "nft", Desc: "Linux kernel router, nftables DNAT (numgen inc mod 3) + SNAT", VIP: nftPeer.VIP.Addr(), SNAT: nftPeer.Inside.Addr()},
		{Name: "haproxy", Desc: "HAProxy, mode tcp, roundrobin, source = its server-side address", VIP: haproxyPeer.VIP.Addr(), SNAT: haproxyPeer.Inside.Addr()},
	}
	metrics = []metric{
		{Name: "keep-alive", Desc: "HTTP/1.1 requests over persistent connections", Unit: "req/s"},
		{Name: "new-conn", Desc: "one new TCP connection per HTTP request (`Connection: close`)", Unit: "conn/s", Extra: []string{"-H", "Connection: close"}},
	}
)

// config is the bench's parameters, all recorded in the report.
type config struct {
	Rounds   int
	Duration time.Duration
	Threads  int
	Conns    int
	Timeout  time.Duration // wrk --timeout
	Warmup   time.Duration
	Binary   string
	Out      string
	Install  bool
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
	}
	return nil
}

// wrkArgs is the exact wrk command line for one run.
func (c config) wrkArgs(d time.Duration, m metric, t target) []string {
	argv := []string{"wrk",
		fmt.Sprintf("-t%d", c.Threads), fmt.Sprintf("-c%d", c.Conns),
		fmt.Sprintf("-d%ds", int(d/time.Second)), "--latency",
		"--timeout", fmt.Sprintf("%ds", int(c.Timeout/time.Second))}
	argv = append(argv, m.Extra...)
	return append(argv, t.URL())
}

func main() {
	var c config
	flag.IntVar(&c.Rounds, "rounds", 5, "rounds; each runs every metric against every target once")
	flag.DurationVar(&c.Duration, "duration", 5*time.Second, "length of one wrk run")
	flag.IntVar(&c.Threads, "threads", 2, "wrk threads")
	flag.IntVar(&c.Conns, "connections", 32, "wrk connections")
	flag.DurationVar(&c.Timeout, "timeout", 2*time.Second, "wrk's per-request timeout")
	flag.DurationVar(&c.Warmup, "warmup", time.Second, "a discarded keep-alive run per target before the rounds (0: none)")
	flag.StringVar(&c.Binary, "lbx", "bin/lbx", "the lbx binary to boot the appliance and servers with")
	flag.StringVar(&c.Out, "out", "docs/BENCHMARKS.md", "report file (its generated section is replaced); empty: stdout only")
	flag.BoolVar(&c.Install, "install", true, "apt-get install wrk, haproxy, nftables, curl when missing")
	flag.Parse()
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
	d := &runData{cfg: c, date: time.Now(), mach: machineInfo(), argv: os.Args}
	if err := measure(ctx, c, d); err != nil {
		return err
	}
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
	{"wrk", "wrk"}, {"haproxy", "haproxy"}, {"nft", "nftables"}, {"curl", "curl"},
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

// measure brings everything up, runs the rounds into d, and tears
// everything down again on every path.
func measure(ctx context.Context, c config, d *runData) (err error) {
	dir, err := os.MkdirTemp("", "lbx-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tb, err := testbed.Up(testbed.Options{Binary: c.Binary, Log: os.Stderr})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(os.Stderr, "bench: tearing down")
		err = errors.Join(err, tb.Down())
	}()
	p := &peers{log: os.Stderr, dir: dir}
	defer func() { err = errors.Join(err, p.down()) }()
	var servers []netip.Addr
	for _, h := range tb.Topo.Servers() {
		servers = append(servers, h.Addr.Addr())
	}
	if err := p.setUp(tb, servers); err != nil {
		return err
	}
	d.nftRules = nftRuleset(nftPeer.VIP.Addr(), 80, servers, nftPeer.Inside.Addr(), "eth1")
	d.haproxyCfg = haproxyConfig(haproxyPeer.VIP.Addr(), 80, servers, haproxyPeer.Inside.Addr())
	for _, t := range targets {
		if err := checkTarget(ctx, tb, t, len(servers)); err != nil {
			return err
		}
	}
	if c.Warmup > 0 {
		for _, t := range targets {
			if _, err := wrk(ctx, tb, c, c.Warmup, metrics[0], t); err != nil {
				return fmt.Errorf("warm-up: %w", err)
			}
		}
	}
	d.res = map[string]map[string][]wrkResult{}
	for _, m := range metrics {
		d.res[m.Name] = map[string][]wrkResult{}
	}
	for r := 1; r <= c.Rounds; r++ {
		for _, m := range metrics {
			for _, t := range targets {
				res, err := wrk(ctx, tb, c, c.Duration, m, t)
				if err != nil {
					return fmt.Errorf("round %d: %w", r, err)
				}
				fmt.Fprintf(os.Stderr, "bench: round %d/%d %-10s %-8s %10.0f %s  p50 %-9s p99 %-9s errors %d\n",
					r, c.Rounds, m.Name, t.Name, res.RPS, m.Unit, fmtDur(res.P50), fmtDur(res.P99), res.SocketErrors+res.Non2xx)
				d.res[m.Name][t.Name] = append(d.res[m.Name][t.Name], res)
			}
		}
	}
	return nil
}

// checkTarget sends a few requests (one connection each) and checks that
// the target spreads them over every server and that the servers see the
// translated source address, so the three do the same job.
func checkTarget(ctx context.Context, tb *testbed.Testbed, t target, nServers int) error {
	seen := map[string]int{}
	for i := 0; i < 2*nServers; i++ {
		c, err := tb.Command("client", "curl", "-sS", "--max-time", "3", t.URL())
		if err != nil {
			return err
		}
		out, err := runIn(ctx, c, 5*time.Second)
		if err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
		name, peer := answerFields(string(out))
		if name == "" {
			return fmt.Errorf("%s: unexpected answer %q", t.Name, out)
		}
		if host, _, ok := strings.Cut(peer, ":"); !ok || host != t.SNAT.String() {
			return fmt.Errorf("%s: server %s saw source %q, want %s (SNAT)", t.Name, name, peer, t.SNAT)
		}
		seen[name]++
	}
	if len(seen) != nServers {
		return fmt.Errorf("%s: %d requests reached %v, want all %d servers", t.Name, 2*nServers, seen, nServers)
	}
	fmt.Fprintf(os.Stderr, "bench: %s at %s answers, spread %v, servers see %s\n", t.Name, t.URL(), seen, t.SNAT)
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
func wrk(ctx context.Context, tb *testbed.Testbed, c config, d time.Duration, m metric, t target) (wrkResult, error) {
	argv := c.wrkArgs(d, m, t)
	cmd, err := tb.Command("client", argv...)
	if err != nil {
		return wrkResult{}, err
	}
	out, err := runIn(ctx, cmd, d+c.Timeout+15*time.Second)
	if err != nil {
		return wrkResult{}, fmt.Errorf("%s %s: %w", m.Name, t.Name, err)
	}
	res, err := parseWrk(string(out))
	if err != nil {
		return res, fmt.Errorf("%s %s: %w\n%s", m.Name, t.Name, err, out)
	}
	if res.Requests == 0 {
		return res, fmt.Errorf("%s %s: no request completed\n%s", m.Name, t.Name, out)
	}
	return res, nil
}
