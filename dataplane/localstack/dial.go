package localstack

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/waiter"

	"lbx/dataplane"
)

// Server-side TCP connections take their source ports from the stack's
// range dataplane.StackPortMin..StackPortMax, split in two so that health
// monitors are never starved by proxy traffic:
//
//   - MonitorPortMin..MonitorPortMax for DialTCP (monitors);
//   - ProxyPortMin..dataplane.StackPortMax for DialTCPFrom and DialServer
//     (the L7 proxy's server-side connections).
//
// A port is reused per destination, as a kernel does for connect(): the
// dialler binds it with SO_REUSEADDR (gVisor's TupleOnly reservation), so
// only the full 4-tuple must be unique, and the netstack refuses a 4-tuple
// that a live or TIME_WAIT connection still holds; the dialler then moves
// on to the next port. Each (source, destination) pair keeps a cursor, so
// the port tried first is the one it used longest ago. When all are held
// the dial waits, bounded, for a TIME_WAIT to end (portWait).
const (
	MonitorPorts          = 256
	MonitorPortMin uint16 = dataplane.StackPortMin
	MonitorPortMax uint16 = dataplane.StackPortMin + MonitorPorts - 1
	ProxyPortMin   uint16 = MonitorPortMax + 1
)

// TimeWait is how long an actively closed connection's 4-tuple lingers in
// TIME_WAIT: BIG-IP's tcp profile default (time-wait-timeout 2000 ms)
// rather than gVisor's 60 s, which limited a destination to a few dozen
// new connections a second.
const TimeWait = 2 * time.Second

// A dial that finds every port of its range held for its destination
// tries again every portRetry for up to portWait (a TIME_WAIT period and
// a margin), then fails with ErrNoStackPort: by then the ports are held by
// live connections (or new TIME_WAITs of an overload).
const (
	portWait  = TimeWait + time.Second
	portRetry = 20 * time.Millisecond
)

// maxCursors bounds the per-(source, destination) cursor map; cursors are
// only hints, so the map is emptied when it grows past it.
const maxCursors = 8192

// ErrNoStackPort is returned when every port of a range is held by a
// connection to the same destination (live or in TIME_WAIT).
var ErrNoStackPort = errors.New("no ports are available")

type cursorKey struct {
	src netip.Addr
	dst netip.AddrPort
	lo  uint16
}

// DialServer opens a server-side connection of the L7 proxy from src (the
// self IP on dst's network when src is the zero Addr), on a port of the
// proxy range.
func (s *Stack) DialServer(ctx context.Context, src netip.Addr, dst netip.AddrPort) (net.Conn, error) {
	if !src.IsValid() {
		var err error
		if src, err = s.source(dst.Addr()); err != nil {
			return nil, err
		}
	}
	return s.dialFrom(ctx, src, dst, ProxyPortMin, dataplane.StackPortMax)
}

// dialFrom connects src to dst on the first port of lo..hi, from the pair's
// cursor on, whose 4-tuple is free.
func (s *Stack) dialFrom(ctx context.Context, src netip.Addr, dst netip.AddrPort, lo, hi uint16) (net.Conn, error) {
	if !src.Is4() || !dst.Addr().Is4() {
		return nil, fmt.Errorf("localstack: %s to %s: only IPv4 is supported", src, dst)
	}
	n := int(hi-lo) + 1
	k := cursorKey{src, dst, lo}
	s.portMu.Lock()
	off, ok := s.cursors[k]
	s.portMu.Unlock()
	if !ok {
		off = rand.IntN(n)
	}
	remote := fullAddr(dst)
	giveUp := time.Now().Add(portWait)
	for {
		for i := range n {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			p := lo + uint16((off+i)%n)
			c, busy, err := s.connect(ctx, fullAddr(netip.AddrPortFrom(src, p)), remote, dst)
			if busy {
				continue
			}
			if err == nil {
				s.portMu.Lock()
				if len(s.cursors) >= maxCursors {
					clear(s.cursors)
				}
				s.cursors[k] = (off + i + 1) % n
				s.portMu.Unlock()
			}
			return c, err
		}
		// Every port is held for dst. Those in TIME_WAIT free up within
		// TimeWait: wait for one rather than fail at once (back-pressure
		// on a burst), but not past portWait nor ctx.
		if !time.Now().Before(giveUp) {
			break
		}
		s.portWaits.Add(1)
		tm := time.NewTimer(portRetry)
		select {
		case <-ctx.Done():
			tm.Stop()
			return nil, ctx.Err()
		case <-tm.C:
		}
	}
	s.portBusy.Add(1)
	return nil, fmt.Errorf("localstack: %s to %s: ports %d-%d: %w", src, dst, lo, hi, ErrNoStackPort)
}

// connect binds a new endpoint to local and connects it to remote. busy
// reports that local's port is taken for this destination (or bound
// without reuse), so the caller tries another.
func (s *Stack) connect(ctx context.Context, local, remote tcpip.FullAddress, dst netip.AddrPort) (c net.Conn, busy bool, err error) {
	var wq waiter.Queue
	ep, terr := s.ns.NewEndpoint(tcp.ProtocolNumber, ipv4.ProtocolNumber, &wq)
	if terr != nil {
		return nil, false, fmt.Errorf("localstack: new endpoint: %s", terr)
	}
	ep.SocketOptions().SetReuseAddress(true)
	if terr := ep.Bind(local); terr != nil {
		ep.Close()
		if _, ok := terr.(*tcpip.ErrPortInUse); ok {
			return nil, true, nil
		}
		return nil, false, fmt.Errorf("localstack: bind %s:%d: %s", local.Addr, local.Port, terr)
	}
	we, ch := waiter.NewChannelEntry(waiter.WritableEvents)
	wq.EventRegister(&we)
	defer wq.EventUnregister(&we)
	terr = ep.Connect(remote)
	switch terr.(type) {
	case *tcpip.ErrBadLocalAddress, *tcpip.ErrPortInUse:
		// After a successful bind, the netstack's answer to a 4-tuple
		// another endpoint (live or TIME_WAIT) still holds.
		ep.Close()
		return nil, true, nil
	case *tcpip.ErrConnectStarted:
		select {
		case <-ctx.Done():
			ep.Close()
			return nil, false, ctx.Err()
		case <-ch:
		}
		terr = ep.LastError()
	}
	if terr != nil {
		ep.Close()
		return nil, false, &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(dst), Err: errors.New(terr.String())}
	}
	return gonet.NewTCPConn(&wq, ep), false, nil
}

// PortExhausted counts dials that found every port of their range held for
// their destination and gave up; PortWaits counts the waits of such dials
// for a port to leave TIME_WAIT.
func (s *Stack) PortExhausted() uint64 { return s.portBusy.Load() }

// PortWaits: see PortExhausted.
func (s *Stack) PortWaits() uint64 { return s.portWaits.Load() }
