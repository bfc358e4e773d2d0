package afxdp

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cilium/ebpf/rlimit"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"lbx/dataplane"
)

// UMEM geometry. A frame holds one Ethernet frame; in copy mode the kernel
// writes it after XDP_PACKET_HEADROOM bytes, so the largest frame received
// is FrameSize-256 bytes (1,792: the dataplane's buffers are 2 KB, jumbo
// frames are not supported). Half the frames receive, half transmit; every
// ring holds as many descriptors as its half has frames, so the fill ring
// always takes back every received frame and the tx ring never holds more
// than there are tx frames.
//
// 4,096 receive frames: with 1,024 a bulk TCP sender filled the rx ring
// whenever lbx's reader was off its core for a moment (the kernel sending
// lbx's previous batch counts as that), the fill ring ran empty and the
// kernel dropped the frames (rx_fill_empty), about 1 % of a bulk stream,
// each a retransmit and a halved congestion window; with 4,096 none in the
// same runs (docs/BENCHMARKS.md, "AF_XDP bulk"). 16 MB of UMEM per port.
const (
	FrameSize = 2048
	NumFrames = 8192
	ringSize  = NumFrames / 2
)

// A busy queue is retried every bindRetry, bindTries times (2 s).
const (
	bindRetry = 20 * time.Millisecond
	bindTries = 100
)

// Driver is the driver name the port reports.
const Driver = "afxdp"

// Port is a dataplane.Port over one AF_XDP socket bound to queue 0 of a
// Linux interface. See the package documentation.
type Port struct {
	name   string
	device string
	mac    net.HardwareAddr
	index  int
	ns     netns.NsHandle // the interface's namespace, for netlink at Close
	mode   Mode
	zc     bool // zero-copy bind (the driver maps UMEM itself)
	queues int  // the interface's receive queues: 1 once Open has set them

	fd   int // the XSK socket
	efd  int // eventfd: Close makes it readable to end a pending ReadBatch
	umem []byte
	prog *program

	rxMu   sync.Mutex // the rx and fill rings: one reader at a time
	rx     *ring
	fill   *ring
	pfds   [2]unix.PollFd
	rxAddr []uint64 // scratch: frames going back to the fill ring

	txMu   sync.Mutex // the tx and completion rings and txFree
	tx     *ring
	comp   *ring
	txFree []uint64 // tx frames neither in the tx ring nor in flight

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error

	ctr counters
}

// counters are added to once per batch, not per frame.
type counters struct {
	rxPackets   atomic.Uint64
	txPackets   atomic.Uint64
	rxRingEmpty atomic.Uint64 // ReadBatch found no frame and slept in poll
	txRingFull  atomic.Uint64 // WriteBatch found no free tx slot or frame
	txWakeups   atomic.Uint64 // sendto calls to make the kernel transmit
	txDropped   atomic.Uint64 // frames WriteBatch gave up on (ring stayed full)
}

var (
	_ dataplane.Port          = (*Port)(nil)
	_ dataplane.LossCounter   = (*Port)(nil)
	_ dataplane.PortDescriber = (*Port)(nil)
	_ dataplane.PortCounters  = (*Port)(nil)
)

// errClosed is what ReadBatch and WriteBatch return after Close.
var errClosed = net.ErrClosed

