package neighbor

import (
	"sync"
	"testing"
)

func neighMAC(i int) [6]byte { return [6]byte{2, 0, 0, byte(i >> 16), byte(i >> 8), byte(i)} }

// TestNeighborTable: learning reports changes only, later entries shadow
// earlier ones whether they sit in the recent list or the base map, the
// list is folded into the base map when it fills or on fold, and the table
// stops at maxNeighbors new entries.
func TestNeighborTable(t *testing.T) {
	type step struct {
		ip      uint32
		mac     int
		changed bool
	}
	tests := []struct {
		name  string
		steps []step
		fold  bool
		want  map[uint32]int // ip → neighMAC index
		// recent is how many entries the snapshot's list holds at the end.
		recent int
	}{{
		name:   "new then same",
		steps:  []step{{1, 1, true}, {1, 1, false}},
		want:   map[uint32]int{1: 1},
		recent: 1,
	}, {
		name:   "changed MAC shadows the old one",
		steps:  []step{{1, 1, true}, {2, 2, true}, {1, 3, true}, {1, 3, false}},
		want:   map[uint32]int{1: 3, 2: 2},
		recent: 2,
	}, {
		name:   "fold empties the list",
		steps:  []step{{1, 1, true}, {2, 2, true}},
		fold:   true,
		want:   map[uint32]int{1: 1, 2: 2},
		recent: 0,
	}}
	// A full list is folded by the next change.
	var full []step
	want := map[uint32]int{}
	for i := range neighRecent + 1 {
		full = append(full, step{uint32(100 + i), i, true})
		want[uint32(100+i)] = i
	}
	full = append(full, step{100, 7, true}) // a change of a folded entry lands in the list
	want[100] = 7
	tests = append(tests, struct {
		name   string
		steps  []step
		fold   bool
		want   map[uint32]int
		recent int
	}{name: "full list folds into the base map", steps: full, want: want, recent: 1})

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var nt Table
			nt.Init()
			for i, s := range tt.steps {
				if got := nt.Learn(s.ip, neighMAC(s.mac)); got != s.changed {
					t.Fatalf("step %d: learn(%d, %d) = %v, want %v", i, s.ip, s.mac, got, s.changed)
				}
			}
			if tt.fold {
				nt.Fold()
			}
			for ip, m := range tt.want {
				if mac, ok := nt.Lookup4(ip); !ok || mac != neighMAC(m) {
					t.Errorf("lookup(%d) = %v, %v; want %v", ip, mac, ok, neighMAC(m))
				}
			}
			if _, ok := nt.Lookup4(99999); ok {
				t.Errorf("lookup of an unknown address succeeded")
			}
			if got := len(nt.snap.Load().recent); got != tt.recent {
				t.Errorf("%d recent entries, want %d", got, tt.recent)
			}
			if nt.n != len(tt.want) {
				t.Errorf("n = %d, want %d", nt.n, len(tt.want))
			}
		})
	}
}

// TestNeighborTableBound: a table of maxNeighbors entries learns no new
// neighbour, but a known one may still change its MAC.
func TestNeighborTableBound(t *testing.T) {
	var nt Table
	nt.Init()
	for i := range maxNeighbors {
		if !nt.Learn(uint32(i+1), neighMAC(i)) {
			t.Fatalf("entry %d not learned", i)
		}
	}
	if nt.Learn(maxNeighbors+1, neighMAC(1)) {
		t.Errorf("learned a neighbour past maxNeighbors")
	}
	if !nt.Learn(1, neighMAC(99)) {
		t.Errorf("a known neighbour could not change its MAC in a full table")
	}
	nt.Fold()
	if got := len(nt.snap.Load().base); got != maxNeighbors {
		t.Errorf("base holds %d entries, want %d", got, maxNeighbors)
	}
}

// TestNeighborRelearnAllocs: re-learning a known neighbour (every gleaned
// packet does) and looking one up allocate nothing.
func TestNeighborRelearnAllocs(t *testing.T) {
	var nt Table
	nt.Init()
	nt.Learn(1, neighMAC(1)) // in the list
	for i := range 3 * neighRecent {
		nt.Learn(uint32(100+i), neighMAC(i))
	}
	nt.Learn(2, neighMAC(2))
	allocs := testing.AllocsPerRun(1000, func() {
		if nt.Learn(1, neighMAC(1)) || nt.Learn(2, neighMAC(2)) || nt.Learn(100, neighMAC(0)) {
			t.Fatal("re-learning changed the table")
		}
		if _, ok := nt.Lookup4(2); !ok {
			t.Fatal("lookup failed")
		}
	})
	if allocs != 0 {
		t.Errorf("relearn allocates %v times, want 0", allocs)
	}
}

// TestNeighborConcurrent: readers on several goroutines see every entry
// once learned, while a writer learns, changes and folds (run with -race).
func TestNeighborConcurrent(t *testing.T) {
	var nt Table
	nt.Init()
	const n = 200
	for i := range n {
		nt.Learn(uint32(i), neighMAC(i))
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for i := range n {
					mac, ok := nt.Lookup4(uint32(i))
					if !ok || (mac != neighMAC(i) && mac != neighMAC(i+1000)) {
						t.Errorf("lookup(%d) = %v, %v", i, mac, ok)
						return
					}
				}
			}
		})
	}
	for round := range 20 {
		for i := range n {
			m := i
			if round%2 == 0 {
				m = i + 1000
			}
			nt.Learn(uint32(i), neighMAC(m))
		}
		nt.Fold()
	}
	close(stop)
	wg.Wait()
}
