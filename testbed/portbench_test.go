//go:build portbench

package testbed

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
)

// TestPortDriverBench measures keep-alive HTTP requests/s through the VIP
// with the appliance on TAP and on AF_XDP ports, in alternating rounds, a
// fresh testbed per round. It measures; it asserts nothing. Run it with
//
//	go test -tags portbench -run TestPortDriverBench -v ./testbed
//
// (root, wrk installed). docs/BENCHMARKS.md has the method and numbers.
func TestPortDriverBench(t *testing.T) {
	requireRoot(t)
	const rounds = 5
	rps := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	lat := regexp.MustCompile(`(?m)^\s+50%\s+(\S+)\s*$`)
	p99 := regexp.MustCompile(`(?m)^\s+99%\s+(\S+)\s*$`)
	res := map[string][]float64{}
	for r := range rounds {
		for _, driver := range []string{"tap", "afxdp"} {
			dir := t.TempDir()
			tb, err := Up(Options{Binary: lbxBinary, StateDir: filepath.Join(dir, "state"), Socket: filepath.Join(dir, "lbx.sock"), PortDriver: driver})
			if err != nil {
				t.Fatalf("testbed up (%s): %v", driver, err)
			}
			curl(t, tb, "http://198.18.1.100/") // ARP and flows warm
			c, err := tb.Command("client", "wrk", "-t2", "-c32", "-d8s", "--latency", "http://198.18.1.100/")
			if err != nil {
				tb.Down()
				t.Fatal(err)
			}
			out, err := c.CombinedOutput()
			tb.Down()
			if err != nil {
				t.Fatalf("wrk (%s): %v\n%s", driver, err, out)
			}
			m := rps.FindSubmatch(out)
			if m == nil {
				t.Fatalf("wrk (%s): no Requests/sec:\n%s", driver, out)
			}
			v, _ := strconv.ParseFloat(string(m[1]), 64)
			res[driver] = append(res[driver], v)
			var l50, l99 string
			if m := lat.FindSubmatch(out); m != nil {
				l50 = string(m[1])
			}
			if m := p99.FindSubmatch(out); m != nil {
				l99 = string(m[1])
			}
			t.Logf("round %d %-5s %9.0f req/s  p50 %s  p99 %s", r+1, driver, v, l50, l99)
		}
	}
	med := func(v []float64) float64 { v = slices.Clone(v); slices.Sort(v); return v[len(v)/2] }
	ratios := make([]float64, rounds)
	for i := range ratios {
		ratios[i] = res["afxdp"][i] / res["tap"][i]
	}
	t.Logf("median tap %.0f req/s, afxdp %.0f req/s; afxdp/tap per round: median %.2f, min %.2f, max %.2f",
		med(res["tap"]), med(res["afxdp"]), med(ratios), slices.Min(ratios), slices.Max(ratios))
	fmt.Println()
}
