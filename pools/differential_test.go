package pools

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"testing"
	"time"
)

// The differential tests run every method against a slow reference written
// from the documented rules, over random pools: member counts, ratios,
// priorities, limits, connection counts, monitor states, admin states and
// slow ramp, changing between selections.

// refStateOK and refAvail restate the availability rules.
func refStateOK(m *Member) bool {
	st := HealthUnchecked
	if m.Health != nil {
		st = m.Health.State()
	}
	return !m.Disabled && !m.ForcedOffline && (st == HealthUnchecked || st == HealthUp)
}

func refConns(m *Member) int64 {
	if m.Stats == nil {
		return 0
	}
	return m.Stats.CurConns.Load()
}

func refNodeConns(m *Member) int64 {
	if m.NodeStats == nil {
		return refConns(m)
	}
	return m.NodeStats.CurConns.Load()
}

func refAvail(m *Member) bool {
	if !refStateOK(m) {
		return false
	}
	if m.ConnLimit != 0 && refConns(m) >= int64(m.ConnLimit) {
		return false
	}
	if m.NodeConnLimit != 0 && refNodeConns(m) >= int64(m.NodeConnLimit) {
		return false
	}
	return true
}

// refActive returns the active priorities.
func refActive(ms []Member, minActive uint32) map[uint32]bool {
	var prios []uint32
	seen := map[uint32]bool{}
	for _, m := range ms {
		if !seen[m.Priority] {
			seen[m.Priority] = true
			prios = append(prios, m.Priority)
		}
	}
	sort.Slice(prios, func(a, b int) bool { return prios[a] > prios[b] })
	if minActive == 0 {
		return seen
	}
	active := map[uint32]bool{}
	count := uint32(0)
	for _, pr := range prios {
		active[pr] = true
		for i := range ms {
			if ms[i].Priority == pr && refAvail(&ms[i]) {
				count++
			}
		}
		if count >= minActive {
			break
		}
	}
	return active
}

func refCandidates(ms []Member, minActive uint32) []int {
	active := refActive(ms, minActive)
	var c []int
	for i := range ms {
		if active[ms[i].Priority] && refAvail(&ms[i]) {
			c = append(c, i)
		}
	}
	return c
}

func refShare(m *Member, slowRamp time.Duration, now int64) float64 {
	if slowRamp == 0 || m.Health == nil {
		return 1
	}
	st, since := m.Health.Get()
	if st != HealthUp {
		return 1
	}
	switch el := now - since; {
	case el >= int64(slowRamp):
		return 1
	case el <= 0:
		return 0
	default:
		return float64(el) / float64(slowRamp)
	}
}

func one(r uint32) uint32 {
	if r == 0 {
		return 1
	}
	return r
}

// refWeight is the rotation weight of a member for the rotation methods
// (the sampled ones take it from ref.sampled).
func (w *world) refWeight(i int) uint32 {
	m := &w.p.Members[i]
	switch w.method {
	case MethodRoundRobin:
		return 1
	case MethodRatioMember:
		return one(m.Ratio)
	case MethodRatioNode:
		return one(m.NodeRatio)
	case MethodDynamicRatioMember:
		if m.Health != nil && m.Health.DynamicRatio() != 0 {
			return m.Health.DynamicRatio()
		}
		return one(m.Ratio)
	case MethodDynamicRatioNode:
		if m.NodeStats != nil && m.NodeStats.DynamicRatio.Load() != 0 {
			return m.NodeStats.DynamicRatio.Load()
		}
		return one(m.NodeRatio)
	}
	if w.sampled[i] == 0 {
		return 1
	}
	return w.sampled[i]
}

