//go:build tapprofile

package testbed

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// l7ProfileSetup makes the HTTP virtuals of make bench's L7 workloads on
// tb's appliance (198.18.1.110: http + oneconnect on :80, and with a
// client-ssl profile on :8443), pins the appliance to CPU 1 as the bench
// does, and returns its PID.
func l7ProfileSetup(t *testing.T, tb *Testbed) int {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", filepath.Join(dir, "b.key"), "-out", filepath.Join(dir, "b.crt"), "-days", "1", "-subj", "/CN=lbx-bench").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	for _, c := range []string{
		"create ltm pool /Common/bench_l7 load-balancing-mode round-robin members add { 198.18.2.11:80 198.18.2.12:80 198.18.2.13:80 }",
		"create ltm profile client-ssl /Common/bench_ssl cert " + dir + "/b.crt key " + dir + "/b.key",
		"create ltm virtual /Common/bench_l7 destination 198.18.1.110:80 ip-protocol tcp pool /Common/bench_l7 profiles { /Common/tcp /Common/http /Common/oneconnect } source-address-translation { type automap }",
		"create ltm virtual /Common/bench_l7s destination 198.18.1.110:8443 ip-protocol tcp pool /Common/bench_l7 profiles { /Common/tcp /Common/http /Common/oneconnect /Common/bench_ssl } source-address-translation { type automap }",
	} {
		if _, err := tb.Client().Exec(c); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
	}
	pid := 0
	for _, p := range tb.State.Procs {
		if p.Name == "appliance" {
			pid = p.PID
		}
	}
	if out, err := exec.Command("taskset", "-a", "-p", "-c", "1", fmt.Sprint(pid)).CombinedOutput(); err != nil {
		t.Fatalf("taskset: %v: %s", err, out)
	}
	for _, h := range tb.Topo.Servers() {
		for _, p := range tb.State.Procs {
			if p.Name == h.Name {
				exec.Command("taskset", "-a", "-p", "-c", "0", fmt.Sprint(p.PID)).Run()
			}
		}
	}
	curl(t, tb, "http://198.18.1.110/")
	curl(t, tb, "-k", "https://198.18.1.110:8443/")
	return pid
}

// l7WrkArgs is the bench's wrk for an L7 workload ("http" keep-alive or
// "tls" new TLS connections).
// $L7_CONNS changes the connections (-c, default 32; -t is 2, or 1 for
// one connection).
func l7WrkArgs(mode, d string) []string {
	conns, threads := "32", "2"
	if c := os.Getenv("L7_CONNS"); c != "" {
		conns = c
		if c == "1" {
			threads = "1"
		}
	}
	argv := []string{"taskset", "-c", "0", "wrk", "-t" + threads, "-c" + conns, "-d" + d, "--latency"}
	if mode == "tls" {
		return append(argv, "-H", "Connection: close", "https://198.18.1.110:8443/")
	}
	return append(argv, "http://198.18.1.110/")
}

