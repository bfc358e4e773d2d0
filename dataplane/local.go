package dataplane

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"lbx/dataplane/drop"

	"lbx/dataplane/flowtable"
)

// The appliance's own traffic — health probes today, L7 virtual servers and
// management later — leaves from a self IP and comes back to it. The
// dataplane hands such packets to a LocalSink (the local stack) and sends
// what the local stack produces through the same ports, ARP and all, as
// forwarded traffic.
//
// Local connections use source ports from LocalPortMin up; SNAT never picks
// a port there, so a probe to a member can never share a 5-tuple with a
// translated client connection to the same member.
const (
	LocalPortMin = flowtable.AutomapPortLimit // a multiple of the flow-table shard count
	// ProbePortMin..ProbePortMax are for crafted-packet probes.
	ProbePortMin uint16 = 61440
	ProbePortMax uint16 = 63487
	// StackPortMin..StackPortMax are the userspace TCP/IP stack's
	// ephemeral ports.
	StackPortMin uint16 = 63488
	StackPortMax uint16 = 65535
)

// LocalSink receives packets addressed to the appliance itself: TCP and UDP
// to a self IP on a local port, and ICMP to a self IP other than echo
// requests (which the dataplane answers). pkt is one IPv4 packet, header
// onward; it is valid only during the call, so a sink copies what it keeps.
// DeliverLocal runs on a port's receive goroutine and must not block.
type LocalSink interface {
	DeliverLocal(pkt []byte)
}

type sinkBox struct{ s LocalSink }

// localCounters count the appliance's own packets; the workers count
// packets delivered to the local sink in their shards (localRx).
type localCounters struct {
	tx atomic.Uint64 // sent by SendLocal
}

// localTx is the state SendLocal keeps: a pool of workers (for their send,
// ARP and parking logic), each with a frame buffer, so that concurrent
// senders (the local stack's transmit goroutine, raw probe sockets,
// service-down resets) take no lock and allocate nothing per packet once
// the pool holds a worker for each of them. The pooled workers all count
// into one shard, ctr, which the engine registers once: a worker the pool
// drops loses no counts.
type localTx struct {
	ctr  *counterShard
	pool sync.Pool // of *localWorker
}

type localWorker struct {
	w   *worker
	buf []byte
}

// SetLocalSink attaches the local stack; nil detaches it. Local packets
// arriving with no sink attached are dropped as no-listener.
func (e *Engine) SetLocalSink(s LocalSink) {
	if s == nil {
		e.sink.Store(nil)
		return
	}
	e.sink.Store(&sinkBox{s})
}

// Errors SendLocal returns.
var (
	ErrNotIPv4     = errors.New("not an IPv4 packet")
	ErrNotSelfIP   = errors.New("source address is not a self IP")
	ErrNoRoute     = errors.New("no route to destination: not on a connected network, and no route")
	ErrEngineIdle  = errors.New("no configuration installed")
	ErrLocalTooBig = errors.New("packet larger than the port MTU")
)

// SendLocal sends one IPv4 packet (header onward) that the appliance
// originates from one of its self IPs: it is framed for the port the
// routing table (route.go) sends the destination out of and sent to the
// next hop (the destination, or its route's gateway), resolving it
// with ARP (the packet waits parked meanwhile) as forwarded traffic does.
// It is safe for concurrent use; pkt is not kept.
func (e *Engine) SendLocal(pkt []byte) error {
	in := e.cur.Load()
	if in == nil {
		return ErrEngineIdle
	}
	if len(pkt) < ipv4MinHdr || pkt[0]>>4 != 4 {
		return ErrNotIPv4
	}
	if ethHdrLen+len(pkt) > maxFrameLen {
		return fmt.Errorf("%w: %d bytes", ErrLocalTooBig, len(pkt))
	}
	src := binary.BigEndian.Uint32(pkt[12:16])
	dst := binary.BigEndian.Uint32(pkt[16:20])
	if !in.isSelf(src) && !in.isL7VIP(src) {
		return fmt.Errorf("%w: %s", ErrNotSelfIP, addr4(src))
	}
	si, hop := in.route(dst) // route.go: connected, or through a route's gateway
	if si < 0 {
		e.drops[drop.NoRoute].Add(1)
		return fmt.Errorf("%w: %s", ErrNoRoute, addr4(dst))
	}
	e.sendOriginated(in, in.selfs[si].port, pkt, hop)
	e.local.tx.Add(1)
	return nil
}

// sendOriginated frames an IPv4 packet the appliance makes (a local packet,
// a service-down RST) and sends it out of port to nextHop, resolving it
// with ARP as forwarded traffic does. pkt is not kept; it must fit a frame.
func (e *Engine) sendOriginated(in *installed, port int, pkt []byte, nextHop uint32) {
	t, _ := e.ltx.pool.Get().(*localWorker)
	if t == nil {
		t = &localWorker{w: e.newWorkerCounting(port, e.ltx.ctr), buf: make([]byte, maxFrameLen)}
	}
	frame := t.buf[:ethHdrLen+len(pkt)]
	copy(frame[ethHdrLen:], pkt)
	binary.BigEndian.PutUint16(frame[12:14], etherTypeIPv4)
	t.w.begin(e.clock.Now())
	if r := t.w.send(in, port, frame, nextHop); r != drop.None {
		t.w.ctr.drops[r].Add(1)
	}
	t.w.flush()
	e.ltx.pool.Put(t)
}

// isSelf reports whether a is a self IP.
func (in *installed) isSelf(a uint32) bool {
	for i := range in.selfs {
		if in.selfs[i].addr == a {
			return true
		}
	}
	return false
}

// isL7VIP reports whether a is the address of an HTTP (layer-7) virtual,
// or of one's SNAT pool, which the local stack answers and dials from.
func (in *installed) isL7VIP(a uint32) bool {
	return in.prog.IsL7VIP(addr4(a)) || in.prog.IsL7SNAT(addr4(a))
}

// deliverLocal hands a packet for the appliance itself to the local sink.
func (w *worker) deliverLocal(frame []byte, p *ipv4Packet) drop.Reason {
	b := w.e.sink.Load()
	if b == nil {
		return drop.NoListener
	}
	b.s.DeliverLocal(frame[ethHdrLen : ethHdrLen+p.total])
	w.ctr.localRx.Add(1)
	return drop.None
}
