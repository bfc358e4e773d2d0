//go:build farmbench

package testbed

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var wrkRate = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

// wrkIn runs wrk in namespace ns against url and returns requests/s.
func wrkIn(t *testing.T, ns, url string, closeConn bool) float64 {
	t.Helper()
	args := []string{"-t2", "-c32", "-d4s", "--timeout", "2s"}
	if closeConn {
		args = append(args, "-H", "Connection: close")
	}
	cmd := exec.Command("wrk", append(args, url)...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := withNS(ns, cmd.Run); err != nil {
		t.Fatalf("wrk %s: %v\n%s", url, err, out.String())
	}
	m := wrkRate.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("wrk %s: no rate in\n%s", url, out.String())
	}
	if strings.Contains(out.String(), "Socket errors") || strings.Contains(out.String(), "Non-2xx") {
		t.Logf("wrk %s: errors:\n%s", url, out.String())
	}
	r, _ := strconv.ParseFloat(m[1], 64)
	return r
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestFarmBench (go test -tags farmbench, root, minutes): requests/s of the
// three-member farm (filter="on_port", so wrk's connections from one
// client spread) against one of its servers alone and against lbx in
// front of the testbed's three servers (the same emulated server
// program); and the failover time, member killed → its buckets owned by
// the others. Figures for docs/BENCHMARKS.md, "Farm mode"; it asserts
// only that every run answered.
func TestFarmBench(t *testing.T) {
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Fatal("the farm benchmark needs wrk (apt-get install wrk)")
	}
	cfg := strings.Replace(string(FarmUserConfig), `filter="on_addr"`, `filter="on_port"`, 1)
	f := farmUp(t, 3, []byte(cfg))
	for i := range 3 {
		if err := f.StartMember(i); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.WaitSettled(t.Context(), 0, []int{0, 1, 2}, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	const rounds = 3
	rates := map[string][]float64{}
	for range rounds {
		for _, mode := range []bool{false, true} {
			name := map[bool]string{false: "keep-alive", true: "new-conn"}[mode]
			rates["farm "+name] = append(rates["farm "+name], wrkIn(t, FarmClientNS, fmt.Sprintf("http://%s/", FarmVIP), mode))
			rates["one server "+name] = append(rates["one server "+name], wrkIn(t, FarmClientNS, fmt.Sprintf("http://%s/", FarmMemberAddr(0)), mode))
		}
	}
	// Failover: kill -9 one member, time until the other two own all.
	var failover []float64
	for i := 1; i <= 2; i++ {
		up := []int{0, 1, 2}
		killed := time.Now()
		if err := f.SignalMember(i, syscall.SIGKILL, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		up = slices.DeleteFunc(up, func(j int) bool { return j == i })
		if i == 2 {
			up = []int{0}
		}
		if _, err := f.WaitSettled(t.Context(), 0, up, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		failover = append(failover, time.Since(killed).Seconds())
	}
	// Member 1 again, then kill -9 it once more for a third figure.
	f.Members[1].killServer()
	if err := f.StartMember(1); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WaitSettled(t.Context(), 0, []int{0, 1}, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if err := f.SignalMember(1, syscall.SIGKILL, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WaitSettled(t.Context(), 0, []int{0}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	failover = append(failover, time.Since(killed).Seconds())
	for _, m := range f.Members {
		m.killServer()
	}

	// lbx in front of the testbed's three servers.
	tb := upTestbed(t)
	client, ok := tb.Topo.Host("client")
	if !ok {
		t.Fatal("testbed has no client")
	}
	for range rounds {
		for _, mode := range []bool{false, true} {
			name := map[bool]string{false: "keep-alive", true: "new-conn"}[mode]
			rates["lbx "+name] = append(rates["lbx "+name], wrkIn(t, client.NS, "http://198.18.1.100/", mode))
		}
	}
	var b strings.Builder
	for _, k := range []string{"farm keep-alive", "one server keep-alive", "lbx keep-alive", "farm new-conn", "one server new-conn", "lbx new-conn"} {
		fmt.Fprintf(&b, "%-22s median %8.0f req/s  rounds %v\n", k, median(rates[k]), rates[k])
	}
	fmt.Fprintf(&b, "failover (kill -9 → buckets owned by the others): %v s\n", failover)
	t.Logf("farm benchmark:\n%s", b.String())
	if p := os.Getenv("LBX_FARM_BENCH_OUT"); p != "" {
		os.WriteFile(filepath.Clean(p), []byte(b.String()), 0o644)
	}
}
