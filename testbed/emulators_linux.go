package testbed

// The socket options behind two emulator modes: the unacknowledged-bytes
// count an IIS-style reset waits on, and the drop-everything socket filter
// of a blackhole port.

import (
	"context"
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// unackedBytes is the count of bytes written to c that the peer has not
// acknowledged yet (SIOCOUTQ).
func unackedBytes(c *net.TCPConn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var ierr error
	if err := rc.Control(func(fd uintptr) { n, ierr = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ) }); err != nil {
		return 0, err
	}
	return n, ierr
}

// dropAll is a classic BPF program that accepts nothing.
var dropAll = []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: 0}}

// attachDropAll makes the kernel discard every packet addressed to the
// socket before TCP or UDP sees it. On a listening TCP socket the filter
// runs before the SYN is handled, so no SYN,ACK and no RST is ever sent:
// the port is a black hole, and it stops being one when the socket closes
// (with the process, or with the namespace).
func attachDropAll(_, _ string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		prog := unix.SockFprog{Len: uint16(len(dropAll)), Filter: &dropAll[0]}
		serr = unix.SetsockoptSockFprog(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &prog)
	})
	if err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("attach drop-all filter: %w", serr)
	}
	return nil
}

// listenBlackhole binds addr for TCP and UDP with every packet dropped.
func listenBlackhole(addr string) (net.Listener, net.PacketConn, error) {
	lc := net.ListenConfig{Control: attachDropAll}
	ln, err := lc.Listen(context.Background(), "tcp4", addr)
	if err != nil {
		return nil, nil, err
	}
	pc, err := lc.ListenPacket(context.Background(), "udp4", addr)
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	return ln, pc, nil
}
