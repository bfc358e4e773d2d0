package localstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"

	"lbx/dataplane"
)

// Sender sends an IPv4 packet the appliance originates; the dataplane
// Engine is one (Engine.SendLocal).
type Sender interface {
	SendLocal(pkt []byte) error
}

const nicID tcpip.NICID = 1

const (
	mtu        = 1500
	queueDepth = 512
	rawQueue   = 32
)

// Stack is the local endpoint: raw probe sockets plus a gVisor netstack,
// with the self IPs as its addresses. It implements dataplane.LocalSink.
type Stack struct {
	tx  Sender
	log *slog.Logger

	selfMu sync.RWMutex // guards selfs and vips; SetSelfs and SetVIPs hold it while they change the netstack's addresses
	selfs  []netip.Prefix
	vips   []netip.Addr // HTTP virtuals' addresses (SetVIPs)

	ns *stack.Stack
	ep *channel.Endpoint

	mu       sync.RWMutex // guards raw, taps and the allocation cursors; read per delivered packet
	raw      map[rawKey]*RawConn
	nextPort uint16
	nextID   uint16
	taps     map[*Tap]struct{}
	ntaps    atomic.Int32

	portMu    sync.Mutex // guards cursors; taken per dialled connection
	cursors   map[cursorKey]int
	portBusy  atomic.Uint64 // dials that found no free port (dial.go)
	portWaits atomic.Uint64 // waits of dials for a port to leave TIME_WAIT

	rawDrops  atomic.Uint64 // raw socket queue full
	sendFails atomic.Uint64

	// acks holds the netstack's pure ACKs a moment (ackdelay.go); the
	// transmit goroutine owns it, woken by ackTimer through wake.
	acks     *ackDelay
	ackTimer *time.Timer
	wake     wakeCtx
	stopping atomic.Bool
	done     chan struct{}
}

type rawKey struct {
	proto uint8
	id    uint16 // local port, or ICMP echo identifier
}

// New builds the local stack for the given self IPs (address and prefix)
// and starts its transmit goroutine; Close stops it.
func New(tx Sender, selfs []netip.Prefix, logger *slog.Logger) (*Stack, error) {
	if logger == nil {
		logger = slog.Default()
	}
	ns := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol},
	})
	ep := channel.New(queueDepth, mtu, "")
	if err := ns.CreateNIC(nicID, ep); err != nil {
		ns.Destroy()
		return nil, fmt.Errorf("localstack: create NIC: %s", err)
	}
	for _, p := range selfs {
		if err := addAddress(ns, p); err != nil {
			ns.Destroy()
			return nil, err
		}
	}
	ns.SetRouteTable([]tcpip.Route{{Destination: header.IPv4EmptySubnet, NIC: nicID}})
	if err := ns.SetPortRange(dataplane.StackPortMin, dataplane.StackPortMax); err != nil {
		ns.Destroy()
		return nil, fmt.Errorf("localstack: port range: %s", err)
	}
	tw := tcpip.TCPTimeWaitTimeoutOption(TimeWait)
	if err := ns.SetTransportProtocolOption(tcp.ProtocolNumber, &tw); err != nil {
		ns.Destroy()
		return nil, fmt.Errorf("localstack: TIME_WAIT timeout: %s", err)
	}
	s := &Stack{
		tx: tx, log: logger, selfs: slices.Clone(selfs), ns: ns, ep: ep,
		raw: map[rawKey]*RawConn{}, taps: map[*Tap]struct{}{}, cursors: map[cursorKey]int{},
		nextPort: dataplane.ProbePortMin, nextID: 1,
		wake: make(wakeCtx, 1), done: make(chan struct{}),
	}
	s.ackTimer = time.AfterFunc(time.Hour, s.wake.wake)
	s.ackTimer.Stop()
	base := time.Now()
	s.acks = newAckDelay(AckDelay,
		func() int64 { return int64(time.Since(base)) },
		func(d time.Duration) { s.ackTimer.Reset(d) },
		s.send)
	go s.transmit()
	return s, nil
}

