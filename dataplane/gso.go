package dataplane

import (
	"encoding/binary"

	"lbx/dataplane/drop"

	"lbx/dataplane/flowtable"
)

// The whole-frame path of a TCPv4 GSO frame (GSOPort): a frame of an
// established, translated flow whose egress port takes GSO frames and
// whose next hop is known is looked up, translated (the partial checksum
// for the addresses only) and written once, no payload byte touched;
// anything else goes back to the port to be cut (CutGSO). The payload is
// not verified: nothing summed it yet, as in the kernel's forwarding of
// CHECKSUM_PARTIAL frames; a wrong partial sum stays wrong. Counters count
// wire segments. README (Ports, tap) and dataplane/tap's doc say more.

// gsoBatch translates and writes one GSO frame read whole on the worker's
// port, or reports false, having changed nothing, when it must be cut and
// take the ordinary path.
func (w *worker) gsoBatch(in *installed, g GSOFrame) bool {
	if in == nil || len(g.Buf) < GSOHeadroom {
		return false
	}
	w.begin(w.e.clock.Now())
	defer w.flush()
	buf, mss := g.Buf, g.SegSize
	frame := buf[GSOHeadroom:]
	if mss <= 0 || len(frame) < ethHdrLen || binary.BigEndian.Uint16(frame[12:14]) != etherTypeIPv4 {
		return false
	}
	p, r := parseIPv4(frame)
	if r != drop.None || p.proto != ProtoTCP || p.fragment || ethHdrLen+p.total != len(frame) || p.ttl <= 1 {
		return false
	}
	if [6]byte(frame[0:6]) != w.rx.mac || in.isLocal(p.src) || in.prog.HasDSR() && in.prog.IsVIP(addr4(p.src)) {
		return false
	}
	if parseL4(frame, &p) != drop.None || p.tcpFlags&^tcpPSH != tcpACK {
		return false
	}
	hlen := p.l4 + int(frame[p.l4+12]>>4)*4
	payload := len(frame) - hlen
	if payload <= 0 || hlen+mss > maxFrameLen {
		return false
	}
	k := flowtable.Key{Src: p.src, Dst: p.dst, Sport: p.sport, Dport: p.dport, Proto: p.proto}
	// Peek first: a frame that goes back to be cut must not have moved the
	// flow's state, since its segments will be looked up one by one.
	hit, ok := w.e.flows.Peek(k, w.now)
	if !ok || hit.DSR {
		return false
	}
	ep := w.e.ports[hit.Egress]
	gp, ok := ep.port.(GSOPort)
	nh := in.hitHop(&hit)
	mac, known := ep.neigh.Lookup4(nh)
	if !ok || !known || !gp.CanWriteGSO() {
		return false
	}
	// The flow may have changed between Peek and Lookup (removed, or
	// reselected by a service-down action); then the segments take the
	// ordinary path, where tracking an ACK twice changes nothing.
	if hit, ok = w.e.flows.Lookup(k, w.now, p.seg()); !ok || hit.DSR || hit.Egress != ep.idx || in.hitHop(&hit) != nh {
		return false
	}
	if src := [6]byte(frame[6:12]); unicastMAC(src) && in.connectedOn(p.src, w.rx.idx) {
		w.learn(p.src, src)
	}
	rewriteNATSum(frame, &p, hit.Src, hit.Dst, hit.Sport, hit.Dport, true)
	decTTL(frame, &p)
	setEthernet(frame, mac, ep.mac)
	nseg := uint64((payload + mss - 1) / mss)
	wire := uint64(p.total) + (nseg-1)*uint64(hlen-ethHdrLen)
	w.ctr.ports[w.rx.idx].rxPackets.Add(nseg)
	w.ctr.ports[w.rx.idx].gsoWhole.Add(1)
	w.countN(hit.VS, hit.MS, hit.Dir == flowtable.Forward, nseg, wire)
	if err := gp.WriteGSO(buf, mss); err != nil {
		w.ctr.drops[drop.TxError].Add(nseg)
		w.e.log.Debug("dataplane: write of a GSO frame failed", "port", ep.name, "segments", nseg, "err", err)
		return true
	}
	w.ctr.ports[ep.idx].txPackets.Add(nseg)
	return true
}
