package flowtable

import (
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"lbx/pools"
)

// The flow table: fixed capacity, allocated once, no allocation per packet,
// no global lock.
//
// It is split into flowShards shards, each with its own mutex, an array of
// entries with a free list, and an open-addressing index (linear probing,
// backward-shift deletion, so no tombstones ever accumulate). Every flow is
// indexed under its two wire keys: forward (client → VIP, as the client
// sends it) and reverse (member → client or SNAT address, as the member
// answers). A key's shard is picked from a port: forward keys by source
// port, reverse keys by destination port. The client port is the forward
// source port and, without SNAT, the reverse destination port; SNAT keeps the
// allocated port ≡ client port (mod flowShards). So both keys of a flow live
// in one shard and a flow is created, updated and removed under one lock.
// A packet's direction is not known before lookup, so lookup tries
// shard(sport) and then shard(dport).
//
// The adaptive reaper. TCP flows that are not established sit on one of
// two per-shard lists in the order they got there: embryonic (SYN seen,
// handshake not complete) and closed (both FINs, or a RST: TIME_WAIT-like,
// kept for the closing timeout so late segments still translate). Together
// they may hold at most reapShare of the shard's entries. A new TCP flow
// that would exceed the share, or any new flow finding the shard full,
// takes the entry of the oldest closed flow (recycled: its connection is
// over), or when there is none of the oldest embryonic flow (evicted). So
// a run of short connections never fills the table with closed flows, a
// SYN flood (which never completes a handshake, or is reset by the
// client's kernel) can use only its share, established connections and
// UDP flows are never evicted for either, and a legitimate SYN always gets
// an entry. A closed flow's entry is also taken at once by a new SYN for
// its 5-tuple (the flow starts over, same member) and by a new flow whose
// member side is the closed flow's. Evictions and recycles are counted;
// the engine's sweeper logs when there were evictions (see Engine.Sweep).

// VirtualStats are a virtual server's live counters. The flow table keeps
// CurConns and TotalConns; the packet path the packet and byte counts.
type VirtualStats struct {
	Name       string        // the virtual server's; set when made, never changed
	PktsIn     atomic.Uint64 // client → virtual
	PktsOut    atomic.Uint64 // virtual → client
	BytesIn    atomic.Uint64
	BytesOut   atomic.Uint64
	CurConns   atomic.Int64
	TotalConns atomic.Uint64
}

// Refusal is why Insert made no flow; the engine counts each as a drop
// reason.
type Refusal uint8

// Refusals.
const (
	OK                 Refusal = iota // a flow was made (or found)
	Full                              // no free entry and nothing to reap
	SNATPortsExhausted                // no free SNAT port for the client port's residue
	Collision                         // the reply 5-tuple is already used by another flow
)

var refusalNames = [...]string{OK: "ok", Full: "full", SNATPortsExhausted: "snat-ports-exhausted", Collision: "collision"}

func (r Refusal) String() string {
	if int(r) < len(refusalNames) {
		return refusalNames[r]
	}
	return "refusal(" + strconv.Itoa(int(r)) + ")"
}

// AutomapPortLimit is where SNAT automap's source ports end: the ports
// above it belong to the appliance's own connections (the local stack). It
// is a multiple of the shard count.
const AutomapPortLimit uint16 = 61440

// Wire values the table reads.
const (
	protoTCP = 6
	protoUDP = 17

	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpACK = 0x10
)

// Sizing. A flow costs its entry (96 bytes) and four index slots (32
// bytes) when the per-shard capacity (capacity / Shards) is a power of
// two; otherwise the index rounds up to the next power of two and costs up
// to 64 bytes a flow.
const (
	BytesPerFlow    = 128 // at a capacity of Shards × a power of two (TestFlowSize)
	MaxBytesPerFlow = 160 // at any capacity

	// MinDefaultCapacity and MaxDefaultCapacity bound DefaultCapacity.
	MinDefaultCapacity = 1 << 16
	MaxDefaultCapacity = 1 << 24
)

