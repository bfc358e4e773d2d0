package dataplane

import (
	"net"
	"sync/atomic"

	"lbx/dataplane/program"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"lbx/dataplane/flowtable"
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

// healthChanged is every runtime Health's watch: a member going down is
// queued for the sweeper.
func (e *Engine) healthChanged(w *pools.HealthWatch, _, to pools.HealthState) {
	if to != pools.HealthDown {
		return
	}
	select {
	case e.downs <- memberKey{w.Pool, w.Member}:
	default:
		e.sdown.lost.Add(1)
		e.log.Warn("dataplane: service-down queue full, event lost", "pool", w.Pool, "member", w.Member)
	}
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
	var sel pools.Scratch
	r := e.flows.MemberDown(ms, flowtable.Down{
		Action: func(virtual string) flowtable.DownAction {
			v, ok := acting[virtual]
			if !ok {
				return flowtable.DownNone
			}
			return downActions[v.action]
		},
		Reselect: func(m *flowtable.Moving) (flowtable.Moved, bool) {
			return in.reselect(m, acting[m.Virtual].pool, &sel)
		},
	}, e.clock.Now())
	nReset, nDrop, nReselect := r.Reset, r.Dropped, r.Reselected
	for _, r := range r.RSTs {
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

// downActions maps a virtual's service-down action to the flow table's.
var downActions = [...]flowtable.DownAction{
	ServiceDownNone:     flowtable.DownNone,
	ServiceDownReset:    flowtable.DownReset,
	ServiceDownDrop:     flowtable.DownDrop,
	ServiceDownReselect: flowtable.DownReselect,
}

// sendRST crafts r (gopacket; this is not the per-packet path) and sends it.
func (e *Engine) sendRST(in *installed, r flowtable.RST) {
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP,
		SrcIP: ipOf(r.Src), DstIP: ipOf(r.Dst)}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(r.Sport), DstPort: layers.TCPPort(r.Dport),
		Seq: r.Seq, Ack: r.Ack, RST: true, ACK: true}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		e.log.Error("dataplane: service-down reset", "err", err)
		return
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, tcp); err != nil {
		e.log.Error("dataplane: service-down reset", "err", err)
		return
	}
	hop := r.Hop // DSR: the member
	if hop == 0 {
		hop = in.nextHop(r.Dst) // route.go
	}
	e.sendOriginated(in, r.Egress, buf.Bytes(), hop)
}

func ipOf(a uint32) net.IP { return net.IPv4(byte(a>>24), byte(a>>16), byte(a>>8), byte(a)).To4() }

// reselect picks the member of pool a flow moves to when its member goes
// down (service-down-action reselect): the member, the port towards it and,
// for SNAT automap, the new member network's self IP; a SNAT pool address
// stays. False when no member is available or none is on a connected
// network.
func (in *installed) reselect(m *flowtable.Moving, pool *pools.Pool, sel *pools.Scratch) (flowtable.Moved, bool) {
	req := pools.Request{Client: addr4(m.Fwd.Src), ClientPort: m.Fwd.Sport, Now: m.Now}
	pm, ok := pool.Select(&req, sel)
	if !ok {
		return flowtable.Moved{}, false
	}
	mv := flowtable.Moved{Addr: program.U32(pm.Addr), Port: pm.Port, MS: pm.Stats, NS: pm.NodeStats}
	if mv.Port == 0 || m.DSR || in.keepPort(m.Virtual) {
		mv.Port = m.Fwd.Dport
	}
	si, _ := in.route(mv.Addr) // a member behind a gateway too
	if m.DSR {
		si = in.connected(mv.Addr) // DSR: only the MAC changes
	}
	if si < 0 {
		return flowtable.Moved{}, false
	}
	mv.Egress = in.selfs[si].port
	if !m.DSR && m.Rev.Dst != m.Fwd.Src && in.isSelf(m.Rev.Dst) {
		mv.SNAT = in.selfs[si].addr
	}
	return mv, true
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
