package localstack

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"time"

	"lbx/dataplane"
)

// Packet is one packet a raw socket or a tap saw, with its arrival (or
// departure) time. Data is the IPv4 packet, header onward, owned by the
// receiver.
type Packet struct {
	At   time.Time
	Out  bool // sent by the appliance
	Data []byte
}

// RawConn is a crafted-packet socket: its owner builds whole IPv4 packets
// from Local and receives every packet sent to Local's port (TCP/UDP) or
// echo identifier (ICMP). It is what a probe that must see and shape every
// packet of its exchange uses.
type RawConn struct {
	s     *Stack
	key   rawKey
	Local netip.AddrPort // self IP and port; for ICMP the port is the echo identifier
	ch    chan Packet
	once  sync.Once
}

// Protocol numbers OpenRaw takes.
const (
	ProtoICMP uint8 = 1
	ProtoTCP  uint8 = 6
	ProtoUDP  uint8 = 17
)

// OpenRaw opens a raw socket towards dst: it picks the self IP on dst's
// network and a free probe port (ICMP: a free echo identifier).
func (s *Stack) OpenRaw(proto uint8, dst netip.Addr) (*RawConn, error) {
	src, err := s.source(dst)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var k rawKey
	found := false
	if proto == ProtoICMP {
		for range 1 << 16 {
			id := s.nextID
			s.nextID++
			if s.nextID == 0 {
				s.nextID = 1
			}
			if k = (rawKey{proto, id}); s.raw[k] == nil {
				found = true
				break
			}
		}
	} else {
		n := int(dataplane.ProbePortMax-dataplane.ProbePortMin) + 1
		for range n {
			p := s.nextPort
			s.nextPort++
			if s.nextPort > dataplane.ProbePortMax || s.nextPort < dataplane.ProbePortMin {
				s.nextPort = dataplane.ProbePortMin
			}
			if k = (rawKey{proto, p}); s.raw[k] == nil {
				found = true
				break
			}
		}
	}
	if !found {
		return nil, ErrNoPorts
	}
	ch, _ := rawQueues.Get().(chan Packet)
	if ch == nil {
		ch = make(chan Packet, rawQueue)
	}
	c := &RawConn{s: s, key: k, Local: netip.AddrPortFrom(src, k.id), ch: ch}
	s.raw[k] = c
	return c, nil
}

// rawQueues recycles the queues of closed raw sockets: a probe opens one
// per exchange, thousands a second, and the queue is most of its size.
var rawQueues sync.Pool

// deliver queues pkt without blocking. The caller holds the stack's read
// lock, so no packet is queued once Close has taken the socket out.
func (c *RawConn) deliver(pkt []byte) {
	select {
	case c.ch <- Packet{At: time.Now(), Data: slices.Clone(pkt)}:
	default:
		c.s.rawDrops.Add(1)
	}
}

// Send sends one crafted IPv4 packet through the dataplane.
func (c *RawConn) Send(pkt []byte) error { return c.s.tx.SendLocal(pkt) }

// Recv waits for the next packet for this socket until ctx is done. Not
// after Close.
func (c *RawConn) Recv(ctx context.Context) (Packet, error) {
	select {
	case p := <-c.ch:
		return p, nil
	case <-ctx.Done():
		return Packet{}, ctx.Err()
	}
}

// Close releases the port. Packets still arriving for it are dropped (a
// TCP segment for a closed probe port goes to the netstack, which answers
// with RST as a closed port does).
func (c *RawConn) Close() {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.raw, c.key)
		c.s.mu.Unlock()
		// Nothing can reach the queue any more: empty it and recycle it.
		for len(c.ch) > 0 {
			<-c.ch
		}
		rawQueues.Put(c.ch)
		c.ch = nil
	})
}

// Tap records the netstack's packets to and from one remote address and
// port, for a probe's trace. Bounded: it keeps the first max packets.
type Tap struct {
	remote netip.AddrPort
	max    int
	mu     sync.Mutex
	pkts   []Packet
}

// NewTap starts recording packets between the stack and remote.
func (s *Stack) NewTap(remote netip.AddrPort, max int) *Tap {
	t := &Tap{remote: remote, max: max}
	s.mu.Lock()
	s.taps[t] = struct{}{}
	s.ntaps.Store(int32(len(s.taps)))
	s.mu.Unlock()
	return t
}

// StopTap ends recording and returns the packets whose local port is
// localPort (0: all of them), oldest first.
func (s *Stack) StopTap(t *Tap, localPort uint16) []Packet {
	s.mu.Lock()
	delete(s.taps, t)
	s.ntaps.Store(int32(len(s.taps)))
	s.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if localPort == 0 {
		return t.pkts
	}
	var out []Packet
	for _, p := range t.pkts {
		if lp, ok := localPortOf(p); ok && lp == localPort {
			out = append(out, p)
		}
	}
	return out
}

// localPortOf returns the appliance-side port of a packet.
func localPortOf(p Packet) (uint16, bool) {
	_, lp, ok := endpoints(p.Data, p.Out)
	return lp, ok
}

// endpoints returns the remote address and port and the local port of a
// TCP or UDP packet, or of an ICMP error answering one (from the packet it
// quotes), which the taps record with the exchange it ended.
func endpoints(d []byte, out bool) (remote netip.AddrPort, local uint16, ok bool) {
	if len(d) < 20 {
		return netip.AddrPort{}, 0, false
	}
	ihl := int(d[0]&0xf) * 4
	if len(d) < ihl+4 {
		return netip.AddrPort{}, 0, false
	}
	if d[9] == 1 { // ICMP
		if out || !icmpError(d[ihl]) || len(d) < ihl+8+20 {
			return netip.AddrPort{}, 0, false
		}
		q := d[ihl+8:] // the quoted packet we sent: local → remote
		qihl := int(q[0]&0xf) * 4
		if len(q) < qihl+4 {
			return netip.AddrPort{}, 0, false
		}
		l4 := q[qihl:]
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(q[16:20])), uint16(l4[2])<<8|uint16(l4[3])),
			uint16(l4[0])<<8 | uint16(l4[1]), true
	}
	l4 := d[ihl:]
	sport, dport := uint16(l4[0])<<8|uint16(l4[1]), uint16(l4[2])<<8|uint16(l4[3])
	if out {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(d[16:20])), dport), sport, true
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte(d[12:16])), sport), dport, true
}

// icmpError reports whether an ICMP type quotes the packet it answers.
func icmpError(typ byte) bool {
	switch typ {
	case 3, 4, 5, 11, 12: // unreachable, source quench, redirect, time exceeded, parameter problem
		return true
	}
	return false
}

// tapPacket offers a netstack packet to the taps.
func (s *Stack) tapPacket(pkt []byte, out bool) {
	if s.ntaps.Load() == 0 {
		return
	}
	remote, _, ok := endpoints(pkt, out)
	if !ok {
		return
	}
	now := time.Now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	for t := range s.taps {
		if t.remote != remote {
			continue
		}
		t.mu.Lock()
		if len(t.pkts) < t.max {
			t.pkts = append(t.pkts, Packet{At: now, Out: out, Data: slices.Clone(pkt)})
		}
		t.mu.Unlock()
	}
}
