package clock

import (
	"reflect"
	"testing"
	"time"
)

func TestEveryManual(t *testing.T) {
	c := NewManual(t0)
	var at []time.Duration
	tk := Every(c, time.Second, func() { at = append(at, c.Now().Sub(t0)) })
	c.Advance(999 * time.Millisecond)
	if len(at) != 0 {
		t.Fatalf("called at %v before the first period", at)
	}
	c.AdvanceTo(t0.Add(3 * time.Second)) // three calls in one advance
	want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}
	if !reflect.DeepEqual(at, want) {
		t.Fatalf("called at %v, want %v", at, want)
	}
	if !tk.Stop() || tk.Stop() {
		t.Fatal("Stop: want true once, then false")
	}
	c.Advance(time.Minute)
	if len(at) != 3 {
		t.Fatalf("called at %v after Stop", at)
	}
	if _, ok := c.Next(); ok {
		t.Fatal("Stop left a timer pending")
	}
}

// A call that runs past later ticks drops them and the ticker stays on its
// grid, as time.Ticker does.
func TestEveryDropsLateTicks(t *testing.T) {
	c := NewManual(t0)
	var at []time.Duration
	Every(c, time.Second, func() {
		at = append(at, c.Now().Sub(t0))
		if len(at) == 1 {
			c.AdvanceTo(t0.Add(3500 * time.Millisecond)) // the call takes 2.5s
		}
	})
	c.AdvanceTo(t0.Add(5 * time.Second))
	want := []time.Duration{time.Second, 4 * time.Second, 5 * time.Second}
	if !reflect.DeepEqual(at, want) {
		t.Fatalf("called at %v, want %v", at, want)
	}
}

// Stopping from inside the callback ends the calls.
func TestEveryStopInCall(t *testing.T) {
	c := NewManual(t0)
	n := 0
	var tk *Ticker
	tk = Every(c, time.Second, func() {
		n++
		if n == 2 {
			tk.Stop()
		}
	})
	c.Advance(10 * time.Second)
	if n != 2 {
		t.Fatalf("%d calls, want 2", n)
	}
}

// A smoke test on the real clock: only bounded safety waits, no timing
// assertions.
func TestEverySystem(t *testing.T) {
	calls := make(chan struct{}, 16)
	tk := Every(System{}, time.Millisecond, func() {
		select {
		case calls <- struct{}{}:
		default:
		}
	})
	for range 3 {
		select {
		case <-calls:
		case <-time.After(10 * time.Second):
			t.Fatal("ticker stopped calling")
		}
	}
	if !tk.Stop() {
		t.Fatal("Stop: want true")
	}
}

func TestEveryPanicsOnBadPeriod(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Every(0) did not panic")
		}
	}()
	Every(NewManual(t0), 0, func() {})
}
