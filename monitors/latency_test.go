package monitors

import (
	"testing"
	"time"
)

// Each delivered probe lands in its monitor's histogram with its simulated
// duration; a probe that got no answer counts with the time it waited
// (its deadline: min(interval, timeout)); the member's status carries the
// last probe's duration.
func TestProbeLatencies(t *testing.T) {
	h := newHarness(t, Config{})
	sp := bigip("/Common/tcp", sec(5), sec(16))
	o := firstProbe(key1, sp)
	h.fake.Set("", member1, ok)
	h.fake.Queue("", member1,
		FakeOutcome{Verdict: Success, Latency: 3 * time.Millisecond},
		FakeOutcome{Verdict: Success, Latency: 30 * time.Millisecond},
		hang,
		FakeOutcome{Verdict: Success, Latency: 2 * time.Second})
	h.update(check1(sp))
	h.runTo(o.Add(sec(18))) // probes at +0, +5, +10 (waits to +15), +15 (answers at +17)

	ls := h.s.ProbeLatencies()
	if len(ls) != 1 || ls[0].Monitor != sp.Name || ls[0].Type != TCP {
		t.Fatalf("ProbeLatencies = %+v, want one histogram for %s", ls, sp.Name)
	}
	l := ls[0]
	if want := 3*time.Millisecond + 30*time.Millisecond + sec(5) + sec(2); l.Count != 4 || l.Sum != want {
		t.Errorf("count %d sum %v, want 4 and %v", l.Count, l.Sum, want)
	}
	for i, b := range LatencyBuckets {
		var want uint64
		for _, d := range []time.Duration{3 * time.Millisecond, 30 * time.Millisecond, sec(5), sec(2)} {
			if d <= b {
				want++
			}
		}
		if l.Buckets[i] != want {
			t.Errorf("bucket le %v: %d, want %d", b, l.Buckets[i], want)
		}
	}
	st, _ := h.s.Status(key1)
	if got := st.Monitors[0].LastDuration; got != sec(2) {
		t.Errorf("LastDuration = %v, want 2s", got)
	}
}
