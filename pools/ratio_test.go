package pools

import (
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestRatioSequence311(t *testing.T) {
	for _, tc := range []struct {
		method Method
		set    func(m *Member, r uint32)
	}{
		{MethodRatioMember, func(m *Member, r uint32) { m.Ratio = r }},
		{MethodRatioNode, func(m *Member, r uint32) { m.NodeRatio = r }},
		{MethodDynamicRatioMember, func(m *Member, r uint32) { m.Ratio = r }},
		{MethodDynamicRatioNode, func(m *Member, r uint32) { m.NodeRatio = r }},
	} {
		t.Run(tc.method.String(), func(t *testing.T) {
			ms := mems(3)
			tc.set(&ms[0], 3)
			tc.set(&ms[1], 1)
			tc.set(&ms[2], 0) // counts as 1
			p := mustPool(t, PoolConfig{Method: tc.method, Members: ms})
			got := strings.Join(names(p, picks(t, p, &Request{}, 10)), ",")
			if want := "A,A,A,B,C,A,A,A,B,C"; got != want {
				t.Fatalf("sequence = %s, want %s", got, want)
			}
		})
	}
}

func TestRatioSkipsUnavailable(t *testing.T) {
	ms := mems(3)
	ms[0].Ratio, ms[1].Ratio, ms[2].Ratio = 3, 2, 1
	ms[1].Disabled = true
	p := mustPool(t, PoolConfig{Method: MethodRatioMember, Members: ms})
	got := strings.Join(names(p, picks(t, p, &Request{}, 8)), ",")
	if want := "A,A,A,C,A,A,A,C"; got != want {
		t.Fatalf("sequence = %s, want %s", got, want)
	}
}

func TestRoundRobinOrder(t *testing.T) {
	p := mustPool(t, PoolConfig{Members: mems(3)})
	if got := picks(t, p, &Request{}, 7); !slices.Equal(got, []int{0, 1, 2, 0, 1, 2, 0}) {
		t.Fatalf("picks = %v", got)
	}
	p.Members[1].ForcedOffline = true
	if got := picks(t, p, &Request{}, 4); slices.Contains(got, 1) {
		t.Fatalf("picks with member 1 offline = %v", got)
	}
}

func TestDynamicRatioFromMonitor(t *testing.T) {
	ms := mems(2)
	ms[0].Health, ms[1].Health = health(HealthUp, 0), health(HealthUp, 0)
	ms[0].Ratio, ms[1].Ratio = 1, 1
	ns := new(NodeStats)
	ms[1].NodeStats = ns
	p := mustPool(t, PoolConfig{Method: MethodDynamicRatioMember, Members: ms})
	p.Members[1].Health.SetDynamicRatio(4)
	got := strings.Join(names(p, picks(t, p, &Request{}, 10)), ",")
	if want := "A,B,B,B,B,A,B,B,B,B"; got != want {
		t.Fatalf("dynamic-ratio-member: %s, want %s", got, want)
	}
	pn := mustPool(t, PoolConfig{Method: MethodDynamicRatioNode, Members: ms})
	ns.DynamicRatio.Store(2)
	got = strings.Join(names(pn, picks(t, pn, &Request{}, 6)), ",")
	if want := "A,B,B,A,B,B"; got != want {
		t.Fatalf("dynamic-ratio-node: %s, want %s", got, want)
	}
}

// Concurrent callers share one rotation: whole cycles stay exact.
func TestRatioConcurrentExactShare(t *testing.T) {
	ms := mems(3)
	ms[0].Ratio, ms[1].Ratio, ms[2].Ratio = 3, 1, 1
	p := mustPool(t, PoolConfig{Method: MethodRatioMember, Members: ms})
	const workers, each = 4, 2500 // 10000 picks = 2000 cycles of 5
	got := make([][3]int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var s Scratch
			for range each {
				got[w][p.selectIndex(&Request{}, &s)]++
			}
		}()
	}
	wg.Wait()
	var total [3]int
	for _, c := range got {
		for i := range c {
			total[i] += c[i]
		}
	}
	if total != [3]int{6000, 2000, 2000} {
		t.Fatalf("totals = %v, want [6000 2000 2000]", total)
	}
}
