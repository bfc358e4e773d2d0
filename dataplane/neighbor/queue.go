package neighbor

import (
	"net/netip"
	"sync"
	"sync/atomic"
)

const (
	// QueueSlots is how many packets one port's Queue holds.
	QueueSlots = 64
	// pendingPatience is how long a packet waits for its next hop's ARP reply.
	pendingPatience = int64(1e9)
	// arpRetryInterval spaces ARP requests for a next hop that already has
	// packets waiting.
	arpRetryInterval = int64(250e6)
)

type queueSlot struct {
	buf     []byte
	n       int
	nextHop netip.Addr
	parked  int64
	seq     uint64
	used    bool
}

// Queue parks packets for one egress port whose next hop's MAC is not
// known yet. Slots and buffers are allocated once, by Init. The caller
// holds the queue's lock (Lock, Unlock) around the …Locked methods, and
// while it writes the frames TakeLocked returns, which live in its slots.
type Queue struct {
	mu    sync.Mutex
	slots [QueueSlots]queueSlot
	seq   uint64
	used  atomic.Int32 // lets the hot path skip the lock when nothing waits
	out   [QueueSlots][]byte
	order [QueueSlots]int
}

// Init allocates the slots, each a buffer of frameLen bytes.
func (q *Queue) Init(frameLen int) {
	mem := make([]byte, QueueSlots*frameLen)
	for i := range q.slots {
		q.slots[i].buf = mem[i*frameLen : (i+1)*frameLen : (i+1)*frameLen]
	}
}

// Lock takes the queue's lock.
func (q *Queue) Lock() { q.mu.Lock() }

// Unlock releases the queue's lock.
func (q *Queue) Unlock() { q.mu.Unlock() }

// Waiting reports whether any packet is parked; it takes no lock, so the
// hot path skips the queue when nothing waits.
func (q *Queue) Waiting() bool { return q.used.Load() != 0 }

// ParkLocked copies frame into a slot. It reports how many older packets it had
// to drop to make room or because they waited too long, and whether the
// caller should send an ARP request (none was sent for this next hop
// recently).
func (q *Queue) ParkLocked(frame []byte, nextHop netip.Addr, now int64) (dropped int, sendARP bool) {
	dropped = q.ExpireLocked(now)
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

// ExpireLocked frees the slots of packets that waited longer than
// pendingPatience and returns how many.
func (q *Queue) ExpireLocked(now int64) int {
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

// TakeLocked moves the frames waiting for nextHop into q.out, oldest first,
// with mac as their destination, and frees their slots. The frames stay
// valid until the next call under the lock.
func (q *Queue) TakeLocked(nextHop netip.Addr, mac [6]byte) [][]byte {
	n := 0
	for i := range q.slots {
		if s := &q.slots[i]; s.used && s.nextHop == nextHop {
			// insertion sort by sequence: at most QueueSlots entries
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