// addAddress gives the netstack the self IP p.
func addAddress(ns *stack.Stack, p netip.Prefix) error {
	if !p.Addr().Is4() {
		return fmt.Errorf("localstack: self IP %s: only IPv4 is supported", p)
	}
	pa := tcpip.ProtocolAddress{
		Protocol:          ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4(p.Addr().As4()), PrefixLen: p.Bits()},
	}
	if err := ns.AddProtocolAddress(nicID, pa, stack.AddressProperties{}); err != nil {
		return fmt.Errorf("localstack: self IP %s: %s", p, err)
	}
	return nil
}

// Selfs returns the self IPs the stack has.
func (s *Stack) Selfs() []netip.Prefix {
	s.selfMu.RLock()
	defer s.selfMu.RUnlock()
	return slices.Clone(s.selfs)
}

// SetSelfs makes selfs the stack's addresses: the new ones are added, those
// no longer among them removed (their connections end), a changed prefix
// length replaced. It is all or nothing: on error the stack keeps the
// addresses it had.
func (s *Stack) SetSelfs(selfs []netip.Prefix) error {
	for _, p := range selfs {
		if !p.Addr().Is4() {
			return fmt.Errorf("localstack: self IP %s: only IPv4 is supported", p)
		}
	}
	s.selfMu.Lock()
	defer s.selfMu.Unlock()
	var added []netip.Prefix
	for _, p := range selfs {
		if slices.Contains(s.selfs, p) {
			continue
		}
		if i := slices.IndexFunc(s.selfs, func(o netip.Prefix) bool { return o.Addr() == p.Addr() }); i >= 0 {
			// Same address, new prefix length: gVisor keys addresses by
			// address alone.
			if err := s.ns.RemoveAddress(nicID, tcpip.AddrFrom4(p.Addr().As4())); err != nil {
				s.undoLocked(added)
				return fmt.Errorf("localstack: self IP %s: %s", s.selfs[i], err)
			}
			if err := addAddress(s.ns, p); err != nil {
				_ = addAddress(s.ns, s.selfs[i])
				s.undoLocked(added)
				return err
			}
			continue
		}
		if err := addAddress(s.ns, p); err != nil {
			s.undoLocked(added)
			return err
		}
		added = append(added, p)
	}
	for _, o := range s.selfs {
		if !slices.ContainsFunc(selfs, func(p netip.Prefix) bool { return p.Addr() == o.Addr() }) {
			if err := s.ns.RemoveAddress(nicID, tcpip.AddrFrom4(o.Addr().As4())); err != nil {
				s.log.Error("localstack: remove self IP", "self", o, "err", err)
			}
		}
	}
	s.selfs = slices.Clone(selfs)
	return nil
}

// SetVIPs makes vips, the addresses of the HTTP (layer-7) virtuals, the
// stack's addresses besides the self IPs (host addresses: no connected
// network), so that the proxy can listen on them: the new ones are added,
// the others removed (their connections end). On error the stack keeps
// the addresses it had.
func (s *Stack) SetVIPs(vips []netip.Addr) error {
	for _, a := range vips {
		if !a.Is4() {
			return fmt.Errorf("localstack: virtual address %s: only IPv4 is supported", a)
		}
	}
	s.selfMu.Lock()
	defer s.selfMu.Unlock()
	var added []netip.Prefix
	for _, a := range vips {
		if slices.Contains(s.vips, a) {
			continue
		}
		p := netip.PrefixFrom(a, 32)
		if err := addAddress(s.ns, p); err != nil {
			s.undoLocked(added)
			return err
		}
		added = append(added, p)
	}
	for _, o := range s.vips {
		if !slices.Contains(vips, o) {
			if err := s.ns.RemoveAddress(nicID, tcpip.AddrFrom4(o.As4())); err != nil {
				s.log.Error("localstack: remove virtual address", "addr", o, "err", err)
			}
		}
	}
	s.vips = slices.Clone(vips)
	return nil
}

// VIPs returns the virtual addresses the stack holds (SetVIPs).
func (s *Stack) VIPs() []netip.Addr {
	s.selfMu.RLock()
	defer s.selfMu.RUnlock()
	return slices.Clone(s.vips)
}