// TestL7Profile profiles the appliance (TAP ports) during make bench's
// l7-keep-alive workload ($L7_MODE=tls: l7-tls), placed as the bench
// places lbx-tap. It measures; it asserts nothing. Run it with
//
//	go test -tags tapprofile -run TestL7Profile -v ./testbed
//
// (root, wrk and perf installed); it prints wrk's summary, the top of
// `perf report` by symbol and by shared object, and the proxy's counters.
func TestL7Profile(t *testing.T) {
	tb := upTestbed(t)
	pid := l7ProfileSetup(t, tb)
	mode := os.Getenv("L7_MODE")
	data := filepath.Join(t.TempDir(), "perf.data")
	// The whole of CPU 1, where the appliance is pinned: its threads and
	// the kernel work done there (softirqs included).
	_ = pid
	perf := exec.Command("perf", "record", "-g", "-C", "1", "-o", data, "--", "sleep", "4")
	if err := perf.Start(); err != nil {
		t.Fatal(err)
	}
	cl, err := tb.Command("client", l7WrkArgs(mode, "6s")...)
	if err != nil {
		t.Fatal(err)
	}
	out, err := cl.CombinedOutput()
	if err != nil {
		t.Fatalf("wrk: %v: %s", err, out)
	}
	perf.Wait()
	t.Logf("wrk:\n%s", out)
	for _, sort := range []string{"sym", "comm,dso"} {
		rep, err := exec.Command("perf", "report", "-i", data, "--no-children", "--stdio", "--sort", sort, "--percent-limit", "1", "-g", "none").CombinedOutput()
		if err != nil {
			t.Fatalf("perf report: %v", err)
		}
		t.Logf("perf report --sort %s:\n%s", sort, rep)
	}
	rep, err := exec.Command("perf", "report", "-i", data, "--children", "--stdio", "--comm", "lbx", "--sort", "sym", "--percent-limit", "4", "-g", "none").CombinedOutput()
	if err == nil {
		t.Logf("perf report --children (inclusive, lbx only):\n%s", rep)
	}
	rep, err = exec.Command("perf", "report", "-i", data, "--no-children", "--stdio", "--comm", "lbx", "--sort", "sym", "-g", "none").CombinedOutput()
	if err == nil {
		t.Logf("lbx's self time by part (%% of CPU 1's samples):\n%s", groupProfile(string(rep)))
	}
	os.Remove(data)
	l7Counters(t, tb)
}

// profileParts groups symbols by the part of the appliance they belong
// to, first match wins.
var profileParts = []struct{ name, prefix string }{
	{"netstack (gVisor TCP/IP)", "gvisor.dev/"},
	{"TLS and crypto", "crypto/"},
	{"HTTP parsing and writing (net/http, textproto, bufio, url)", "net/http"},
	{"HTTP parsing and writing (net/http, textproto, bufio, url)", "net/textproto"},
	{"HTTP parsing and writing (net/http, textproto, bufio, url)", "bufio."},
	{"HTTP parsing and writing (net/http, textproto, bufio, url)", "net/url"},
	{"the proxy (l7/proxy, policies, pools)", "lbx/l7/"},
	{"the proxy (l7/proxy, policies, pools)", "lbx/pools"},
	{"dataplane and TAP ports", "lbx/dataplane"},
	{"Go runtime (scheduler, GC, allocation, timers)", "runtime."},
	{"Go runtime (scheduler, GC, allocation, timers)", "internal/runtime"},
	{"Go runtime (scheduler, GC, allocation, timers)", "__vdso"},
}

// groupProfile sums a `perf report --sort sym` by part: kernel symbols
// ([k]: system calls, TAP writes and the kernel work they run inline —
// the bridge, veths and the peers' TCP receive) and profileParts.
func groupProfile(rep string) string {
	sums := map[string]float64{}
	var order []string
	add := func(k string, v float64) {
		if _, ok := sums[k]; !ok {
			order = append(order, k)
		}
		sums[k] += v
	}
	line := regexp.MustCompile(`^\s*([0-9.]+)%\s+\[(.)\]\s+(\S+)`)
	for _, l := range strings.Split(rep, "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		var v float64
		fmt.Sscan(m[1], &v)
		part := "other"
		if m[2] == "k" {
			part = "kernel (system calls, TAP and veth delivery, softirq)"
		} else {
			for _, p := range profileParts {
				if strings.HasPrefix(m[3], p.prefix) {
					part = p.name
					break
				}
			}
		}
		add(part, v)
	}
	sort.Slice(order, func(i, j int) bool { return sums[order[i]] > sums[order[j]] })
	var b strings.Builder
	for _, k := range order {
		fmt.Fprintf(&b, "%6.1f%%  %s\n", sums[k], k)
	}
	return b.String()
}

