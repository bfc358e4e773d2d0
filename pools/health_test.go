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

// One function serves many Healths through SetWatch: each call gets the
// watch of the Health that changed, which names its member.
func TestHealthSetWatchNamesTheMember(t *testing.T) {
	var got []string
	changed := func(w *HealthWatch, from, to HealthState) {
		got = append(got, w.Pool+" "+w.Member+" "+from.String()+">"+to.String())
	}
	hs := make([]Health, 2)
	ws := []HealthWatch{{Changed: changed, Pool: "/Common/p", Member: "a:80"}, {Changed: changed, Pool: "/Common/p", Member: "b:80"}}
	for i := range hs {
		hs[i].SetWatch(&ws[i])
	}
	hs[1].Set(HealthDown, 1)
	hs[0].Set(HealthUp, 2)
	hs[0].Set(HealthUp, 3) // no change: no call
	hs[1].SetWatch(nil)
	hs[1].Set(HealthUp, 4)
	want := []string{"/Common/p b:80 unchecked>down", "/Common/p a:80 unchecked>up"}
	if !slices.Equal(got, want) {
		t.Fatalf("watch saw %v, want %v", got, want)
	}
}