// DefaultCapacity is the flow-table size for a machine with mem bytes of
// memory: the largest power of two whose table takes at most 1/64 of it,
// between MinDefaultCapacity (8 MiB of table) and MaxDefaultCapacity
// (2 GiB). 2 GiB of memory gives 262,144 flows, 8 GiB 1,048,576.
func DefaultCapacity(mem uint64) int {
	n := uint64(MinDefaultCapacity)
	for n < MaxDefaultCapacity && 2*n*BytesPerFlow <= mem/64 {
		n *= 2
	}
	return int(n)
}

// Shards is how many shards the table has; a flow's shard is picked from
// its client port modulo Shards.
const Shards = 64 // power of two

const (
	flowShards      = Shards
	snatPortMin     = 1024
	snatMaxAttempts = 64
	// reapShareNum/reapShareDen of a shard's entries may be embryonic or
	// closed TCP flows.
	reapShareNum = 1
	reapShareDen = 2
)

// Timeouts are the idle timeouts of flows by state. Zero fields take the
// defaults of DefaultTimeouts.
type Timeouts struct {
	TCPHalfOpen    time.Duration // SYN seen, handshake not complete (default 10s)
	TCPEstablished time.Duration // handshake complete (default 300s)
	TCPClosing     time.Duration // FIN from both sides, or RST (default 10s)
	UDP            time.Duration // default 60s
}

// DefaultTimeouts returns the appliance defaults.
func DefaultTimeouts() Timeouts {
	return Timeouts{
		TCPHalfOpen:    10 * time.Second,
		TCPEstablished: 300 * time.Second,
		TCPClosing:     10 * time.Second,
		UDP:            60 * time.Second,
	}
}

func (t Timeouts) withDefaults() Timeouts {
	d := DefaultTimeouts()
	if t.TCPHalfOpen <= 0 {
		t.TCPHalfOpen = d.TCPHalfOpen
	}
	if t.TCPEstablished <= 0 {
		t.TCPEstablished = d.TCPEstablished
	}
	if t.TCPClosing <= 0 {
		t.TCPClosing = d.TCPClosing
	}
	if t.UDP <= 0 {
		t.UDP = d.UDP
	}
	return t
}

// flowState is a flow's place in its (simplified) life.
type flowState uint8

const (
	stateUDP         flowState = iota
	stateSynSent               // client SYN seen
	stateSynRecv               // member SYN-ACK seen
	stateEstablished           // client ACK after SYN-ACK
	stateClosing               // FIN from both sides
	stateReset                 // RST from either side
)

// Key is a 5-tuple as seen on the wire, addresses in host order.
type Key struct {
	Src, Dst     uint32
	Sport, Dport uint16
	Proto        uint8
}

const (
	Forward = 0 // client → virtual
	Reverse = 1 // member → client
)

// flow is one entry. keys[dirForward] is the client's tuple, keys[dirReverse]
// the member's; a packet matching keys[d] is rewritten to the reverse of
// keys[1-d] and sent out of egress[d].
//
// It is 96 bytes (TestFlowSize); with the index's four slots a flow costs
// 128 bytes when the per-shard capacity is a power of two.
type flow struct {
	keys     [2]Key
	nxt      [2]uint32 // TCP: the sequence number direction d sends next
	hop      uint32    // DSR: the member, the forward half's next hop (keys[Reverse].Src is the VIP)
	rprev    int32     // reap list links, -1 at the ends; rnext is also the free list's link
	rnext    int32
	egress   [2]int16
	state    flowState
	fins     uint8 // bit d: FIN seen in direction d
	seqd     uint8 // bit d: nxt[d] is known
	list     uint8 // the reap list it is on: listNone, listEmbryonic, listClosed
	used     bool
	oneWay   bool          // DSR: only the forward key is indexed; the member answers the client directly
	open     bool          // counted in CurConns: not yet closed by FINs or RST
	mflags   uint8         // mirroring (mirror.go): mirrored, queued for the peer
	lastSeen int64         // table-relative nanoseconds
	vs       *VirtualStats // its Name is the flow's virtual server, for pruning on install
	ms       *pools.MemberStats
	ns       *pools.NodeStats
}

// virtual returns the name of the flow's virtual server.
func (f *flow) virtual() string {
	if f.vs == nil {
		return ""
	}
	return f.vs.Name
}