// undoLocked removes the addresses SetSelfs added before it failed.
func (s *Stack) undoLocked(added []netip.Prefix) {
	for _, p := range added {
		_ = s.ns.RemoveAddress(nicID, tcpip.AddrFrom4(p.Addr().As4()))
	}
}

// Close stops the transmit goroutine (ACKs it holds are dropped: the
// netstack goes with it) and tears the netstack down.
func (s *Stack) Close() {
	s.stopping.Store(true)
	select {
	case s.wake <- struct{}{}: // received after stopping is set: see transmit
	case <-s.done:
	}
	<-s.done
	s.ackTimer.Stop()
	s.ep.Close()
	s.ns.Destroy()
}

// transmit sends what the netstack writes through the dataplane, holding
// pure ACKs a moment (ackdelay.go). A nil read is a wake-up: the ACK timer
// ran out, or Close.
func (s *Stack) transmit() {
	defer close(s.done)
	for {
		pkt := s.ep.ReadContext(s.wake)
		if pkt == nil {
			if s.stopping.Load() {
				return
			}
			s.acks.expire()
			continue
		}
		v := pkt.ToView()
		b := v.AsSlice()
		if s.acks.out(b) {
			s.send(b)
		}
		v.Release()
		pkt.DecRef()
	}
}

// send sends one packet of the netstack's (now, or a held ACK when its
// time comes) through the dataplane. Transmit goroutine only.
func (s *Stack) send(b []byte) {
	s.tapPacket(b, true)
	if err := s.tx.SendLocal(b); err != nil {
		s.sendFails.Add(1)
		s.log.Debug("localstack: send", "err", err)
	}
}

// Counters returns the local stack's own counters (the dataplane counts
// its packets: local.tx_packets, local.rx_packets): what the ACK delayer
// did (ackdelay.go).
func (s *Stack) Counters() []dataplane.Counter { return s.acks.counters() }

// DeliverLocal implements dataplane.LocalSink.
func (s *Stack) DeliverLocal(pkt []byte) {
	if len(pkt) < header.IPv4MinimumSize {
		return
	}
	proto := pkt[9]
	ihl := int(pkt[0]&0xf) * 4
	if ihl < header.IPv4MinimumSize || len(pkt) < ihl+4 {
		return
	}
	l4 := pkt[ihl:]
	var k rawKey
	switch proto {
	case uint8(header.TCPProtocolNumber), uint8(header.UDPProtocolNumber):
		k = rawKey{proto, uint16(l4[2])<<8 | uint16(l4[3])}
	case uint8(header.ICMPv4ProtocolNumber):
		k = rawKey{proto, icmpID(l4)}
	}
	if k.id != 0 {
		s.mu.RLock()
		rc := s.raw[k]
		if rc != nil {
			rc.deliver(pkt) // under the lock: see RawConn.Close
		}
		s.mu.RUnlock()
		if rc != nil {
			return
		}
	}
	if proto == uint8(header.ICMPv4ProtocolNumber) && l4[0] == 0 {
		return // an echo reply nobody waits for any more
	}
	if proto == uint8(header.TCPProtocolNumber) && len(l4) >= 14 && l4[13]&tcpFIN != 0 {
		s.acks.markFIN(pkt)
	}
	s.tapPacket(pkt, false)
	pb := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(pkt)})
	s.ep.InjectInbound(ipv4.ProtocolNumber, pb)
	pb.DecRef()
}

// icmpID returns the identifier of an echo reply, or of the echo request
// quoted in an ICMP error; 0 when there is none.
func icmpID(l4 []byte) uint16 {
	if len(l4) < 8 {
		return 0
	}
	switch l4[0] {
	case 0: // echo reply
		return uint16(l4[4])<<8 | uint16(l4[5])
	case 3, 11: // unreachable, time exceeded: header of the original datagram follows
		q := l4[8:]
		if len(q) < header.IPv4MinimumSize {
			return 0
		}
		qihl := int(q[0]&0xf) * 4
		if len(q) < qihl+8 || q[9] != uint8(header.ICMPv4ProtocolNumber) {
			return 0
		}
		return uint16(q[qihl+4])<<8 | uint16(q[qihl+5])
	}
	return 0
}