// l7Counters logs what tells waiting from working: the appliance's
// non-zero drop and local-stack counters, and the kernel's TCP
// retransmission counters of the client and a server.
func l7Counters(t *testing.T, tb *Testbed) {
	c, _ := tb.Client().Exec("show sys dataplane")
	for _, l := range strings.Split(c, "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && f[len(f)-1] != "0" && (strings.Contains(l, "drop") || strings.Contains(l, "local") || strings.Contains(l, "lost") || strings.Contains(l, "stack")) {
			t.Log(l)
		}
	}
	for _, h := range []string{"client", "server1"} {
		cmd, err := tb.Command(h, "nstat", "-az", "TcpRetransSegs", "TcpExtTCPTimeouts", "TcpExtTCPLossProbes", "TcpOutSegs", "TcpInSegs", "TcpExtTCPDSACKRecv")
		if err != nil {
			continue
		}
		out, _ := cmd.CombinedOutput()
		t.Logf("%s nstat:\n%s", h, out)
	}
}

// procTicks is a process's utime+stime in clock ticks, -1 if unreadable.
func procTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return -1
	}
	var u, k int64
	fmt.Sscan(f[11], &u)
	fmt.Sscan(f[12], &k)
	return u + k
}

// dataplaneCounter reads one counter of `show sys dataplane` (0 when it
// is absent: an older binary).
func dataplaneCounter(t *testing.T, tb *Testbed, name string) uint64 {
	t.Helper()
	out, err := tb.Client().Exec("show sys dataplane")
	if err != nil {
		t.Fatalf("show sys dataplane: %v", err)
	}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == name {
			var v uint64
			fmt.Sscan(f[1], &v)
			return v
		}
	}
	return 0
}

// l7BulkSetup serves bulkMB bytes over HTTP from server1's address
// (198.18.2.11:8081, a Go server in the test process, opened in server1's
// namespace; the test process is pinned to CPU 0 with the other servers)
// behind an HTTP virtual on 198.18.1.110:81, for a download through the
// proxy. The server is closed when the test ends.
const bulkMB = 256

func l7BulkSetup(t *testing.T, tb *Testbed) {
	t.Helper()
	if out, err := exec.Command("taskset", "-a", "-p", "-c", "0", fmt.Sprint(os.Getpid())).CombinedOutput(); err != nil {
		t.Fatalf("taskset: %v: %s", err, out)
	}
	var ln net.Listener
	if err := tb.In("server1", func() (err error) {
		ln, err = net.Listen("tcp", "198.18.2.11:8081")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 256<<10)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(bulkMB<<20))
		for range (bulkMB << 20) / len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	for _, c := range []string{
		"create ltm pool /Common/bench_bulk members add { 198.18.2.11:8081 }",
		"create ltm virtual /Common/bench_bulk destination 198.18.1.110:81 ip-protocol tcp pool /Common/bench_bulk profiles { /Common/tcp /Common/http } source-address-translation { type automap }",
	} {
		if _, err := tb.Client().Exec(c); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
	}
}

