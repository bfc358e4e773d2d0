package dataplane

import (
	"net"
	"sync/atomic"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"lbx/pools"
)

// Service-down actions. When a member's monitor marks it down, its Health
// watcher (set by the engine when it hands the Health out) queues the
// member; the engine's sweeper goroutine then walks the flow table for the
// member's flows and applies, per flow, the action of the flow's virtual
// (its pool's service-down-action):
//
//   - none: nothing; the connection carries on as long as the server
//     answers.
//   - reset: a RST to the client (from the virtual) and one to the member
//     (from the client's or SNAT address), each carrying the sequence number
//     its receiver expects next so it is accepted, then the flow is removed.
//     UDP flows are removed.
//   - drop: the flow is removed without a packet; the client's next packets
//     find no flow and are dropped, so it times out.
//   - reselect: the flow is moved to a member chosen by the pool's method,
//     keeping the client side as it is. Meant for UDP (and DSR): a TCP
//     connection moved mid-stream is reset by its new server. With no
//     member available the flow is removed as by drop.
//
// Only a transition to down acts: disabling a member, a recv-disable match
// or forcing it offline leave its connections alone, as on BIG-IP.

// downQueue is how many member-down events can wait for the sweeper.
const downQueue = 1024

// serviceDownCounters count the flows each action handled.
type serviceDownCounters struct {
	reset, drop, reselect atomic.Uint64
	lost                  atomic.Uint64 // events dropped on a full queue
}

// watchHealth makes h queue k for the sweeper when it goes down.
func (e *Engine) watchHealth(k memberKey, h *pools.Health) {
	h.Watch(func(_, to pools.HealthState) {
		if to != pools.HealthDown {
			return
		}
		select {
		case e.downs <- k:
		default:
			e.sdown.lost.Add(1)
			e.log.Warn("dataplane: service-down queue full, event lost", "pool", k.pool, "member", k.member)
		}
	})
}

// serviceDown applies the service-down action of every virtual using the
// member's pool to the member's flows. It runs in the sweeper goroutine
// (tests call it directly).
func (e *Engine) serviceDown(k memberKey) {
	in := e.cur.Load()
	if in == nil {
		return
	}
	ms := e.rt.memberStats(k)
	if ms == nil {
		return
	}
	type actingVirtual struct {
		action ServiceDownAction
		pool   *pools.Pool
	}
	acting := map[string]actingVirtual{}
	for i, v := range in.prog.Virtuals {
		if v.Pool != nil && v.Pool.Name == k.pool && v.ServiceDown != ServiceDownNone {
			acting[v.Name] = actingVirtual{v.ServiceDown, in.virts[i].pool}
		}
	}
	if len(acting) == 0 {
		return
	}
	var rsts []rstPacket
	var sel pools.Scratch
	var nReset, nDrop, nReselect int
	ft := e.flows
	now := ft.mono(e.clock.Now())
	for i := range ft.shards {
		s := &ft.shards[i]
		s.mu.Lock()
		for j := range s.entries {
			f := &s.entries[j]
			if !f.used || f.ms != ms {
				continue
			}
			v, ok := acting[f.virtual]
			if !ok {
				continue
			}
			switch v.action {
			case ServiceDownReset:
				if f.keys[dirForward].proto == ProtoTCP && f.open {
					rsts = append(rsts, f.resets()...)
				}
				ft.removeLocked(s, int32(j))
				nReset++
			case ServiceDownDrop:
				ft.removeLocked(s, int32(j))
				nDrop++
			case ServiceDownReselect:
				if ft.reselectLocked(in, s, int32(j), v.pool, &sel, now) {
					nReselect++
				} else {
					ft.removeLocked(s, int32(j))
					nDrop++
				}
			}
		}
		s.mu.Unlock()
	}
	for _, r := range rsts {
		e.sendRST(in, r)
	}
	e.sdown.reset.Add(uint64(nReset))
	e.sdown.drop.Add(uint64(nDrop))
	e.sdown.reselect.Add(uint64(nReselect))
	if nReset+nDrop+nReselect > 0 {
		e.log.Info("dataplane: service down", "pool", k.pool, "member", k.member,
			"reset", nReset, "dropped", nDrop, "reselected", nReselect)
	}
}

// rstPacket is a RST to send: addresses as on the wire, out of egress.
type rstPacket struct {
	src, dst     uint32
	sport, dport uint16
	seq, ack     uint32
	egress       int
	hop          uint32 // next hop when not dst (DSR: the member holding the VIP)
}