// router is what the dataplane's engine offers besides Sender: the self IP
// a packet to a destination behind a gateway leaves from.
type router interface {
	SourceFor(dst netip.Addr) (netip.Addr, bool)
}

// source picks the self IP on dst's connected network, or, for a
// destination behind a gateway, the self IP the dataplane's route leaves
// from.
func (s *Stack) source(dst netip.Addr) (netip.Addr, error) {
	s.selfMu.RLock()
	defer s.selfMu.RUnlock()
	best := -1
	for i, p := range s.selfs {
		if p.Contains(dst) && (best < 0 || p.Bits() > s.selfs[best].Bits()) {
			best = i
		}
	}
	if best >= 0 {
		return s.selfs[best].Addr(), nil
	}
	if r, ok := s.tx.(router); ok {
		if src, ok := r.SourceFor(dst); ok {
			return src, nil // behind a gateway (a net route)
		}
	}
	return netip.Addr{}, fmt.Errorf("%s: %w", dst, dataplane.ErrNoRoute)
}

func fullAddr(ap netip.AddrPort) tcpip.FullAddress {
	return tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom4(ap.Addr().As4()), Port: ap.Port()}
}

// DialTCP opens a TCP connection from the self IP on dst's network, on a
// port of the monitor range (dial.go).
func (s *Stack) DialTCP(ctx context.Context, dst netip.AddrPort) (net.Conn, error) {
	src, err := s.source(dst.Addr())
	if err != nil {
		return nil, err
	}
	return s.dialFrom(ctx, src, dst, MonitorPortMin, MonitorPortMax)
}

// DialTCPFrom opens a TCP connection from src, one of the stack's
// addresses (an HTTP virtual's SNAT address: SetVIPs), on a port of the
// proxy range.
func (s *Stack) DialTCPFrom(ctx context.Context, src netip.Addr, dst netip.AddrPort) (net.Conn, error) {
	if !src.Is4() {
		return nil, fmt.Errorf("localstack: source %s: only IPv4 is supported", src)
	}
	return s.dialFrom(ctx, src, dst, ProxyPortMin, dataplane.StackPortMax)
}

// ListenTCP accepts TCP connections on a self IP (zero: all of them).
func (s *Stack) ListenTCP(local netip.AddrPort) (net.Listener, error) {
	fa := tcpip.FullAddress{NIC: nicID, Port: local.Port()}
	if local.Addr().IsValid() && !local.Addr().IsUnspecified() {
		fa.Addr = tcpip.AddrFrom4(local.Addr().As4())
	}
	// SO_REUSEADDR, as a kernel server sets it: a virtual deleted and
	// created again on its address and port must bind while its old
	// connections are still in TIME_WAIT (they hold the port; seen: "port
	// is in use" when a load sys config re-created an HTTP virtual).
	var wq waiter.Queue
	ep, terr := s.ns.NewEndpoint(tcp.ProtocolNumber, ipv4.ProtocolNumber, &wq)
	if terr != nil {
		return nil, fmt.Errorf("listen tcp %s: %s", local, terr)
	}
	ep.SocketOptions().SetReuseAddress(true)
	if terr := ep.Bind(fa); terr != nil {
		ep.Close()
		return nil, fmt.Errorf("bind tcp %s: %s", local, terr)
	}
	if terr := ep.Listen(listenBacklog); terr != nil {
		ep.Close()
		return nil, fmt.Errorf("listen tcp %s: %s", local, terr)
	}
	return gonet.NewTCPListener(s.ns, &wq, ep), nil
}

// listenBacklog is a listener's accept queue, gonet's own default (and
// Linux's somaxconn).
const listenBacklog = 4096

// DialUDP opens a connected UDP socket from the self IP on dst's network.
func (s *Stack) DialUDP(dst netip.AddrPort) (net.Conn, error) {
	src, err := s.source(dst.Addr())
	if err != nil {
		return nil, err
	}
	la, ra := fullAddr(netip.AddrPortFrom(src, 0)), fullAddr(dst)
	c, err := gonet.DialUDP(s.ns, &la, &ra, ipv4.ProtocolNumber)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ErrNoPorts is returned when every raw probe port (or ICMP id) is in use.
var ErrNoPorts = errors.New("localstack: no free probe port")
