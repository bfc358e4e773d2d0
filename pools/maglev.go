package pools

import (
	"slices"
	"sync"
	"sync/atomic"
)

// maglevSel is maglev: Maglev consistent hashing (Eisenbud et al., "Maglev:
// A Fast and Reliable Software Network Load Balancer", NSDI 2016). A lookup
// table of prime size M (default 65537) is filled by the paper's
// population algorithm: member i's preference list is
//
//	permutation[i][j] = (offset_i + j·skip_i) mod M,
//	offset_i = H1(name) mod M,  skip_i = H2(name) mod (M-1) + 1,
//
// and members take turns claiming their next unclaimed preferred slot until
// the table is full, so each gets about M/N slots and a change of one member
// moves about 1/N of the slots. A new connection hashes client address and
// port to slot H mod M.
//
// The table is built over the members whose state allows new connections
// (monitor, disabled, forced offline) in the active priority groups. Each
// Select computes that set as a bitmask and compares it with the table's;
// when it differs the table is rebuilt once, under a mutex, and published
// atomically (a rebuild allocates; steady state does not). Connection limits
// are transient, so they do not rebuild the table: a slot whose member is at
// its limit is passed over for the next slot (linear probing) whose member
// is available. Slow ramp does not apply.
type maglevSel struct {
	size     uint32
	offset   []uint32
	skip     []uint32
	mu       sync.Mutex // serializes rebuilds
	tab      atomic.Pointer[maglevTable]
	rebuilds atomic.Uint64
}

type maglevTable struct {
	set []uint64 // members the table was built over
	ent []uint16 // slot → member index
}

var _ selector = (*maglevSel)(nil)

const (
	seedMaglevOffset = 0x3a91_e500_0000_0003
	seedMaglevSkip   = 0x3a91_e500_0000_0004
	// maxMaglevTableSize bounds the table's memory (2 bytes a slot).
	maxMaglevTableSize = 16777213
	maglevEmpty        = 0xffff
)

func newMaglev(p *Pool, size uint32) *maglevSel {
	n := len(p.Members)
	m := &maglevSel{size: size, offset: make([]uint32, n), skip: make([]uint32, n)}
	for i := range p.Members {
		id := memberIdentity(&p.Members[i])
		m.offset[i] = uint32(hashString(seedMaglevOffset, id) % uint64(size))
		m.skip[i] = uint32(hashString(seedMaglevSkip, id)%uint64(size-1)) + 1
	}
	// Start from the member set as it is now, so the first selections
	// usually find the table ready.
	var s Scratch
	p.candidates(0, &s)
	m.tab.Store(m.build(s.ok))
	return m
}

// build fills a table over the members in set.
func (m *maglevSel) build(set []uint64) *maglevTable {
	t := &maglevTable{set: slices.Clone(set), ent: make([]uint16, m.size)}
	var members []int
	for i := range m.offset {
		if bit(set, i) {
			members = append(members, i)
		}
	}
	for k := range t.ent {
		t.ent[k] = maglevEmpty
	}
	if len(members) == 0 {
		return t
	}
	next := make([]uint64, len(members))
	size := uint64(m.size)
	filled := uint64(0)
	for {
		for k, i := range members {
			off, skip := uint64(m.offset[i]), uint64(m.skip[i])
			c := (off + next[k]*skip) % size
			for t.ent[c] != maglevEmpty {
				next[k]++
				c = (off + next[k]*skip) % size
			}
			t.ent[c] = uint16(i)
			next[k]++
			filled++
			if filled == size {
				return t
			}
		}
	}
}

// table returns a table built over set, rebuilding when the current one is
// for another set.
func (m *maglevSel) table(set []uint64) *maglevTable {
	t := m.tab.Load()
	if slices.Equal(t.set, set) {
		return t
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if t = m.tab.Load(); slices.Equal(t.set, set) {
		return t
	}
	t = m.build(set)
	m.tab.Store(t)
	m.rebuilds.Add(1)
	return t
}

func (m *maglevSel) pick(p *Pool, c []int32, r *Request, s *Scratch) int {
	t := m.table(s.ok)
	slot := hashAddr(r.Client, r.ClientPort, true) % uint64(m.size)
	for range m.size {
		if i := t.ent[slot]; i != maglevEmpty && bit(s.avail, int(i)) {
			return int(i)
		}
		slot++
		if slot == uint64(m.size) {
			slot = 0
		}
	}
	return int(c[0])
}

// isPrime reports whether n is prime (trial division; n is at most about
// 2^24).
func isPrime(n uint32) bool {
	if n < 2 {
		return false
	}
	if n%2 == 0 {
		return n == 2
	}
	for d := uint32(3); d*d <= n; d += 2 {
		if n%d == 0 {
			return false
		}
	}
	return true
}
