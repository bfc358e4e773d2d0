//go:build tapprofile

package testbed

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
// of `perf report`. docs/BENCHMARKS.md ("TAP offload") has the figures.
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
	perf := exec.Command("perf", "record", "-g", "-o", data, "-p", fmt.Sprint(pid), "--", "sleep", "4")
	if err := perf.Start(); err != nil {
		t.Fatal(err)
	}
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
	rep, err := exec.Command("perf", "report", "-i", data, "--no-children", "--stdio", "--percent-limit", "1.5", "-g", "none").CombinedOutput()
	if err != nil {
		t.Fatalf("perf report: %v", err)
	}
	t.Logf("perf report:\n%s", rep)
	c, _ := app.Exec("show sys dataplane")
	for _, l := range strings.Split(c, "\n") {
		if strings.Contains(l, "gso") || strings.Contains(l, "rx_packets") || strings.Contains(l, "tx_packets") {
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
	cl, err := tb.Command("client", "taskset", "-c", "0", "wrk", "-t2", "-c32", "-d6s", "-H", "Connection: close", "http://198.18.1.100/")
	if err != nil {
		t.Fatal(err)
	}
	out, err := cl.CombinedOutput()
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
