package dataplane

import (
	"encoding/binary"
	"net"
	"time"

	"lbx/dataplane/program"

	"lbx/dataplane/drop"
	"lbx/dataplane/neighbor"

	"lbx/dataplane/flowtable"
	"lbx/pools"
)

// worker is the per-goroutine state of one port's receive loop: the frames
// to send at the end of the batch, grouped by egress port, and scratch
// buffers for frames the appliance originates (ARP requests). All of it is
// allocated once.
type worker struct {
	e        *Engine
	rx       *portState
	out      [][][]byte // by egress port index
	scratch  [][]byte
	nscratch int
	now      int64 // flow-table time of the current batch
	sel      pools.Scratch
	persist  pools.Persist       // a virtual's hash persistence with this connection's key
	arpLimit neighbor.ARPLimiter // per-source budget of ARP replies on this port
	ctr      *counterShard       // this worker's counters (counters.go)
	stats    statBatch           // virtual and member statistics until flush (statbatch.go)
	// The HA gate for this batch (ha.go): traffic-group-1 is standby here;
	// the VIPs are in it.
	standby, floatVIPs bool
}

func (e *Engine) newWorker(rx int) *worker {
	return e.newWorkerCounting(rx, e.newShard())
}

// newWorkerCounting makes a worker that counts into ctr.
func (e *Engine) newWorkerCounting(rx int, ctr *counterShard) *worker {
	w := &worker{e: e, rx: e.ports[rx], out: make([][][]byte, len(e.ports)), ctr: ctr}
	w.arpLimit.Init()
	for i := range w.out {
		w.out[i] = make([][]byte, 0, 2*batchSize)
	}
	mem := make([]byte, batchSize*64)
	w.scratch = make([][]byte, batchSize)
	for i := range w.scratch {
		w.scratch[i] = mem[i*64 : (i+1)*64 : (i+1)*64]
	}
	return w
}

// batch handles one ReadBatch worth of frames with one program snapshot.
func (w *worker) batch(in *installed, bufs [][]byte, sizes []int, n int) {
	w.ctr.ports[w.rx.idx].rxPackets.Add(uint64(n))
	w.begin(w.e.clock.Now())
	for j := range n {
		sz := sizes[j]
		switch {
		case sz < 0 || sz > len(bufs[j]):
			w.ctr.drops[drop.Malformed].Add(1)
		case in == nil:
			w.ctr.drops[drop.NoProgram].Add(1)
		default:
			w.process(in, bufs[j][:sz])
		}
	}
	w.flush()
}

func (w *worker) begin(now time.Time) {
	w.now = w.e.flows.Mono(now)
	w.standby, w.floatVIPs = w.e.standby.Load(), w.e.floatVIPs.Load()
}

// emit queues a frame for an egress port. The frame must stay valid until
// the next flush (receive buffers do: they are reused only after it).
func (w *worker) emit(port int, frame []byte) {
	if len(w.out[port]) == cap(w.out[port]) {
		w.flushPort(port)
	}
	w.out[port] = append(w.out[port], frame)
}

func (w *worker) scratchBuf() []byte {
	if w.nscratch == len(w.scratch) {
		w.flush()
	}
	b := w.scratch[w.nscratch]
	w.nscratch++
	return b
}

func (w *worker) flush() {
	w.flushStats()
	for i := range w.out {
		if len(w.out[i]) > 0 {
			w.flushPort(i)
		}
	}
	w.nscratch = 0
}

func (w *worker) flushPort(i int) {
	frames := w.out[i]
	p := w.e.ports[i]
	n, err := p.port.WriteBatch(frames)
	n = max(0, min(n, len(frames)))
	w.ctr.ports[i].txPackets.Add(uint64(n))
	if lost := len(frames) - n; lost > 0 {
		w.ctr.drops[drop.TxError].Add(uint64(lost))
		w.e.log.Debug("dataplane: write failed", "port", p.name, "lost", lost, "err", err)
	}
	clear(frames)
	w.out[i] = frames[:0]
}