// The reap lists a TCP flow that is not established is on.
const (
	listNone      uint8 = iota
	listEmbryonic       // SYN seen, handshake not complete
	listClosed          // both FINs or a RST seen
)

// reapList is a doubly linked list of entries through rprev and rnext,
// oldest first.
type reapList struct {
	head, tail int32 // -1 when empty
	n          int
}

// Seg is what flow tracking reads from a TCP segment; zero for UDP.
type Seg struct {
	Flags    uint8
	Seq, Ack uint32
	N        uint32 // sequence space used: payload, SYN and FIN
}

// Hit is what a packet needs from its flow, copied out under the lock.
type Hit struct {
	Dir          uint8
	DSR          bool // no address or port rewrite: only the MAC, towards hop
	Src, Dst     uint32
	Sport, Dport uint16
	Hop          uint32 // DSR: the next hop, the member (dst stays the VIP)
	Egress       int
	VS           *VirtualStats
	MS           *pools.MemberStats
}

type indexSlot struct {
	hash uint32
	ref  uint32 // 0: empty; else entry<<1 | dir, plus 1
}

type flowShard struct {
	mu      sync.Mutex
	mask    uint32
	index   []indexSlot
	entries []flow
	free    int32
	n       int
	reap    [2]reapList  // by list-1: embryonic, closed
	mir     *mirrorShard // nil until EnableMirror (mirror.go)
	_       [64]byte     // keep neighbouring shards' locks off one cache line
}

// Table holds the appliance's L4 connections. The hot-path methods are
// unexported; the engine owns one and sweeps it every second.
type Table struct {
	shards   [flowShards]flowShard
	timeouts Timeouts
	epoch    time.Time
	seed     uint64
	perShard int
	reapCap  int // per shard; 0 turns the reaper off (tests of the index)
	count    atomic.Int64
	evicted  atomic.Uint64 // embryonic flows the reaper evicted before their timeout
	recycled atomic.Uint64 // closed flows whose entry was taken before their timeout
}

// New allocates a table for capacity flows (spread evenly over the
// shards, so a shard may fill before the whole table does). Times passed to
// it are measured from epoch.
func New(capacity int, t Timeouts, epoch time.Time) *Table {
	if capacity < 1 {
		capacity = 1
	}
	per := (capacity + flowShards - 1) / flowShards
	size := 8
	for size < per*4 { // two keys per flow, load factor <= 1/2
		size <<= 1
	}
	ft := &Table{timeouts: t.withDefaults(), epoch: epoch, seed: rand.Uint64() | 1, perShard: per,
		reapCap: max(1, per*reapShareNum/reapShareDen)}
	for i := range ft.shards {
		s := &ft.shards[i]
		s.mask = uint32(size - 1)
		s.index = make([]indexSlot, size)
		s.entries = make([]flow, per)
		for j := range s.entries {
			s.entries[j].rnext = int32(j + 1)
		}
		s.entries[per-1].rnext = -1
		s.free = 0
		s.reap = [2]reapList{{head: -1, tail: -1}, {head: -1, tail: -1}}
	}
	return ft
}

// Evicted returns how many embryonic flows the reaper has evicted, before
// their timeout, to make room.
func (ft *Table) Evicted() uint64 { return ft.evicted.Load() }

// Recycled returns how many closed flows (both FINs or a RST seen) had
// their entry taken for a new flow before their closing timeout.
func (ft *Table) Recycled() uint64 { return ft.recycled.Load() }

// nreapLocked is how many flows of s are on a reap list.
func (s *flowShard) nreapLocked() int { return s.reap[0].n + s.reap[1].n }

// Embryonic returns how many TCP flows are not established (handshake not
// complete, or closed): those the reaper may evict.
func (ft *Table) Embryonic() int {
	n := 0
	for i := range ft.shards {
		s := &ft.shards[i]
		s.mu.Lock()
		n += s.nreapLocked()
		s.mu.Unlock()
	}
	return n
}

// EmbryonicLimit returns how many flows the reaper lets be embryonic or
// closed, over all shards.
func (ft *Table) EmbryonicLimit() int { return ft.reapCap * flowShards }

// reapable reports whether the reaper may evict f: a TCP flow whose
// handshake is not complete or whose connection is over.
func (f *flow) reapable() bool {
	return f.keys[Forward].Proto == protoTCP && f.state != stateEstablished
}

