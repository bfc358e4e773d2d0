package monitors

import (
	"cmp"
	"slices"
	"time"
)

// LatencyBuckets are the upper bounds of the probe latency histograms
// (Scheduler.ProbeLatencies): from a probe answered on the same segment to
// BIG-IP's longest usual timeouts.
var LatencyBuckets = [...]time.Duration{
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2500 * time.Millisecond, 5 * time.Second,
	10 * time.Second, 30 * time.Second,
}

// Latency is the histogram of one monitor's probe durations (result End -
// Start, in the Scheduler clock's time base) over every member it checks,
// since the Scheduler started. A failed probe counts too: a probe that
// timed out lasted its timeout.
type Latency struct {
	Monitor string
	Type    Type
	Count   uint64
	Sum     time.Duration
	// Buckets counts the probes that lasted at most LatencyBuckets[i]
	// (cumulative, as Prometheus wants them).
	Buckets [len(LatencyBuckets)]uint64
}

// observeLatencyLocked adds one probe's duration to its monitor's
// histogram. It runs on the loop, once per delivered result: never on the
// dataplane's path.
func (s *Scheduler) observeLatencyLocked(spec *Spec, d time.Duration) {
	if d < 0 {
		d = 0
	}
	l := s.latency[spec.Name]
	if l == nil {
		if s.latency == nil {
			s.latency = map[string]*Latency{}
		}
		l = &Latency{Monitor: spec.Name}
		s.latency[spec.Name] = l
	}
	l.Type = spec.Type
	l.Count++
	l.Sum += d
	for i, b := range LatencyBuckets {
		if d <= b {
			l.Buckets[i]++
		}
	}
}

// ProbeLatencies returns every monitor's probe latency histogram, sorted
// by monitor name.
func (s *Scheduler) ProbeLatencies() []Latency {
	s.mu.RLock()
	out := make([]Latency, 0, len(s.latency))
	for _, l := range s.latency {
		out = append(out, *l)
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b Latency) int { return cmp.Compare(a.Monitor, b.Monitor) })
	return out
}
