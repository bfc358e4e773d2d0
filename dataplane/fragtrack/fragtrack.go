package fragtrack

import (
	"sync"
	"time"
)

const (
	MaxDatagrams = 1024 // datagrams tracked at once
	numBuckets   = 2048 // power of two
	MaxHoles     = 8    // disjoint received ranges per datagram
	// Timeout is how long after its first fragment a datagram may take to
	// complete (Linux's ipfrag_time is the same).
	Timeout = 30 * time.Second
)

// Key identifies a datagram: its addresses (host order), protocol and IP id.
type Key struct {
	Src, Dst uint32
	ID       uint16
	Proto    uint8
}

// Verdict is what the table makes of a later fragment.
type Verdict uint8

const (
	// OK: recorded; forward it as its first fragment says.
	OK Verdict = iota
	// NoFirst: no datagram tracked; its first fragment was not seen, or
	// the datagram expired.
	NoFirst
	// Overlap: it overlaps bytes already received, or an earlier fragment
	// of its datagram was refused.
	Overlap
	// Malformed: it ends past the datagram's end, or leaves more than
	// MaxHoles holes.
	Malformed
)

type byteRange struct{ lo, hi uint32 }

type entry[V any] struct {
	key     Key
	used    bool
	bad     bool  // a fragment was refused: the rest of the datagram is dropped
	next    int32 // bucket chain, or free list
	created int64 // engine mono ns of the first fragment
	total   int32 // end of the datagram once its last fragment is seen, else -1
	nr      int
	ranges  [MaxHoles]byteRange
	val     V // recorded with the first fragment, for the later ones
}

// Table tracks fragmented datagrams, each with a value V its first
// fragment records for the later ones. Its zero value is ready; the
// entries are allocated on the first datagram. All methods take the
// table's mutex and may be called concurrently.
type Table[V any] struct {
	mu      sync.Mutex
	buckets []int32 // head of each chain, -1 empty
	entries []entry[V]
	free    int32
	n       int
}

func (t *Table[V]) initLocked() {
	if t.entries != nil {
		return
	}
	t.buckets = make([]int32, numBuckets)
	for i := range t.buckets {
		t.buckets[i] = -1
	}
	t.entries = make([]entry[V], MaxDatagrams)
	for i := range t.entries {
		t.entries[i].next = int32(i + 1)
	}
	t.entries[len(t.entries)-1].next = -1
	t.free = 0
}

func (k Key) bucket() int {
	return int(mix32(k.Src^mix32(k.Dst^uint32(k.ID)<<8^uint32(k.Proto))) & (numBuckets - 1))
}

// mix32 is flowtable.Mix32 (murmur3's finalizer), copied to keep this
// package a leaf.
func mix32(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x85ebca6b
	x ^= x >> 13
	x *= 0xc2b2ae35
	x ^= x >> 16
	return x
}

// findLocked returns the entry of k, or -1. An expired entry is removed
// (forgotten is 1) and not found.
func (t *Table[V]) findLocked(k Key, now int64) (e int32, forgotten int) {
	for e = t.buckets[k.bucket()]; e >= 0; e = t.entries[e].next {
		f := &t.entries[e]
		if f.key != k {
			continue
		}
		if now-f.created > int64(Timeout) {
			t.removeLocked(e)
			return -1, 1
		}
		return e, 0
	}
	return -1, 0
}

func (t *Table[V]) removeLocked(e int32) {
	f := &t.entries[e]
	b := f.key.bucket()
	if t.buckets[b] == e {
		t.buckets[b] = f.next
	} else {
		for p := t.buckets[b]; p >= 0; p = t.entries[p].next {
			if t.entries[p].next == e {
				t.entries[p].next = f.next
				break
			}
		}
	}
	*f = entry[V]{next: t.free}
	t.free = e
	t.n--
}

// sweepLocked removes the expired entries and returns how many.
func (t *Table[V]) sweepLocked(now int64) int {
	n := 0
	for e := range t.entries {
		if f := &t.entries[e]; f.used && now-f.created > int64(Timeout) {
			t.removeLocked(int32(e))
			n++
		}
	}
	return n
}