// wantList is the reap list f belongs on.
func (f *flow) wantList() uint8 {
	switch {
	case !f.reapable():
		return listNone
	case f.state == stateClosing || f.state == stateReset:
		return listClosed
	default:
		return listEmbryonic
	}
}

// linkLocked appends entry e to reap list l.
func (s *flowShard) linkLocked(e int32, l uint8) {
	f := &s.entries[e]
	rl := &s.reap[l-1]
	f.rprev, f.rnext = rl.tail, -1
	if rl.tail >= 0 {
		s.entries[rl.tail].rnext = e
	} else {
		rl.head = e
	}
	rl.tail = e
	f.list = l
	rl.n++
}

// unlinkLocked takes entry e off its reap list if it is on one.
func (s *flowShard) unlinkLocked(e int32) {
	f := &s.entries[e]
	if f.list == listNone {
		return
	}
	rl := &s.reap[f.list-1]
	if f.rprev >= 0 {
		s.entries[f.rprev].rnext = f.rnext
	} else {
		rl.head = f.rnext
	}
	if f.rnext >= 0 {
		s.entries[f.rnext].rprev = f.rprev
	} else {
		rl.tail = f.rprev
	}
	f.list, f.rprev, f.rnext = listNone, -1, -1
	rl.n--
}

// relistLocked keeps entry e on the reap list its state asks for after a
// packet changed the state: off the lists once established, on the closed
// list when closed, and at the back of the embryonic list when a closed
// flow's 5-tuple is reused for a new handshake.
func (s *flowShard) relistLocked(e int32) {
	f := &s.entries[e]
	if l := f.wantList(); l != f.list {
		s.unlinkLocked(e)
		if l != listNone {
			s.linkLocked(e, l)
		}
	}
}

// evictLocked makes room for a new flow: it removes the oldest closed flow,
// or when there is none the oldest embryonic one. Some reap list must not
// be empty.
func (ft *Table) evictLocked(s *flowShard, now int64) {
	if e := s.reap[listClosed-1].head; e >= 0 {
		if !ft.expired(&s.entries[e], now) {
			ft.recycled.Add(1)
		}
		ft.removeLocked(s, e)
		return
	}
	e := s.reap[listEmbryonic-1].head
	if !ft.expired(&s.entries[e], now) {
		ft.evicted.Add(1)
	}
	ft.removeLocked(s, e)
}

// Len returns the number of flows in the table, expired ones not yet
// removed included.
func (ft *Table) Len() int { return int(ft.count.Load()) }

// Capacity returns how many flows the table can hold.
func (ft *Table) Capacity() int { return ft.perShard * flowShards }

// Timeouts returns the table's effective timeouts.
func (ft *Table) Timeouts() Timeouts { return ft.timeouts }

func (ft *Table) Mono(now time.Time) int64 { return int64(now.Sub(ft.epoch)) }

func (ft *Table) hash(k Key) uint32 {
	x := (uint64(k.Src)<<32 | uint64(k.Dst)) ^ ft.seed
	x ^= (uint64(k.Sport)<<24 | uint64(k.Dport)<<8 | uint64(k.Proto)) * 0x9e3779b97f4a7c15
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return uint32(x)
}

func (ft *Table) timeout(f *flow) int64 {
	switch f.state {
	case stateUDP:
		return int64(ft.timeouts.UDP)
	case stateSynSent, stateSynRecv:
		return int64(ft.timeouts.TCPHalfOpen)
	case stateEstablished:
		return int64(ft.timeouts.TCPEstablished)
	default:
		return int64(ft.timeouts.TCPClosing)
	}
}

func (ft *Table) expired(f *flow, now int64) bool {
	return now-f.lastSeen > ft.timeout(f)
}

// findLocked returns the index slot holding k, or -1.
func (s *flowShard) findLocked(k Key, h uint32) int {
	for i := h & s.mask; ; i = (i + 1) & s.mask {
		sl := s.index[i]
		if sl.ref == 0 {
			return -1
		}
		if sl.hash == h {
			ref := sl.ref - 1
			if s.entries[ref>>1].keys[ref&1] == k {
				return int(i)
			}
		}
	}
}

