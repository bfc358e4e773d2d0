package tap

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

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
// connection back into one. With UDP segmentation offload too (kernel
// 6.2+), WriteBatch joins the datagrams of each UDP flow among its frames
// into one write (udpgso.go). A read takes every frame queued (up to
// len(bufs)) per wake-up; other frames still cost one write system call
// each.
//
// The descriptor is non-blocking and read through the Go netpoller, so
// Close unblocks a pending read.
type Port struct {
	name    string
	file    *os.File
	mac     net.HardwareAddr
	offload bool // TUNSETOFFLOAD succeeded: GSO frames may come and go
	uso     bool // and with USO: UDP GSO frames too (udpgso.go)
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
	// held is the length of a frame read into rbuf by a drain that
	// could not take it (a GSO frame for ReadGSO to return whole), for
	// the next read; 0 when none.
	held int

	// rc reads without waiting (the drain); drainFn is t.drainOnce,
	// made once, and drainN, drainErr its result.
	rc       syscall.RawConn
	drainFn  func(fd uintptr) bool
	drainN   int
	drainErr error

	wbufs sync.Pool // *writeState, per WriteBatch

	ctr tapCounters

	closeOnce sync.Once
	closeErr  error
}

// tapCounters are the TAP's own counters (PortCounters).
type tapCounters struct {
	gsoIn, segsIn   atomic.Uint64 // GSO frames read, segments cut from them
	gsoOut, segsOut atomic.Uint64 // GSO frames written, segments joined into them
	csumIn          atomic.Uint64 // frames read whose checksum lbx finished
	udpGSOOut       atomic.Uint64 // UDP GSO frames written
	udpDgramsOut    atomic.Uint64 // datagrams joined into them
	batches         atomic.Uint64 // reads that began a batch (through the netpoller: waiting while the queue is empty)
	drained         atomic.Uint64 // frames read after the first of a wake-up, without waiting
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
	file, dev, offload, uso, err := openTAPDevice(device)
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
	rc, err := file.SyscallConn()
	if err != nil {
		nl.Close()
		file.Close()
		return nil, fmt.Errorf("port %s: tap %s: %w", name, device, err)
	}
	t := &Port{
		name: name, file: file, mac: append(net.HardwareAddr(nil), mac...), offload: offload, uso: uso,
		nl: nl, index: link.Attrs().Index,
		rbuf: make([]byte, rbufOff+BufLen),
		rc:   rc,
	}
	t.drainFn = t.drainOnce
	t.wbufs.New = func() any { return &writeState{buf: make([]byte, BufLen)} }
	return t, nil
}

// openTAPDevice opens /dev/net/tun as the TAP device (IFF_TAP, IFF_NO_PI,
// IFF_VNET_HDR), non-blocking, and enables offloads; offload is false when
// the kernel refuses them (frames then come one by one, checksums
// complete). UDP segmentation offload (uso) is asked for with them and,
// when the kernel refuses it (before 6.2), or with NoUSOEnv set, left out.
// It returns the device's name.
func openTAPDevice(device string) (f *os.File, name string, offload, uso bool, err error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, "", false, false, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(device)
	if err != nil {
		unix.Close(fd)
		return nil, "", false, false, fmt.Errorf("device name: %w", err)
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, "", false, false, fmt.Errorf("TUNSETIFF: %w", err)
	}
	const base = unix.TUN_F_CSUM | unix.TUN_F_TSO4
	// The kernel takes USO4 only with USO6.
	if os.Getenv(NoUSOEnv) == "" && unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, base|unix.TUN_F_USO4|unix.TUN_F_USO6) == nil {
		offload, uso = true, true
	} else {
		offload = unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, base) == nil
	}
	// A non-blocking descriptor goes to the netpoller.
	return os.NewFile(uintptr(fd), "/dev/net/tun"), ifr.Name(), offload, uso, nil
}

// NoUSOEnv names the environment variable that, set to anything, keeps
// UDP segmentation offload off on the TAP ports opened after (datagrams
// then cross the TAP one write each, as on a kernel without it): for
// comparisons, and a way out should a kernel mishandle it.
const NoUSOEnv = "LBX_TAP_NO_USO"

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

// ReadBatch implements dataplane.Port. It waits for a frame, then reads
// more without waiting (the drain) until the device's queue is empty or
// bufs are full; a GSO frame fills up to len(bufs) buffers with its
// segments and leaves the rest for the next calls. A frame whose checksum
// the kernel left to lbx (NEEDS_CSUM) is returned with it complete.
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
	n := 0
	for n < len(bufs) {
		if !t.split.done() {
			n += t.cutSegments(bufs[n:], sizes[n:])
			continue
		}
		var m int
		switch {
		case t.held > 0:
			m, t.held = t.held, 0
		case n == 0:
			var err error
			if m, err = t.file.Read(t.rbuf[rbufOff:]); err != nil {
				return 0, err
			}
			t.ctr.batches.Add(1)
		default:
			// The drain: the queue's next frame, or stop. An error
			// other than EAGAIN comes again on the next, waiting read.
			if err := t.rc.Read(t.drainFn); err != nil || t.drainErr != nil || t.drainN <= 0 {
				return n, nil
			}
			m = t.drainN
			t.ctr.drained.Add(1)
		}
		h, ok := parseVnetHdr(t.rbuf[rbufOff : rbufOff+m])
		if !ok || m == vnetHdrLen {
			continue
		}
		frame := t.rbuf[dataplane.GSOHeadroom : rbufOff+m]
		if h.gsoType != vnetGSONone {
			if g != nil && t.offload && wholeGSO(h, frame) {
				if n > 0 {
					t.held = m // returned whole by the next read
					return n, nil
				}
				t.ctr.gsoIn.Add(1)
				t.whole, t.wholeHdr = frame, h
				*g = dataplane.GSOFrame{Buf: t.rbuf[:rbufOff+m], SegSize: int(h.gsoSize)}
				return 0, nil
			}
			t.ctr.gsoIn.Add(1)
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
		copy(bufs[n], frame)
		sizes[n] = len(frame)
		n++
	}
	return n, nil
}

