package dataplane

import "net"

// Port is one data port of the appliance: a link that reads and writes whole
// Ethernet frames. Implementations: tap.Port (dataplane/tap) and afxdp.Port
// (dataplane/afxdp); in tests, porttest.Port (in-memory ports on a cable or
// a switch, for whole appliances in one process) and this package's own
// fakePort (fakeport_test.go).
//
// Buffer ownership: ReadBatch fills buffers the caller owns and returns how
// many frames it wrote and their lengths; the port keeps no reference after it
// returns. WriteBatch sends frames from buffers the caller owns; the port keeps
// no reference after it returns, so the caller may reuse them at once.
// ReadBatch and WriteBatch may be called concurrently with each other; two
// concurrent WriteBatch calls are allowed (each frame is one write).
type Port interface {
	// Name is the port's device name, e.g. "lbx-ext".
	Name() string
	// MAC is the port's own hardware address, used as source of every frame
	// it sends and as the answer to ARP for the self IPs and VIPs on it.
	MAC() net.HardwareAddr
	// ReadBatch blocks until at least one frame is available, then fills up to
	// len(bufs) buffers, storing each frame's length in sizes[i]. It returns
	// an error once the port is closed.
	ReadBatch(bufs [][]byte, sizes []int) (n int, err error)
	// WriteBatch writes frames; it returns how many were written.
	WriteBatch(frames [][]byte) (n int, err error)
	// Close releases the port and unblocks a pending ReadBatch.
	Close() error
}

// LossCounter is implemented by ports that can lose frames before the
// engine reads them (a full receive queue, a ring). The engine prints the
// count as port.<name>.rx_lost, so a frame lost on the way in is counted
// somewhere, like every frame the engine drops.
type LossCounter interface {
	// RxLost returns how many frames for this port were lost before
	// ReadBatch returned them, since the port was opened.
	RxLost() uint64
}