func (s *flowShard) addLocked(h uint32, ref uint32) {
	i := h & s.mask
	for s.index[i].ref != 0 {
		i = (i + 1) & s.mask
	}
	s.index[i] = indexSlot{hash: h, ref: ref + 1}
}

// deleteSlotLocked empties slot i and shifts later members of its probe run
// back, so lookups never need tombstones.
func (s *flowShard) deleteSlotLocked(i uint32) {
	for j := (i + 1) & s.mask; s.index[j].ref != 0; j = (j + 1) & s.mask {
		home := s.index[j].hash & s.mask
		// The entry at j may move to i unless its home lies cyclically in (i, j].
		var stays bool
		if i <= j {
			stays = i < home && home <= j
		} else {
			stays = home > i || home <= j
		}
		if !stays {
			s.index[i] = s.index[j]
			i = j
		}
	}
	s.index[i] = indexSlot{}
}

func (ft *Table) removeLocked(s *flowShard, e int32) {
	f := &s.entries[e]
	for d := range f.keys {
		if d == Reverse && f.oneWay {
			break // never indexed: another flow may hold an equal key
		}
		if i := s.findLocked(f.keys[d], ft.hash(f.keys[d])); i >= 0 {
			s.deleteSlotLocked(uint32(i))
		}
	}
	s.unlinkLocked(e)
	f.setOpen(false)
	s.mirrorRemovedLocked(f)
	*f = flow{rnext: s.free, mflags: f.mflags & mfQueued}
	s.free = e
	s.n--
	ft.count.Add(-1)
}

// lookupShard finds k in shard s, removing it when expired.
func (ft *Table) lookupShardLocked(s *flowShard, k Key, h uint32, now int64) (e int32, dir uint8, ok bool) {
	i := s.findLocked(k, h)
	if i < 0 {
		return 0, 0, false
	}
	ref := s.index[i].ref - 1
	e = int32(ref >> 1)
	if ft.expired(&s.entries[e], now) {
		ft.removeLocked(s, e)
		return 0, 0, false
	}
	return e, uint8(ref & 1), true
}

// Lookup finds the flow a packet belongs to, in either direction, refreshes
// its idle timer and tracks TCP state from the packet's flags.
func (ft *Table) Lookup(k Key, now int64, seg Seg) (Hit, bool) {
	h := ft.hash(k)
	s1 := k.Sport & (flowShards - 1)
	if hit, ok := ft.lookupIn(&ft.shards[s1], k, h, now, seg); ok {
		return hit, true
	}
	if s2 := k.Dport & (flowShards - 1); s2 != s1 {
		return ft.lookupIn(&ft.shards[s2], k, h, now, seg)
	}
	return Hit{}, false
}

func (ft *Table) lookupIn(s *flowShard, k Key, h uint32, now int64, seg Seg) (Hit, bool) {
	s.mu.Lock()
	e, dir, ok := ft.lookupShardLocked(s, k, h, now)
	if !ok {
		s.mu.Unlock()
		return Hit{}, false
	}
	f := &s.entries[e]
	prev := f.lastSeen
	f.lastSeen = now
	if k.Proto == protoTCP {
		was := f.state
		if f.track(dir, seg) {
			f.observeRTT(now - prev)
		}
		if f.state != was {
			s.relistLocked(e)
			s.mirrorQueueLocked(e)
		}
	}
	hit := f.hitLocked(dir)
	s.mu.Unlock()
	return hit, true
}

// observeRTT records the member's handshake time, the client's (last) SYN
// to the member's SYN-ACK, for the fastest-* methods.
func (f *flow) observeRTT(rtt int64) {
	if rtt <= 0 {
		return
	}
	if f.ms != nil {
		f.ms.ObserveRTT(rtt)
	}
	if f.ns != nil {
		f.ns.ObserveRTT(rtt)
	}
}

func (f *flow) hitLocked(dir uint8) Hit {
	o := &f.keys[1-dir]
	return Hit{
		Dir: dir,
		DSR: f.oneWay,
		Src: o.Dst, Sport: o.Dport,
		Dst: o.Src, Dport: o.Sport,
		Hop:    f.hop,
		Egress: int(f.egress[dir]),
		VS:     f.vs,
		MS:     f.ms,
	}
}

