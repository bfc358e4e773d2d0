package monitors

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// Clock is the time source of the Scheduler and the probers. Tests use a
// ManualClock to step time instead of sleeping.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine (SystemClock) or in the
	// goroutine that advances time (ManualClock) once d has elapsed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc. Stop reports whether it prevented the call.
type Timer interface {
	Stop() bool
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// AfterFunc is time.AfterFunc.
func (SystemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

var (
	_ Clock = SystemClock{}
	_ Clock = (*ManualClock)(nil)
)

// ManualClock is a Clock that moves only when told to. Timers fire in order
// of their due time (then of creation) on the goroutine that calls Advance,
// AdvanceTo or AdvanceSettled, with Now set to each timer's due time while
// it runs. Timers due at or before the present fire at the next advance,
// also one by zero.
type ManualClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers timerHeap
}

// NewManualClock returns a clock reading start.
func NewManualClock(start time.Time) *ManualClock {
	return &ManualClock{now: start}
}

// Now returns the clock's present.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f at Now()+d.
func (c *ManualClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &manualTimer{c: c, when: c.now.Add(d), seq: c.seq, f: f, index: -1}
	heap.Push(&c.timers, t)
	return t
}

// Next returns the due time of the earliest pending timer.
func (c *ManualClock) Next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return time.Time{}, false
	}
	return c.timers[0].when, true
}

// Advance moves the clock forward by d, firing every timer that falls due,
// including timers created by the callbacks it runs.
func (c *ManualClock) Advance(d time.Duration) {
	c.AdvanceTo(c.Now().Add(d))
}

// AdvanceTo moves the clock to t (never backwards), firing due timers.
func (c *ManualClock) AdvanceTo(t time.Time) {
	for {
		c.mu.Lock()
		if len(c.timers) == 0 || c.timers[0].when.After(t) {
			if t.After(c.now) {
				c.now = t
			}
			c.mu.Unlock()
			return
		}
		tm := heap.Pop(&c.timers).(*manualTimer)
		if tm.when.After(c.now) {
			c.now = tm.when
		}
		c.mu.Unlock()
		tm.f()
	}
}

// AdvanceSettled moves the clock forward by d one due instant at a time:
// it fires the timers due at the earliest instant, then calls settle (which
// should wait until the asynchronous work those timers started is done,
// e.g. Scheduler.WaitIdle), and repeats until no timer is due by the end.
// This lets work triggered by one timer arm the next before time passes it.
func (c *ManualClock) AdvanceSettled(d time.Duration, settle func()) {
	end := c.Now().Add(d)
	for {
		settle()
		next, ok := c.Next()
		if !ok || next.After(end) {
			break
		}
		c.AdvanceTo(next)
	}
	c.AdvanceTo(end)
	settle()
}

type manualTimer struct {
	c     *ManualClock
	when  time.Time
	seq   uint64
	f     func()
	index int // in the heap; -1 when fired or stopped
}

func (t *manualTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&t.c.timers, t.index)
	return true
}

type timerHeap []*manualTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].when.Equal(h[j].when) {
		return h[i].when.Before(h[j].when)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*manualTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}

// withClockDeadline returns a context that is done at deadline as read by
// clk. The real clock uses context.WithDeadline; any other clock cancels
// through its own timer, and the context still reports the deadline and
// context.DeadlineExceeded like a real one.
func withClockDeadline(parent context.Context, clk Clock, deadline time.Time) (context.Context, context.CancelFunc) {
	if _, ok := clk.(SystemClock); ok {
		return context.WithDeadline(parent, deadline)
	}
	ctx, cancel := context.WithCancelCause(parent)
	t := clk.AfterFunc(deadline.Sub(clk.Now()), func() { cancel(context.DeadlineExceeded) })
	return &clockContext{Context: ctx, deadline: deadline}, func() {
		t.Stop()
		cancel(context.Canceled)
	}
}

type clockContext struct {
	context.Context
	deadline time.Time
}

func (c *clockContext) Deadline() (time.Time, bool) {
	if d, ok := c.Context.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

func (c *clockContext) Err() error {
	if c.Context.Err() == nil {
		return nil
	}
	if context.Cause(c.Context) == context.DeadlineExceeded {
		return context.DeadlineExceeded
	}
	return context.Canceled
}
