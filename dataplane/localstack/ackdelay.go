package localstack

import (
	"context"
	"encoding/binary"
	"sync/atomic"
	"time"

	"lbx/dataplane"
)

// AckDelay is how long the transmit path holds a pure ACK of the
// netstack's in the hope that a segment of the same connection carrying
// data (or a FIN) soon acknowledges as much: the L7 proxy's answer to a
// request, the next request to a server after a response. gVisor's TCP
// acknowledges every batch of segments as soon as it has processed it,
// before the proxy can answer, so without this every keep-alive request
// costs two pure ACKs: four packets out instead of two, and on a TAP port
// each one is a write system call.
//
// 20 ms: RFC 1122 (4.2.3.2) bounds a delayed ACK at 500 ms and RFC 5681
// says it should be well under; it is half of Linux's shortest delayed
// ACK (40 ms), so a peer's Nagle waiting on our ACK (write-write-read)
// loses less than it would with a Linux server; and it is far longer than
// a backend on the appliance's networks takes to answer, so the answer,
// not the timer, carries the ACK. A backend slower than that costs the
// pure ACK it cost before, sent 20 ms late, which its peer's retransmission
// timer (200 ms at the least) does not notice.
const AckDelay = 20 * time.Millisecond

// The connection table of the ACK delayer: ackSets sets of ackWays
// entries, least recently used evicted. A connection not in the table is
// never held, so the table bounds memory and a collision only costs a
// pure ACK. 1,024 entries hold the connections of a few hundred
// keep-alive clients and their server connections.
const (
	ackWays  = 4
	ackSets  = 256
	ackConns = ackWays * ackSets
	finMarks = 256 // incoming FINs seen (DeliverLocal), by connection hash
	heldMax  = 64  // the longest pure ACK held: IPv4 (20) + TCP (20) + timestamps (12), with room
)

// TCP flags.
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpACK = 0x10
)

// ackConn is what the delayer knows of one connection, from the segments
// the stack sent on it.
type ackConn struct {
	src, dst uint32 // the appliance's address, the peer's
	ports    uint32 // local port << 16 | remote port
	used     uint32 // LRU stamp
	ack      uint32 // highest acknowledgement number sent (or held)
	hack     uint32 // the held ACK's acknowledgement number
	wnd      uint16 // window field of the last ACK-bearing segment
	maxWnd   uint16 // the largest window field sent since the handshake
	valid    bool
	ackKnown bool // ack is the connection's: a non-SYN segment or our SYN-ACK carried it
	wndKnown bool // wnd and maxWnd came from a segment after the handshake (a SYN's window is not scaled)
	closing  bool // we sent FIN or RST
	held     bool
	hlen     uint8
}

// ackDelay holds and coalesces the netstack's pure ACKs on the transmit
// path (ackdelay.go's doc comment on AckDelay says why). Only the stack's
// transmit goroutine calls out and expire, so the table takes no lock; the
// FIN marks are the one thing other goroutines (DeliverLocal's callers)
// write, one atomic store per incoming FIN.
//
// A pure ACK (flags exactly ACK, no payload) is held only when all of
// these hold, and is otherwise sent at once:
//
//   - its connection is in the table with an acknowledgement number
//     already sent, and this one is newer: so never a duplicate ACK (same
//     number: fast retransmit counts them), a window update (same number,
//     new window), a keep-alive, or the ACK completing our own handshake
//     (the SYN before it carried no ACK);
//   - no ACK of the connection is held already: the second one goes out at
//     once and carries the first (RFC 5681's ACK for every second
//     full-size segment, which keeps a bulk sender's clock going);
//   - it carries no SACK blocks (loss recovery needs them now);
//   - the window it follows was not zero or small (under a quarter of the
//     largest sent on the connection) and it does not double the window: a
//     peer that may be waiting for window hears at once;
//   - we have sent no FIN or RST on the connection and the peer's FIN is
//     not what it acknowledges (DeliverLocal marks incoming FINs): nothing
//     of a close is held, nor of a handshake (SYN segments never are);
//   - it fits heldMax bytes.
//
// A held ACK is dropped (superseded) when a segment of its connection
// carrying an acknowledgement number at least as new is sent; sent
// (flushed) first when one carrying none, or an older one, is sent, or
// when its table entry is taken by another connection; else sent when
// AckDelay runs out (expire, woken by a timer).
type ackDelay struct {
	conns [ackConns]ackConn
	due   [ackConns]int64 // when the entry's held ACK goes out; 0: none held. Apart from conns so expire's scan is short.
	pkts  [ackConns][heldMax]byte
	fins  [finMarks]atomic.Uint64 // hash tag << 32 | acknowledgement number that covers the peer's FIN

	tick  uint32
	nheld int
	armed int64 // the due time the timer is set for; 0: not set

	delay int64               // AckDelay, in ns
	now   func() int64        // monotonic ns
	arm   func(time.Duration) // (re)start the timer that calls expire
	emit  func([]byte)        // send a packet (the stack's send)

	held, superseded, timedOut, flushed atomic.Uint64
}

