package loginlimit

import (
	"slices"
	"testing"
	"time"

	"lbx/internal/clock"
)

func TestLimiter(t *testing.T) {
	clk := clock.NewManual(time.Unix(1e9, 0))
	l := New(clk)
	var pauses []time.Duration
	for range 10 {
		pauses = append(pauses, l.Failed("a"))
	}
	want := []time.Duration{0, 0, 0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute}
	if !slices.Equal(pauses, want) {
		t.Errorf("pauses %v, want %v", pauses, want)
	}
	if l.Blocked("a") != time.Minute || l.Blocked("b") != 0 {
		t.Errorf("blocked a %v, b %v", l.Blocked("a"), l.Blocked("b"))
	}
	clk.Advance(time.Minute)
	if l.Blocked("a") != 0 {
		t.Error("still blocked after the pause")
	}
	for i := range MaxTracked + 5 {
		l.Failed(string(rune(i + 1000)))
	}
	if len(l.addrs) > MaxTracked {
		t.Errorf("%d addresses tracked, limit %d", len(l.addrs), MaxTracked)
	}
}