// Open opens the AF_XDP port called name on the interface device in the
// calling thread's network namespace: it removes a stale lbx program from
// the interface, brings it up in promiscuous mode (the port's MAC is lbx's,
// not the interface's), sets up the UMEM and rings, binds queue 0 and
// attaches the redirect program, native mode first.
func Open(name, device string, mac net.HardwareAddr) (_ *Port, err error) {
	if len(mac) != 6 {
		return nil, fmt.Errorf("port %s: mac %q: want a 6-byte Ethernet address", name, mac)
	}
	wrap := func(what string, err error) error {
		return fmt.Errorf("port %s: device %s: %s: %w", name, device, what, err)
	}
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK.
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, wrap("memlock", err)
	}
	p := &Port{name: name, device: device, mac: append(net.HardwareAddr(nil), mac...), fd: -1, efd: -1}
	defer func() {
		if err != nil {
			p.release()
		}
	}()
	if p.ns, err = netns.Get(); err != nil {
		return nil, wrap("netns", err)
	}
	link, err := netlink.LinkByName(device)
	if err != nil {
		return nil, wrap("link", err)
	}
	p.index = link.Attrs().Index
	if _, err := removeStale(link); err != nil {
		return nil, wrap("stale program", err)
	}
	if p.queues, err = oneQueue(device); err != nil {
		return nil, wrap("queues", err)
	}
	if err := netlink.SetPromiscOn(link); err != nil {
		return nil, wrap("promisc", err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return nil, wrap("up", err)
	}
	if err := p.setupSocket(); err != nil {
		return nil, wrap("xsk", err)
	}
	if p.prog, err = loadProgram(p.queues); err != nil {
		return nil, wrap("load", err)
	}
	if err := p.prog.xsks.Put(uint32(0), uint32(p.fd)); err != nil {
		return nil, wrap("xskmap", err)
	}
	if p.mode, err = attach(link, p.prog.prog); err != nil {
		return nil, wrap("attach", err)
	}
	return p, nil
}

// setupSocket creates the socket, the UMEM and the four rings, fills the
// fill ring and binds queue 0.
func (p *Port) setupSocket() error {
	var err error
	if p.efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return fmt.Errorf("eventfd: %w", err)
	}
	if p.fd, err = unix.Socket(unix.AF_XDP, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0); err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	if p.umem, err = unix.Mmap(-1, 0, NumFrames*FrameSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE); err != nil {
		return fmt.Errorf("umem: %w", err)
	}
	reg := unix.XDPUmemReg{Addr: uint64(uintptr(unsafe.Pointer(&p.umem[0]))), Len: uint64(len(p.umem)), Size: FrameSize}
	if err := setsockopt(p.fd, unix.XDP_UMEM_REG, unsafe.Pointer(&reg), unsafe.Sizeof(reg)); err != nil {
		return fmt.Errorf("umem reg: %w", err)
	}
	for _, opt := range []int{unix.XDP_UMEM_FILL_RING, unix.XDP_UMEM_COMPLETION_RING, unix.XDP_RX_RING, unix.XDP_TX_RING} {
		if err := unix.SetsockoptInt(p.fd, unix.SOL_XDP, opt, ringSize); err != nil {
			return fmt.Errorf("ring size (option %d): %w", opt, err)
		}
	}
	var off unix.XDPMmapOffsets
	if err := getsockopt(p.fd, unix.XDP_MMAP_OFFSETS, unsafe.Pointer(&off), unsafe.Sizeof(off)); err != nil {
		return fmt.Errorf("mmap offsets: %w", err)
	}
	descSize := unsafe.Sizeof(unix.XDPDesc{})
	if p.fill, err = mapRing(p.fd, off.Fr, unix.XDP_UMEM_PGOFF_FILL_RING, ringSize, 8); err != nil {
		return err
	}
	if p.comp, err = mapRing(p.fd, off.Cr, unix.XDP_UMEM_PGOFF_COMPLETION_RING, ringSize, 8); err != nil {
		return err
	}
	if p.rx, err = mapRing(p.fd, off.Rx, unix.XDP_PGOFF_RX_RING, ringSize, descSize); err != nil {
		return err
	}
	if p.tx, err = mapRing(p.fd, off.Tx, unix.XDP_PGOFF_TX_RING, ringSize, descSize); err != nil {
		return err
	}
	// Frames [0, ringSize) receive, [ringSize, NumFrames) transmit.
	n := p.fill.free(ringSize)
	for i := uint32(0); i < n; i++ {
		*p.fill.addr(p.fill.cachedProd + i) = uint64(i) * FrameSize
	}
	p.fill.cachedProd += n
	p.fill.submit()
	p.txFree = make([]uint64, 0, NumFrames-ringSize)
	for i := NumFrames - 1; i >= ringSize; i-- {
		p.txFree = append(p.txFree, uint64(i)*FrameSize)
	}
	p.rxAddr = make([]uint64, 0, ringSize)
	// Copy mode sends at most a budget of frames per sendto (32 by
	// default); a bigger one means fewer wakeups. Older kernels lack it.
	_ = unix.SetsockoptInt(p.fd, unix.SOL_XDP, unix.XDP_MAX_TX_SKB_BUDGET, ringSize)
	// No copy/zero-copy flag: the kernel tries zero-copy and falls back.
	sa := &unix.SockaddrXDP{Flags: unix.XDP_USE_NEED_WAKEUP, Ifindex: uint32(p.index), QueueID: 0}
	// A socket of a process that just died holds the queue until the
	// kernel's deferred release runs: EBUSY for a moment after a crash.
	for try := 0; ; try++ {
		err := unix.Bind(p.fd, sa)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EBUSY) || try == bindTries {
			return fmt.Errorf("bind queue 0: %w", err)
		}
		time.Sleep(bindRetry)
	}
	var opts struct{ flags uint32 }
	if err := getsockopt(p.fd, unix.XDP_OPTIONS, unsafe.Pointer(&opts), unsafe.Sizeof(opts)); err == nil {
		p.zc = opts.flags&unix.XDP_OPTIONS_ZEROCOPY != 0
	}
	p.pfds = [2]unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}, {Fd: int32(p.efd), Events: unix.POLLIN}}
	return nil
}