func newAckDelay(delay time.Duration, now func() int64, arm func(time.Duration), emit func([]byte)) *ackDelay {
	return &ackDelay{delay: int64(delay), now: now, arm: arm, emit: emit}
}

// seg is what out reads of a TCP segment.
type seg struct {
	src, dst, ports uint32
	seq, ack        uint32
	wnd             uint16
	flags           uint8
	payload         int
	sack            bool // carries SACK blocks (or options it cannot read)
}

// parseSeg reads an IPv4 TCP segment's header; ok is false for anything
// else or a malformed one.
func parseSeg(p []byte) (s seg, ok bool) {
	if len(p) < 20 || p[0]>>4 != 4 || p[9] != 6 {
		return s, false
	}
	ihl := int(p[0]&0xf) * 4
	tot := int(binary.BigEndian.Uint16(p[2:4]))
	if ihl < 20 || tot > len(p) || tot < ihl+20 || binary.BigEndian.Uint16(p[6:8])&0x3fff != 0 {
		return s, false // short, or a fragment
	}
	t := p[ihl:tot]
	doff := int(t[12]>>4) * 4
	if doff < 20 || doff > len(t) {
		return s, false
	}
	s.src = binary.BigEndian.Uint32(p[12:16])
	s.dst = binary.BigEndian.Uint32(p[16:20])
	s.ports = binary.BigEndian.Uint32(t[0:4])
	s.seq = binary.BigEndian.Uint32(t[4:8])
	s.ack = binary.BigEndian.Uint32(t[8:12])
	s.flags = t[13]
	s.wnd = binary.BigEndian.Uint16(t[14:16])
	s.payload = len(t) - doff
	for o := t[20:doff]; len(o) > 0; {
		switch o[0] {
		case 0: // end of options
			o = nil
		case 1: // no-op
			o = o[1:]
		default:
			if len(o) < 2 || o[1] < 2 || int(o[1]) > len(o) || o[0] == 5 { // 5: SACK
				s.sack = true
				o = nil
				continue
			}
			o = o[o[1]:]
		}
	}
	return s, true
}

