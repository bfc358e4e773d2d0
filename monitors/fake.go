package monitors

import (
	"context"
	"slices"
	"sync"
	"time"

	"lbx/internal/clock"
)

// FakeOutcome is a FakeProber's answer to one probe.
type FakeOutcome struct {
	Verdict Verdict
	Reason  string
	// Latency is the simulated time from the probe's start to the answer.
	// The FakeProber returns at once with End = start+Latency; the
	// Scheduler applies the result when its clock reaches End.
	Latency time.Duration
	// Hang: no answer; the probe fails at its deadline with NoAnswer. So
	// does a Latency beyond the deadline.
	Hang    bool
	Packets []Packet
}

// FakeCall records one probe a FakeProber received.
type FakeCall struct {
	Monitor  string
	Target   Target
	At       time.Time
	Deadline time.Time
}

// FakeProber is a scripted, recording Prober for tests of the Scheduler and
// of code built on it. It never blocks (with a Hang or a Latency, it returns
// a Result whose End lies in the future), so with a clock.Manual everything
// it does happens at the clock's instants. Answers are looked up by
// (monitor, target), then (any monitor, target): first any queued one-shot
// outcome, then the steady one; unscripted probes fail with "no outcome
// scripted".
type FakeProber struct {
	clock clock.Clock

	mu     sync.Mutex
	steady map[fakeKey]FakeOutcome
	queued map[fakeKey][]FakeOutcome
	calls  []FakeCall
}

type fakeKey struct {
	monitor string
	target  Target
}

var _ Prober = (*FakeProber)(nil)

// NewFakeProber returns a FakeProber reading time from clk (nil:
// clock.System); use the Scheduler's clock.
func NewFakeProber(clk clock.Clock) *FakeProber {
	if clk == nil {
		clk = clock.System{}
	}
	return &FakeProber{clock: clk, steady: make(map[fakeKey]FakeOutcome), queued: make(map[fakeKey][]FakeOutcome)}
}

// Set makes o the steady answer of monitor (or of any monitor, "") to
// probes of t, and drops outcomes queued for that pair.
func (f *FakeProber) Set(monitor string, t Target, o FakeOutcome) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := fakeKey{monitor, t}
	f.steady[k] = o
	delete(f.queued, k)
}

// Queue appends one-shot answers, used in order before the steady one.
func (f *FakeProber) Queue(monitor string, t Target, os ...FakeOutcome) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := fakeKey{monitor, t}
	f.queued[k] = append(f.queued[k], os...)
}

// Calls returns the probes received so far, oldest first.
func (f *FakeProber) Calls() []FakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// Probe answers from the script.
func (f *FakeProber) Probe(ctx context.Context, spec *Spec, t Target) Result {
	now := f.clock.Now()
	deadline, hasDeadline := ctx.Deadline()
	o := f.next(spec.Name, t, FakeCall{Monitor: spec.Name, Target: t, At: now, Deadline: deadline})
	res := Result{Verdict: o.Verdict, Reason: o.Reason, Start: now, End: now.Add(o.Latency), Packets: o.Packets}
	if ctx.Err() != nil {
		return Result{Verdict: Failure, Reason: "cancelled", Start: now, End: now}
	}
	if o.Hang || (hasDeadline && res.End.After(deadline)) {
		if !hasDeadline {
			<-ctx.Done()
			return Result{Verdict: Failure, Reason: "cancelled", Start: now, End: f.clock.Now()}
		}
		return Result{Verdict: Failure, Reason: NoAnswer(deadline.Sub(now)), Start: now, End: deadline, Packets: o.Packets}
	}
	return res
}

func (f *FakeProber) next(monitor string, t Target, call FakeCall) FakeOutcome {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	for _, k := range []fakeKey{{monitor, t}, {"", t}} {
		if q := f.queued[k]; len(q) > 0 {
			f.queued[k] = q[1:]
			return q[0]
		}
		if o, ok := f.steady[k]; ok {
			return o
		}
	}
	return FakeOutcome{Verdict: Failure, Reason: "no outcome scripted"}
}
