package tmsh

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// poolScript is a push of n `create ltm pool` lines, each with two members
// on servers shared between pools (4096 of them), so the push also creates
// the nodes.
func poolScript(n int) string {
	var b strings.Builder
	for i := range n {
		a, c := i%4096, (i+1)%4096
		fmt.Fprintf(&b, "create ltm pool bench_%d members add { 10.1.%d.%d:80 10.1.%d.%d:8080 }\n",
			i, a>>8, a&255, c>>8, c&255)
	}
	return b.String()
}

// pushBytesPerLine pushes n pool lines into a new store and returns the
// bytes the push allocated per line.
func pushBytesPerLine(t *testing.T, n int) float64 {
	t.Helper()
	script := poolScript(n)
	s, _ := newTestStore(t, "")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := s.Push(script); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if got := len(s.Running().Pools); got != n {
		t.Fatalf("%d pools running, want %d", got, n)
	}
	return float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
}

// TestPushWorkLinearInLines holds the apply of a pushed script linear in
// its length (issue 12 item 4: a push of n `create ltm pool` lines sorted
// every pool on every line, O(n² log n)). It counts work, not time: the
// bytes a push allocates per line are about the same for 10 times the
// lines. Before the fix they grew with the number of pools (the sort's
// key and value slices, per line): 5.9 times as many per line at 10k as
// at 1k, and the push of 10k lines took 104 s. The times are in docs/BENCHMARKS.md (BenchmarkPushPools).
func TestPushWorkLinearInLines(t *testing.T) {
	small := pushBytesPerLine(t, 1_000)
	large := pushBytesPerLine(t, 10_000)
	t.Logf("bytes allocated per line: %.0f at 1k lines, %.0f at 10k", small, large)
	if large > 2*small {
		t.Errorf("a push of 10k lines allocates %.0f bytes per line, %.1f times as many as one of 1k (%.0f): the apply is not linear in the script",
			large, large/small, small)
	}
}

// BenchmarkPushPools pushes 10k, 50k and 100k `create ltm pool` lines into
// a store over a fake dataplane (ctrltest) and reports the time per line,
// which stays flat when the apply is linear in the change
// (docs/BENCHMARKS.md). Once per size:
//
//	go test -run '^$' -bench PushPools -benchtime 1x ./ctrlplane/tmsh
func BenchmarkPushPools(b *testing.B) {
	for _, n := range []int{10_000, 50_000, 100_000} {
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			script := poolScript(n)
			for b.Loop() {
				s, _ := newTestStore(b, "")
				if _, err := s.Push(script); err != nil {
					b.Fatal(err)
				}
				if got := len(s.Running().Pools); got != n {
					b.Fatalf("%d pools running, want %d", got, n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/line")
		})
	}
}