// drainOnce is the drain's read (t.drainFn, for t.rc.Read): the next frame
// into the read buffer without waiting; EAGAIN when there is none.
func (t *Port) drainOnce(fd uintptr) bool {
	t.drainN, t.drainErr = unix.Read(int(fd), t.rbuf[rbufOff:])
	return true
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

// writeState is one WriteBatch's scratch, pooled: the buffer a GSO frame
// is built in and the grouping of UDP datagrams.
type writeState struct {
	buf     []byte // BufLen bytes
	udp     udpGroups
	offload bool // TCP runs may be joined
	grouped bool // udp holds groups of frames (plan)
}

// WriteBatch implements dataplane.Port. With offload, a run of consecutive
// segments of one TCP connection (as a GSO frame's are after the engine)
// is written as one GSO frame, which the kernel segments again; with USO
// the UDP datagrams of one flow among frames (udpgso.go) are written as
// one UDP GSO frame, where the first of them stood; every other frame is
// one write. The engine calls it once per port per receive batch, so
// nothing waits to be joined.
func (t *Port) WriteBatch(frames [][]byte) (int, error) {
	ws := t.wbufs.Get().(*writeState)
	defer t.wbufs.Put(ws)
	ws.plan(frames, t.offload, t.uso)
	written := 0
	for i := 0; i < len(frames); {
		out, n, next, kind, err := ws.nextWrite(frames, i)
		if err != nil {
			return written, fmt.Errorf("tap %s: %w", t.name, err)
		}
		i = next
		if out == nil {
			continue
		}
		if _, err := t.file.Write(out); err != nil {
			return written, err
		}
		written += n
		switch kind {
		case writeTCPGSO:
			t.ctr.gsoOut.Add(1)
			t.ctr.segsOut.Add(uint64(n))
		case writeUDPGSO:
			t.ctr.udpGSOOut.Add(1)
			t.ctr.udpDgramsOut.Add(uint64(n))
		}
	}
	return len(frames), nil
}

// writeKind is what one write of WriteBatch carries.
type writeKind uint8

const (
	writeOne    writeKind = iota // one frame
	writeTCPGSO                  // a run of TCP segments joined (tcpCoalesce)
	writeUDPGSO                  // a flow's UDP datagrams joined (udpGroups)
)

// plan prepares the writes of frames: the grouping of their UDP datagrams
// when uso.
func (ws *writeState) plan(frames [][]byte, offload, uso bool) {
	ws.offload = offload
	ws.grouped = uso && len(frames) > 1 && ws.udp.group(frames, min(maxGSOFrame, len(ws.buf)-vnetHdrLen))
}

// nextWrite builds the write that starts at frames[i], in ws.buf, and
// returns it (virtio-net header, then the frame), how many frames it
// carries, where the next write starts and its kind. out is nil for a
// datagram that went with its group's first.
func (ws *writeState) nextWrite(frames [][]byte, i int) (out []byte, n, next int, kind writeKind, err error) {
	buf := ws.buf
	if ws.grouped {
		if ws.udp.member[i] {
			return nil, 0, i + 1, writeOne, nil
		}
		if gi := ws.udp.lead[i]; gi >= 0 && ws.udp.groups[gi].n > 1 {
			return ws.udp.build(frames, gi, buf), ws.udp.groups[gi].n, i + 1, writeUDPGSO, nil
		}
	}
	if ws.offload {
		if n, out = tcpCoalesce(frames[i:], buf); out != nil {
			return out, n, i + n, writeTCPGSO, nil
		}
	}
	f := frames[i]
	if len(f) > len(buf)-vnetHdrLen {
		return nil, 0, i, writeOne, fmt.Errorf("frame of %d bytes: too long", len(f))
	}
	clear(buf[:vnetHdrLen])
	return buf[:vnetHdrLen+copy(buf[vnetHdrLen:], f)], 1, i + 1, writeOne, nil
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
		dataplane.Counter{Name: "udp_gso_frames_out", Value: t.ctr.udpGSOOut.Load()},
		dataplane.Counter{Name: "udp_gso_datagrams_out", Value: t.ctr.udpDgramsOut.Load()},
		dataplane.Counter{Name: "rx_batches", Value: t.ctr.batches.Load()},
		dataplane.Counter{Name: "rx_drained", Value: t.ctr.drained.Load()},
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
// frames of up to 64 KB in one system call), "offload+uso" when UDP
// segmentation offload as well (a flow's datagrams of one batch in one
// write), empty otherwise (one frame per call).
func (t *Port) PortInfo() dataplane.PortInfo {
	pi := dataplane.PortInfo{Driver: "tap", Queues: 1, DeviceQueues: 1}
	switch {
	case t.uso:
		pi.Mode = "offload+uso"
	case t.offload:
		pi.Mode = "offload"
	}
	return pi
}