// track moves a TCP flow through its states and keeps the sequence number
// each side sends next (what a RST must carry to be accepted). It is
// deliberately loose: an appliance in the middle sees both directions but
// must not be stricter than the end hosts. It reports whether the segment
// was the member's SYN-ACK answering the client's SYN.
func (f *flow) track(dir uint8, seg Seg) (synAck bool) {
	flags := seg.Flags
	if end := seg.Seq + seg.N; f.seqd&(1<<dir) == 0 || int32(end-f.nxt[dir]) > 0 {
		f.nxt[dir] = end
		f.seqd |= 1 << dir
	}
	if f.oneWay && flags&tcpACK != 0 {
		// DSR: the client's acknowledgement is what the member sends next
		// (a service-down RST to the client must carry it).
		f.nxt[Reverse] = seg.Ack
		f.seqd |= 1 << Reverse
	}
	if flags&tcpRST != 0 {
		f.state = stateReset
		f.setOpen(false)
		return false
	}
	switch f.state {
	case stateSynSent:
		if dir == Reverse && flags&(tcpSYN|tcpACK) == tcpSYN|tcpACK {
			f.state = stateSynRecv
			synAck = true
		}
		if f.oneWay && flags&(tcpSYN|tcpACK) == tcpACK {
			// DSR: the member's SYN-ACK went to the client directly; the
			// client's ACK is all the appliance sees of the handshake.
			f.state = stateEstablished
		}
	case stateSynRecv:
		if dir == Forward && flags&(tcpSYN|tcpACK) == tcpACK {
			f.state = stateEstablished
		}
	case stateClosing, stateReset:
		if dir == Forward && flags&(tcpSYN|tcpACK) == tcpSYN {
			// The client reuses its port for a new connection; it goes to
			// the same member.
			f.state, f.fins = stateSynSent, 0
			f.seqd = 1 << dir
			f.nxt[dir] = seg.Seq + seg.N
			f.setOpen(true)
			return false
		}
	}
	if flags&tcpFIN != 0 {
		f.fins |= 1 << dir
		if f.oneWay {
			f.fins = 3 // DSR: the member's FIN never passes here
		}
		if f.fins == 3 && f.state != stateReset {
			f.state = stateClosing
			f.setOpen(false)
		}
	}
	return synAck
}

// setOpen keeps the current-connection counters true to what is open: a
// connection stops counting once both FINs or a RST are seen, as on a
// BIG-IP, not when its entry finally expires.
func (f *flow) setOpen(open bool) {
	if f.open == open {
		return
	}
	f.open = open
	d := int64(-1)
	if open {
		d = 1
	}
	if f.vs != nil {
		f.vs.CurConns.Add(d)
	}
	if f.ms != nil {
		f.ms.CurConns.Add(d)
	}
	if f.ns != nil {
		f.ns.CurConns.Add(d)
	}
}

// NewFlow describes a flow to create.
type NewFlow struct {
	Fwd        Key // as the client sent it
	Member     uint32
	MemberPort uint16
	SNAT       uint32   // SNAT address (automap); 0 keeps the client address
	SNATs      []uint32 // SNAT pool addresses; when set, used instead of snat
	DSR        bool     // direct server return: index the forward key only
	Egress     [2]int   // egress port by direction
	VS         *VirtualStats
	MS         *pools.MemberStats
	NS         *pools.NodeStats // VS.Name is the flow's virtual server
	Mirror     bool             // the virtual is mirrored: the flow is queued for the HA peer (mirror.go)
}

