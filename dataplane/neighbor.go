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
// It is read for every forwarded packet and written rarely (a new neighbour
// or a changed MAC), hence the RWMutex.
type neighborTable struct {
	mu sync.RWMutex
	m  map[netip.Addr][6]byte
}

func (t *neighborTable) init() { t.m = make(map[netip.Addr][6]byte) }

func (t *neighborTable) lookup(ip netip.Addr) ([6]byte, bool) {
	t.mu.RLock()
	mac, ok := t.m[ip]
	t.mu.RUnlock()
	return mac, ok
}

// learn records ip → mac and reports whether that changed the table.
func (t *neighborTable) learn(ip netip.Addr, mac [6]byte) bool {
	if old, ok := t.lookup(ip); ok && old == mac {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.m[ip]; ok && old == mac {
		return false
	}
	if _, ok := t.m[ip]; !ok && len(t.m) >= maxNeighbors {
		return false
	}
	t.m[ip] = mac
	return true
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
