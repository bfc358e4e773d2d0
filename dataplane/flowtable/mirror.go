package flowtable

import (
	"errors"
	"fmt"

	"lbx/pools"
)

// Connection mirroring (package ha/mirror streams, this file keeps the
// books). A flow of a mirrored virtual (NewFlow.Mirror) carries
// mfMirrored. When it is made, changes TCP state or moves to another
// member, its entry index is put on its shard's queue, once: mfQueued
// says it is there, so a queue of one slot per entry never overflows and
// a flow that changes twice before the drain is sent once, as it is then.
// When it is removed its forward key goes on the shard's small ring of
// removals (overflow is counted; the peer's copy then ends by its own
// idle timeout, or is replaced when its keys are reused). All of it under
// the shard lock the packet already holds: no other lock, no allocation.
// Only packets that change a flow's state touch the queue; the idle
// deadline is carried by the periodic scan (ScanMirror).
//
// The peer installs what it receives with InstallMirror: the same keys
// (so the same SNAT port is reserved there), member, egress, TCP state
// and sequence numbers, and an idle deadline from the age sent.

const (
	mfMirrored uint8 = 1 << iota
	mfQueued
)

// removalRing is how many removals a shard keeps between drains.
const removalRing = 256

type mirrorShard struct {
	queue   []int32 // entry indices, FIFO; len(entries) slots
	qhead   int
	qn      int
	removed [removalRing]Key // forward keys
	rhead   int
	rn      int
	lost    uint64 // removals that found the ring full
}

// EnableMirror allocates the mirroring queues (4 bytes a flow). Flows
// made before it are not queued, but ScanMirror finds them.
func (ft *Table) EnableMirror() {
	for i := range ft.shards {
		s := &ft.shards[i]
		s.mu.Lock()
		if s.mir == nil {
			s.mir = &mirrorShard{queue: make([]int32, len(s.entries))}
		}
		s.mu.Unlock()
	}
}

// mirrorQueueLocked queues entry e for the peer if it is mirrored and not
// queued yet.
func (s *flowShard) mirrorQueueLocked(e int32) {
	f := &s.entries[e]
	if f.mflags&(mfMirrored|mfQueued) != mfMirrored || s.mir == nil {
		return
	}
	m := s.mir
	m.queue[(m.qhead+m.qn)%len(m.queue)] = e
	m.qn++
	f.mflags |= mfQueued
}

// mirrorRemovedLocked notes that f, about to be removed, is gone. A
// closed flow is not noted: the peer has its closed state and ends it by
// the same timeout, or replaces it when its keys are reused.
func (s *flowShard) mirrorRemovedLocked(f *flow) {
	if f.mflags&mfMirrored == 0 || s.mir == nil || f.closed() {
		return
	}
	m := s.mir
	if m.rn == removalRing {
		m.lost++
		return
	}
	m.removed[(m.rhead+m.rn)%removalRing] = f.keys[Forward]
	m.rn++
}

// closed reports whether a TCP flow is over (both FINs or a RST).
func (f *flow) closed() bool { return f.state == stateClosing || f.state == stateReset }

// MirrorFlow is a mirrored flow as the peer needs it.
type MirrorFlow struct {
	Fwd, Rev Key       // as the client sends, as the member answers (DSR: VIP → client, not indexed)
	Nxt      [2]uint32 // TCP: the sequence number each direction sends next
	Hop      uint32    // DSR: the member
	Egress   [2]int16  // port index by direction
	State    uint8     // flowState
	Fins     uint8
	Seqd     uint8
	DSR      bool
	Open     bool   // counted in CurConns
	Idle     int64  // nanoseconds since its last packet
	Virtual  string // the virtual server's name
}

// Member is the flow's member address and port (forwarding virtuals: the
// destination).
func (m *MirrorFlow) Member() (uint32, uint16) {
	if m.DSR {
		return m.Hop, m.Fwd.Dport
	}
	return m.Rev.Src, m.Rev.Sport
}

// MaxState is the largest valid MirrorFlow.State.
const MaxState = uint8(stateReset)

func (f *flow) mirrorRecord(now int64) MirrorFlow {
	return MirrorFlow{
		Fwd: f.keys[Forward], Rev: f.keys[Reverse], Nxt: f.nxt, Hop: f.hop, Egress: f.egress,
		State: uint8(f.state), Fins: f.fins, Seqd: f.seqd, DSR: f.oneWay, Open: f.open,
		Idle: max(0, now-f.lastSeen), Virtual: f.virtual(),
	}
}

// MirrorStats are the mirroring counters of the table.
type MirrorStats struct {
	Queued      int    // flows waiting for the next drain
	RemovalLost uint64 // removals not sent: the ring was full
}

// MirrorStats sums the shards' mirroring counters.
func (ft *Table) MirrorStats() MirrorStats {
	var st MirrorStats
	for i := range ft.shards {
		s := &ft.shards[i]
		s.mu.Lock()
		if s.mir != nil {
			st.Queued += s.mir.qn
			st.RemovalLost += s.mir.lost
		}
		s.mu.Unlock()
	}
	return st
}

