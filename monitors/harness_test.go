package monitors

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"lbx/internal/clock"
)

var t0 = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

var (
	member1 = Target{Addr: netip.MustParseAddr("198.18.2.11"), Port: 80}
)

const key1 = "/Common/pool /Common/198.18.2.11:80"

// harness is a Scheduler on a clock.Manual with a FakeProber, recording
// every Change.
type harness struct {
	t    *testing.T
	clk  *clock.Manual
	fake *FakeProber
	s    *Scheduler

	mu      sync.Mutex
	changes []Change
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, clk: clock.NewManual(t0)}
	h.fake = NewFakeProber(h.clk)
	cfg.Clock = h.clk
	if cfg.Prober == nil {
		cfg.Prober = h.fake
	}
	cfg.OnChange = func(c Change) {
		h.mu.Lock()
		h.changes = append(h.changes, c)
		h.mu.Unlock()
	}
	h.s = New(cfg)
	t.Cleanup(func() { h.s.Close() })
	return h
}

// settle waits until the scheduler is idle; the timeout only guards
// against a hang.
func (h *harness) settle() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.s.WaitIdle(ctx); err != nil {
		h.t.Fatalf("WaitIdle: %v", err)
	}
}

// run advances the clock by d, letting every probe it triggers complete.
func (h *harness) run(d time.Duration) { h.clk.AdvanceSettled(d, h.settle) }

// runTo advances the clock to at.
func (h *harness) runTo(at time.Time) { h.run(at.Sub(h.clk.Now())) }

func (h *harness) update(checks ...Check) {
	h.t.Helper()
	if err := h.s.Update(checks); err != nil {
		h.t.Fatalf("Update: %v", err)
	}
	h.settle()
}

func (h *harness) state(key string) State {
	h.t.Helper()
	st, ok := h.s.Status(key)
	if !ok {
		h.t.Fatalf("Status(%q): no such check", key)
	}
	return st.State
}

func (h *harness) wantState(key string, want State) {
	h.t.Helper()
	if got := h.state(key); got != want {
		h.t.Fatalf("at t0+%v: %s is %v, want %v", h.clk.Now().Sub(t0), key, got, want)
	}
}

// takeChanges returns and forgets the changes recorded so far.
func (h *harness) takeChanges() []Change {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.changes
	h.changes = nil
	return c
}

// callTimes returns the start times of the probes of one target.
func (h *harness) callTimes(t Target) []time.Time {
	var out []time.Time
	for _, c := range h.fake.Calls() {
		if c.Target == t {
			out = append(out, c.At)
		}
	}
	return out
}

func bigip(name string, interval, timeout time.Duration) *Spec {
	return &Spec{Name: name, Type: TCP, Interval: interval, Timeout: timeout}
}

func alteon(name string, interval time.Duration, retries, restore int) *Spec {
	return &Spec{Name: name, Type: TCP, Interval: interval, Timeout: interval / 2, Alteon: true, Retries: retries, Restore: restore}
}

func check1(specs ...*Spec) Check {
	return Check{Key: key1, Target: member1, Rule: Rule{Specs: specs}}
}

var (
	ok      = FakeOutcome{Verdict: Success}
	refused = FakeOutcome{Verdict: Failure, Reason: "connection refused (RST to SYN)"}
	hang    = FakeOutcome{Hang: true}
	disable = FakeOutcome{Verdict: Disable, Reason: "recv-disable matched"}
)

func sec(n float64) time.Duration { return time.Duration(n * float64(time.Second)) }
