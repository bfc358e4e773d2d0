package pools

import (
	"slices"
	"testing"
)

func TestHealthWatchSeesTransitionsOnly(t *testing.T) {
	var h Health
	var got []string
	h.Watch(func(from, to HealthState) { got = append(got, from.String()+">"+to.String()) })
	h.Set(HealthChecking, 1)
	h.Set(HealthUp, 2)
	h.Set(HealthUp, 3) // no change: no call
	h.Set(HealthDown, 4)
	h.Watch(nil)
	h.Set(HealthUp, 5)
	want := []string{"unchecked>checking", "checking>up", "up>down"}
	if !slices.Equal(got, want) {
		t.Fatalf("watcher saw %v, want %v", got, want)
	}
	if s, at := h.Get(); s != HealthUp || at != 5 {
		t.Fatalf("Get = %s at %d, want up at 5", s, at)
	}
}
