package pools

import "testing"

func counts(t *testing.T, p *Pool, n int) map[int]int {
	t.Helper()
	c := map[int]int{}
	for _, i := range picks(t, p, &Request{}, n) {
		c[i]++
	}
	return c
}

func TestObservedWeights(t *testing.T) {
	for _, node := range []bool{false, true} {
		m := MethodObservedMember
		if node {
			m = MethodObservedNode
		}
		t.Run(m.String(), func(t *testing.T) {
			ms := mems(3)
			for i := range ms {
				ms[i].NodeStats = new(NodeStats)
			}
			p := mustPool(t, PoolConfig{Method: m, Members: ms})
			if c := counts(t, p, 3); !mapsEqual(c, map[int]int{0: 1, 1: 1, 2: 1}) {
				t.Fatalf("before the first Tick: %v, want round-robin", c)
			}
			for i, v := range []int64{0, 1, 3} {
				if node {
					p.Members[i].NodeStats.CurConns.Store(v)
				} else {
					p.Members[i].Stats.CurConns.Store(v)
				}
			}
			p.Tick(sec)
			// weights 16, 8, 4 → 4:2:1.
			if c := counts(t, p, 7); !mapsEqual(c, map[int]int{0: 4, 1: 2, 2: 1}) {
				t.Fatalf("after Tick: %v, want 4:2:1", c)
			}
		})
	}
}

func TestPredictiveTrend(t *testing.T) {
	ms := mems(3)
	p := mustPool(t, PoolConfig{Method: MethodPredictiveMember, Members: ms})
	setConns(p, 0, 1, 3)
	p.Tick(sec)
	if c := counts(t, p, 7); !mapsEqual(c, map[int]int{0: 4, 1: 2, 2: 1}) {
		t.Fatalf("first Tick: %v, want 4:2:1 as observed", c)
	}
	setConns(p, 2, 1, 1) // A rising, B flat, C falling: scores 4, 1, 0
	p.Tick(2 * sec)
	if c := counts(t, p, 27); !mapsEqual(c, map[int]int{0: 3, 1: 8, 2: 16}) {
		t.Fatalf("second Tick: %v, want 3:8:16", c)
	}
}

func TestPredictScoreAndWeight(t *testing.T) {
	for _, tc := range []struct {
		s, prev int64
		primed  bool
		want    int64
	}{{5, 0, false, 5}, {5, 3, true, 7}, {1, 9, true, 0}, {4, 4, true, 4}} {
		if got := predictScore(tc.s, tc.prev, tc.primed); got != tc.want {
			t.Errorf("predictScore(%d, %d, %v) = %d, want %d", tc.s, tc.prev, tc.primed, got, tc.want)
		}
	}
	for _, tc := range []struct {
		score, lo int64
		want      uint32
	}{{0, 0, 16}, {1, 0, 8}, {3, 0, 4}, {1000, 0, 1}, {10, 10, 16}, {21, 10, 8}, {5, 10, 16}} {
		if got := weightFor(tc.score, tc.lo); got != tc.want {
			t.Errorf("weightFor(%d, %d) = %d, want %d", tc.score, tc.lo, got, tc.want)
		}
	}
}
