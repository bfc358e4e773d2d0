package pools

import (
	"cmp"
	"slices"
)

// Priority-group activation (BIG-IP): with min-active-members N > 0, new
// load-balanced connections go only to the members of the highest priority
// group. When that group has fewer than N available members, the next lower
// group is added, and so on cumulatively, until the active groups together
// have at least N available members or the groups run out. As soon as the
// higher groups have N available members again, new connections are again
// confined to them. With N = 0 priorities are ignored and every group is
// active. Existing connections and persisted clients are not affected.

// buildGroups computes the distinct priorities, highest first, and each
// member's group index.
func (p *Pool) buildGroups() {
	p.groups = slices.Grow(p.groups[:0], len(p.Members))
	for _, m := range p.Members {
		p.groups = append(p.groups, m.Priority)
	}
	slices.SortFunc(p.groups, func(a, b uint32) int { return cmp.Compare(b, a) })
	p.groups = slices.Compact(p.groups)
	p.grp = make([]int32, len(p.Members))
	for i, m := range p.Members {
		g, _ := slices.BinarySearchFunc(p.groups, m.Priority, func(a, b uint32) int { return cmp.Compare(b, a) })
		p.grp[i] = int32(g)
	}
}

// candidates fills s.idx with the members available for a new
// load-balanced connection in the active priority groups, in member order,
// and s.avail/s.ok with the per-member bitmasks (s.ok: state allows new
// connections, connection limits ignored, restricted to the active groups).
func (p *Pool) candidates(now int64, s *Scratch) []int32 {
	n := len(p.Members)
	s.avail = growBits(s.avail, n)
	s.ok = growBits(s.ok, n)
	last := p.activeLast(s)
	s.idx = growInt32(s.idx, n)[:0]
	for i := range n {
		if last >= 0 && int(p.grp[i]) > last {
			// Outside the active groups: drop from s.ok too, so that
			// maglev's member set follows priority-group activation.
			s.ok[i>>6] &^= 1 << (uint(i) & 63)
			continue
		}
		if bit(s.avail, i) {
			s.idx = append(s.idx, int32(i))
		}
	}
	return s.idx
}

// activeLast evaluates every member's availability into s.avail and s.ok
// and returns the index of the lowest active priority group, or -1 when
// priority-group activation is off (every member is in play).
func (p *Pool) activeLast(s *Scratch) int {
	n := len(p.Members)
	pga := p.minActive > 0 && len(p.groups) > 1
	if pga {
		s.gcnt = growInt32(s.gcnt, len(p.groups))
		clear(s.gcnt)
	}
	for i := range n {
		if !p.stateOK(i) {
			continue
		}
		setBit(s.ok, i)
		if !p.underLimits(i) {
			continue
		}
		setBit(s.avail, i)
		if pga {
			s.gcnt[p.grp[i]]++
		}
	}
	if !pga {
		return -1
	}
	sum := int64(0)
	for g, c := range s.gcnt {
		sum += int64(c)
		if sum >= int64(p.minActive) {
			return g
		}
	}
	return len(p.groups) - 1
}

// ActiveGroups returns the priorities of the groups that take new
// load-balanced connections now, highest first. With priority-group
// activation off it returns every priority in the pool. It allocates; it is
// meant for show output and tests.
func (p *Pool) ActiveGroups(now int64) []uint32 {
	var s Scratch
	s.avail = growBits(nil, len(p.Members))
	s.ok = growBits(nil, len(p.Members))
	last := p.activeLast(&s)
	if last < 0 {
		return slices.Clone(p.groups)
	}
	return slices.Clone(p.groups[:last+1])
}
