package clock

import (
	"container/heap"
	"sync"
	"time"
)

// Manual is a Clock that moves only when told to. Timers fire in order of
// their due time (then of creation) on the goroutine that calls Advance,
// AdvanceTo or AdvanceSettled, with Now set to each timer's due time while
// it runs. Timers due at or before the present fire at the next advance,
// also one by zero.
type Manual struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers timerHeap
}

// NewManual returns a clock reading start.
func NewManual(start time.Time) *Manual {
	return &Manual{now: start}
}

// Now returns the clock's present.
func (c *Manual) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f at Now()+d.
func (c *Manual) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &manualTimer{c: c, when: c.now.Add(d), seq: c.seq, f: f, index: -1}
	heap.Push(&c.timers, t)
	return t
}

// Next returns the due time of the earliest pending timer.
func (c *Manual) Next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return time.Time{}, false
	}
	return c.timers[0].when, true
}

// Advance moves the clock forward by d, firing every timer that falls due,
// including timers created by the callbacks it runs.
func (c *Manual) Advance(d time.Duration) {
	c.AdvanceTo(c.Now().Add(d))
}

// AdvanceTo moves the clock to t (never backwards), firing due timers.
func (c *Manual) AdvanceTo(t time.Time) {
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
// e.g. monitors' Scheduler.WaitIdle), and repeats until no timer is due by
// the end. This lets work triggered by one timer arm the next before time
// passes it.
func (c *Manual) AdvanceSettled(d time.Duration, settle func()) {
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
	c     *Manual
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
