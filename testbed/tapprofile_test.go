//go:build tapprofile

package testbed

import (
	"fmt"
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

// TestTAPBulkProfile profiles the appliance (on TAP ports) during one
// iperf3 stream through a VIP, placed as `make bench` places lbx-tap: the
// appliance on CPU 1, iperf3 at both ends on CPU 0. It measures; it
// asserts nothing. Run it with
//
//	go test -tags tapprofile -run TestTAPBulkProfile -v ./testbed
//
// (root, iperf3 and perf installed); it prints iperf3's summary and the top
// of `perf report` (LBX_TESTBED_PORT_DRIVER=afxdp: the same on AF_XDP
// ports; LBX_PROFILE_CPU=0: CPU 0, where the ends run, by command too). docs/BENCHMARKS.md ("TAP offload") has the figures.
func TestTAPBulkProfile(t *testing.T) {
	tb := upTestbed(t)
	app := tb.Client()
	for _, c := range []string{
		"create ltm pool /Common/bulk_pool members add { 198.18.2.11:5201 }",
		"create ltm virtual /Common/vs_bulk destination 198.18.1.100:5201 ip-protocol tcp pool /Common/bulk_pool source-address-translation { type automap }",
	} {
		if _, err := app.Exec(c); err != nil {
			t.Fatal(err)
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
	srv, err := tb.Command("server1", "taskset", "-c", "0", "iperf3", "-s", "-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		syscall.Kill(srv.Process.Pid, syscall.SIGKILL)
		srv.Wait()
	}()
	time.Sleep(300 * time.Millisecond) // iperf3 -s has no readiness signal
	data := filepath.Join(t.TempDir(), "perf.data")
	// LBX_PROFILE_CPU=N profiles CPU N, every process on it (the ends
	// are on CPU 0), instead of the appliance.
	target := []string{"-p", fmt.Sprint(pid)}
	if c := os.Getenv("LBX_PROFILE_CPU"); c != "" {
		target = []string{"-a", "-C", c}
	}
	perf := exec.Command("perf", append(append([]string{"record", "-g", "-o", data}, target...), "--", "sleep", "4")...)
	if err := perf.Start(); err != nil {
		t.Fatal(err)
	}
	nstat(t, tb, "client")
	nstat(t, tb, "server1")
	cl, err := tb.Command("client", "taskset", "-c", "0", "iperf3", "-c", "198.18.1.100", "-p", "5201", "-t", "6")
	if err != nil {
		t.Fatal(err)
	}
	out, err := cl.Output()
	if err != nil {
		t.Fatal(err)
	}
	perf.Wait()
	t.Logf("iperf3:\n%s", lastLines(string(out), 4))
	t.Logf("client: %s", nstat(t, tb, "client"))
	t.Logf("server1: %s", nstat(t, tb, "server1"))
	rep, err := exec.Command("perf", "report", "-i", data, "--no-children", "--stdio", "--percent-limit", "1.5", "-g", "none").CombinedOutput()
	if err != nil {
		t.Fatalf("perf report: %v", err)
	}
	t.Logf("perf report:\n%s", rep)
	if os.Getenv("LBX_PROFILE_CPU") != "" {
		rep, err := exec.Command("perf", "report", "-i", data, "--no-children", "--stdio", "--percent-limit", "2", "--sort", "comm", "-g", "none").CombinedOutput()
		if err != nil {
			t.Fatalf("perf report: %v", err)
		}
		t.Logf("perf report by command:\n%s", rep)
	}
	c, _ := app.Exec("show sys dataplane")
	for _, l := range strings.Split(c, "\n") {
		if strings.Contains(l, "gso") || strings.Contains(l, "rx_") || strings.Contains(l, "tx_") || strings.Contains(l, "lost") {
			t.Log(l)
		}
	}
	os.Remove(data)
}

// TestTAPNewConnProfile profiles the appliance (on TAP ports) during a
// new-connection run through the VIP, placed as `make bench` places
// lbx-tap: the appliance on CPU 1, wrk (`-t2 -c32`, `Connection: close`)
// on CPU 0 with the servers. It measures; it asserts nothing. Run it with
//
//	go test -tags tapprofile -run TestTAPNewConnProfile -v ./testbed
//
// (root, wrk and perf installed); it prints wrk's summary, the CPU lbx
// used, the top of `perf report` and the flow and drop counters.
func TestTAPNewConnProfile(t *testing.T) {
	wrkProfile(t, "-H", "Connection: close")
}

// TestTAPKeepAliveProfile is TestTAPNewConnProfile with keep-alive
// requests (wrk's default): the bench's keep-alive workload, where every
// contender sits near the kernel-routing ceiling.
//
//	go test -tags tapprofile -run TestTAPKeepAliveProfile -v ./testbed
func TestTAPKeepAliveProfile(t *testing.T) {
	wrkProfile(t)
}

// wrkProfile runs `wrk -t2 -c32 -d6s EXTRA… http://VIP/` on CPU 0 with the
// appliance moved to CPU 1, records the appliance with `perf record -g`
// for 4 s of it, and logs wrk's summary, the appliance's CPU over the
// whole wrk run (as a share of its core, and per request), the top of the
// profile and the dataplane's counters.
func wrkProfile(t *testing.T, extra ...string) {
	tb := upTestbed(t)
	app := tb.Client()
	pid := 0
	for _, p := range tb.State.Procs {
		if p.Name == "appliance" {
			pid = p.PID
		}
	}
	if out, err := exec.Command("taskset", "-a", "-p", "-c", "1", fmt.Sprint(pid)).CombinedOutput(); err != nil {
		t.Fatalf("taskset: %v: %s", err, out)
	}
	curl(t, tb, "http://198.18.1.100/")
	data := filepath.Join(t.TempDir(), "perf.data")
	perf := exec.Command("perf", "record", "-g", "-o", data, "-p", fmt.Sprint(pid), "--", "sleep", "4")
	if err := perf.Start(); err != nil {
		t.Fatal(err)
	}
	argv := append([]string{"taskset", "-c", "0", "wrk", "-t2", "-c32", "-d6s"}, extra...)
	cl, err := tb.Command("client", append(argv, "http://198.18.1.100/")...)
	if err != nil {
		t.Fatal(err)
	}
	t0, w0, c0 := procTicks(pid), time.Now(), cpuBusy(t)
	out, err := cl.CombinedOutput()
	t1, wall, c1 := procTicks(pid), time.Since(w0), cpuBusy(t)
	if err != nil {
		t.Fatalf("wrk: %v: %s", err, out)
	}
	perf.Wait()
	t.Logf("wrk:\n%s", out)
	if strings.Contains(string(out), "Non-2xx") {
		// A profile of an appliance the load did not reach measures
		// nothing (seen: every answer non-2xx, a dozen frames through lbx).
		t.Fatalf("wrk got non-2xx answers: the run did not measure the virtual")
	}
	if m := regexp.MustCompile(`(\d+) requests in`).FindStringSubmatch(string(out)); m != nil && t0 >= 0 && t1 >= 0 {
		n, _ := strconv.Atoi(m[1])
		cpu := float64(t1-t0) / 100
		t.Logf("lbx CPU over the wrk run: %.2f s in %.1f s (%.2f of its core), %.1f µs a request", cpu, wall.Seconds(), cpu/wall.Seconds(), cpu*1e6/float64(max(n, 1)))
	}
	for i := range c0 {
		if busy, all := c1[i][0]-c0[i][0], c1[i][1]-c0[i][1]; all > 0 {
			t.Logf("CPU %d busy %.0f %% over the wrk run (the whole machine: other work included)", i, 100*float64(busy)/float64(all))
		}
	}
	rep, err := exec.Command("perf", "report", "-i", data, "--no-children", "--stdio", "--percent-limit", "1.5", "-g", "none").CombinedOutput()
	if err != nil {
		t.Fatalf("perf report: %v", err)
	}
	t.Logf("perf report:\n%s", rep)
	c, _ := app.Exec("show sys dataplane")
	for _, l := range strings.Split(c, "\n") {
		if strings.Contains(l, "flows") || strings.Contains(l, "packets") || strings.Contains(l, "lost") ||
			strings.Contains(l, "drop.") && !strings.HasSuffix(strings.TrimSpace(l), " 0") {
			t.Log(l)
		}
	}
	os.Remove(data)
}

// cpuBusy reads /proc/stat: per CPU, the busy and total jiffies so far
// (busy: all but idle and iowait).
func cpuBusy(t *testing.T) [][2]int64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		t.Fatal(err)
	}
	var r [][2]int64
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 6 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		var busy, all int64
		for j, v := range f[1:] {
			n, _ := strconv.ParseInt(v, 10, 64)
			all += n
			if j != 3 && j != 4 {
				busy += n
			}
		}
		r = append(r, [2]int64{busy, all})
	}
	return r
}