// Insert creates a flow and returns the forward hit for the packet that
// created it. When the forward key already exists (a retransmitted SYN that
// raced its first copy) the existing flow answers.
func (ft *Table) Insert(nf *NewFlow, now int64, seg Seg) (Hit, Refusal) {
	fwd := nf.Fwd
	s := &ft.shards[fwd.Sport&(flowShards-1)]
	hf := ft.hash(fwd)
	s.mu.Lock()
	defer s.mu.Unlock()

	if e, dir, ok := ft.lookupShardLocked(s, fwd, hf, now); ok {
		f := &s.entries[e]
		prev := f.lastSeen
		f.lastSeen = now
		if fwd.Proto == protoTCP {
			was := f.state
			if f.track(dir, seg) {
				f.observeRTT(now - prev)
			}
			if f.state != was {
				s.relistLocked(e)
				s.mirrorQueueLocked(e)
			}
		}
		return f.hitLocked(dir), OK
	}
	// A new TCP flow beyond the reap share takes the place of the oldest
	// embryonic or closed one (below, once its keys are settled); so does
	// any new flow in a full shard. A full shard is swept only when
	// eviction cannot make room: under a SYN flood every new flow is past
	// the share, and each costs O(1).
	pastShare := ft.reapCap > 0 && fwd.Proto == protoTCP && s.nreapLocked() >= ft.reapCap
	if s.free < 0 && !pastShare {
		ft.sweepShardLocked(s, now)
		if s.free < 0 && (ft.reapCap == 0 || s.nreapLocked() == 0) {
			return Hit{}, Full
		}
	}

	rev := Key{Src: nf.Member, Sport: nf.MemberPort, Dst: fwd.Src, Dport: fwd.Sport, Proto: fwd.Proto}
	var hr uint32
	switch {
	case nf.DSR:
		// The member answers from the VIP; that half never passes the
		// appliance, so it is not indexed.
		rev = Key{Src: fwd.Dst, Sport: fwd.Dport, Dst: fwd.Src, Dport: fwd.Sport, Proto: fwd.Proto}
	case nf.SNATs != nil:
		n := len(nf.SNATs)
		start := PoolAddrIndex(fwd.Src, n)
		found := false
		for i := range n {
			rev.Dst = nf.SNATs[(start+i)%n]
			if hr, found = ft.snatPortLocked(s, &rev, fwd.Src, fwd.Sport, 1<<16, now); found {
				break
			}
		}
		if !found {
			return Hit{}, SNATPortsExhausted
		}
	case nf.SNAT != 0:
		rev.Dst = nf.SNAT
		var found bool
		if hr, found = ft.snatPortLocked(s, &rev, fwd.Src, fwd.Sport, int(AutomapPortLimit), now); !found {
			return Hit{}, SNATPortsExhausted
		}
	default:
		hr = ft.hash(rev)
		if e, _, ok := ft.lookupShardLocked(s, rev, hr, now); ok {
			// The member side is another flow's. A closed one (both
			// FINs or a RST seen) is over: its entry is taken at once,
			// as a host reuses a port in TIME_WAIT for a new SYN.
			if st := s.entries[e].state; st != stateClosing && st != stateReset {
				return Hit{}, Collision
			}
			ft.recycled.Add(1)
			ft.removeLocked(s, e)
		}
	}

	// Looking up the reverse key may have removed expired flows, so
	// whether to evict is decided again.
	if s.free < 0 || ft.reapCap > 0 && fwd.Proto == protoTCP && s.nreapLocked() >= ft.reapCap {
		ft.evictLocked(s, now)
	}
	e := s.free
	f := &s.entries[e]
	s.free = f.rnext
	*f = flow{
		keys:     [2]Key{fwd, rev},
		egress:   [2]int16{int16(nf.Egress[0]), int16(nf.Egress[1])},
		used:     true,
		oneWay:   nf.DSR,
		rprev:    -1,
		rnext:    -1,
		lastSeen: now,
		vs:       nf.VS,
		ms:       nf.MS,
		ns:       nf.NS,
		mflags:   f.mflags & mfQueued,
	}
	if fwd.Proto == protoTCP {
		f.state = stateSynSent
		f.nxt[Forward] = seg.Seq + seg.N
		f.seqd = 1 << Forward
		s.linkLocked(e, listEmbryonic)
	}
	if nf.DSR {
		f.hop = nf.Member
	}
	s.addLocked(hf, uint32(e)<<1|Forward)
	if !nf.DSR {
		s.addLocked(hr, uint32(e)<<1|Reverse)
	}
	s.n++
	ft.count.Add(1)
	f.setOpen(true)
	if nf.Mirror {
		f.mflags |= mfMirrored
		s.mirrorQueueLocked(e)
	}
	if f.vs != nil {
		f.vs.TotalConns.Add(1)
	}
	if f.ms != nil {
		f.ms.TotalConns.Add(1)
	}
	if f.ns != nil {
		f.ns.TotalConns.Add(1)
	}
	return f.hitLocked(Forward), OK
}

