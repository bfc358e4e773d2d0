package flowtable

import (
	"time"

	"lbx/pools"
)

// The flow walk of a member going down (the engine's service-down actions,
// see dataplane/servicedown.go): the engine says what to do per virtual,
// and for reselection which member a flow moves to; the table walks its
// shards one lock at a time and changes the flows.

// DownAction is what MemberDown does to one flow.
type DownAction uint8

// Down actions.
const (
	DownNone     DownAction = iota // leave the flow alone
	DownReset                      // RSTs to both sides (TCP, still open), then remove
	DownDrop                       // remove without a packet
	DownReselect                   // move to the member the Reselect callback picks; remove when it cannot
)

// Down says what MemberDown does.
type Down struct {
	// Action returns the action for a flow of the named virtual.
	Action func(virtual string) DownAction
	// Reselect picks a flow's new member side; false removes the flow. It
	// runs under the shard's lock and must not call into the table.
	Reselect func(m *Moving) (Moved, bool)
}

// Moving is the flow a Reselect callback moves.
type Moving struct {
	Fwd, Rev Key // the client's key; the member's (for DSR the unindexed VIP → client)
	DSR      bool
	Hop      uint32 // DSR: the member
	Virtual  string
	Now      int64 // table time
}

// Moved is a flow's new member side.
type Moved struct {
	Addr   uint32 // the member
	Port   uint16 // its port (DSR: ignored)
	Egress int    // the port towards it
	SNAT   uint32 // the new translation address; 0 keeps the flow's
	MS     *pools.MemberStats
	NS     *pools.NodeStats
}

// DownResult is what MemberDown did.
type DownResult struct {
	RSTs                       []RST // to send, for the reset flows
	Reset, Dropped, Reselected int
}

// RST is a RST to send: addresses as on the wire, out of Egress.
type RST struct {
	Src, Dst     uint32
	Sport, Dport uint16
	Seq, Ack     uint32
	Egress       int
	Hop          uint32 // next hop when not Dst (DSR: the member holding the VIP)
}

// MemberDown applies d to every flow whose member counters are ms.
func (ft *Table) MemberDown(ms *pools.MemberStats, d Down, now time.Time) DownResult {
	var r DownResult
	m := ft.Mono(now)
	for i := range ft.shards {
		s := &ft.shards[i]
		s.mu.Lock()
		for j := range s.entries {
			f := &s.entries[j]
			if !f.used || f.ms != ms {
				continue
			}
			switch d.Action(f.virtual()) {
			case DownReset:
				if f.keys[Forward].Proto == protoTCP && f.open {
					r.RSTs = append(r.RSTs, f.resets()...)
				}
				ft.removeLocked(s, int32(j))
				r.Reset++
			case DownDrop:
				ft.removeLocked(s, int32(j))
				r.Dropped++
			case DownReselect:
				if ft.reselectLocked(s, int32(j), d.Reselect, m) {
					r.Reselected++
				} else {
					ft.removeLocked(s, int32(j))
					r.Dropped++
				}
			}
		}
		s.mu.Unlock()
	}
	return r
}

// resets returns the RSTs that end a TCP flow on both sides: to the client
// as from the virtual, and to the member as from the client (or its SNAT
// address). Each carries the sequence number its receiver expects next.
func (f *flow) resets() []RST {
	fw, rv := &f.keys[Forward], &f.keys[Reverse]
	return []RST{
		{Src: fw.Dst, Sport: fw.Dport, Dst: fw.Src, Dport: fw.Sport,
			Seq: f.nxt[Reverse], Ack: f.nxt[Forward], Egress: int(f.egress[Reverse])},
		{Src: rv.Dst, Sport: rv.Dport, Dst: rv.Src, Dport: rv.Sport,
			Seq: f.nxt[Forward], Ack: f.nxt[Reverse], Egress: int(f.egress[Forward]), Hop: f.hop},
	}
}

// reselectLocked moves flow j of shard s to the member pick chooses: the
// member side of the flow (its reverse key, egress, counters) changes, the
// client side stays. It reports false when pick finds none, or the new
// member side is the old one or collides with another flow; the caller
// removes the flow then.
func (ft *Table) reselectLocked(s *flowShard, j int32, pick func(*Moving) (Moved, bool), now int64) bool {
	f := &s.entries[j]
	fw, old := f.keys[Forward], f.keys[Reverse]
	mv, ok := pick(&Moving{Fwd: fw, Rev: old, DSR: f.oneWay, Hop: f.hop, Virtual: f.virtual(), Now: now})
	if !ok {
		return false
	}
	if f.oneWay && mv.Addr == f.hop || !f.oneWay && mv.Addr == old.Src && mv.Port == old.Sport {
		return false
	}
	if f.oneWay {
		// DSR: the member is only the next hop; the unindexed reverse key
		// (VIP → client) stays.
		open := f.open
		f.setOpen(false)
		f.hop = mv.Addr
		f.egress[Forward] = int16(mv.Egress)
		f.ms, f.ns = mv.MS, mv.NS
		f.setOpen(open)
		f.countTotal()
		s.mirrorQueueLocked(j)
		return true
	}
	rev := old
	rev.Src, rev.Sport = mv.Addr, mv.Port
	if mv.SNAT != 0 {
		rev.Dst = mv.SNAT
	}
	hr := ft.hash(rev)
	if _, _, taken := ft.lookupShardLocked(s, rev, hr, now); taken {
		return false
	}
	if i := s.findLocked(old, ft.hash(old)); i >= 0 {
		s.deleteSlotLocked(uint32(i))
	}
	s.addLocked(hr, uint32(j)<<1|Reverse)
	open := f.open
	f.setOpen(false)
	f.keys[Reverse] = rev
	f.egress[Forward] = int16(mv.Egress)
	f.ms, f.ns = mv.MS, mv.NS
	f.seqd &^= 1 << Reverse
	f.setOpen(open)
	f.countTotal()
	s.mirrorQueueLocked(j)
	return true
}

// countTotal counts a new connection at the flow's member and node.
func (f *flow) countTotal() {
	if f.ms != nil {
		f.ms.TotalConns.Add(1)
	}
	if f.ns != nil {
		f.ns.TotalConns.Add(1)
	}
}
