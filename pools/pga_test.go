package pools

import (
	"slices"
	"testing"
)

// TestPriorityGroupWorkedExample is BIG-IP's priority-group activation
// example: three members at priority 10, three at 5, min-active-members 2.
func TestPriorityGroupWorkedExample(t *testing.T) {
	ms := mems(6)
	for i := range ms {
		ms[i].Health = health(HealthUp, 0)
		ms[i].Priority = 10
		if i >= 3 {
			ms[i].Priority = 5
		}
	}
	p := mustPool(t, PoolConfig{Members: ms, MinActiveMembers: 2})
	const now = 1000 * sec
	steps := []struct {
		name   string
		change func()
		groups []uint32
		picks  []int // members that must take new connections, each equally
	}{
		{"all up", func() {}, []uint32{10}, []int{0, 1, 2}},
		{"two 10s down", func() {
			p.Members[0].Health.Set(HealthDown, now)
			p.Members[1].Health.Set(HealthDown, now)
		}, []uint32{10, 5}, []int{2, 3, 4, 5}},
		{"one comes back", func() { p.Members[1].Health.Set(HealthUp, now) }, []uint32{10}, []int{1, 2}},
		{"all 10s down", func() {
			for i := range 3 {
				p.Members[i].Health.Set(HealthDown, now)
			}
		}, []uint32{10, 5}, []int{3, 4, 5}},
		{"everything down", func() {
			for i := range 6 {
				p.Members[i].Health.Set(HealthDown, now)
			}
		}, []uint32{10, 5}, nil},
	}
	for _, st := range steps {
		st.change()
		if g := p.ActiveGroups(now); !slices.Equal(g, st.groups) {
			t.Errorf("%s: ActiveGroups = %v, want %v", st.name, g, st.groups)
		}
		n := max(len(st.picks), 1) * 4
		got := picks(t, p, &Request{Now: now}, n)
		counts := map[int]int{}
		for _, i := range got {
			counts[i]++
		}
		want := map[int]int{}
		for _, i := range st.picks {
			want[i] = 4
		}
		if len(st.picks) == 0 {
			want[-1] = n
		}
		if !mapsEqual(counts, want) {
			t.Errorf("%s: picks %v, want each of %v four times", st.name, got, st.picks)
		}
	}
}

func mapsEqual(a, b map[int]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestPriorityGroupConnLimitActivatesLowerGroup(t *testing.T) {
	ms := mems(3)
	ms[0].Priority, ms[1].Priority, ms[2].Priority = 10, 10, 1
	ms[0].ConnLimit = 1
	p := mustPool(t, PoolConfig{Members: ms, MinActiveMembers: 2})
	if g := p.ActiveGroups(0); !slices.Equal(g, []uint32{10}) {
		t.Fatalf("ActiveGroups = %v", g)
	}
	p.Members[0].Stats.CurConns.Store(1)
	if g := p.ActiveGroups(0); !slices.Equal(g, []uint32{10, 1}) {
		t.Fatalf("member at its limit: ActiveGroups = %v, want [10 1]", g)
	}
}

func TestPriorityGroupOffIgnoresPriority(t *testing.T) {
	ms := mems(3)
	ms[0].Priority, ms[1].Priority, ms[2].Priority = 3, 2, 1
	p := mustPool(t, PoolConfig{Members: ms})
	if g := p.ActiveGroups(0); !slices.Equal(g, []uint32{3, 2, 1}) {
		t.Fatalf("ActiveGroups = %v, want [3 2 1]", g)
	}
	if got := picks(t, p, &Request{}, 3); !slices.Equal(got, []int{0, 1, 2}) {
		t.Fatalf("picks = %v", got)
	}
	p = mustPool(t, PoolConfig{Members: ms, MinActiveMembers: 1})
	if got := picks(t, p, &Request{}, 3); !slices.Equal(got, []int{0, 0, 0}) {
		t.Fatalf("min-active-members 1: picks = %v, want only the highest group", got)
	}
}