// insertLocked creates the entry of a datagram whose first fragment
// covers [0, hi); -1 when the table is full. A full table first forgets
// its expired datagrams (forgotten counts them).
func (t *Table[V]) insertLocked(k Key, now int64, hi uint32) (e int32, forgotten int) {
	if t.free < 0 {
		forgotten = t.sweepLocked(now)
		if t.free < 0 {
			return -1, forgotten
		}
	}
	e = t.free
	f := &t.entries[e]
	t.free = f.next
	b := k.bucket()
	*f = entry[V]{key: k, used: true, next: t.buckets[b], created: now, total: -1, nr: 1}
	f.ranges[0] = byteRange{0, hi}
	t.buckets[b] = e
	t.n++
	return e, forgotten
}

// add records [lo, hi) as received; it reports an overlap with a range
// already received, or too many holes.
func (f *entry[V]) add(lo, hi uint32) Verdict {
	a, b := -1, -1
	for i := range f.nr {
		r := f.ranges[i]
		if lo < r.hi && hi > r.lo {
			return Overlap
		}
		if r.hi == lo {
			a = i
		}
		if r.lo == hi {
			b = i
		}
	}
	switch {
	case a >= 0 && b >= 0:
		f.ranges[a].hi = f.ranges[b].hi
		f.nr--
		f.ranges[b] = f.ranges[f.nr]
	case a >= 0:
		f.ranges[a].hi = hi
	case b >= 0:
		f.ranges[b].lo = lo
	default:
		if f.nr == MaxHoles {
			return Malformed
		}
		f.ranges[f.nr] = byteRange{lo, hi}
		f.nr++
	}
	return OK
}

// complete reports whether every byte of the datagram has been seen.
func (f *entry[V]) complete() bool {
	return f.total >= 0 && f.nr == 1 && f.ranges[0] == byteRange{0, uint32(f.total)}
}

func (f *entry[V]) maxEnd() uint32 {
	var m uint32
	for i := range f.nr {
		m = max(m, f.ranges[i].hi)
	}
	return m
}

// First records datagram k, whose first fragment covers [0, hi) of its
// payload, with v for its later fragments. A datagram still tracked under
// k (the 16-bit id wrapped while it was incomplete) is forgotten first.
// forgotten counts the datagrams forgotten incomplete on the way (expired
// or replaced); ok is false when the table is full.
func (t *Table[V]) First(k Key, hi uint32, now int64, v V) (forgotten int, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.initLocked()
	e, forgotten := t.findLocked(k, now)
	if e >= 0 {
		t.removeLocked(e)
		forgotten++
	}
	e, n := t.insertLocked(k, now, hi)
	forgotten += n
	if e < 0 {
		return forgotten, false
	}
	t.entries[e].val = v
	return forgotten, true
}

// Later records the fragment of datagram k that covers [lo, hi) of its
// payload (more: the MF flag) and returns the value the datagram's first
// fragment recorded. A datagram is forgotten once every byte of it has
// been seen. A fragment refused as Overlap or Malformed marks its
// datagram, and every later fragment of it is refused as Overlap.
// forgotten is 1 when the datagram had expired.
func (t *Table[V]) Later(k Key, lo, hi uint32, more bool, now int64) (v V, r Verdict, forgotten int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.entries == nil {
		return v, NoFirst, 0
	}
	e, forgotten := t.findLocked(k, now)
	if e < 0 {
		return v, NoFirst, forgotten
	}
	f := &t.entries[e]
	if f.bad {
		return v, Overlap, 0
	}
	switch {
	case f.total >= 0 && hi > uint32(f.total), !more && f.total >= 0 && hi != uint32(f.total):
		r = Malformed
	case !more && f.nr > 0 && f.maxEnd() > hi:
		r = Malformed // data already seen past the end
	default:
		r = f.add(lo, hi)
	}
	if r != OK {
		f.bad = true
		return v, r, 0
	}
	if !more {
		f.total = int32(hi)
	}
	v = f.val
	if f.complete() {
		t.removeLocked(e)
	}
	return v, OK, 0
}

// Sweep forgets the datagrams older than Timeout and returns how many. The
// engine's sweeper calls it every second.
func (t *Table[V]) Sweep(now int64) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == 0 {
		return 0
	}
	return t.sweepLocked(now)
}

// Len returns how many datagrams are tracked.
func (t *Table[V]) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}