// refMetric is the least-metric methods' value for a member.
func (w *world) refMetric(i int) float64 {
	ms := w.p.Members
	m := &ms[i]
	all := func(f func(m *Member) bool) bool {
		for k := range ms {
			if !f(&ms[k]) {
				return false
			}
		}
		return true
	}
	switch w.method {
	case MethodLeastConnectionsMember:
		return float64(refConns(m))
	case MethodLeastConnectionsNode:
		return float64(refNodeConns(m))
	case MethodWeightedLeastConnectionsMember:
		if all(func(m *Member) bool { return m.ConnLimit > 0 }) {
			return float64(refConns(m)) / float64(m.ConnLimit)
		}
		return float64(refConns(m))
	case MethodWeightedLeastConnectionsNode:
		if all(func(m *Member) bool { return m.NodeConnLimit > 0 }) {
			return float64(refNodeConns(m)) / float64(m.NodeConnLimit)
		}
		return float64(refNodeConns(m))
	case MethodRatioLeastConnectionsMember:
		return float64(refConns(m)) / float64(one(m.Ratio))
	case MethodRatioLeastConnectionsNode:
		return float64(refNodeConns(m)) / float64(one(m.NodeRatio))
	case MethodFastestAppResponse:
		return float64(m.Stats.RTT())
	case MethodFastestNode:
		if m.NodeStats != nil {
			return float64(m.NodeStats.RTT())
		}
		return float64(m.Stats.RTT())
	case MethodLeastSessions:
		return float64(w.tab.SessionCount(w.p.Name, m.Addr, m.Port))
	case MethodRatioSession:
		return float64(w.tab.SessionCount(w.p.Name, m.Addr, m.Port)) / float64(one(m.Ratio))
	}
	panic("not a least-metric method: " + w.method.String())
}

func isRotation(m Method) bool {
	switch m {
	case MethodRoundRobin, MethodRatioMember, MethodRatioNode, MethodDynamicRatioMember, MethodDynamicRatioNode,
		MethodObservedMember, MethodObservedNode, MethodPredictiveMember, MethodPredictiveNode:
		return true
	}
	return false
}

// refMaglev builds a Maglev table with the paper's pseudo-code: explicit
// permutation arrays, members taking turns.
func refMaglev(ms []Member, in func(i int) bool, size uint64) []int {
	var members []int
	perm := map[int][]uint64{}
	for i := range ms {
		if !in(i) {
			continue
		}
		members = append(members, i)
		id := ms[i].Name
		offset := hashString(seedMaglevOffset, id) % size
		skip := hashString(seedMaglevSkip, id)%(size-1) + 1
		p := make([]uint64, size)
		for j := range size {
			p[j] = (offset + j*skip) % size
		}
		perm[i] = p
	}
	entry := make([]int, size)
	for k := range entry {
		entry[k] = -1
	}
	if len(members) == 0 {
		return entry
	}
	next := map[int]uint64{}
	n := uint64(0)
	for {
		for _, i := range members {
			c := perm[i][next[i]]
			for entry[c] >= 0 {
				next[i]++
				c = perm[i][next[i]]
			}
			entry[c] = i
			next[i]++
			n++
			if n == size {
				return entry
			}
		}
	}
}

// refPick returns the member the method must choose, given the pool's
// cursor before the selection.
func (w *world) refPick(r *Request, cursor uint64) int {
	ms := w.p.Members
	c := refCandidates(ms, w.cfg.MinActiveMembers)
	if len(c) == 0 {
		return -1
	}
	switch {
	case isRotation(w.method):
		var seq []int
		for _, i := range c {
			for range w.refWeight(i) {
				seq = append(seq, i)
			}
		}
		return seq[cursor%uint64(len(seq))]
	case w.method == MethodSourceAddressHash || w.method == MethodSourceAddressPortHash || w.method == MethodAlteonMinMisses:
		k := hashAddr(r.Client, r.ClientPort, w.method == MethodSourceAddressPortHash)
		score := func(i int) uint64 {
			if w.method == MethodAlteonMinMisses {
				k := hashAddr(r.Client, 0, false)
				return mix64(k ^ mix64(hashAddr(ms[i].Addr, ms[i].Port, true)^seedMinMisses))
			}
			return mix64(k ^ hashString(seedSourceHash, ms[i].Name))
		}
		rank := make([]int, len(ms))
		for i := range rank {
			rank[i] = i
		}
		sort.SliceStable(rank, func(a, b int) bool { return score(rank[a]) > score(rank[b]) })
		inC := map[int]bool{}
		for _, i := range c {
			inC[i] = true
		}
		for _, i := range rank {
			if inC[i] {
				return i
			}
		}
		return -1
	case w.method == MethodAlteonHash:
		return c[hashAddr(r.Client, 0, false)%uint64(len(c))]
	case w.method == MethodMaglev:
		active := refActive(ms, w.cfg.MinActiveMembers)
		size := uint64(w.cfg.MaglevTableSize)
		tab := refMaglev(ms, func(i int) bool { return active[ms[i].Priority] && refStateOK(&ms[i]) }, size)
		slot := hashAddr(r.Client, r.ClientPort, true) % size
		for range size {
			if i := tab[slot]; i >= 0 && active[ms[i].Priority] && refAvail(&ms[i]) {
				return i
			}
			slot = (slot + 1) % size
		}
		return -1
	}
	// Least-metric.
	vals := make([]float64, len(c))
	lo := 0.0
	for k, i := range c {
		v := w.refMetric(i)
		if sh := refShare(&ms[i], w.cfg.SlowRamp, r.Now); sh < 1 {
			v /= max(sh, 1.0/1024)
		}
		vals[k] = v
		if k == 0 || v < lo {
			lo = v
		}
	}
	off := int(cursor % uint64(len(c)))
	for k := range c {
		j := (off + k) % len(c)
		if vals[j] == lo {
			return c[j]
		}
	}
	return -1
}