// resets returns the RSTs that end a TCP flow on both sides: to the client
// as from the virtual, and to the member as from the client (or its SNAT
// address). Each carries the sequence number its receiver expects next.
func (f *flow) resets() []rstPacket {
	fw, rv := &f.keys[dirForward], &f.keys[dirReverse]
	return []rstPacket{
		{src: fw.dst, sport: fw.dport, dst: fw.src, dport: fw.sport,
			seq: f.nxt[dirReverse], ack: f.nxt[dirForward], egress: int(f.egress[dirReverse])},
		{src: rv.dst, sport: rv.dport, dst: rv.src, dport: rv.sport,
			seq: f.nxt[dirForward], ack: f.nxt[dirReverse], egress: int(f.egress[dirForward]), hop: f.hop},
	}
}

// sendRST crafts r (gopacket; this is not the per-packet path) and sends it.
func (e *Engine) sendRST(in *installed, r rstPacket) {
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP,
		SrcIP: ipOf(r.src), DstIP: ipOf(r.dst)}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(r.sport), DstPort: layers.TCPPort(r.dport),
		Seq: r.seq, Ack: r.ack, RST: true, ACK: true}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		e.log.Error("dataplane: service-down reset", "err", err)
		return
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, tcp); err != nil {
		e.log.Error("dataplane: service-down reset", "err", err)
		return
	}
	hop := r.dst
	if r.hop != 0 {
		hop = r.hop
	}
	e.sendOriginated(in, r.egress, buf.Bytes(), hop)
}

func ipOf(a uint32) net.IP { return net.IPv4(byte(a>>24), byte(a>>16), byte(a>>8), byte(a)).To4() }

// reselectLocked moves flow j of shard s to another member of pool:
// the member side of the flow (its reverse key, egress, counters) changes,
// the client side stays. It reports false when no member is available or
// the new member side collides with another flow; the caller removes the
// flow then.
func (ft *FlowTable) reselectLocked(in *installed, s *flowShard, j int32, pool *pools.Pool, sel *pools.Scratch, now int64) bool {
	f := &s.entries[j]
	fw, old := f.keys[dirForward], f.keys[dirReverse]
	req := pools.Request{Client: addr4(fw.src), ClientPort: fw.sport, Now: now}
	m, ok := pool.Select(&req, sel)
	if !ok {
		return false
	}
	maddr := u32(m.Addr)
	mport := m.Port
	if mport == 0 || f.oneWay || in.keepPort(f.virtual) {
		mport = fw.dport
	}
	if maddr == old.src && mport == old.sport || f.oneWay && maddr == f.hop {
		return false
	}
	si, _ := in.route(maddr) // a member behind a gateway too
	if f.oneWay {
		si = in.connected(maddr) // DSR: only the MAC changes
	}
	if si < 0 {
		return false
	}
	if f.oneWay {
		// DSR: the member is only the next hop; the unindexed reverse key
		// (VIP → client) stays.
		open := f.open
		f.setOpen(false)
		f.hop = maddr
		f.egress[dirForward] = int16(in.selfs[si].port)
		f.ms, f.ns = m.Stats, m.NodeStats
		f.setOpen(open)
		if f.ms != nil {
			f.ms.TotalConns.Add(1)
		}
		if f.ns != nil {
			f.ns.TotalConns.Add(1)
		}
		return true
	}
	rev := old
	rev.src, rev.sport = maddr, mport
	if old.dst != fw.src && in.isSelf(old.dst) { // SNAT automap: translate to the new member's network's self IP; a SNAT pool address stays
		rev.dst = in.selfs[si].addr
	}
	hr := ft.hash(rev)
	if _, _, taken := ft.lookupShardLocked(s, rev, hr, now); taken {
		return false
	}
	if i := s.findLocked(old, ft.hash(old)); i >= 0 {
		s.deleteSlotLocked(uint32(i))
	}
	s.addLocked(hr, uint32(j)<<1|dirReverse)
	open := f.open
	f.setOpen(false)
	f.keys[dirReverse] = rev
	f.egress[dirForward] = int16(in.selfs[si].port)
	f.ms, f.ns = m.Stats, m.NodeStats
	f.seqd &^= 1 << dirReverse
	f.setOpen(open)
	if f.ms != nil {
		f.ms.TotalConns.Add(1)
	}
	if f.ns != nil {
		f.ns.TotalConns.Add(1)
	}
	return true
}

// keepPort reports whether the virtual named name has translate-port
// disabled (not the hot path: service-down reselection).
func (in *installed) keepPort(name string) bool {
	for _, v := range in.prog.Virtuals {
		if v.Name == name {
			return v.KeepPort
		}
	}
	return false
}
