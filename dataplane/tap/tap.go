package tap

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"lbx/dataplane"
)

// Port is a data port over a Linux TAP device. lbx is the "wire" side of the
// device: frames the kernel sends on the TAP interface (for instance from a
// bridge the interface is enslaved to) are read here, and frames written
// here appear as received by the kernel. The port's MAC is lbx's own
// address on that wire, not the kernel interface's.
//
// The device is opened with IFF_VNET_HDR and, where the kernel allows,
// checksum and TCPv4 segmentation offload (TUNSETOFFLOAD TUN_F_CSUM |
// TUN_F_TSO4): the kernel then hands over TCP segments of up to 64 KB in
// one read and takes them back in one write (vnethdr.go). ReadBatch cuts
// such a frame into wire-sized frames (up to len(bufs) per call; the rest
// on the next call), WriteBatch joins runs of consecutive segments of one
// connection back into one. Other frames still cost one read or one write
// system call each.
//
// The descriptor is non-blocking and read through the Go netpoller, so
// Close unblocks a pending read.
type Port struct {
	name    string
	file    *os.File
	mac     net.HardwareAddr
	offload bool // TUNSETOFFLOAD succeeded: GSO frames may come and go
	// nl and index find the device for its statistics from any thread:
	// the handle's socket stays in the namespace the device was opened in.
	nl    *netlink.Handle
	index int

	rmu   sync.Mutex // guards rbuf, split and whole: one read at a time
	rbuf  []byte     // rbufOff spare bytes, virtio-net header and one frame of up to 64 KB
	split tcpSplit   // the GSO frame in rbuf being cut
	// whole is the GSO frame in rbuf that ReadGSO returned whole, with
	// its header, until the next read or CutGSO.
	whole    []byte
	wholeHdr vnetHdr

	wbufs sync.Pool // *[]byte: a virtio-net header and a frame of up to 64 KB, per WriteBatch

	ctr tapCounters

	closeOnce sync.Once
	closeErr  error
}

// tapCounters are the TAP's own counters (PortCounters).
type tapCounters struct {
	gsoIn, segsIn   atomic.Uint64 // GSO frames read, segments cut from them
	gsoOut, segsOut atomic.Uint64 // GSO frames written, segments joined into them
	csumIn          atomic.Uint64 // frames read whose checksum lbx finished
	vnetErrors      atomic.Uint64 // frames read with a header lbx cannot follow, dropped
}

var (
	_ dataplane.Port          = (*Port)(nil)
	_ dataplane.LossCounter   = (*Port)(nil)
	_ dataplane.PortCounters  = (*Port)(nil)
	_ dataplane.PortDescriber = (*Port)(nil)
	_ dataplane.GSOPort       = (*Port)(nil)
)

// QueueLen is the length of the device's queue of frames towards lbx (its
// txqueuelen: the kernel transmits to lbx), what a NIC's receive ring is
// to a driver: 2048 frames, 100 ms of a 20k packets/s stream, where the
// kernel's default for a TAP, 500, held 25 ms — less than lbx's receive
// goroutine can be kept waiting on a busy core (an apply, the garbage
// collector, another process), and the frames past it were dropped
// (RxLost). It costs memory only while lbx is behind.
const QueueLen = 2048

// BufLen is the size of a buffer that holds any TAP read or write: a
// virtio-net header and the largest GSO frame.
const BufLen = vnetHdrLen + maxGSOFrame

// rbufOff is where a read goes in the read buffer: the virtio-net header
// then ends at dataplane.GSOHeadroom, so that a frame returned whole has
// the headroom GSOFrame promises before it.
const rbufOff = dataplane.GSOHeadroom - vnetHdrLen

// Open creates (or attaches to) the TAP device in the calling thread's
// network namespace, brings it up, and returns it as the port called name
// whose frames use mac as source address.
func Open(name, device string, mac net.HardwareAddr) (*Port, error) {
	if len(mac) != 6 {
		return nil, fmt.Errorf("port %s: mac %q: want a 6-byte Ethernet address", name, mac)
	}
	file, dev, offload, err := openTAPDevice(device)
	if err != nil {
		return nil, fmt.Errorf("port %s: open tap %s: %w", name, device, err)
	}
	nl, err := netlink.NewHandle()
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("port %s: netlink: %w", name, err)
	}
	link, err := nl.LinkByName(dev)
	if err == nil {
		err = nl.LinkSetUp(link)
	}
	if err != nil {
		nl.Close()
		file.Close()
		return nil, fmt.Errorf("port %s: bring tap %s up: %w", name, device, err)
	}
	if err := nl.LinkSetTxQLen(link, QueueLen); err != nil {
		nl.Close()
		file.Close()
		return nil, fmt.Errorf("port %s: tap %s: queue length %d: %w", name, device, QueueLen, err)
	}
	t := &Port{
		name: name, file: file, mac: append(net.HardwareAddr(nil), mac...), offload: offload,
		nl: nl, index: link.Attrs().Index,
		rbuf: make([]byte, rbufOff+BufLen),
	}
	t.wbufs.New = func() any { b := make([]byte, BufLen); return &b }
	return t, nil
}

