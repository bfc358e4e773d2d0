package prealloc

import "testing"

func TestGrown(t *testing.T) {
	m := map[string]int{"a": 1, "b": 2}
	if got := Grown(m, 4); len(got) != 2 || got["a"] != 1 {
		t.Errorf("Grown(m, 4) = %v, want m itself", got)
	}
	got := Grown(m, 1000)
	got["c"] = 3
	if len(got) != 3 || got["a"] != 1 || got["b"] != 2 {
		t.Errorf("Grown(m, 1000) = %v, want a copy of m", got)
	}
	if _, ok := m["c"]; ok {
		t.Error("Grown(m, 1000) wrote into m")
	}
	var none map[int]bool
	if got := Grown(none, 10); got == nil {
		t.Error("Grown(nil, 10) = nil, want a map")
	}
}

func TestTake(t *testing.T) {
	var free []int
	seen := map[*int]bool{}
	for i := range 7 {
		v := Take(&free, 3)
		if seen[v] {
			t.Fatalf("take %d: %p handed out twice", i, v)
		}
		seen[v] = true
		*v = i
	}
	if allocs := testing.AllocsPerRun(100, func() {
		var f []int64
		for range 10 {
			Take(&f, 10)
		}
	}); allocs != 1 {
		t.Errorf("10 takes from a batch of 10: %v allocations, want 1", allocs)
	}
	var zero []int
	if v := Take(&zero, 0); v == nil {
		t.Error("Take(&free, 0) = nil")
	}
}