// process handles one received frame; it never panics on any input and
// counts every frame it does not forward or answer.
func (w *worker) process(in *installed, frame []byte) {
	if r := w.handle(in, frame); r != drop.None {
		w.ctr.drops[r].Add(1)
	}
}

func (w *worker) handle(in *installed, frame []byte) drop.Reason {
	if len(frame) > maxFrameLen {
		return drop.Oversize
	}
	if len(frame) < ethHdrLen {
		return drop.Malformed
	}
	switch binary.BigEndian.Uint16(frame[12:14]) {
	case etherTypeARP:
		if !w.forMe(frame, true) {
			return drop.NotForUs
		}
		return w.handleARP(in, frame)
	case etherTypeIPv4:
		if !w.forMe(frame, false) {
			if [6]byte(frame[0:6]) == vrrpGroupMAC && isVRRP(frame) && w.toVRRP(frame) {
				return drop.None
			}
			return drop.NotForUs
		}
		return w.handleIPv4(in, frame)
	default:
		return drop.UnsupportedEthertype
	}
}

// forMe checks the destination MAC: the port's own, or broadcast where
// allowed.
func (w *worker) forMe(frame []byte, bcast bool) bool {
	if d := [6]byte(frame[0:6]); d == w.rx.mac || (d == w.e.vmac && !w.standby && d != [6]byte{}) {
		return true
	}
	return bcast && [6]byte(frame[0:6]) == broadcastMAC
}

func unicastMAC(m [6]byte) bool { return m[0]&1 == 0 && m != [6]byte{} }

func (w *worker) handleARP(in *installed, frame []byte) drop.Reason {
	a, r := parseARP(frame)
	if r != drop.None {
		return r
	}
	if in.isLocal(a.senderIP) && !w.e.ownMAC(a.senderMAC) && !(w.standby && w.floating(in, a.senderIP)) {
		// Another host announces or uses one of our addresses: never
		// answer it or learn from it, and tell the operator.
		if w.e.conflictLog.allow(w.now, conflictLogInterval) {
			w.e.log.Warn("dataplane: address conflict: another host claims a local address",
				"address", addr4(a.senderIP), "mac", net.HardwareAddr(a.senderMAC[:]).String(), "port", w.rx.name)
		}
		return drop.AddressConflict
	}
	learned := false
	if a.senderIP != 0 && unicastMAC(a.senderMAC) && in.connectedOn(a.senderIP, w.rx.idx) && !in.isLocal(a.senderIP) {
		w.learn(a.senderIP, a.senderMAC)
		learned = true
	}
	if a.op == arpOpRequest && w.standby && w.floating(in, a.targetIP) {
		return drop.Standby // the active unit answers
	}
	if a.op == arpOpRequest && (in.selfOn(a.targetIP, w.rx.idx) || in.prog.IsVIP(addr4(a.targetIP)) || w.snatOn(in, a.targetIP)) {
		if !w.arpLimit.Allow(a.senderIP, w.now) {
			return drop.ARPRateLimited
		}
		f := buildARP(frame, arpOpReply, a.senderMAC, w.arpMAC(in, a.targetIP), a.targetIP, a.senderMAC, a.senderIP)
		w.emit(w.rx.idx, f)
		w.ctr.ports[w.rx.idx].arpReplies.Add(1)
		return drop.None
	}
	if a.op == arpOpReply && learned {
		return drop.None
	}
	return drop.NotForUs
}

// snatOn reports whether a is a SNAT pool address the appliance answers
// ARP for on the receiving port: the port of its connected network, or
// every port when it is on none (like a VIP).
func (w *worker) snatOn(in *installed, a uint32) bool {
	if !in.prog.IsSNATAddr(addr4(a)) {
		return false
	}
	return in.connected(a) < 0 || in.connectedOn(a, w.rx.idx)
}