func setsockopt(fd, opt int, v unsafe.Pointer, size uintptr) error {
	_, _, e := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_XDP, uintptr(opt), uintptr(v), size, 0)
	if e != 0 {
		return e
	}
	return nil
}

func getsockopt(fd, opt int, v unsafe.Pointer, size uintptr) error {
	l := uint32(size)
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_XDP, uintptr(opt), uintptr(v), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return e
	}
	return nil
}

// Name implements dataplane.Port: the port's configured name.
func (p *Port) Name() string { return p.name }

// LinkUp implements dataplane.LinkStater: the interface is up and running
// (a veth whose peer is down is not running).
func (p *Port) LinkUp() (bool, error) {
	h, err := netlink.NewHandleAt(p.ns)
	if err != nil {
		return false, fmt.Errorf("port %s: link state: %w", p.name, err)
	}
	defer h.Close()
	link, err := h.LinkByIndex(p.index)
	if err != nil {
		return false, fmt.Errorf("port %s: link state: %w", p.name, err)
	}
	const want = unix.IFF_UP | unix.IFF_RUNNING
	return link.Attrs().RawFlags&want == want, nil
}

// MAC implements dataplane.Port.
func (p *Port) MAC() net.HardwareAddr { return p.mac }

// Mode is how the program is attached (native or generic).
func (p *Port) Mode() Mode { return p.mode }

// PortInfo implements dataplane.PortDescriber: driver afxdp, the attach
// mode and the bind mode ("native/copy", "generic/copy",
// "native/zerocopy"), and the queues bound of the interface's.
func (p *Port) PortInfo() dataplane.PortInfo {
	bind := "copy"
	if p.zc {
		bind = "zerocopy"
	}
	return dataplane.PortInfo{Driver: Driver, Mode: string(p.mode) + "/" + bind, Queues: 1, DeviceQueues: p.queues}
}

// ReadBatch implements dataplane.Port: it copies every frame the rx ring
// holds, up to len(bufs), into bufs, returns their UMEM frames to the fill
// ring, and sleeps in poll only when the rx ring is empty.
func (p *Port) ReadBatch(bufs [][]byte, sizes []int) (int, error) {
	p.rxMu.Lock()
	defer p.rxMu.Unlock()
	for {
		if p.closed.Load() {
			return 0, errClosed
		}
		n := p.rx.avail(uint32(len(bufs)))
		if n > 0 {
			p.rxAddr = p.rxAddr[:0]
			idx := p.rx.cachedCons
			for i := uint32(0); i < n; i++ {
				d := p.rx.desc(idx + i)
				sizes[i] = copy(bufs[i], p.umem[d.Addr:d.Addr+uint64(d.Len)])
				p.rxAddr = append(p.rxAddr, d.Addr&^(FrameSize-1))
			}
			p.rx.release(n)
			// The fill ring has room for every rx frame: they never
			// outnumber its descriptors.
			f := p.fill.free(n)
			for i, a := range p.rxAddr[:f] {
				*p.fill.addr(p.fill.cachedProd + uint32(i)) = a
			}
			p.fill.cachedProd += f
			p.fill.submit()
			p.ctr.rxPackets.Add(uint64(n))
			return int(n), nil
		}
		if len(bufs) == 0 {
			return 0, nil
		}
		p.ctr.rxRingEmpty.Add(1)
		// poll also wakes a zero-copy driver that waits for the fill ring.
		p.pfds[0].Revents, p.pfds[1].Revents = 0, 0
		if _, err := unix.Poll(p.pfds[:], -1); err != nil && !errors.Is(err, unix.EINTR) {
			return 0, fmt.Errorf("port %s: poll: %w", p.name, err)
		}
		if p.pfds[1].Revents != 0 {
			return 0, errClosed
		}
	}
}

