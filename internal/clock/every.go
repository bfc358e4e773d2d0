package clock

import (
	"sync"
	"time"
)

// Ticker calls a function periodically on a Clock; Every makes one. It is
// the Clock's counterpart of time.Ticker for timers such as HA
// advertisements, built on AfterFunc so it works on System and Manual alike.
type Ticker struct {
	clk    Clock
	period time.Duration
	f      func()

	mu      sync.Mutex
	due     time.Time // of the pending call
	t       Timer
	stopped bool
}

// Every calls f every period on clk, the first time one period from now,
// until Stop. Calls stay on that grid and never overlap: the next call is
// armed when f returns, at the first grid point after the present, so calls
// that fall behind (f ran longer than a period, or the process stalled) are
// dropped, as time.Ticker drops ticks. On a Manual clock the calls run on
// the advancing goroutine, so advancing by n periods calls f n times.
// Like time.NewTicker, Every panics if period is not positive: that is a
// programming error, not input.
func Every(clk Clock, period time.Duration, f func()) *Ticker {
	if period <= 0 {
		panic("clock: non-positive period for Every")
	}
	tk := &Ticker{clk: clk, period: period, f: f}
	tk.mu.Lock()
	defer tk.mu.Unlock()
	tk.due = clk.Now().Add(period)
	tk.t = clk.AfterFunc(period, tk.fire)
	return tk
}

func (tk *Ticker) fire() {
	tk.mu.Lock()
	stopped := tk.stopped
	tk.mu.Unlock()
	if stopped {
		return
	}
	tk.f()
	tk.mu.Lock()
	defer tk.mu.Unlock()
	if tk.stopped {
		return
	}
	now := tk.clk.Now()
	next := tk.due.Add(tk.period)
	if !next.After(now) {
		next = next.Add((now.Sub(next)/tk.period + 1) * tk.period)
	}
	tk.due = next
	tk.t = tk.clk.AfterFunc(next.Sub(now), tk.fire)
}

// Stop ends the calls. It reports whether the ticker was running; a call
// already under way (on System's goroutine) finishes, and none follows.
func (tk *Ticker) Stop() bool {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	if tk.stopped {
		return false
	}
	tk.stopped = true
	tk.t.Stop()
	return true
}