// ownMAC reports whether mac is one of the engine's ports.
func (e *Engine) ownMAC(mac [6]byte) bool {
	for _, p := range e.ports {
		if p.mac == mac {
			return true
		}
	}
	return false
}

// learn records a neighbour on the receiving port and releases packets
// parked for it.
func (w *worker) learn(ip uint32, mac [6]byte) {
	p := w.rx
	if !p.neigh.Learn(ip, mac) || !p.pending.Waiting() {
		return
	}
	p.pending.Lock()
	w.e.writeLocked(w.ctr, p, p.pending.TakeLocked(addr4(ip), mac))
	p.pending.Unlock()
}

// writeLocked sends released parked frames, counting into ctr;
// p.pending is locked because the frames live in its slots.
func (e *Engine) writeLocked(ctr *counterShard, p *portState, frames [][]byte) {
	if len(frames) == 0 {
		return
	}
	n, err := p.port.WriteBatch(frames)
	n = max(0, min(n, len(frames)))
	ctr.ports[p.idx].txPackets.Add(uint64(n))
	if lost := len(frames) - n; lost > 0 {
		ctr.drops[drop.TxError].Add(uint64(lost))
		e.log.Debug("dataplane: write of released frames failed", "port", p.name, "lost", lost, "err", err)
	}
}

func (w *worker) handleIPv4(in *installed, frame []byte) drop.Reason {
	p, r := parseIPv4(frame)
	if r != drop.None {
		return r
	}
	if w.standby && w.floating(in, p.dst) {
		return drop.Standby
	}
	if p.proto == protoICMP { // errors about translated flows: icmperr.go
		if handled, r := w.icmpError(in, frame, &p); handled {
			return r
		}
	}
	if in.prog.HasDSR() && !p.fragment && (p.proto == ProtoTCP || p.proto == ProtoUDP) && in.prog.IsVIP(addr4(p.src)) {
		if handled, r := w.dsrReturn(in, frame, &p); handled {
			return r
		}
	}
	if in.isLocal(p.src) {
		if p.src == p.dst {
			return drop.LandAttack
		}
		return drop.LocalSource
	}
	// Glean the sender's MAC when it is a neighbour on this port (the
	// source is not local: checked above).
	if src := [6]byte(frame[6:12]); unicastMAC(src) && in.connectedOn(p.src, w.rx.idx) {
		w.learn(p.src, src)
	}
	if p.proto != ProtoTCP && p.proto != ProtoUDP && in.prog.HasForwards() {
		if handled, r := w.forwardPortless(in, frame, &p); handled {
			return r // forward.go
		}
	}
	switch p.proto {
	case ProtoTCP, ProtoUDP:
		return w.handleL4(in, frame, &p)
	case protoICMP:
		if !in.isLocal(p.dst) {
			return drop.NotForUs
		}
		if p.fragment {
			return drop.Fragment
		}
		if ethHdrLen+p.total > p.l4 && frame[p.l4] != icmpEchoRequest && in.isSelf(p.dst) {
			return w.deliverLocal(frame, &p)
		}
		out, r := echoReply(frame, &p, w.rx.mac)
		if r != drop.None {
			return r
		}
		w.emit(w.rx.idx, out)
		w.ctr.ports[w.rx.idx].icmpEchoes.Add(1)
		return drop.None
	default:
		if p.proto == protoVRRP && in.isLocal(p.dst) && w.toVRRP(frame) {
			return drop.None // unicast VRRP (ha.go)
		}
		if in.isLocal(p.dst) {
			return drop.UnsupportedProtocol
		}
		return drop.NotForUs
	}
}