// WriteBatch implements dataplane.Port: it copies the frames into free tx
// frames, publishes them with one producer update, and makes the kernel
// send them with as few sendto calls as the tx ring asks for. When the tx
// ring stays full after waking the kernel and reaping completions, it
// returns the frames written so far with an error.
func (p *Port) WriteBatch(frames [][]byte) (int, error) {
	p.txMu.Lock()
	defer p.txMu.Unlock()
	if p.closed.Load() {
		return 0, errClosed
	}
	p.reapLocked()
	written := 0
	var err error
	for written < len(frames) && err == nil {
		k := p.tx.free(uint32(min(len(frames)-written, len(p.txFree))))
		if k == 0 {
			p.ctr.txRingFull.Add(1)
			if !p.makeRoomLocked() {
				p.ctr.txDropped.Add(uint64(len(frames) - written))
				err = fmt.Errorf("port %s: tx ring full", p.name)
			}
			continue
		}
		idx := p.tx.cachedProd
		var i uint32
		for ; i < k; i++ {
			f := frames[written]
			if len(f) > FrameSize {
				err = fmt.Errorf("port %s: frame of %d bytes: longer than a UMEM frame (%d)", p.name, len(f), FrameSize)
				break
			}
			a := p.txFree[len(p.txFree)-1]
			p.txFree = p.txFree[:len(p.txFree)-1]
			copy(p.umem[a:], f)
			d := p.tx.desc(idx + i)
			d.Addr, d.Len, d.Options = a, uint32(len(f)), 0
			written++
		}
		p.tx.cachedProd += i
		p.tx.submit()
	}
	// Also with nothing written: frames a bounded kick left in the ring
	// go now.
	p.kickLocked()
	p.ctr.txPackets.Add(uint64(written))
	return written, err
}

// reapLocked moves completed tx frames back to the free list.
func (p *Port) reapLocked() {
	n := p.comp.avail(ringSize)
	for i := uint32(0); i < n; i++ {
		p.txFree = append(p.txFree, *p.comp.addr(p.comp.cachedCons + i)&^(FrameSize-1))
	}
	if n > 0 {
		p.comp.release(n)
	}
}

// kickLocked wakes the kernel to transmit when the tx ring asks for it. In
// copy mode one sendto sends at most the socket's budget; it is repeated
// while the kernel reports it stopped at the budget (EAGAIN) and frames
// are left, a bounded number of times.
func (p *Port) kickLocked() {
	for try := 0; try < 8 && p.tx.pending() > 0 && p.tx.needWakeup(); try++ {
		p.ctr.txWakeups.Add(1)
		_, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(p.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			return
		case unix.EAGAIN, unix.EBUSY, unix.ENOBUFS, unix.EINTR:
			continue
		default:
			return
		}
	}
}

// makeRoomLocked wakes the kernel and reaps completions until a tx slot
// and a frame are free, waiting in poll(POLLOUT) a bounded time.
func (p *Port) makeRoomLocked() bool {
	for try := 0; try < 16; try++ {
		p.kickLocked()
		p.reapLocked()
		if len(p.txFree) > 0 && p.tx.free(1) > 0 {
			return true
		}
		pfd := [1]unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLOUT}}
		unix.Poll(pfd[:], 1)
	}
	return false
}

