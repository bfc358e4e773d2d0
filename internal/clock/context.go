package clock

import (
	"context"
	"time"
)

// WithDeadline returns a context that is done at deadline as read by clk.
// On System it is context.WithDeadline; any other clock cancels through its
// own timer, and the context still reports the deadline and
// context.DeadlineExceeded like a real one.
func WithDeadline(parent context.Context, clk Clock, deadline time.Time) (context.Context, context.CancelFunc) {
	if _, ok := clk.(System); ok {
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
