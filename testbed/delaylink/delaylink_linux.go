package delaylink

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Options say what to relay.
type Options struct {
	// A and B are the two interfaces, in the caller's namespace.
	A, B string
	// Delay is how long each frame is held, in each direction.
	Delay time.Duration
	// Queue is how many frames each direction holds at most (default
	// 512).
	Queue int
}

// MaxDelay bounds Options.Delay.
const MaxDelay = 10 * time.Second

// frameMax is a buffer: the virtio-net header and a GSO frame of up to
// 64 KB with its headers.
const frameMax = 10 + 65536 + 256

// Stats count one direction's frames.
type Stats struct {
	Forwarded atomic.Uint64
	Dropped   atomic.Uint64 // queue full
	Truncated atomic.Uint64 // longer than frameMax
	Errors    atomic.Uint64 // send failed
}

// Relay is a running delay link.
type Relay struct {
	// AB counts frames from A to B; BA from B to A.
	AB, BA Stats
}

func (o *Options) check() error {
	if o.Queue == 0 {
		o.Queue = 512
	}
	switch {
	case o.A == "" || o.B == "" || o.A == o.B:
		return fmt.Errorf("delay link: want two interfaces, got %q and %q", o.A, o.B)
	case o.Delay < 0 || o.Delay > MaxDelay:
		return fmt.Errorf("delay link: delay %s: want 0 to %s", o.Delay, MaxDelay)
	case o.Queue < 1 || o.Queue > 65536:
		return fmt.Errorf("delay link: queue %d: want 1 to 65536 frames", o.Queue)
	}
	return nil
}

// Open checks o and opens both sockets; Run relays until ctx ends.
func Open(o Options) (*Relay, func(context.Context) error, error) {
	if err := o.check(); err != nil {
		return nil, nil, err
	}
	fa, err := openSocket(o.A)
	if err != nil {
		return nil, nil, err
	}
	fb, err := openSocket(o.B)
	if err != nil {
		unix.Close(fa)
		return nil, nil, err
	}
	r := &Relay{}
	run := func(ctx context.Context) error {
		defer unix.Close(fa)
		defer unix.Close(fb)
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var wg sync.WaitGroup
		errc := make(chan error, 4)
		for _, d := range []struct {
			from, to int
			st       *Stats
		}{{fa, fb, &r.AB}, {fb, fa, &r.BA}} {
			q := newQueue(o.Queue)
			wg.Add(2)
			go func() {
				defer wg.Done()
				if err := q.read(ctx, d.from, o.Delay, d.st); err != nil {
					errc <- err
					cancel()
				}
			}()
			go func() {
				defer wg.Done()
				q.write(ctx, d.to, d.st)
			}()
		}
		wg.Wait()
		select {
		case err := <-errc:
			return err
		default:
			return nil
		}
	}
	return r, run, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// openSocket opens an AF_PACKET socket bound to dev for every frame, with
// virtio-net headers, not reading its own sends, dev in promiscuous mode,
// and a receive timeout so a reader sees its context end.
func openSocket(dev string) (int, error) {
	ifi, err := net.InterfaceByName(dev)
	if err != nil {
		return -1, fmt.Errorf("delay link: %s: %w", dev, err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return -1, fmt.Errorf("delay link: %s: socket: %w", dev, err)
	}
	fail := func(what string, err error) (int, error) {
		unix.Close(fd)
		return -1, fmt.Errorf("delay link: %s: %s: %w", dev, what, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
		return fail("PACKET_VNET_HDR", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
		return fail("PACKET_IGNORE_OUTGOING", err)
	}
	mreq := unix.PacketMreq{Ifindex: int32(ifi.Index), Type: unix.PACKET_MR_PROMISC}
	if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
		return fail("promiscuous", err)
	}
	tv := unix.NsecToTimeval((100 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fail("SO_RCVTIMEO", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20); err != nil {
		return fail("SO_RCVBUF", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
		return fail("bind", err)
	}
	return fd, nil
}

// frame is a held frame: its buffer, length and when it may leave.
type frame struct {
	buf []byte
	n   int
	due time.Time
}

// queue is one direction: free buffers and held frames, both bounded by
// the queue size, all allocated at the start.
type queue struct {
	free chan []byte
	held chan frame
}

func newQueue(n int) *queue {
	q := &queue{free: make(chan []byte, n), held: make(chan frame, n)}
	for range n {
		q.free <- make([]byte, frameMax)
	}
	return q
}

// read takes frames from fd into free buffers, stamped with their due
// time; with no free buffer the frame is read into scratch and dropped.
func (q *queue) read(ctx context.Context, fd int, delay time.Duration, st *Stats) error {
	scratch := make([]byte, frameMax)
	for ctx.Err() == nil {
		var buf []byte
		select {
		case buf = <-q.free:
		default:
			buf = scratch
		}
		n, _, flags, _, err := unix.Recvmsg(fd, buf, nil, unix.MSG_TRUNC)
		if err != nil {
			if buf != nil && &buf[0] != &scratch[0] {
				q.free <- buf
			}
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			return fmt.Errorf("delay link: receive: %w", err)
		}
		switch {
		case &buf[0] == &scratch[0]:
			st.Dropped.Add(1)
			continue
		case n > len(buf) || flags&unix.MSG_TRUNC != 0:
			st.Truncated.Add(1)
			q.free <- buf
			continue
		}
		q.held <- frame{buf: buf, n: n, due: time.Now().Add(delay)} // never blocks: as many slots as buffers
	}
	return nil
}

// write sends each held frame when it is due, in order.
func (q *queue) write(ctx context.Context, fd int, st *Stats) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		var f frame
		select {
		case <-ctx.Done():
			return
		case f = <-q.held:
		}
		if wait := time.Until(f.due); wait > 0 {
			t.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
		if _, err := unix.Write(fd, f.buf[:f.n]); err != nil {
			st.Errors.Add(1)
		} else {
			st.Forwarded.Add(1)
		}
		q.free <- f.buf
	}
}