// RxLost implements dataplane.LossCounter: frames the kernel could not put
// in the rx ring (the ring was full, or no fill frame was free).
func (p *Port) RxLost() uint64 {
	s, err := p.kernelStats()
	if err != nil {
		return 0
	}
	return s.Rx_dropped + s.Rx_ring_full
}

// kernelStats reads the socket's statistics; txMu keeps Close from
// closing the socket meanwhile.
func (p *Port) kernelStats() (unix.XDPStatistics, error) {
	var s unix.XDPStatistics
	p.txMu.Lock()
	defer p.txMu.Unlock()
	if p.closed.Load() {
		return s, errClosed
	}
	err := getsockopt(p.fd, unix.XDP_STATISTICS, unsafe.Pointer(&s), unsafe.Sizeof(s))
	return s, err
}

// PortCounters implements dataplane.PortCounters: the driver's own counters
// and the kernel's socket statistics.
func (p *Port) PortCounters(dst []dataplane.Counter) []dataplane.Counter {
	s, _ := p.kernelStats()
	return append(dst,
		dataplane.Counter{Name: "xsk_rx_packets", Value: p.ctr.rxPackets.Load()},
		dataplane.Counter{Name: "xsk_tx_packets", Value: p.ctr.txPackets.Load()},
		dataplane.Counter{Name: "rx_ring_empty", Value: p.ctr.rxRingEmpty.Load()},
		dataplane.Counter{Name: "rx_ring_full", Value: s.Rx_ring_full},
		dataplane.Counter{Name: "rx_fill_empty", Value: s.Rx_fill_ring_empty_descs},
		dataplane.Counter{Name: "rx_dropped", Value: s.Rx_dropped},
		dataplane.Counter{Name: "tx_ring_full", Value: p.ctr.txRingFull.Load()},
		dataplane.Counter{Name: "tx_ring_empty", Value: s.Tx_ring_empty_descs},
		dataplane.Counter{Name: "tx_wakeups", Value: p.ctr.txWakeups.Load()},
		dataplane.Counter{Name: "tx_dropped", Value: p.ctr.txDropped.Load()},
	)
}

// Close implements dataplane.Port: it ends a pending ReadBatch, waits for
// the reader and writers, detaches the program from the interface and
// releases the socket, rings and UMEM.
func (p *Port) Close() error {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		one := [8]byte{1}
		unix.Write(p.efd, one[:])
		p.rxMu.Lock()
		p.txMu.Lock()
		p.closeErr = p.detach()
		p.release()
		p.txMu.Unlock()
		p.rxMu.Unlock()
	})
	return p.closeErr
}

// detach removes the program if it is still the one this port attached.
func (p *Port) detach() error {
	if p.prog == nil || p.mode == "" {
		return nil
	}
	info, err := p.prog.prog.Info()
	if err != nil {
		return fmt.Errorf("port %s: program info: %w", p.name, err)
	}
	ours, _ := info.ID()
	return inNS(p.ns, func() error {
		link, err := netlink.LinkByIndex(p.index)
		if err != nil {
			// The interface is gone, and its program with it.
			return nil
		}
		x := link.Attrs().Xdp
		if x == nil || !x.Attached || x.ProgId != uint32(ours) {
			return nil
		}
		if err := detach(link, x.AttachMode); err != nil {
			return fmt.Errorf("port %s: device %s: %w", p.name, p.device, err)
		}
		return nil
	})
}

// release frees everything Open set up; safe on a partly opened port.
func (p *Port) release() {
	if p.prog != nil {
		p.prog.close()
		p.prog = nil
	}
	for _, r := range []*ring{p.rx, p.tx, p.fill, p.comp} {
		r.unmap()
	}
	if p.fd >= 0 {
		unix.Close(p.fd)
		p.fd = -1
	}
	if p.umem != nil {
		unix.Munmap(p.umem)
		p.umem = nil
	}
	if p.efd >= 0 {
		unix.Close(p.efd)
		p.efd = -1
	}
	if p.ns.IsOpen() {
		p.ns.Close()
	}
}
