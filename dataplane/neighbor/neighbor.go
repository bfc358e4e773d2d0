package neighbor

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"sync/atomic"
)

// maxNeighbors bounds one port's neighbour table so a flood of spoofed ARP
// cannot grow it without limit. Only addresses on the port's connected
// networks are learned at all.
const maxNeighbors = 16384

// Table maps next-hop IPv4 addresses on one port to MAC addresses.
// It is read for every forwarded packet, by every receive goroutine, and
// written rarely (a new neighbour or a changed MAC), so readers take no lock
// and touch no shared counter: they load an immutable snapshot through an
// atomic pointer. Writers (Learn, Fold) serialize on mu and publish a new
// snapshot.
//
// A snapshot is a large base map plus a short list of recent changes that
// shadows it. Learning a new or changed neighbour copies only the list (at
// most neighRecent entries); the base map is rebuilt, with the list folded
// in, when the list is full or when the sweeper calls Fold (once a second).
// So a flood of new neighbours (gratuitous ARP from many spoofed senders on
// a connected network) costs a copy of the whole table at most once per
// neighRecent new entries, and in the steady state the list is empty and a
// lookup is one map access. Re-learning a known neighbour with the same MAC,
// which every gleaned packet does, reads the snapshot only: no lock, no
// allocation.
type Table struct {
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

// Init readies an empty table; the engine calls it once per port.
func (t *Table) Init() {
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

// Lookup4 returns the MAC of ip (host order); it takes no lock and
// allocates nothing.
func (t *Table) Lookup4(ip uint32) ([6]byte, bool) { return t.snap.Load().get(ip) }

// Lookup is Lookup4 for a netip.Addr; an address that is not IPv4 is never
// found.
func (t *Table) Lookup(ip netip.Addr) ([6]byte, bool) {
	if !ip.Is4() {
		return [6]byte{}, false
	}
	b := ip.As4()
	return t.Lookup4(binary.BigEndian.Uint32(b[:]))
}

// Learn records ip → mac and reports whether that changed the table. A
// table of maxNeighbors entries learns no new neighbour (a known one may
// change its MAC).
func (t *Table) Learn(ip uint32, mac [6]byte) bool {
	if old, ok := t.Lookup4(ip); ok && old == mac {
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

// Fold rebuilds the base map with the recent changes in it, so lookups are
// one map access again. The engine's sweeper calls it; it does nothing when there
// are no recent changes.
func (t *Table) Fold() {
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
