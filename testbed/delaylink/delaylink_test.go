package delaylink

import (
	"strings"
	"testing"
	"time"
)

// Bad options are refused before any socket is opened, naming the field.
func TestOptionsRefused(t *testing.T) {
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{A: "a", Delay: time.Millisecond}, "want two interfaces"},
		{Options{A: "a", B: "a", Delay: time.Millisecond}, "want two interfaces"},
		{Options{A: "a", B: "b", Delay: -time.Millisecond}, "delay -1ms"},
		{Options{A: "a", B: "b", Delay: time.Minute}, "delay 1m0s: want 0 to 10s"},
		{Options{A: "a", B: "b", Delay: time.Millisecond, Queue: -1}, "queue -1"},
		{Options{A: "a", B: "b", Delay: time.Millisecond, Queue: 1 << 20}, "queue 1048576"},
	} {
		if _, _, err := Open(c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%+v) = %v, want an error containing %q", c.o, err, c.want)
		}
	}
	o := Options{A: "a", B: "b"}
	if err := o.check(); err != nil || o.Queue != 512 {
		t.Fatalf("defaults: %v, queue %d", err, o.Queue)
	}
}

// The queue hands out only its preallocated buffers: as many frames as
// it has can be held, and no more.
func TestQueueBounded(t *testing.T) {
	q := newQueue(3)
	for range 3 {
		select {
		case b := <-q.free:
			if len(b) != frameMax {
				t.Fatalf("buffer of %d bytes, want %d", len(b), frameMax)
			}
			q.held <- frame{buf: b}
		default:
			t.Fatal("fewer free buffers than the queue's size")
		}
	}
	select {
	case <-q.free:
		t.Fatal("a fourth buffer from a queue of three")
	default:
	}
	if len(q.held) != 3 {
		t.Fatalf("%d held", len(q.held))
	}
}
