package dataplane

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"lbx/dataplane/flowtable"
)

// Fragmented UDP through a virtual server.
//
// lbx does not reassemble. It tracks each fragmented datagram by (source,
// destination, protocol, IP id): the first fragment (offset 0, which holds
// the UDP header) is looked up, or opens its flow, exactly as an
// unfragmented datagram, and gets the flow's NAT, ports and UDP checksum
// included (the checksum covers the whole datagram, but the incremental
// update only depends on the fields that change, all in the first
// fragment). The translation is recorded for the datagram, and every later
// fragment gets the same addresses and goes to the same next hop. The end
// host (the member, or the client for an answer) reassembles.
//
// Why not reassemble: every buffer the dataplane owns is one frame
// (maxFrameLen); a reassembled 4 KB datagram fits none of them and would
// have to be fragmented again for the egress link, so reassembly would
// cost a second buffer pool, two copies and a fragmenter for nothing the
// member cannot do itself. Tracking holds no payload at all: its memory is
// a fixed table of fragMaxDatagrams entries (a few hundred bytes each),
// allocated on the first fragment the engine ever sees.
//
// What it costs: a later fragment that arrives before its datagram's first
// fragment cannot be placed and is dropped (drop.fragment-no-first). Linux
// and the BSDs send fragments in order, and a port delivers them in order
// (a NIC's RSS hashes fragments on addresses only, so one datagram stays
// on one queue). The first fragment's UDP checksum cannot be verified
// before the flow opens (it covers fragments not yet seen): the member's
// stack verifies it after reassembly.
//
// Checks: a fragment with no payload, an MF fragment whose payload is not
// a multiple of 8 bytes, one that ends past 65535 bytes or past the end a
// last fragment gave, a first fragment too short for its UDP header, or a
// datagram with more than fragMaxHoles holes at once is malformed
// (drop.fragment-malformed); a fragment overlapping one already forwarded
// (an exact duplicate included) is dropped (drop.fragment-overlap), and so
// is the rest of its datagram, whose reassembly the member would have to
// guess at. A new first fragment for a datagram still tracked (the 16-bit
// id wrapped) starts it afresh. A datagram not complete fragTimeout after
// its first fragment (the engine's injected clock; Linux's ipfrag_time is
// the same 30 s) is forgotten and counted once in
// drop.fragment-incomplete; when the table is full a new datagram is
// refused (drop.fragment-table-full).
//
// TCP fragments and fragments for the appliance itself are dropped as
// before (drop.fragment), and so are fragments of a DSR member's answer
// routed through the appliance (drop.local-source: dsrReturn needs the
// ports of an unfragmented packet). All of it runs under one mutex: fragments are
// rare and the unfragmented hot path never takes it.

const (
	fragMaxDatagrams = 1024 // datagrams tracked at once
	fragBuckets      = 2048 // power of two
	fragMaxHoles     = 8    // disjoint received ranges per datagram
	fragTimeout      = 30 * time.Second
	maxIPDatagram    = 65535 // header included
)

type fragKey struct {
	src, dst uint32
	id       uint16
	proto    uint8
}

type fragRange struct{ lo, hi uint32 }

type fragEntry struct {
	key     fragKey
	used    bool
	bad     bool  // overlap seen: the rest of the datagram is dropped
	next    int32 // bucket chain, or free list
	created int64 // engine mono ns of the first fragment
	total   int32 // end of the datagram once its last fragment is seen, else -1
	nr      int
	ranges  [fragMaxHoles]fragRange
	hit     flowtable.Hit // the first fragment's translation
	nextHop uint32
}

// fragTable tracks fragmented datagrams. Its zero value is ready; the
// entries are allocated on first use.
type fragTable struct {
	mu      sync.Mutex
	buckets []int32 // head of each chain, -1 empty
	entries []fragEntry
	free    int32
	n       int
}

func (t *fragTable) initLocked() {
	if t.entries != nil {
		return
	}
	t.buckets = make([]int32, fragBuckets)
	for i := range t.buckets {
		t.buckets[i] = -1
	}
	t.entries = make([]fragEntry, fragMaxDatagrams)
	for i := range t.entries {
		t.entries[i].next = int32(i + 1)
	}
	t.entries[len(t.entries)-1].next = -1
	t.free = 0
}

func (k fragKey) bucket() int {
	return int(flowtable.Mix32(k.src^flowtable.Mix32(k.dst^uint32(k.id)<<8^uint32(k.proto))) & (fragBuckets - 1))
}

// findLocked returns the entry of k, or -1. An expired entry is removed
// (and counted as incomplete) and not found.
func (t *fragTable) findLocked(k fragKey, now int64, drops *dropCounters) int32 {
	for e := t.buckets[k.bucket()]; e >= 0; e = t.entries[e].next {
		f := &t.entries[e]
		if f.key != k {
			continue
		}
		if now-f.created > int64(fragTimeout) {
			t.removeLocked(e)
			drops[DropFragmentIncomplete].Add(1)
			return -1
		}
		return e
	}
	return -1
}

