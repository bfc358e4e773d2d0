package monitors

import (
	"context"
	"reflect"
	"testing"
	"time"
)

func TestManualClockFiresInOrder(t *testing.T) {
	c := NewManualClock(t0)
	var got []string
	at := func(name string) func() {
		return func() { got = append(got, name+"@"+c.Now().Sub(t0).String()) }
	}
	c.AfterFunc(3*time.Second, at("c"))
	c.AfterFunc(time.Second, at("a"))
	stopped := c.AfterFunc(2*time.Second, at("x"))
	c.AfterFunc(time.Second, func() {
		got = append(got, "b@"+c.Now().Sub(t0).String())
		c.AfterFunc(500*time.Millisecond, at("nested")) // due within the same Advance
	})
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop: want true once, then false")
	}
	c.Advance(5 * time.Second)
	want := []string{"a@1s", "b@1s", "nested@1.5s", "c@3s"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
	if !c.Now().Equal(t0.Add(5 * time.Second)) {
		t.Fatalf("now %v", c.Now())
	}
	if _, ok := c.Next(); ok {
		t.Fatal("timers left")
	}
}

func TestClockContext(t *testing.T) {
	c := NewManualClock(t0)
	ctx, cancel := withClockDeadline(context.Background(), c, t0.Add(time.Second))
	defer cancel()
	if d, ok := ctx.Deadline(); !ok || !d.Equal(t0.Add(time.Second)) {
		t.Fatalf("Deadline() = %v, %v", d, ok)
	}
	c.Advance(999 * time.Millisecond)
	if ctx.Err() != nil {
		t.Fatal("done before the deadline")
	}
	c.Advance(time.Millisecond)
	<-ctx.Done()
	if ctx.Err() != context.DeadlineExceeded {
		t.Fatalf("Err() = %v, want DeadlineExceeded", ctx.Err())
	}

	ctx2, cancel2 := withClockDeadline(context.Background(), c, c.Now().Add(time.Second))
	cancel2()
	if ctx2.Err() != context.Canceled {
		t.Fatalf("Err() after cancel = %v, want Canceled", ctx2.Err())
	}
	if _, ok := c.Next(); ok {
		t.Fatal("cancel left the deadline timer pending")
	}
}