// DrainMirror appends every queued flow that is still mirrored and every
// removal noted since the last drain, and empties the queues; one shard
// lock at a time. It allocates only when the slices grow.
func (ft *Table) DrainMirror(now int64, flows []MirrorFlow, removed []Key) ([]MirrorFlow, []Key) {
	for i := range ft.shards {
		s := &ft.shards[i]
		s.mu.Lock()
		if m := s.mir; m != nil && m.qn+m.rn > 0 {
			for ; m.rn > 0; m.rn-- {
				removed = append(removed, m.removed[m.rhead])
				m.rhead = (m.rhead + 1) % removalRing
			}
			for ; m.qn > 0; m.qn-- {
				e := m.queue[m.qhead]
				m.qhead = (m.qhead + 1) % len(m.queue)
				f := &s.entries[e]
				f.mflags &^= mfQueued
				if f.used && f.mflags&mfMirrored != 0 {
					flows = append(flows, f.mirrorRecord(now))
				}
			}
		}
		s.mu.Unlock()
	}
	return flows, removed
}

// ScanMirror appends every mirrored flow of shard i (0 to Shards-1) that
// has neither expired nor closed: for the peer's first copy and to
// refresh the idle deadlines of its copies. (A closed flow reached the
// peer through the queue when it closed, and needs no refresh.)
func (ft *Table) ScanMirror(i int, now int64, flows []MirrorFlow) []MirrorFlow {
	s := &ft.shards[i%flowShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	for e := range s.entries {
		if f := &s.entries[e]; f.used && f.mflags&mfMirrored != 0 && !f.closed() && !ft.expired(f, now) {
			flows = append(flows, f.mirrorRecord(now))
		}
	}
	return flows
}

// ErrBadMirrorFlow is the error of a flow record InstallMirror refuses.
var ErrBadMirrorFlow = errors.New("flowtable: bad mirrored flow")

// InstallMirror puts a flow received from the active peer in the table,
// mirrored (so this unit streams it on if it becomes active): with its
// keys, which reserves its SNAT port; the statistics the caller resolved
// from the virtual and member names (nil when there are none here); and
// its idle deadline. A flow holding either of its keys is replaced; an
// update of the same flow keeps its entry and its counts.
func (ft *Table) InstallMirror(m *MirrorFlow, vs *VirtualStats, ms *pools.MemberStats, ns *pools.NodeStats, now int64) (Refusal, error) {
	fwd, rev := m.Fwd, m.Rev
	if fwd.Proto != rev.Proto || fwd.Proto != protoTCP && fwd.Proto != protoUDP || m.State > MaxState ||
		(fwd.Proto == protoUDP) != (m.State == uint8(stateUDP)) ||
		!m.DSR && rev.Dport&(flowShards-1) != fwd.Sport&(flowShards-1) {
		return OK, fmt.Errorf("%w: %d→%d proto %d state %d", ErrBadMirrorFlow, fwd.Sport, rev.Dport, fwd.Proto, m.State)
	}
	s := &ft.shards[fwd.Sport&(flowShards-1)]
	hf := ft.hash(fwd)
	hr := ft.hash(rev)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, dir, ok := ft.lookupShardLocked(s, fwd, hf, now)
	if ok && (dir != Forward || s.entries[e].keys[Reverse] != rev || s.entries[e].oneWay != m.DSR) {
		ft.removeLocked(s, e)
		ok = false
	}
	if !m.DSR {
		if e2, _, taken := ft.lookupShardLocked(s, rev, hr, now); taken && (!ok || e2 != e) {
			ft.removeLocked(s, e2)
		}
	}
	if !ok {
		if s.free < 0 {
			ft.sweepShardLocked(s, now)
		}
		if s.free < 0 && s.nreapLocked() > 0 {
			ft.evictLocked(s, now)
		}
		if s.free < 0 {
			return Full, nil
		}
		e = s.free
		f := &s.entries[e]
		s.free = f.rnext
		*f = flow{used: true, rprev: -1, rnext: -1, mflags: f.mflags & mfQueued}
		s.addLocked(hf, uint32(e)<<1|Forward)
		if !m.DSR {
			s.addLocked(hr, uint32(e)<<1|Reverse)
		}
		s.n++
		ft.count.Add(1)
	}
	f := &s.entries[e]
	if f.vs != vs || f.ms != ms || f.ns != ns {
		f.setOpen(false)
		f.vs, f.ms, f.ns = vs, ms, ns
	}
	f.keys = [2]Key{fwd, rev}
	f.nxt, f.hop, f.egress = m.Nxt, m.Hop, m.Egress
	f.state, f.fins, f.seqd, f.oneWay = flowState(m.State), m.Fins, m.Seqd, m.DSR
	f.lastSeen = now - max(0, m.Idle)
	f.mflags |= mfMirrored
	f.setOpen(m.Open)
	s.relistLocked(e)
	return OK, nil
}

// RemoveMirror removes the flow whose forward key is fwd (the active
// peer removed it); it reports whether there was one.
func (ft *Table) RemoveMirror(fwd Key, now int64) bool {
	s := &ft.shards[fwd.Sport&(flowShards-1)]
	s.mu.Lock()
	defer s.mu.Unlock()
	e, dir, ok := ft.lookupShardLocked(s, fwd, ft.hash(fwd), now)
	if !ok || dir != Forward {
		return false
	}
	ft.removeLocked(s, e)
	return true
}
