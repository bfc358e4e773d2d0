package dataplane

import (
	"lbx/dataplane/drop"
	"lbx/dataplane/flowtable"
)

// Forwarding virtual servers (tmsh `ip-forward`): the appliance routes what
// they match instead of balancing it. A TCP or UDP packet opens a flow
// whose "member" is its own destination — no address or port is
// translated — so the reply is found in the flow table (and the flow's
// counters and timeouts apply) even where no forwarding virtual matches
// the reply's destination. Protocols without ports (ICMP, GRE, ESP…) are
// routed one packet at a time, statelessly: their replies need a
// forwarding virtual of their own (0.0.0.0 mask any covers both ways).
// Either way the egress and next hop come from the routing table
// (route.go) and the TTL is decremented.

// forwardFlow records the flow a forwarding virtual's first packet opens.
func (w *worker) forwardFlow(in *installed, rt *virtualRT, k flowtable.Key, seg flowtable.Seg, mirror bool) (flowtable.Hit, drop.Reason) {
	ds, _ := in.route(k.Dst)
	cs, _ := in.route(k.Src)
	if ds < 0 || cs < 0 {
		return flowtable.Hit{}, drop.NoRoute
	}
	nf := flowtable.NewFlow{
		Fwd:        k,
		Member:     k.Dst,
		MemberPort: k.Dport,
		Egress:     [2]int{in.selfs[ds].port, in.selfs[cs].port},
		VS:         rt.stats,
		Mirror:     mirror,
	}
	hit, why := w.e.flows.Insert(&nf, w.now, seg)
	return hit, refusalDrops[why]
}

// forwardPortless routes a packet of a protocol without ports through a
// forwarding virtual on any port that matches its destination and
// protocol. It reports false, leaving the packet to the rest of
// handleIPv4, when none does, when the destination is one of the
// appliance's addresses, and for ICMP errors (whose quoted flow decides
// where they go: the ICMP error path's business).
func (w *worker) forwardPortless(in *installed, frame []byte, p *ipv4Packet) (bool, drop.Reason) {
	if in.isLocal(p.dst) {
		return false, drop.None
	}
	if p.proto == protoICMP && !p.fragment && ethHdrLen+p.total > p.l4 && icmpError(frame[p.l4]) {
		return false, drop.None
	}
	vi := in.prog.LookupIndex(addr4(p.dst), 0, p.proto)
	if vi < 0 || !in.prog.Virtuals[vi].Forward {
		return false, drop.None
	}
	if !in.prog.Virtuals[vi].Enabled {
		return true, drop.VirtualDisabled
	}
	si, hop := in.route(p.dst)
	if si < 0 {
		return true, drop.NoRoute
	}
	if p.ttl <= 1 {
		return true, drop.TTLExceeded
	}
	decTTL(frame, p)
	w.count(in.virts[vi].stats, nil, true, uint64(p.total)) // statbatch.go
	return true, w.send(in, in.selfs[si].port, frame[:ethHdrLen+p.total], hop)
}

// icmpError reports whether an ICMP type is an error message (RFC 792,
// RFC 1122 §3.2.2): destination unreachable, source quench, redirect,
// time exceeded, parameter problem.
func icmpError(typ byte) bool {
	switch typ {
	case 3, 4, 5, 11, 12:
		return true
	}
	return false
}