func (ft *Table) sweepShardLocked(s *flowShard, now int64) int {
	removed := 0
	for e := range s.entries {
		if f := &s.entries[e]; f.used && ft.expired(f, now) {
			ft.removeLocked(s, int32(e))
			removed++
		}
	}
	return removed
}

// Sweep removes the flows idle longer than their state's timeout and returns
// how many it removed. The engine calls it every second; it takes one shard
// lock at a time.
func (ft *Table) Sweep(now time.Time) int {
	m := ft.Mono(now)
	removed := 0
	for i := range ft.shards {
		s := &ft.shards[i]
		s.mu.Lock()
		if s.n > 0 {
			removed += ft.sweepShardLocked(s, m)
		}
		s.mu.Unlock()
	}
	return removed
}

// RemoveIf removes the flows whose virtual server name drop reports true.
func (ft *Table) RemoveIf(drop func(virtual string) bool) int {
	removed := 0
	for i := range ft.shards {
		s := &ft.shards[i]
		s.mu.Lock()
		for e := range s.entries {
			if f := &s.entries[e]; f.used && drop(f.virtual()) {
				ft.removeLocked(s, int32(e))
				removed++
			}
		}
		s.mu.Unlock()
	}
	return removed
}

// snatPortLocked finds a source port for rev (its dst the translation
// address) in shard s, sets rev.dport to it and returns rev's hash. Ports
// are per (translation address, member address and port, protocol): the
// reverse key holds all of them. The port is ≡ client (mod flowShards), so
// the reverse key lives in the forward key's shard, and in [snatPortMin,
// limit). The client's own port is tried first, then snatMaxAttempts ports
// of the residue from a point hashed from the flow, so that clients with
// equal ports do not probe one crowded run. A port held by a closed flow
// (both FINs or a RST seen) is taken over when no free one turns up: a
// flow's port is released when the flow ends, not when its entry expires.
func (ft *Table) snatPortLocked(s *flowShard, rev *Key, caddr uint32, client uint16, limit int, now int64) (uint32, bool) {
	res := int(client) & (flowShards - 1)
	slots := (limit - snatPortMin) / flowShards
	own := int(client) >= snatPortMin && int(client) < limit
	hashed := int(snatProbeStart(caddr, client, rev) % uint32(slots))
	victim, victimPort := int32(-1), 0
	for i := range snatMaxAttempts + 1 {
		slot := (hashed + i - 1) % slots
		if i == 0 {
			if !own {
				continue
			}
			slot = (int(client) - snatPortMin) / flowShards
		}
		port := snatPortMin + slot*flowShards + res
		rev.Dport = uint16(port)
		h := ft.hash(*rev)
		e, _, taken := ft.lookupShardLocked(s, *rev, h, now)
		if !taken {
			return h, true
		}
		if st := s.entries[e].state; victim < 0 && (st == stateClosing || st == stateReset) {
			victim, victimPort = e, port
		}
	}
	if victim < 0 {
		return 0, false
	}
	ft.removeLocked(s, victim)
	rev.Dport = uint16(victimPort)
	return ft.hash(*rev), true
}

// snatProbeStart is where the search for a SNAT port starts when the
// client's own port is taken, as a number to reduce modulo the slots.
func snatProbeStart(caddr uint32, cport uint16, rev *Key) uint32 {
	return Mix32(Mix32(caddr^rev.Dst) ^ rev.Src ^ (uint32(cport)<<16 | uint32(rev.Sport)))
}

// PoolAddrIndex is the index of the SNAT pool address (of n) a client's
// flows try first: the same for all of a client's flows.
func PoolAddrIndex(client uint32, n int) int { return int(Mix32(client) % uint32(n)) }

// Mix32 scrambles a 32-bit value (a finalizer of murmur3).
func Mix32(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x85ebca6b
	x ^= x >> 13
	x *= 0xc2b2ae35
	x ^= x >> 16
	return x
}