// TestL7AB compares two lbx binaries ($LBX_AB_BEFORE and $LBX_AB_AFTER)
// on the L7 workloads (http keep-alive and new TLS connections through
// the HTTP virtuals of l7ProfileSetup, and a bulkMB download through the
// proxy: l7BulkSetup), in alternating rounds ($L7_ROUNDS, default 3:
// before, after, before, after...), a fresh testbed per run, placed as
// make bench places lbx-tap, printing requests/s, the appliance's CPU per
// request and the packets it sent per request (local.tx_packets), the
// figures a busy machine disturbs least. $L7_AB_MODES picks workloads
// (default "http,tls,bulk"). It measures; it asserts nothing.
func TestL7AB(t *testing.T) {
	requireRoot(t)
	bins := map[string]string{"before": os.Getenv("LBX_AB_BEFORE"), "after": os.Getenv("LBX_AB_AFTER")}
	if bins["before"] == "" || bins["after"] == "" {
		t.Fatal("set LBX_AB_BEFORE and LBX_AB_AFTER to lbx binaries")
	}
	rounds := 3
	if n, err := fmt.Sscan(os.Getenv("L7_ROUNDS"), &rounds); n != 1 || err != nil {
		rounds = 3
	}
	modes := strings.Split("http,tls,bulk", ",")
	if m := os.Getenv("L7_AB_MODES"); m != "" {
		modes = strings.Split(m, ",")
	}
	rps := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reqs := regexp.MustCompile(`([0-9]+) requests in`)
	wrkErrs := regexp.MustCompile(`(?m)^\s*(Socket errors|Non-2xx).*$`)
	p50 := regexp.MustCompile(`(?m)^\s*50%\s+(\S+)`)
	for r := range rounds {
		for _, which := range []string{"before", "after"} {
			dir := t.TempDir()
			tb, err := Up(Options{Binary: bins[which], StateDir: filepath.Join(dir, "state"), Socket: filepath.Join(dir, "lbx.sock"), PortDriver: "tap"})
			if err != nil {
				t.Fatal(err)
			}
			pid := l7ProfileSetup(t, tb)
			line := fmt.Sprintf("round %d %-6s", r+1, which)
			for _, mode := range modes {
				if mode == "bulk" {
					line += l7BulkRun(t, tb, pid)
					continue
				}
				c, _ := tb.Command("client", l7WrkArgs(mode, "4s")...)
				p0 := dataplaneCounter(t, tb, "local.tx_packets")
				t0 := procTicks(pid)
				out, err := c.CombinedOutput()
				t1 := procTicks(pid)
				p1 := dataplaneCounter(t, tb, "local.tx_packets")
				if m := rps.FindSubmatch(out); err == nil && m != nil {
					line += fmt.Sprintf("  %s %s/s", mode, m[1])
					if l := p50.FindSubmatch(out); l != nil {
						line += " p50 " + string(l[1])
					}
					if e := wrkErrs.Find(out); e != nil {
						line += " [" + strings.TrimSpace(string(e)) + "]"
					}
					if n := reqs.FindSubmatch(out); n != nil && t0 >= 0 && t1 >= 0 {
						var count float64
						fmt.Sscan(string(n[1]), &count)
						// /proc/PID/stat times are in 10 ms ticks.
						line += fmt.Sprintf(" (%.0f µs CPU/req, %.2f pkts out/req)", float64(t1-t0)*1e4/count, float64(p1-p0)/count)
					}
				} else {
					line += fmt.Sprintf("  %s failed: %v", mode, err)
				}
			}
			line += fmt.Sprintf("  [acks held %d superseded %d timeout %d flushed %d]",
				dataplaneCounter(t, tb, "local.ack_delay_held"), dataplaneCounter(t, tb, "local.ack_delay_superseded"),
				dataplaneCounter(t, tb, "local.ack_delay_timeout"), dataplaneCounter(t, tb, "local.ack_delay_flushed"))
			tb.Down()
			t.Log(line)
		}
	}
}

// l7BulkRun downloads the bulk file through the proxy three times (curl in
// the client's namespace, pinned to CPU 0) and returns the median
// throughput, the appliance's CPU per MB and its packets out per MB.
func l7BulkRun(t *testing.T, tb *Testbed, pid int) string {
	t.Helper()
	l7BulkSetup(t, tb)
	var mbps []float64
	p0, t0 := dataplaneCounter(t, tb, "local.tx_packets"), procTicks(pid)
	for range 3 {
		c, _ := tb.Command("client", "taskset", "-c", "0", "curl", "-sS", "--max-time", "60", "-o", "/dev/null", "-w", "%{size_download} %{time_total}", "http://198.18.1.110:81/big")
		out, err := c.Output()
		var size, secs float64
		if n, _ := fmt.Sscan(string(out), &size, &secs); err != nil || n != 2 || size != bulkMB<<20 {
			return fmt.Sprintf("  bulk failed: %v %q", err, out)
		}
		mbps = append(mbps, size/secs/(1<<20))
	}
	p1, t1 := dataplaneCounter(t, tb, "local.tx_packets"), procTicks(pid)
	sort.Float64s(mbps)
	return fmt.Sprintf("  bulk %.0f MB/s (%.0f–%.0f; %.0f µs CPU/MB, %.1f pkts out/MB)", mbps[1], mbps[0], mbps[2],
		float64(t1-t0)*1e4/(3*bulkMB), float64(p1-p0)/(3*bulkMB))
}