// nstat returns host's TCP retransmit and loss counters since its last
// call (nstat keeps its history per namespace).
func nstat(t *testing.T, tb *Testbed, host string) string {
	c, err := tb.Command(host, "nstat", "TcpRetransSegs", "TcpExtTCPLostRetransmit", "TcpInSegs", "TcpOutSegs", "TcpExtTCPOFOQueue")
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Output()
	if err != nil {
		t.Fatalf("nstat in %s: %v", host, err)
	}
	var f []string
	for _, l := range strings.Split(string(out), "\n") {
		if fs := strings.Fields(l); len(fs) >= 2 && !strings.HasPrefix(l, "#") {
			f = append(f, fs[0]+"="+fs[1])
		}
	}
	return strings.Join(f, " ")
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

// TestTAPOffloadAB compares two lbx binaries ($LBX_AB_BEFORE and
// $LBX_AB_AFTER, e.g. built before and after a change to the TAP port) on
// keep-alive and new-connection wrk runs through the VIP, in alternating
// rounds, a fresh testbed per run, placed as `make bench` places lbx-tap.
// It measures; it asserts nothing.
func TestTAPOffloadAB(t *testing.T) {
	requireRoot(t)
	bins := map[string]string{"before": os.Getenv("LBX_AB_BEFORE"), "after": os.Getenv("LBX_AB_AFTER")}
	if bins["before"] == "" || bins["after"] == "" {
		t.Fatal("set LBX_AB_BEFORE and LBX_AB_AFTER to lbx binaries")
	}
	rps := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	for r := range 3 {
		for _, which := range []string{"before", "after"} {
			dir := t.TempDir()
			tb, err := Up(Options{Binary: bins[which], StateDir: filepath.Join(dir, "state"), Socket: filepath.Join(dir, "lbx.sock"), PortDriver: "tap"})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tb.State.Procs {
				if p.Name == "appliance" {
					exec.Command("taskset", "-a", "-p", "-c", "1", fmt.Sprint(p.PID)).Run()
				}
			}
			curl(t, tb, "http://198.18.1.100/")
			line := fmt.Sprintf("round %d %-6s", r+1, which)
			for _, mode := range []string{"keep-alive", "close"} {
				argv := []string{"taskset", "-c", "0", "wrk", "-t2", "-c32", "-d4s", "http://198.18.1.100/"}
				if mode == "close" {
					argv = append(argv, "-H", "Connection: close")
				}
				c, _ := tb.Command("client", argv...)
				out, err := c.CombinedOutput()
				if m := rps.FindSubmatch(out); err == nil && m != nil {
					line += fmt.Sprintf("  %s %s/s", mode, m[1])
				} else {
					line += fmt.Sprintf("  %s failed: %v", mode, err)
				}
			}
			tb.Down()
			t.Log(line)
		}
	}
}

// TestXDPBulkAB measures bulk TCP through the VIP with the appliance on
// AF_XDP ports (veth pairs), placed as `make bench` places lbx-xdp (the
// appliance on CPU 1, iperf3 at both ends on CPU 0), under switch-side
// settings named in $LBX_XDP_VARIANTS (comma-separated, default
// "base,gro,gro1", see variants below), alternating them round by round on one testbed. Per
// run it prints Gbit/s, TCP retransmits, the appliance's CPU and its CPU
// per GB moved. It measures; it asserts nothing. Run it with
//
//	go test -tags tapprofile -run TestXDPBulkAB -v ./testbed
func TestXDPBulkAB(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	tb, err := Up(Options{Binary: lbxBinary, StateDir: filepath.Join(dir, "state"), Socket: filepath.Join(dir, "lbx.sock"), PortDriver: "afxdp"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tb.Down() })
	app := tb.Client()
	for _, c := range []string{
		"create ltm pool /Common/bulk_pool members add { 198.18.2.11:5201 }",
		"create ltm virtual /Common/vs_bulk destination 198.18.1.100:5201 ip-protocol tcp pool /Common/bulk_pool source-address-translation { type automap }",
	} {
		if _, err := app.Exec(c); err != nil {
			t.Fatal(err)
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
	srv, err := tb.Command("server1", "taskset", "-c", "0", "iperf3", "-s")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		syscall.Kill(srv.Process.Pid, syscall.SIGKILL)
		srv.Wait()
	}()
	time.Sleep(300 * time.Millisecond) // iperf3 -s has no readiness signal
	sw := func(script string) {
		if out, err := exec.Command("ip", "netns", "exec", tb.Topo.SwitchNS, "sh", "-ec", script).CombinedOutput(); err != nil {
			t.Fatalf("switch: %s: %v: %s", script, err, out)
		}
	}
	// base is the setup before ethtool.VethGRO (TSO on lbx's end, no GRO and
	// no NAPI thread on the bridge's end); gro is the testbed's own, its
	// NAPI threads placed by the scheduler; gro1 the same with them on
	// CPU 1, lbx's (as the bench places them); nobrnf is base without
	// the bridge's netfilter hooks.
	var base, gro []string
	for _, dev := range []string{"lbx-ext", "lbx-int"} {
		peer := PortPeer(dev)
		base = append(base, fmt.Sprintf("ethtool -K %s tso on; echo 0 > /sys/class/net/%s/threaded; ethtool -K %s gro off", dev, peer, peer))
		gro = append(gro, fmt.Sprintf("ethtool -K %s tso off; ethtool -K %s gro on; echo 1 > /sys/class/net/%s/threaded", dev, peer, peer))
	}
	variants := map[string]string{
		"base":   "sysctl -qw net.bridge.bridge-nf-call-iptables=1; " + strings.Join(base, "; "),
		"nobrnf": "sysctl -qw net.bridge.bridge-nf-call-iptables=0; " + strings.Join(base, "; "),
		"gro":    "sysctl -qw net.bridge.bridge-nf-call-iptables=1; " + strings.Join(gro, "; "),
		"gro1":   "sysctl -qw net.bridge.bridge-nf-call-iptables=1; " + strings.Join(gro, "; "),
	}
	pinNAPI := func(cpu string) {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			comm, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
			if err == nil && strings.HasPrefix(string(comm), "napi/lbx-") {
				exec.Command("taskset", "-p", "-c", cpu, e.Name()).Run()
			}
		}
	}
	names := strings.Split(os.Getenv("LBX_XDP_VARIANTS"), ",")
	if names[0] == "" {
		names = []string{"base", "gro", "gro1"}
	}
	cpu := func() float64 {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+2:])
		var u, s float64
		fmt.Sscan(f[11], &u)
		fmt.Sscan(f[12], &s)
		return (u + s) / 100
	}
	bits := regexp.MustCompile(`"bits_per_second":\s*([0-9.e+]+)`)
	retr := regexp.MustCompile(`"retransmits":\s*([0-9]+)`)
	rounds := 3
	if n, err := strconv.Atoi(os.Getenv("LBX_XDP_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	for r := range rounds {
		for i := range names {
			name := names[(i+r)%len(names)]
			script, ok := variants[name]
			if !ok {
				t.Fatalf("no variant %q", name)
			}
			sw(script)
			if name == "gro1" {
				pinNAPI("1")
			} else if name == "gro" {
				pinNAPI("0,1")
			}
			c0 := cpu()
			cl, err := tb.Command("client", "taskset", "-c", "0", "iperf3", "-c", "198.18.1.100", "-p", "5201", "-t", "4", "-J")
			if err != nil {
				t.Fatal(err)
			}
			out, err := cl.Output()
			if err != nil {
				t.Fatalf("iperf3: %v: %s", err, out)
			}
			c1 := cpu()
			// The last bits_per_second is the receiver's summary.
			m := bits.FindAllSubmatch(out, -1)
			rt := retr.FindAllSubmatch(out, -1)
			var bps float64
			fmt.Sscan(string(m[len(m)-1][1]), &bps)
			rts := "?"
			if len(rt) > 0 {
				rts = string(rt[len(rt)-1][1])
			}
			gb := bps * 4 / 8 / 1e9
			t.Logf("round %d %-7s %6.2f Gbit/s  retransmits %6s  lbx %.2f core  %.2f s CPU per GB", r+1, name, bps/1e9, rts, (c1-c0)/4, (c1-c0)/gb)
		}
	}
}

