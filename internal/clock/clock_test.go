package clock

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func TestManualFiresInOrder(t *testing.T) {
	c := NewManual(t0)
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

func TestManualAdvance(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps func(c *Manual)
		want  []string // fired timers
		now   time.Duration
	}{
		{"zero advance fires a timer due now", func(c *Manual) { c.Advance(0) }, []string{"now"}, 0},
		{"AdvanceTo never goes back", func(c *Manual) { c.AdvanceTo(t0.Add(2 * time.Second)); c.AdvanceTo(t0.Add(time.Second)) }, []string{"now", "1s", "2s"}, 2 * time.Second},
		{"a timer fires once", func(c *Manual) { c.Advance(time.Second); c.Advance(time.Second) }, []string{"now", "1s", "2s"}, 2 * time.Second},
		{"stops just before a due time", func(c *Manual) { c.Advance(2*time.Second - 1) }, []string{"now", "1s"}, 2*time.Second - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewManual(t0)
			var got []string
			for _, d := range []time.Duration{0, time.Second, 2 * time.Second} {
				name := d.String()
				if d == 0 {
					name = "now"
				}
				c.AfterFunc(d, func() { got = append(got, name) })
			}
			tc.steps(c)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("fired %v, want %v", got, tc.want)
			}
			if n := c.Now().Sub(t0); n != tc.now {
				t.Fatalf("now t0+%v, want t0+%v", n, tc.now)
			}
		})
	}
}

// AdvanceSettled lets the settle step arm a timer before time passes it.
func TestManualAdvanceSettled(t *testing.T) {
	c := NewManual(t0)
	var fired []time.Duration
	var pending []time.Duration // armed by settle, as asynchronous work would
	tick := func() {
		fired = append(fired, c.Now().Sub(t0))
		pending = append(pending, time.Second)
	}
	c.AfterFunc(time.Second, tick)
	c.AdvanceSettled(3500*time.Millisecond, func() {
		for _, d := range pending {
			c.AfterFunc(d, tick)
		}
		pending = nil
	})
	want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}
	if !reflect.DeepEqual(fired, want) {
		t.Fatalf("fired at %v, want %v", fired, want)
	}
	if next, ok := c.Next(); !ok || !next.Equal(t0.Add(4*time.Second)) {
		t.Fatalf("next timer %v %v, want t0+4s", next, ok)
	}
}

// Timers armed and stopped from other goroutines while one goroutine
// advances: every timer either fires once or is stopped, never both.
func TestManualConcurrent(t *testing.T) {
	c := NewManual(t0)
	const n = 200
	var mu sync.Mutex
	fired := make(map[int]int)
	var stoppedOK [n]bool
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tm := c.AfterFunc(time.Duration(i%7)*time.Millisecond, func() {
				mu.Lock()
				fired[i]++
				mu.Unlock()
			})
			if i%3 == 0 {
				stoppedOK[i] = tm.Stop()
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 {
			c.Advance(time.Millisecond)
		}
	}()
	wg.Wait()
	<-done
	c.Advance(time.Second) // everything still pending is due now
	for i := range n {
		want := 1
		if stoppedOK[i] {
			want = 0
		}
		if fired[i] != want {
			t.Fatalf("timer %d fired %d times (stopped %v)", i, fired[i], stoppedOK[i])
		}
	}
}

func TestWithDeadline(t *testing.T) {
	c := NewManual(t0)
	ctx, cancel := WithDeadline(context.Background(), c, t0.Add(time.Second))
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

	ctx2, cancel2 := WithDeadline(context.Background(), c, c.Now().Add(time.Second))
	cancel2()
	if ctx2.Err() != context.Canceled {
		t.Fatalf("Err() after cancel = %v, want Canceled", ctx2.Err())
	}
	if _, ok := c.Next(); ok {
		t.Fatal("cancel left the deadline timer pending")
	}
}

// A parent's earlier deadline wins, as with context.WithDeadline.
func TestWithDeadlineParentEarlier(t *testing.T) {
	c := NewManual(t0)
	parent, pcancel := context.WithDeadline(context.Background(), t0.Add(time.Second))
	defer pcancel()
	ctx, cancel := WithDeadline(parent, c, t0.Add(time.Minute))
	defer cancel()
	if d, _ := ctx.Deadline(); !d.Equal(t0.Add(time.Second)) {
		t.Fatalf("Deadline() = %v, want the parent's %v", d, t0.Add(time.Second))
	}
}

// On the real clock WithDeadline is context.WithDeadline.
func TestWithDeadlineSystem(t *testing.T) {
	dl := time.Now().Add(time.Hour)
	ctx, cancel := WithDeadline(context.Background(), System{}, dl)
	if d, ok := ctx.Deadline(); !ok || !d.Equal(dl) {
		t.Fatalf("Deadline() = %v, %v", d, ok)
	}
	cancel()
	if ctx.Err() != context.Canceled {
		t.Fatalf("Err() after cancel = %v", ctx.Err())
	}
}

// A smoke test on the real clock: only bounded safety waits, no timing
// assertions.
func TestSystemAfterFunc(t *testing.T) {
	var c Clock = System{}
	fired := make(chan struct{})
	c.AfterFunc(time.Millisecond, func() { close(fired) })
	select {
	case <-fired:
	case <-time.After(10 * time.Second):
		t.Fatal("AfterFunc never fired")
	}
	if c.AfterFunc(time.Hour, func() { t.Error("stopped timer fired") }).Stop() != true {
		t.Fatal("Stop of a pending timer: want true")
	}
}