func (w *worker) handleL4(in *installed, frame []byte, p *ipv4Packet) drop.Reason {
	if p.fragment {
		return w.handleFragment(in, frame, p) // frag.go
	}
	if r := parseL4(frame, p); r != drop.None {
		return r
	}
	if p.proto == ProtoTCP && badTCPFlags(p.tcpFlags) {
		return drop.BadTCPFlags
	}
	k := flowtable.Key{Src: p.src, Dst: p.dst, Sport: p.sport, Dport: p.dport, Proto: p.proto}
	hit, ok := w.e.flows.Lookup(k, w.now, p.seg())
	if !ok {
		vi := in.prog.LookupIndex(addr4(p.dst), p.dport, p.proto)
		if vi < 0 {
			if p.dport >= LocalPortMin && (in.isSelf(p.dst) || in.prog.IsL7SNAT(addr4(p.dst))) {
				return w.deliverLocal(frame, p) // a local connection's, or an HTTP virtual's server side from its SNAT address
			}
			if in.isLocal(p.dst) {
				return drop.NoListener
			}
			return drop.NotForUs
		}
		vs := in.prog.Virtuals[vi]
		if !vs.Enabled {
			return drop.VirtualDisabled
		}
		if vs.L7 != nil {
			return w.deliverLocal(frame, p) // the proxy's: l7/proxy over the local stack
		}
		if p.proto == ProtoTCP && p.tcpFlags&(tcpSYN|tcpACK|tcpRST) != tcpSYN {
			return drop.NoFlow
		}
		// The transport checksum is verified on the packet that would
		// open a flow, not on every packet: a corrupt packet must not
		// create state (or take a member's connection slot), while on
		// an existing flow the incremental NAT update keeps a wrong
		// checksum wrong, so the end host still discards it, and the hot
		// path does not read every payload byte. Packets for the local
		// stack are verified there.
		if !l4ChecksumOK(frame, p) {
			return drop.BadL4Checksum
		}
		if p.ttl <= 1 {
			return drop.TTLExceeded
		}
		var r drop.Reason
		if hit, r = w.newFlow(in, vs, &in.virts[vi], k, p.seg()); r != drop.None {
			return r
		}
	} else if p.ttl <= 1 {
		return drop.TTLExceeded
	}

	if !hit.DSR {
		rewriteNAT(frame, p, hit.Src, hit.Dst, hit.Sport, hit.Dport)
	}
	decTTL(frame, p)
	w.count(hit.VS, hit.MS, hit.Dir == flowtable.Forward, uint64(p.total))
	return w.send(in, hit.Egress, frame[:ethHdrLen+p.total], in.hitHop(&hit)) // route.go
}

// dsrReturn forwards a member's answer on a DSR virtual (source VIP:port of
// a virtual with translate-address disabled) to the client, when the
// member's default gateway is the appliance: routed between connected
// networks, addresses untouched, TTL decremented, and counted as the
// virtual's outbound traffic; the flow is not looked up (DSR tracks the
// client's half only). It reports false for a packet from a VIP that is not
// a DSR virtual's answer, which is then judged as any other.
func (w *worker) dsrReturn(in *installed, frame []byte, p *ipv4Packet) (bool, drop.Reason) {
	if r := parseL4(frame, p); r != drop.None {
		return true, r
	}
	vi := in.prog.LookupIndex(addr4(p.src), p.sport, p.proto)
	if vi < 0 || !in.prog.Virtuals[vi].DSR {
		return false, drop.None
	}
	if in.isLocal(p.dst) {
		return true, drop.LocalSource
	}
	ci := in.connected(p.dst)
	if ci < 0 {
		return true, drop.NoRoute
	}
	if p.ttl <= 1 {
		return true, drop.TTLExceeded
	}
	decTTL(frame, p)
	w.count(in.virts[vi].stats, nil, false, uint64(p.total))
	return true, w.send(in, in.selfs[ci].port, frame[:ethHdrLen+p.total], p.dst)
}

