package dataplane

import (
	"sync"
	"time"
)

// Clock tells the dataplane the time. Flow idle timeouts and the neighbour
// queue's patience are measured with it, so tests advance a ManualClock
// instead of sleeping.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock (with Go's monotonic reading).
type SystemClock struct{}

// Now implements Clock.
func (SystemClock) Now() time.Time { return time.Now() }

// ManualClock is a Clock that moves only when told to. It is safe for
// concurrent use; other packages' tests use it as well.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

var (
	_ Clock = SystemClock{}
	_ Clock = (*ManualClock)(nil)
)

// NewManualClock returns a clock stopped at start.
func NewManualClock(start time.Time) *ManualClock {
	return &ManualClock{now: start}
}

// Now implements Clock.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}