// openTAPDevice opens /dev/net/tun as the TAP device (IFF_TAP, IFF_NO_PI,
// IFF_VNET_HDR), non-blocking, and enables offloads; offload is false when
// the kernel refuses them (frames then come one by one, checksums
// complete). It returns the device's name.
func openTAPDevice(device string) (f *os.File, name string, offload bool, err error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, "", false, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(device)
	if err != nil {
		unix.Close(fd)
		return nil, "", false, fmt.Errorf("device name: %w", err)
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, "", false, fmt.Errorf("TUNSETIFF: %w", err)
	}
	offload = unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, unix.TUN_F_CSUM|unix.TUN_F_TSO4) == nil
	// A non-blocking descriptor goes to the netpoller.
	return os.NewFile(uintptr(fd), "/dev/net/tun"), ifr.Name(), offload, nil
}

// RxLost implements dataplane.LossCounter: the frames the kernel dropped
// because the TAP's queue towards lbx was full, which it counts as the
// device's tx_dropped (the kernel transmits to lbx). 0 when it cannot be
// read.
func (t *Port) RxLost() uint64 {
	link, err := t.nl.LinkByIndex(t.index)
	if err != nil || link.Attrs().Statistics == nil {
		return 0
	}
	return link.Attrs().Statistics.TxDropped
}

// LinkUp implements dataplane.LinkStater: the TAP device is up and
// running (administratively up, with the carrier lbx's descriptor gives
// it). `ip link set DEV down` takes it down.
func (t *Port) LinkUp() (bool, error) {
	link, err := t.nl.LinkByIndex(t.index)
	if err != nil {
		return false, fmt.Errorf("port %s: link state: %w", t.name, err)
	}
	const want = unix.IFF_UP | unix.IFF_RUNNING
	return link.Attrs().RawFlags&want == want, nil
}

// Name implements dataplane.Port: the port's configured name, not the
// device's.
func (t *Port) Name() string { return t.name }

// MAC implements dataplane.Port.
func (t *Port) MAC() net.HardwareAddr { return t.mac }

// ReadBatch implements dataplane.Port. It reads one frame per system call;
// a GSO frame fills up to len(bufs) buffers with its segments and leaves
// the rest for the next calls. A frame whose checksum the kernel left to
// lbx (NEEDS_CSUM) is returned with it complete.
func (t *Port) ReadBatch(bufs [][]byte, sizes []int) (int, error) {
	return t.read(bufs, sizes, nil)
}

// ReadGSO implements dataplane.GSOPort: ReadBatch, except that a TCPv4
// GSO frame with a partial checksum, of the shape the kernel's TSO makes
// (see wholeGSO), is returned whole in *g, left in the read buffer behind
// room for a virtio-net header. Other GSO frames are cut as by ReadBatch.
func (t *Port) ReadGSO(bufs [][]byte, sizes []int, g *dataplane.GSOFrame) (int, error) {
	return t.read(bufs, sizes, g)
}

// CutGSO implements dataplane.GSOPort: the frame ReadGSO last returned
// whole is cut into wire segments for the next reads.
func (t *Port) CutGSO() {
	t.rmu.Lock()
	defer t.rmu.Unlock()
	if t.whole == nil {
		return
	}
	if !t.split.init(t.wholeHdr, t.whole) {
		t.ctr.vnetErrors.Add(1)
	}
	t.whole = nil
}

// read is ReadBatch (g nil) and ReadGSO.
func (t *Port) read(bufs [][]byte, sizes []int, g *dataplane.GSOFrame) (int, error) {
	if len(bufs) == 0 {
		return 0, nil
	}
	t.rmu.Lock()
	defer t.rmu.Unlock()
	t.whole = nil
	for {
		if !t.split.done() {
			if n := t.cutSegments(bufs, sizes); n > 0 {
				return n, nil
			}
			continue
		}
		m, err := t.file.Read(t.rbuf[rbufOff:])
		if err != nil {
			return 0, err
		}
		h, ok := parseVnetHdr(t.rbuf[rbufOff : rbufOff+m])
		if !ok || m == vnetHdrLen {
			continue
		}
		frame := t.rbuf[dataplane.GSOHeadroom : rbufOff+m]
		if h.gsoType != vnetGSONone {
			t.ctr.gsoIn.Add(1)
			if g != nil && t.offload && wholeGSO(h, frame) {
				t.whole, t.wholeHdr = frame, h
				*g = dataplane.GSOFrame{Buf: t.rbuf[:rbufOff+m], SegSize: int(h.gsoSize)}
				return 0, nil
			}
			if !t.split.init(h, frame) {
				t.ctr.vnetErrors.Add(1)
			}
			continue
		}
		if h.flags&vnetFlagNeedsCsum != 0 {
			if !finishChecksum(frame, h) {
				t.ctr.vnetErrors.Add(1)
				continue
			}
			t.ctr.csumIn.Add(1)
		}
		// A frame longer than the buffer is reported at its length, so
		// that the engine drops and counts it as malformed.
		copy(bufs[0], frame)
		sizes[0] = len(frame)
		return 1, nil
	}
}

