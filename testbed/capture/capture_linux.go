package capture

// The AF_PACKET socket a Capture reads: every frame an interface sends or
// receives, inside the namespace the socket was opened in.

import (
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// packetSocket is a raw AF_PACKET socket bound to one interface.
type packetSocket struct {
	fd      int
	ifindex int
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// errReadTimeout is packetSocket.read's answer when nothing arrived within
// its poll interval.
var errReadTimeout = errors.New("packet socket: read timeout")

// openPacketSocket opens a packet socket on ifname in the calling thread's
// namespace (run it inside withNS). Reads return after at most poll so the
// reader can notice it was asked to stop.
func openPacketSocket(ifname string, poll time.Duration) (*packetSocket, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return nil, fmt.Errorf("capture: packet socket: %w", err)
	}
	s := &packetSocket{fd: fd, ifindex: ifi.Index}
	tv := unix.NsecToTimeval(poll.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		s.close()
		return nil, fmt.Errorf("capture: packet socket timeout: %w", err)
	}
	// A larger buffer so a burst is not lost while the reader writes.
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
		s.close()
		return nil, fmt.Errorf("capture: bind %s: %w", ifname, err)
	}
	return s, nil
}

// read returns one frame (truncated to buf, with its full length as n), and
// whether the host sent it; errReadTimeout when the poll interval passed
// or, with noWait, at once when no frame is queued.
func (s *packetSocket) read(buf []byte, noWait bool) (n int, outgoing bool, err error) {
	flags := unix.MSG_TRUNC
	if noWait {
		flags |= unix.MSG_DONTWAIT
	}
	for {
		n, from, err := unix.Recvfrom(s.fd, buf, flags)
		switch {
		case errors.Is(err, unix.EAGAIN):
			return 0, false, errReadTimeout
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return 0, false, fmt.Errorf("capture: read: %w", err)
		}
		ll, ok := from.(*unix.SockaddrLinklayer)
		if ok && ll.Ifindex != s.ifindex {
			continue // queued before bind, from another interface
		}
		return n, ok && ll.Pkttype == unix.PACKET_OUTGOING, nil
	}
}

func (s *packetSocket) close() error { return unix.Close(s.fd) }