// world is one random pool and its reference state.
type world struct {
	method  Method
	cfg     PoolConfig
	p       *Pool
	tab     *PersistTable
	nodes   []*NodeStats
	now     int64
	sampled []uint32 // reference weights of the sampled methods
	prev    []int64
	primed  bool
}

func newWorld(t testing.TB, rng *rand.Rand, method Method) *world {
	w := &world{method: method, now: 1000 * sec}
	n := 1 + rng.IntN(12)
	w.nodes = make([]*NodeStats, 1+rng.IntN(n))
	for k := range w.nodes {
		w.nodes[k] = new(NodeStats)
	}
	allLimits := rng.IntN(2) == 0
	ms := mems(n)
	for i := range ms {
		m := &ms[i]
		if rng.IntN(10) > 0 {
			m.NodeStats = w.nodes[rng.IntN(len(w.nodes))]
		}
		m.Ratio, m.NodeRatio = uint32(rng.IntN(5)), uint32(rng.IntN(5))
		m.Priority = []uint32{1, 5, 10}[rng.IntN(3)]
		if allLimits || rng.IntN(4) == 0 {
			m.ConnLimit = uint32(1 + rng.IntN(8))
			m.NodeConnLimit = uint32(1 + rng.IntN(12))
		}
		if rng.IntN(3) > 0 {
			m.Health = new(Health)
		}
	}
	w.cfg = PoolConfig{Name: "/Common/diff", Method: method, Members: ms}
	if rng.IntN(2) == 0 {
		w.cfg.MinActiveMembers = uint32(1 + rng.IntN(4))
	}
	if !isRotation(method) && rng.IntN(2) == 0 {
		w.cfg.SlowRamp = 10 * time.Second
	}
	if method == MethodMaglev {
		w.cfg.MaglevTableSize = []uint32{13, 31, 101, 1009}[rng.IntN(4)]
	}
	if method == MethodLeastSessions || method == MethodRatioSession {
		w.tab = NewPersistTable(4096)
		w.cfg.Sessions = w.tab
	}
	p, err := NewPool(w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	w.p = p
	w.sampled = make([]uint32, n)
	for i := range n {
		w.mutate(rng, i)
		if w.tab != nil {
			m := &p.Members[i]
			for k := range rng.IntN(5) {
				w.tab.Record(HashKey(7, 7, uint64(i<<8|k)), PersistRecord{Pool: p.Name, Addr: m.Addr, Port: m.Port}, 0, 0)
			}
		}
	}
	return w
}

// mutate randomizes member i's live state.
func (w *world) mutate(rng *rand.Rand, i int) {
	m := &w.p.Members[i]
	m.Stats.CurConns.Store(int64(rng.IntN(7)))
	if m.NodeStats != nil {
		m.NodeStats.CurConns.Store(int64(rng.IntN(10)))
		if rng.IntN(3) == 0 {
			m.NodeStats.ObserveRTT(int64(1 + rng.IntN(50)))
		}
		if rng.IntN(3) == 0 {
			m.NodeStats.DynamicRatio.Store(uint32(rng.IntN(4)))
		}
	}
	if rng.IntN(3) == 0 {
		m.Stats.ObserveRTT(int64(1 + rng.IntN(50)))
	}
	m.Disabled = rng.IntN(10) == 0
	m.ForcedOffline = rng.IntN(12) == 0
	if m.Health != nil {
		st := HealthUp
		if rng.IntN(3) == 0 {
			st = HealthState(rng.IntN(5))
		}
		m.Health.Set(st, w.now-int64(rng.IntN(20))*sec/2)
		m.Health.SetDynamicRatio(uint32(rng.IntN(4)))
	}
}

// tick mirrors Pool.Tick for the sampled methods.
func (w *world) tick() {
	w.p.Tick(w.now)
	if !w.method.sampled() {
		return
	}
	ms := w.p.Members
	node := w.method == MethodObservedNode || w.method == MethodPredictiveNode
	scores := make([]int64, len(ms))
	lo := int64(-1)
	for i := range ms {
		s := refConns(&ms[i])
		if node {
			s = refNodeConns(&ms[i])
		}
		scores[i] = s
		if w.method == MethodPredictiveMember || w.method == MethodPredictiveNode {
			if w.primed {
				scores[i] = max(0, 2*s-w.prev[i])
			}
			if len(w.prev) < len(ms) {
				w.prev = make([]int64, len(ms))
			}
			w.prev[i] = s
		}
	}
	w.primed = true
	for i := range ms {
		if refStateOK(&ms[i]) && (lo < 0 || scores[i] < lo) {
			lo = scores[i]
		}
	}
	if lo < 0 {
		lo = scores[0]
		for _, s := range scores {
			lo = min(lo, s)
		}
	}
	g := uint32(0)
	for i := range ms {
		w.sampled[i] = weightFor(scores[i], lo)
		g = gcd(g, w.sampled[i])
	}
	for i := range ms {
		w.sampled[i] /= g
	}
}

func TestDifferential(t *testing.T) {
	rounds := 300
	if testing.Short() {
		rounds = 50
	}
	for _, method := range Methods() {
		t.Run(method.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(method)+1, 42))
			var s Scratch
			for round := range rounds {
				w := newWorld(t, rng, method)
				w.tick()
				for step := range 30 {
					r := &Request{Client: client(rng), ClientPort: uint16(rng.IntN(65536)), Now: w.now}
					if rng.IntN(8) == 0 {
						var b [16]byte
						for k := range b {
							b[k] = byte(rng.IntN(256))
						}
						r.Client = netip.AddrFrom16(b)
					}
					cursor := w.p.cursor.Load()
					want := w.refPick(r, cursor)
					got := w.p.selectIndex(r, &s)
					if got != want {
						t.Fatalf("round %d step %d: picked %d, reference %d\n%s", round, step, got, want, w.dump())
					}
					for i := range w.p.Members {
						if w.p.Available(i, w.now) != refAvail(&w.p.Members[i]) {
							t.Fatalf("round %d: Available(%d) disagrees with the reference\n%s", round, i, w.dump())
						}
					}
					// Change the world now and then.
					switch rng.IntN(6) {
					case 0:
						w.mutate(rng, rng.IntN(len(w.p.Members)))
						w.tick()
					case 1:
						if got >= 0 {
							connOpened(&w.p.Members[got])
							w.tick()
						}
					case 2:
						w.now += int64(rng.IntN(3)) * sec
						w.tick()
					}
				}
			}
		})
	}
}