func (t *fragTable) removeLocked(e int32) {
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
	*f = fragEntry{next: t.free}
	t.free = e
	t.n--
}

// sweepLocked removes the expired entries and returns how many.
func (t *fragTable) sweepLocked(now int64) int {
	n := 0
	for e := range t.entries {
		if f := &t.entries[e]; f.used && now-f.created > int64(fragTimeout) {
			t.removeLocked(int32(e))
			n++
		}
	}
	return n
}

// insertLocked creates the entry of a datagram whose first fragment
// covers [0, hi); -1 when the table is full.
func (t *fragTable) insertLocked(k fragKey, now int64, hi uint32, drops *dropCounters) int32 {
	if t.free < 0 {
		drops[DropFragmentIncomplete].Add(uint64(t.sweepLocked(now)))
		if t.free < 0 {
			return -1
		}
	}
	e := t.free
	f := &t.entries[e]
	t.free = f.next
	b := k.bucket()
	*f = fragEntry{key: k, used: true, next: t.buckets[b], created: now, total: -1, nr: 1}
	f.ranges[0] = fragRange{0, hi}
	t.buckets[b] = e
	t.n++
	return e
}

// add records [lo, hi) as received; it reports an overlap with a range
// already received, or too many holes.
func (f *fragEntry) add(lo, hi uint32) DropReason {
	a, b := -1, -1
	for i := range f.nr {
		r := f.ranges[i]
		if lo < r.hi && hi > r.lo {
			return DropFragmentOverlap
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
		if f.nr == fragMaxHoles {
			return DropFragmentMalformed
		}
		f.ranges[f.nr] = fragRange{lo, hi}
		f.nr++
	}
	return dropNone
}

// complete reports whether every byte of the datagram has been seen.
func (f *fragEntry) complete() bool {
	return f.total >= 0 && f.nr == 1 && f.ranges[0] == fragRange{0, uint32(f.total)}
}

// fragInfo is a fragment's place in its datagram.
type fragInfo struct {
	id     uint16
	lo, hi uint32 // payload bytes [lo, hi) of the datagram
	more   bool
}

// parseFragment checks a fragment's offsets and lengths.
func parseFragment(frame []byte, p *ipv4Packet) (fragInfo, DropReason) {
	ip := frame[ethHdrLen:]
	v := binary.BigEndian.Uint16(ip[6:8])
	fi := fragInfo{id: binary.BigEndian.Uint16(ip[4:6]), more: v&0x2000 != 0}
	n := uint32(p.total - p.ihl)
	fi.lo = uint32(v&0x1fff) * 8
	fi.hi = fi.lo + n
	if n == 0 || fi.more && n%8 != 0 || fi.hi+uint32(p.ihl) > maxIPDatagram {
		return fi, DropFragmentMalformed
	}
	if fi.lo == 0 {
		if n < udpHdrLen {
			return fi, DropFragmentMalformed
		}
		u := frame[p.l4:]
		if ul := uint32(binary.BigEndian.Uint16(u[4:6])); ul <= n {
			return fi, DropFragmentMalformed // the datagram must extend past its first fragment
		}
	}
	return fi, dropNone
}

// dropCounters is the engine's array of drop counters.
type dropCounters = [numDropReasons]atomic.Uint64

// handleFragment forwards one fragment of a UDP datagram (see above).
func (w *worker) handleFragment(in *installed, frame []byte, p *ipv4Packet) DropReason {
	if p.proto != ProtoUDP {
		return DropFragment
	}
	fi, r := parseFragment(frame, p)
	if r != dropNone {
		return r
	}
	if fi.lo == 0 {
		return w.firstFragment(in, frame, p, fi)
	}
	t := &w.e.frags
	k := fragKey{src: p.src, dst: p.dst, id: fi.id, proto: p.proto}
	t.mu.Lock()
	if t.entries == nil {
		t.mu.Unlock()
		return DropFragmentNoFirst
	}
	e := t.findLocked(k, w.now, &w.e.drops)
	if e < 0 {
		t.mu.Unlock()
		return DropFragmentNoFirst
	}
	f := &t.entries[e]
	if f.bad {
		t.mu.Unlock()
		return DropFragmentOverlap
	}
	r = dropNone
	switch {
	case f.total >= 0 && fi.hi > uint32(f.total), !fi.more && f.total >= 0 && fi.hi != uint32(f.total):
		r = DropFragmentMalformed
	case !fi.more && f.nr > 0 && f.maxEnd() > fi.hi:
		r = DropFragmentMalformed // data already seen past the end
	default:
		r = f.add(fi.lo, fi.hi)
	}
	if r != dropNone {
		f.bad = true
		t.mu.Unlock()
		return r
	}
	if !fi.more {
		f.total = int32(fi.hi)
	}
	hit, nextHop := f.hit, f.nextHop
	if f.complete() {
		t.removeLocked(e)
	}
	t.mu.Unlock()

	if p.ttl <= 1 {
		return DropTTLExceeded
	}
	if !hit.DSR {
		rewriteAddrs(frame, p, hit.Src, hit.Dst)
	}
	decTTL(frame, p)
	countHit(&hit, p.total)
	return w.send(in, hit.Egress, frame[:ethHdrLen+p.total], nextHop)
}

func (f *fragEntry) maxEnd() uint32 {
	var m uint32
	for i := range f.nr {
		m = max(m, f.ranges[i].hi)
	}
	return m
}

// firstFragment looks up or opens the flow of a datagram's first fragment,
// records the datagram, and forwards the fragment translated.
func (w *worker) firstFragment(in *installed, frame []byte, p *ipv4Packet, fi fragInfo) DropReason {
	p.sport = binary.BigEndian.Uint16(frame[p.l4:])
	p.dport = binary.BigEndian.Uint16(frame[p.l4+2:])
	k := flowtable.Key{Src: p.src, Dst: p.dst, Sport: p.sport, Dport: p.dport, Proto: p.proto}
	hit, ok := w.e.flows.Lookup(k, w.now, flowtable.Seg{})
	if !ok {
		vi := in.prog.lookupVirtual(addr4(p.dst), p.dport, p.proto)
		if vi < 0 {
			if in.isLocal(p.dst) {
				return DropFragment // the local stack does not reassemble
			}
			return DropNotForUs
		}
		vs := in.prog.Virtuals[vi]
		if !vs.Enabled {
			return DropVirtualDisabled
		}
		if p.ttl <= 1 {
			return DropTTLExceeded
		}
		var r DropReason
		if hit, r = w.newFlow(in, vs, &in.virts[vi], k, flowtable.Seg{}); r != dropNone {
			return r
		}
	} else if p.ttl <= 1 {
		return DropTTLExceeded
	}
	nextHop := hit.Dst
	if hit.DSR {
		nextHop = hit.Hop
	}

	t := &w.e.frags
	fk := fragKey{src: p.src, dst: p.dst, id: fi.id, proto: p.proto}
	t.mu.Lock()
	t.initLocked()
	if e := t.findLocked(fk, w.now, &w.e.drops); e >= 0 {
		// The id wrapped while an older datagram was still incomplete.
		t.removeLocked(e)
		w.e.drops[DropFragmentIncomplete].Add(1)
	}
	e := t.insertLocked(fk, w.now, fi.hi, &w.e.drops)
	if e < 0 {
		t.mu.Unlock()
		return DropFragmentTableFull
	}
	t.entries[e].hit = hit
	t.entries[e].nextHop = nextHop
	t.mu.Unlock()

	if !hit.DSR {
		rewriteNAT(frame, p, hit.Src, hit.Dst, hit.Sport, hit.Dport)
	}
	decTTL(frame, p)
	countHit(&hit, p.total)
	return w.send(in, hit.Egress, frame[:ethHdrLen+p.total], nextHop)
}

// rewriteAddrs sets a later fragment's addresses, fixing the IPv4 header
// checksum (it has no transport header).
func rewriteAddrs(frame []byte, p *ipv4Packet, src, dst uint32) {
	ip := frame[ethHdrLen:]
	sum := binary.BigEndian.Uint16(ip[10:12])
	sum = csumAdjust32(sum, p.src, src)
	sum = csumAdjust32(sum, p.dst, dst)
	binary.BigEndian.PutUint32(ip[12:16], src)
	binary.BigEndian.PutUint32(ip[16:20], dst)
	binary.BigEndian.PutUint16(ip[10:12], sum)
	p.src, p.dst = src, dst
}

// countHit adds a packet of n bytes to its virtual's and member's
// counters, in the hit's direction.
func countHit(hit *flowtable.Hit, n int) {
	bytes := uint64(n)
	if hit.Dir == flowtable.Forward {
		if hit.VS != nil {
			hit.VS.PktsIn.Add(1)
			hit.VS.BytesIn.Add(bytes)
		}
		if hit.MS != nil {
			hit.MS.PktsIn.Add(1)
			hit.MS.BytesIn.Add(bytes)
		}
		return
	}
	if hit.VS != nil {
		hit.VS.PktsOut.Add(1)
		hit.VS.BytesOut.Add(bytes)
	}
	if hit.MS != nil {
		hit.MS.PktsOut.Add(1)
		hit.MS.BytesOut.Add(bytes)
	}
}

// sweep forgets the datagrams older than fragTimeout, counting each as
// incomplete. The engine's sweeper calls it every second.
func (t *fragTable) sweep(now int64, drops *dropCounters) {
	t.mu.Lock()
	if t.n > 0 {
		drops[DropFragmentIncomplete].Add(uint64(t.sweepLocked(now)))
	}
	t.mu.Unlock()
}