// TestTAPPollAB compares two lbx binaries ($LBX_AB_BEFORE and
// $LBX_AB_AFTER) with the appliance on TAP ports, in alternating rounds
// ($LBX_AB_ROUNDS, default 3), a fresh testbed per run, placed as `make
// bench` places lbx-tap: the appliance on CPU 1; wrk, the UDP sender, the
// UDP sinks and the emulated servers on CPU 0. Per run: new connections
// (`wrk -t2 -c32 -d4s -H 'Connection: close'`), keep-alive requests (the
// same without the header) and 64-byte UDP datagrams through a UDP virtual
// for 4 s, offered as fast as the bench's sender can, counted at the
// servers (InDatagrams + RcvbufErrors of /proc/net/snmp, as the bench
// does). $LBX_AB_BENCH is the bench binary (`go build -o BIN ./bench`) for
// its udp-send and udp-sink roles; LBX_AB_PIN=0 leaves the appliance on
// both cores. It measures; it asserts nothing.
func TestTAPPollAB(t *testing.T) {
	requireRoot(t)
	bins := map[string]string{"before": os.Getenv("LBX_AB_BEFORE"), "after": os.Getenv("LBX_AB_AFTER")}
	bench := os.Getenv("LBX_AB_BENCH")
	if bins["before"] == "" || bins["after"] == "" || bench == "" {
		t.Fatal("set LBX_AB_BEFORE and LBX_AB_AFTER to lbx binaries and LBX_AB_BENCH to the bench binary")
	}
	rounds := 3
	if n, err := strconv.Atoi(os.Getenv("LBX_AB_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	rps := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	servers := []string{"server1", "server2", "server3"}
	udpIn := func(tb *Testbed) int64 {
		var sum int64
		for _, s := range servers {
			c, _ := tb.Command(s, "cat", "/proc/net/snmp")
			out, err := c.Output()
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, l := range strings.Split(string(out), "\n") {
				f := strings.Fields(l)
				if len(f) == 0 || f[0] != "Udp:" {
					continue
				}
				if names == nil {
					names = f
					continue
				}
				for i, n := range names {
					if (n == "InDatagrams" || n == "RcvbufErrors") && i < len(f) {
						v, _ := strconv.ParseInt(f[i], 10, 64)
						sum += v
					}
				}
				break
			}
		}
		return sum
	}
	for r := range rounds {
		for _, which := range []string{"before", "after"} {
			if r%2 == 1 {
				which = map[string]string{"before": "after", "after": "before"}[which]
			}
			dir := t.TempDir()
			tb, err := Up(Options{Binary: bins[which], StateDir: filepath.Join(dir, "state"), Socket: filepath.Join(dir, "lbx.sock"), PortDriver: "tap"})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tb.State.Procs {
				cpu := "0"
				if p.Name == "appliance" {
					if os.Getenv("LBX_AB_PIN") == "0" {
						continue // both cores: GOMAXPROCS 2
					}
					cpu = "1"
				}
				exec.Command("taskset", "-a", "-p", "-c", cpu, fmt.Sprint(p.PID)).Run()
			}
			for _, c := range []string{
				"create ltm pool /Common/ab_udp_pool members add { 198.18.2.11:9 198.18.2.12:9 198.18.2.13:9 }",
				"create ltm virtual /Common/ab_vs_udp destination 198.18.1.100:9 ip-protocol udp pool /Common/ab_udp_pool profiles add { /Common/fastL4 } source-address-translation { type automap }",
			} {
				if _, err := tb.Client().Exec(c); err != nil {
					tb.Down()
					t.Fatal(err)
				}
			}
			var sinks []*HostCmd
			for _, s := range servers {
				c, _ := tb.Command(s, "taskset", "-c", "0", bench, "udp-sink", "-listen", ":9")
				stdin, _ := c.StdinPipe()
				defer stdin.Close()
				if err := c.Start(); err != nil {
					t.Fatal(err)
				}
				sinks = append(sinks, c)
			}
			curl(t, tb, "http://198.18.1.100/")
			line := fmt.Sprintf("round %d %-6s", r+1, which)
			for _, mode := range []string{"close", "keep-alive"} {
				argv := []string{"taskset", "-c", "0", "wrk", "-t2", "-c32", "-d4s", "http://198.18.1.100/"}
				if mode == "close" {
					argv = append(argv, "-H", "Connection: close")
				}
				c, _ := tb.Command("client", argv...)
				out, err := c.CombinedOutput()
				if m := rps.FindSubmatch(out); err == nil && m != nil {
					line += fmt.Sprintf("  %s %s/s", mode, m[1])
				} else {
					line += fmt.Sprintf("  %s failed: %v", mode, err)
				}
			}
			in0 := udpIn(tb)
			c, _ := tb.Command("client", "taskset", "-c", "0", bench, "udp-send", "-to", "198.18.1.100:9", "-for", "4s")
			out, err := c.CombinedOutput()
			in1 := udpIn(tb)
			if err != nil {
				line += fmt.Sprintf("  udp failed: %v: %s", err, out)
			} else {
				line += fmt.Sprintf("  udp %d pkt/s (%s)", (in1-in0)/4, strings.TrimSpace(string(out)))
			}
			st, _ := tb.Client().Exec("show sys dataplane")
			for _, l := range strings.Split(st, "\n") {
				if strings.Contains(l, "rx_polled") || strings.Contains(l, "rx_parked") || strings.Contains(l, "rx_lost") {
					f := strings.Fields(l)
					line += "  " + strings.Join(f, "=")
				}
			}
			for _, s := range sinks {
				s.Process.Kill()
				s.Wait()
			}
			tb.Down()
			t.Log(line)
		}
	}
}