// cutSegments fills bufs with the next segments of the GSO frame being
// cut. A segment too large for its buffer drops the rest of the frame.
func (t *Port) cutSegments(bufs [][]byte, sizes []int) int {
	n := 0
	for n < len(bufs) && !t.split.done() {
		sz := t.split.cut(bufs[n])
		if sz < 0 {
			t.split = tcpSplit{}
			t.ctr.vnetErrors.Add(1)
			break
		}
		sizes[n] = sz
		n++
	}
	t.ctr.segsIn.Add(uint64(n))
	return n
}

// WriteBatch implements dataplane.Port. With offload, a run of consecutive
// segments of one TCP connection (as a GSO frame's are after the engine)
// is written as one GSO frame, which the kernel segments again; every
// other frame is one write.
func (t *Port) WriteBatch(frames [][]byte) (int, error) {
	bp := t.wbufs.Get().(*[]byte)
	defer t.wbufs.Put(bp)
	buf := *bp
	for i := 0; i < len(frames); {
		n, out := 1, []byte(nil)
		if t.offload {
			n, out = tcpCoalesce(frames[i:], buf)
		}
		if out == nil {
			f := frames[i]
			if len(f) > len(buf)-vnetHdrLen {
				return i, fmt.Errorf("tap %s: frame of %d bytes: too long", t.name, len(f))
			}
			clear(buf[:vnetHdrLen])
			out = buf[:vnetHdrLen+copy(buf[vnetHdrLen:], f)]
		} else {
			t.ctr.gsoOut.Add(1)
			t.ctr.segsOut.Add(uint64(n))
		}
		if _, err := t.file.Write(out); err != nil {
			return i, err
		}
		i += n
	}
	return len(frames), nil
}

// CanWriteGSO implements dataplane.GSOPort: true with offload.
func (t *Port) CanWriteGSO() bool { return t.offload }

// WriteGSO implements dataplane.GSOPort: the virtio-net header of a TCPv4
// GSO frame with a partial checksum goes right before the frame, in
// buf's headroom, and both go in one write.
func (t *Port) WriteGSO(buf []byte, segSize int) error {
	if !t.offload {
		return fmt.Errorf("tap %s: GSO frame: the device has no offload", t.name)
	}
	if len(buf) < dataplane.GSOHeadroom {
		return fmt.Errorf("tap %s: GSO frame: no headroom", t.name)
	}
	frame := buf[dataplane.GSOHeadroom:]
	f, ok := parseTCP4(frame)
	if !ok || segSize <= 0 || segSize > 0xffff || len(frame) <= f.hlen || len(frame) > maxGSOFrame {
		return fmt.Errorf("tap %s: GSO frame of %d bytes, segments of %d: not a TCPv4 frame this port can write", t.name, len(frame), segSize)
	}
	out := buf[dataplane.GSOHeadroom-vnetHdrLen:]
	vnetHdr{
		flags:      vnetFlagNeedsCsum,
		gsoType:    vnetGSOTCPv4,
		hdrLen:     uint16(f.hlen),
		gsoSize:    uint16(segSize),
		csumStart:  uint16(ethHdrLen + f.ihl),
		csumOffset: 16,
	}.put(out)
	if _, err := t.file.Write(out); err != nil {
		return err
	}
	t.ctr.gsoOut.Add(1)
	t.ctr.segsOut.Add(uint64((len(frame) - f.hlen + segSize - 1) / segSize))
	return nil
}

// PortCounters implements dataplane.PortCounters: the offload's work.
func (t *Port) PortCounters(dst []dataplane.Counter) []dataplane.Counter {
	return append(dst,
		dataplane.Counter{Name: "gso_frames_in", Value: t.ctr.gsoIn.Load()},
		dataplane.Counter{Name: "gso_segments_in", Value: t.ctr.segsIn.Load()},
		dataplane.Counter{Name: "gso_frames_out", Value: t.ctr.gsoOut.Load()},
		dataplane.Counter{Name: "gso_segments_out", Value: t.ctr.segsOut.Load()},
		dataplane.Counter{Name: "csum_finished_in", Value: t.ctr.csumIn.Load()},
		dataplane.Counter{Name: "vnet_errors", Value: t.ctr.vnetErrors.Load()},
	)
}

// Close implements dataplane.Port. The kernel removes a non-persistent TAP
// device when its last file descriptor is closed.
func (t *Port) Close() error {
	t.closeOnce.Do(func() {
		defer t.nl.Close()
		t.closeErr = t.file.Close()
		if errors.Is(t.closeErr, os.ErrClosed) {
			t.closeErr = nil
		}
	})
	return t.closeErr
}

// PortInfo implements dataplane.PortDescriber: one queue; mode "offload"
// when the kernel accepted checksum and TCPv4 segmentation offload (GSO
// frames of up to 64 KB in one system call), empty otherwise (one frame per
// call).
func (t *Port) PortInfo() dataplane.PortInfo {
	pi := dataplane.PortInfo{Driver: "tap", Queues: 1, DeviceQueues: 1}
	if t.offload {
		pi.Mode = "offload"
	}
	return pi
}
