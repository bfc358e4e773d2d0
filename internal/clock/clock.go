package clock

import "time"

// Clock tells the time and calls functions later.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f once d has elapsed: in its own goroutine (System)
	// or in the goroutine that advances time (Manual).
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc. Stop reports whether it prevented the call.
type Timer interface {
	Stop() bool
}

// System is the real clock: time.Now (with Go's monotonic reading) and
// time.AfterFunc.
type System struct{}

// Now returns time.Now().
func (System) Now() time.Time { return time.Now() }

// AfterFunc is time.AfterFunc.
func (System) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

var (
	_ Clock = System{}
	_ Clock = (*Manual)(nil)
)