// connHash mixes a connection's addresses and ports (as the appliance
// sends: src is its own).
func connHash(src, dst, ports uint32) uint64 {
	h := (uint64(src)<<32 | uint64(dst)) ^ uint64(ports)*0x9e3779b97f4a7c15
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

func seqGT(a, b uint32) bool { return int32(a-b) > 0 }
func seqGE(a, b uint32) bool { return int32(a-b) >= 0 }

// out is called with every packet the netstack sends, before it is sent;
// it reports whether the caller sends it now (false: it is held, copied).
// It may emit a held packet of the same connection first.
func (d *ackDelay) out(p []byte) bool {
	s, ok := parseSeg(p)
	if !ok {
		return true
	}
	h := connHash(s.src, s.dst, s.ports)
	set := int(h&(ackSets-1)) * ackWays
	d.tick++
	i, found := -1, false
	for w := set; w < set+ackWays; w++ {
		c := &d.conns[w]
		if c.valid && c.src == s.src && c.dst == s.dst && c.ports == s.ports {
			i, found = w, true
			break
		}
		if i < 0 || !c.valid || (d.conns[i].valid && int32(d.tick-c.used) > int32(d.tick-d.conns[i].used)) {
			i = w // the victim so far: a free entry, else the least recently used
		}
	}
	c := &d.conns[i]
	if !found {
		if c.held {
			d.emit(d.pkts[i][:c.hlen])
			d.release(i)
			d.flushed.Add(1)
		}
		*c = ackConn{src: s.src, dst: s.dst, ports: s.ports, valid: true}
	}
	c.used = d.tick
	hadHeld := c.held
	if hadHeld {
		if s.flags&tcpACK != 0 && seqGE(s.ack, c.hack) {
			d.superseded.Add(1)
		} else {
			d.emit(d.pkts[i][:c.hlen])
			d.flushed.Add(1)
		}
		d.release(i)
	}
	hold := found && !hadHeld && s.flags == tcpACK && s.payload == 0 && !s.sack &&
		c.ackKnown && seqGT(s.ack, c.ack) && !c.closing && len(p) <= heldMax &&
		!(c.wndKnown && (c.wnd == 0 || c.wnd < c.maxWnd/4 || uint32(s.wnd) >= 2*uint32(c.wnd))) &&
		!d.finAcked(h, s.ack)
	if s.flags&tcpSYN != 0 {
		c.ackKnown = s.flags&tcpACK != 0
		c.ack = s.ack
		c.wndKnown, c.wnd, c.maxWnd = false, 0, 0
		c.closing = false
	} else if s.flags&tcpACK != 0 {
		if !c.ackKnown || seqGT(s.ack, c.ack) {
			c.ack, c.ackKnown = s.ack, true
		}
		c.wnd, c.wndKnown = s.wnd, true
		c.maxWnd = max(c.maxWnd, s.wnd)
	}
	if s.flags&(tcpFIN|tcpRST) != 0 {
		c.closing = true
	}
	if !hold {
		return true
	}
	copy(d.pkts[i][:], p)
	c.hlen = uint8(len(p))
	c.held = true
	c.hack = s.ack
	now := d.now()
	d.due[i] = now + d.delay
	d.nheld++
	d.held.Add(1)
	if d.armed == 0 {
		d.armed = d.due[i]
		d.arm(time.Duration(d.delay))
	}
	return false
}

// release forgets entry i's held ACK.
func (d *ackDelay) release(i int) {
	d.conns[i].held = false
	d.due[i] = 0
	d.nheld--
}

// expire sends the held ACKs whose time has run out and sets the timer for
// the next. Called on the transmit goroutine when the timer wakes it.
func (d *ackDelay) expire() {
	d.armed = 0
	if d.nheld == 0 {
		return
	}
	now := d.now()
	next := int64(0)
	for i, due := range d.due {
		switch {
		case due == 0:
		case due <= now:
			d.emit(d.pkts[i][:d.conns[i].hlen])
			d.release(i)
			d.timedOut.Add(1)
		case next == 0 || due < next:
			next = due
		}
	}
	if next != 0 {
		d.armed = next
		// Not sooner than a millisecond: ACKs held close together go out
		// on one wake-up.
		d.arm(time.Duration(max(next-now, int64(time.Millisecond))))
	}
}

// markFIN records that the peer sent a FIN, from an incoming segment: the
// ACK that covers it is sent at once. Called from DeliverLocal (any
// goroutine); one atomic store per FIN, nothing for other segments.
func (d *ackDelay) markFIN(pkt []byte) {
	s, ok := parseSeg(pkt)
	if !ok || s.flags&tcpFIN == 0 {
		return
	}
	// The connection as the appliance sends on it: addresses and ports
	// swapped.
	h := connHash(s.dst, s.src, s.ports<<16|s.ports>>16)
	end := s.seq + uint32(s.payload) + 1
	if s.flags&tcpSYN != 0 {
		end++
	}
	d.fins[(h>>8)%finMarks].Store(h>>32<<32 | uint64(end))
}

// finAcked reports whether ack acknowledges a FIN the peer of connection h
// sent.
func (d *ackDelay) finAcked(h uint64, ack uint32) bool {
	m := d.fins[(h>>8)%finMarks].Load()
	return m != 0 && m>>32 == h>>32 && seqGE(ack, uint32(m))
}

// counters returns the delayer's counters, named as the dataplane's local
// counters are.
func (d *ackDelay) counters() []dataplane.Counter {
	return []dataplane.Counter{
		{Name: "local.ack_delay_held", Value: d.held.Load()},
		{Name: "local.ack_delay_superseded", Value: d.superseded.Load()},
		{Name: "local.ack_delay_timeout", Value: d.timedOut.Load()},
		{Name: "local.ack_delay_flushed", Value: d.flushed.Load()},
	}
}

// wakeCtx is the context the transmit goroutine reads the netstack's
// queue with (channel.Endpoint.ReadContext, which selects on the queue and
// Done and calls nothing else): its Done channel is not closed but sent a
// token, by the ACK timer and by Close, so one reusable channel wakes the
// goroutine as often as needed with no allocation. Err stays nil; the
// transmit goroutine checks Stack.stopping itself.
type wakeCtx chan struct{}

var _ context.Context = wakeCtx(nil)

func (w wakeCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (w wakeCtx) Done() <-chan struct{}       { return w }
func (w wakeCtx) Err() error                  { return nil }
func (w wakeCtx) Value(any) any               { return nil }

// wake sends the transmit goroutine a token unless one is waiting.
func (w wakeCtx) wake() {
	select {
	case w <- struct{}{}:
	default:
	}
}
