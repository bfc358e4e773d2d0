package dataplane

import (
	"net/netip"
	"sync"
	"sync/atomic"
)

// maxNeighbors bounds one port's neighbour table so a flood of spoofed ARP
// cannot grow it without limit. Only addresses on the port's connected
// networks are learned at all.
const maxNeighbors = 16384

// neighborTable maps next-hop IPv4 addresses on one port to MAC addresses.
// It is read for every forwarded packet, by every receive goroutine, and
// written rarely (a new neighbour or a changed MAC), so readers take no lock
// and touch no shared counter: they load an immutable snapshot through an
// atomic pointer. Writers (learn, fold) serialize on mu and publish a new
// snapshot.
//
// A snapshot is a large base map plus a short list of recent changes that
// shadows it. Learning a new or changed neighbour copies only the list (at
// most neighRecent entries); the base map is rebuilt, with the list folded
// in, when the list is full or when the sweeper calls fold (once a second).
// So a flood of new neighbours (gratuitous ARP from many spoofed senders on
// a connected network) costs a copy of the whole table at most once per
// neighRecent new entries, and in the steady state the list is empty and a
// lookup is one map access. Re-learning a known neighbour with the same MAC,
// which every gleaned packet does, reads the snapshot only: no lock, no
// allocation.
type neighborTable struct {
	snap atomic.Pointer[neighSnap]

	mu sync.Mutex // serializes writers
	n  int        // distinct neighbours in the current snapshot
}

// neighRecent bounds the list of recent changes in a snapshot.
const neighRecent = 16

// neighSnap is one immutable state of a neighbour table.
type neighSnap struct {
	base   map[uint32][6]byte
	recent []neighEntry // newer than base; later entries shadow earlier
}

type neighEntry struct {
	ip  uint32
	mac [6]byte
}

func (t *neighborTable) init() {
	t.snap.Store(&neighSnap{base: map[uint32][6]byte{}})
}

func (s *neighSnap) get(ip uint32) ([6]byte, bool) {
	for i := len(s.recent) - 1; i >= 0; i-- {
		if s.recent[i].ip == ip {
			return s.recent[i].mac, true
		}
	}
	mac, ok := s.base[ip]
	return mac, ok
}

// lookup4 returns the MAC of ip; it takes no lock and allocates nothing.
func (t *neighborTable) lookup4(ip uint32) ([6]byte, bool) { return t.snap.Load().get(ip) }

func (t *neighborTable) lookup(ip netip.Addr) ([6]byte, bool) {
	if !ip.Is4() {
		return [6]byte{}, false
	}
	return t.lookup4(u32(ip))
}

// learn records ip → mac and reports whether that changed the table. A
// table of maxNeighbors entries learns no new neighbour (a known one may
// change its MAC).
func (t *neighborTable) learn(ip uint32, mac [6]byte) bool {
	if old, ok := t.lookup4(ip); ok && old == mac {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := t.snap.Load()
	old, known := cur.get(ip)
	if known && old == mac {
		return false
	}
	if !known && t.n >= maxNeighbors {
		return false
	}
	next := &neighSnap{base: cur.base}
	if len(cur.recent) < neighRecent {
		next.recent = make([]neighEntry, 0, len(cur.recent)+1)
		for _, e := range cur.recent {
			if e.ip != ip {
				next.recent = append(next.recent, e)
			}
		}
		next.recent = append(next.recent, neighEntry{ip, mac})
	} else {
		next.base = merged(cur)
		next.base[ip] = mac
	}
	if !known {
		t.n++
	}
	t.snap.Store(next)
	return true
}

// fold rebuilds the base map with the recent changes in it, so lookups are
// one map access again. The sweeper calls it; it does nothing when there
// are no recent changes.
func (t *neighborTable) fold() {
	if len(t.snap.Load().recent) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := t.snap.Load()
	if len(cur.recent) == 0 {
		return
	}
	t.snap.Store(&neighSnap{base: merged(cur)})
}

// merged returns a new map holding s's base with its recent changes.
func merged(s *neighSnap) map[uint32][6]byte {
	m := make(map[uint32][6]byte, len(s.base)+len(s.recent))
	for ip, mac := range s.base {
		m[ip] = mac
	}
	for _, e := range s.recent {
		m[e.ip] = e.mac
	}
	return m
}

const (
	pendingSlots = 64
	// pendingPatience is how long a packet waits for its next hop's ARP reply.
	pendingPatience = int64(1e9)
	// arpRetryInterval spaces ARP requests for a next hop that already has
	// packets waiting.
	arpRetryInterval = int64(250e6)
)

type pendingSlot struct {
	buf     []byte
	n       int
	nextHop netip.Addr
	parked  int64
	seq     uint64
	used    bool
}

// pendingQueue parks packets for one egress port whose next hop's MAC is not
// known yet. Slots and buffers are allocated once.
type pendingQueue struct {
	mu    sync.Mutex
	slots [pendingSlots]pendingSlot
	seq   uint64
	used  atomic.Int32 // lets the hot path skip the lock when nothing waits
	out   [pendingSlots][]byte
	order [pendingSlots]int
}

func (q *pendingQueue) init() {
	mem := make([]byte, pendingSlots*maxFrameLen)
	for i := range q.slots {
		q.slots[i].buf = mem[i*maxFrameLen : (i+1)*maxFrameLen : (i+1)*maxFrameLen]
	}
}

// park copies frame into a slot. It reports how many older packets it had
// to drop to make room or because they waited too long, and whether the
// caller should send an ARP request (none was sent for this next hop
// recently).
func (q *pendingQueue) parkLocked(frame []byte, nextHop netip.Addr, now int64) (dropped int, sendARP bool) {
	dropped = q.expireLocked(now)
	free, oldest := -1, -1
	sendARP = true
	for i := range q.slots {
		s := &q.slots[i]
		if !s.used {
			if free < 0 {
				free = i
			}
			continue
		}
		if oldest < 0 || s.seq < q.slots[oldest].seq {
			oldest = i
		}
		if s.nextHop == nextHop && now-s.parked < arpRetryInterval {
			sendARP = false
		}
	}
	if free < 0 {
		free = oldest
		q.slots[free].used = false
		q.used.Add(-1)
		dropped++
	}
	s := &q.slots[free]
	s.n = copy(s.buf, frame)
	s.nextHop = nextHop
	s.parked = now
	q.seq++
	s.seq = q.seq
	s.used = true
	q.used.Add(1)
	return dropped, sendARP
}

func (q *pendingQueue) expireLocked(now int64) int {
	dropped := 0
	for i := range q.slots {
		if s := &q.slots[i]; s.used && now-s.parked > pendingPatience {
			s.used = false
			q.used.Add(-1)
			dropped++
		}
	}
	return dropped
}

// takeLocked moves the frames waiting for nextHop into q.out, oldest first,
// with mac as their destination, and frees their slots. The frames stay
// valid until the next call under the lock.
func (q *pendingQueue) takeLocked(nextHop netip.Addr, mac [6]byte) [][]byte {
	n := 0
	for i := range q.slots {
		if s := &q.slots[i]; s.used && s.nextHop == nextHop {
			// insertion sort by sequence: at most pendingSlots entries
			j := n
			for j > 0 && q.slots[q.order[j-1]].seq > s.seq {
				q.order[j] = q.order[j-1]
				j--
			}
			q.order[j] = i
			n++
		}
	}
	out := q.out[:0]
	for _, i := range q.order[:n] {
		s := &q.slots[i]
		copy(s.buf[0:6], mac[:])
		out = append(out, s.buf[:s.n])
		s.used = false
		q.used.Add(-1)
	}
	return out
}
