package monitors

import (
	"context"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"lbx/internal/clock"
)

// workerCount is how many worker goroutines s has started.
func (s *Scheduler) workerCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.workers
}

// TestWorkerPoolBoundsAndReuse: with MaxConcurrent 3 and 20 members due at
// once, exactly 3 probes run at a time on at most 3 workers, the others wait
// for a slot, the same workers run every later round, and Close stops them.
func TestWorkerPoolBoundsAndReuse(t *testing.T) {
	const max, members, rounds = 3, 20, 4
	base := runtime.NumGoroutine()
	clk := clock.NewManual(t0)
	var (
		running, peak, calls atomic.Int32
		mu                   sync.Mutex
		release              = make(chan struct{})
		started              = make(chan struct{}, members)
	)
	prober := ProberFunc(func(ctx context.Context, _ *Spec, _ Target) Result {
		n := running.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		calls.Add(1)
		select {
		case started <- struct{}{}: // round 1 reads these
		default:
		}
		mu.Lock()
		rel := release
		mu.Unlock()
		select {
		case <-rel:
		case <-ctx.Done():
		}
		running.Add(-1)
		return Result{Verdict: Success}
	})
	s := New(Config{Prober: prober, Clock: clk, MaxConcurrent: max})
	closed := false
	t.Cleanup(func() {
		if !closed {
			s.Close()
		}
	})
	var checks []Check
	for i := range members {
		tgt := Target{Addr: netip.AddrFrom4([4]byte{198, 18, 6, byte(i)}), Port: 80}
		checks = append(checks, Check{Key: tgt.String(), Target: tgt, Rule: Rule{Specs: []*Spec{bigip("/Common/tcp", sec(5), sec(16))}}})
	}
	if err := s.Update(checks); err != nil {
		t.Fatal(err)
	}
	wait := func(what string) {
		t.Helper()
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no probe started within 10s (%d running, %d calls)", what, running.Load(), calls.Load())
		}
	}
	// Round 1: every member is due within the first interval; hold the
	// probes so they pile up on the slots.
	clk.Advance(sec(5))
	for range max {
		wait("round 1")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if n := running.Load(); n != max {
		t.Fatalf("%d probes running, want %d", n, max)
	}
	if w := s.workerCount(); w != max {
		t.Fatalf("%d workers, want %d", w, max)
	}
	// Let them all go: each finished probe frees a slot for a waiting one.
	mu.Lock()
	close(release)
	release = make(chan struct{})
	close(release) // later rounds do not block
	mu.Unlock()
	for i := max; i < members; i++ {
		wait("round 1, the waiting members")
	}
	if err := s.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	for r := 2; r <= rounds; r++ {
		clk.AdvanceSettled(sec(5), func() {
			if err := s.WaitIdle(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
	if p := peak.Load(); p != max {
		t.Errorf("peak concurrency %d, want %d", p, max)
	}
	if c := calls.Load(); c < members*rounds {
		t.Errorf("%d probes over %d rounds of %d members", c, rounds, members)
	}
	if w := s.workerCount(); w > max {
		t.Errorf("%d workers after %d probes, want at most %d", w, calls.Load(), max)
	}
	for _, st := range s.Statuses() {
		if st.State != Up {
			t.Fatalf("%s: %v, want up", st.Key, st.State)
		}
	}
	s.Close()
	closed = true
	for i := 0; runtime.NumGoroutine() > base; i++ {
		if i == 1000 {
			t.Fatalf("%d goroutines after Close, %d before New", runtime.NumGoroutine(), base)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestCloseWithQueuedProbes: Close with probes blocked on every worker
// and more waiting for a slot returns, cancels the running ones and
// leaves no worker behind.
func TestCloseWithQueuedProbes(t *testing.T) {
	base := runtime.NumGoroutine()
	clk := clock.NewManual(t0)
	var running atomic.Int32
	started := make(chan struct{}, 16)
	prober := ProberFunc(func(ctx context.Context, _ *Spec, _ Target) Result {
		running.Add(1)
		defer running.Add(-1)
		started <- struct{}{}
		<-ctx.Done()
		return Result{Verdict: Failure, Reason: "cancelled"}
	})
	s := New(Config{Prober: prober, Clock: clk, MaxConcurrent: 2})
	var checks []Check
	for i := range 8 {
		tgt := Target{Addr: netip.AddrFrom4([4]byte{198, 18, 7, byte(i)}), Port: 80}
		checks = append(checks, Check{Key: tgt.String(), Target: tgt, Rule: Rule{Specs: []*Spec{bigip("/Common/tcp", sec(5), sec(60))}}})
	}
	if err := s.Update(checks); err != nil {
		s.Close()
		t.Fatal(err)
	}
	clk.Advance(sec(5))
	for range 2 {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			s.Close()
			t.Fatal("probes did not start within 10s")
		}
	}
	s.Close()
	if n := running.Load(); n != 0 {
		t.Fatalf("%d probes still running after Close", n)
	}
	for i := 0; runtime.NumGoroutine() > base; i++ {
		if i == 1000 {
			t.Fatalf("%d goroutines after Close, %d before New", runtime.NumGoroutine(), base)
		}
		time.Sleep(time.Millisecond)
	}
}