func (w *world) dump() string {
	s := fmt.Sprintf("method %v min-active %d slow-ramp %v now %d\n", w.method, w.cfg.MinActiveMembers, w.cfg.SlowRamp, w.now)
	for i := range w.p.Members {
		m := &w.p.Members[i]
		st, since := m.Health.Get()
		s += fmt.Sprintf("  %d prio %d ratio %d/%d limit %d/%d conns %d/%d health %v@%d dis %v off %v avail %v\n",
			i, m.Priority, m.Ratio, m.NodeRatio, m.ConnLimit, m.NodeConnLimit, refConns(m), refNodeConns(m),
			st, since, m.Disabled, m.ForcedOffline, refAvail(m))
	}
	return s
}

// TestDifferentialActiveGroups checks ActiveGroups against the reference.
func TestDifferentialActiveGroups(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for round := range 2000 {
		w := newWorld(t, rng, MethodRoundRobin)
		active := refActive(w.p.Members, w.cfg.MinActiveMembers)
		got := w.p.ActiveGroups(w.now)
		if len(got) != len(active) {
			t.Fatalf("round %d: ActiveGroups = %v, reference %v\n%s", round, got, active, w.dump())
		}
		for k, g := range got {
			if !active[g] || (k > 0 && got[k-1] <= g) {
				t.Fatalf("round %d: ActiveGroups = %v, reference %v\n%s", round, got, active, w.dump())
			}
		}
	}
}
