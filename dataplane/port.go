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

// GSOHeadroom is the room before a whole GSO frame in its buffer for a
// port's own header (TAP: the virtio-net header), so that a frame read
// whole on one port is written whole on another without a copy.
const GSOHeadroom = 16

// GSOFrame is a TCPv4 GSO frame handed over whole: Buf[GSOHeadroom:] is
// an Ethernet/IPv4/TCP frame of up to 64 KB standing for wire segments of
// SegSize payload bytes (the last may be shorter), with the whole frame's
// IPv4 total length, a valid header checksum and a partial TCP checksum
// (CHECKSUM_PARTIAL: the field holds the pseudo-header's folded sum over
// the whole TCP length, not complemented; whoever segments the frame sums
// each segment into it). Nothing has verified the payload.
type GSOFrame struct {
	Buf     []byte
	SegSize int
}

// GSOPort is a port that carries TCPv4 GSO frames whole (a TAP with
// offload), so that the engine translates a 64 KB frame's headers once
// instead of cutting it into wire segments and joining them again.
type GSOPort interface {
	Port
	// ReadGSO is ReadBatch, except that a GSO frame the port can hand
	// over whole comes in *g, with n 0 and no error; it is the port's,
	// and the caller's to change in place, until the next read. A caller
	// that does not forward it calls CutGSO before reading again; the
	// next reads then return its wire segments, as ReadBatch would.
	ReadGSO(bufs [][]byte, sizes []int, g *GSOFrame) (n int, err error)
	CutGSO()
	// CanWriteGSO reports whether WriteGSO works (the TAP has offload).
	CanWriteGSO() bool
	// WriteGSO writes buf[GSOHeadroom:] (as GSOFrame describes) as one
	// GSO frame of segSize payload bytes per segment, overwriting
	// buf[:GSOHeadroom] as it likes. Safe alongside WriteBatch.
	WriteGSO(buf []byte, segSize int) error
}