// newFlow picks a member of the virtual's runtime pool (rt, vs's runtime
// state) and records the flow a SYN (or first UDP datagram) opens.
func (w *worker) newFlow(in *installed, vs *Virtual, rt *virtualRT, k flowtable.Key, seg flowtable.Seg) (flowtable.Hit, drop.Reason) {
	if vs.Forward {
		return w.forwardFlow(in, rt, k, seg, vs.Mirror) // forward.go
	}
	req := pools.Request{Client: addr4(k.Src), ClientPort: k.Sport, Now: w.now}
	ps := rt.persist
	if ps != nil && ps.Mode == pools.PersistHash {
		w.persist = *ps
		w.persist.Key = hashKey(k.Src, vs.HashOffset, vs.HashLength)
		ps = &w.persist
	}
	m, ok := rt.pool.Pick(&req, ps, &w.sel)
	if !ok {
		return flowtable.Hit{}, drop.NoMember
	}
	maddr := program.U32(m.Addr)
	mport := m.Port
	if mport == 0 || vs.KeepPort || vs.DSR {
		mport = k.Dport
	}
	ms, _ := in.route(maddr) // route.go: a member behind a gateway too
	if vs.DSR {
		ms = in.connected(maddr) // only the MAC changes: the member must be on a connected network
	}
	cs, _ := in.route(k.Src)
	if maddr == 0 || ms < 0 || cs < 0 {
		return flowtable.Hit{}, drop.NoRoute
	}
	nf := flowtable.NewFlow{
		Fwd:        k,
		Member:     maddr,
		MemberPort: mport,
		Egress:     [2]int{in.selfs[ms].port, in.selfs[cs].port},
		VS:         rt.stats,
		MS:         m.Stats,
		NS:         m.NodeStats,
		Mirror:     vs.Mirror,
	}
	switch {
	case vs.DSR:
		nf.DSR = true
	case rt.snats != nil:
		nf.SNATs = rt.snats
	case vs.SNATAutomap:
		nf.SNAT = in.selfs[ms].addr
	}
	hit, why := w.e.flows.Insert(&nf, w.now, seg)
	return hit, refusalDrops[why]
}

// hashKey is layer-4 hash persistence's key: the client address's bytes
// [off, off+n) (n 0: to the end), as a number; the persistence table mixes
// it into its own hash, and show prints it in hex (c61201 for 198.18.1.x
// with hash-length 3).
func hashKey(client uint32, off, n int) uint64 {
	off = min(max(off, 0), 4)
	end := 4
	if n > 0 {
		end = min(off+n, 4)
	}
	return uint64(client>>(8*(4-end))) & (1<<(8*(end-off)) - 1)
}

// send addresses a rewritten frame to its next hop on the egress port, or
// parks it and asks for the next hop's MAC.
func (w *worker) send(in *installed, egress int, frame []byte, nextHop uint32) drop.Reason {
	p := w.e.ports[egress]
	copy(frame[6:12], p.mac[:])
	if mac, ok := p.neigh.Lookup4(nextHop); ok {
		copy(frame[0:6], mac[:])
		w.emit(egress, frame)
		return drop.None
	}

	nh := addr4(nextHop) // the queue keys by netip.Addr
	p.pending.Lock()
	dropped, sendARP := p.pending.ParkLocked(frame, nh, w.now)
	// The reply may have been learned between the lookup above and parking;
	// learn releases under this lock, so one of the two sees the other.
	mac, known := p.neigh.Lookup4(nextHop)
	if known {
		w.e.writeLocked(w.ctr, p, p.pending.TakeLocked(nh, mac))
	}
	p.pending.Unlock()
	if dropped > 0 {
		w.ctr.drops[drop.NeighborTimeout].Add(uint64(dropped))
	}
	if sendARP && !known {
		src := uint32(0)
		if si := in.connected(nextHop); si >= 0 {
			src = in.selfs[si].addr
		}
		f := buildARP(w.scratchBuf(), arpOpRequest, broadcastMAC, p.mac, src, [6]byte{}, nextHop)
		w.emit(egress, f)
		w.ctr.ports[egress].arpRequests.Add(1)
	}
	return drop.None
}
