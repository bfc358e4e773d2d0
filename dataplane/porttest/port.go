package porttest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"lbx/dataplane"
)

// DefaultQueueLen is how many frames a port holds for its reader when
// Config.QueueLen is zero.
const DefaultQueueLen = 1024

// Config describes one in-memory port.
type Config struct {
	Name     string // device name, e.g. "lbx-ext"
	MAC      net.HardwareAddr
	QueueLen int // frames waiting for ReadBatch; 0: DefaultQueueLen
}

// Port is an in-memory dataplane.Port. Frames written to it go to its
// link (a peer port or a switch); frames the link delivers wait in a
// bounded queue for ReadBatch. It copies every frame in both directions, so
// the caller owns its buffers as the Port contract says.
type Port struct {
	name string
	mac  net.HardwareAddr
	in   chan []byte
	// link carries frames this port sends; it never blocks.
	link func(from *Port, frame []byte)

	closeOnce sync.Once
	done      chan struct{}

	rx, tx, drops atomic.Uint64
}

var (
	_ dataplane.Port        = (*Port)(nil)
	_ dataplane.LossCounter = (*Port)(nil)
)

func newPort(c Config) (*Port, error) {
	if c.Name == "" {
		return nil, errors.New("porttest: port: name must be set")
	}
	if len(c.MAC) != 6 {
		return nil, fmt.Errorf("porttest: port %s: mac %q: want a 6-byte Ethernet address", c.Name, c.MAC)
	}
	if c.QueueLen < 0 {
		return nil, fmt.Errorf("porttest: port %s: queue length %d: must not be negative", c.Name, c.QueueLen)
	}
	if c.QueueLen == 0 {
		c.QueueLen = DefaultQueueLen
	}
	return &Port{name: c.Name, mac: bytes.Clone(c.MAC), in: make(chan []byte, c.QueueLen), done: make(chan struct{})}, nil
}

// Pipe returns two ports joined back to back: what one writes the other
// reads.
func Pipe(a, b Config) (*Port, *Port, error) {
	pa, err := newPort(a)
	if err != nil {
		return nil, nil, err
	}
	pb, err := newPort(b)
	if err != nil {
		return nil, nil, err
	}
	pa.link = func(_ *Port, f []byte) { pb.deliver(f) }
	pb.link = func(_ *Port, f []byte) { pa.deliver(f) }
	return pa, pb, nil
}

// MustMAC parses an Ethernet address, panicking on a malformed literal.
func MustMAC(s string) net.HardwareAddr {
	mac, err := net.ParseMAC(s)
	if err != nil || len(mac) != 6 {
		panic(fmt.Sprintf("porttest: mac %q: want an Ethernet address", s))
	}
	return mac
}

// Name implements dataplane.Port.
func (p *Port) Name() string { return p.name }

// MAC implements dataplane.Port.
func (p *Port) MAC() net.HardwareAddr { return p.mac }

// ReadBatch implements dataplane.Port: it blocks until a frame arrives or
// the port is closed (net.ErrClosed), then takes what is queued, up to
// len(bufs). A frame longer than its buffer is truncated to it.
func (p *Port) ReadBatch(bufs [][]byte, sizes []int) (int, error) {
	if len(bufs) == 0 {
		return 0, nil
	}
	select {
	case <-p.done:
		return 0, net.ErrClosed
	case f := <-p.in:
		sizes[0] = copy(bufs[0], f)
	}
	n := 1
	for n < len(bufs) {
		select {
		case f := <-p.in:
			sizes[n] = copy(bufs[n], f)
			n++
		default:
			p.rx.Add(uint64(n))
			return n, nil
		}
	}
	p.rx.Add(uint64(n))
	return n, nil
}

// WriteBatch implements dataplane.Port. Every frame is handed to the link
// before it returns; frames the far end has no room for are dropped there
// and counted on the far end, as on a real link. It fails only once the
// port is closed.
func (p *Port) WriteBatch(frames [][]byte) (int, error) {
	select {
	case <-p.done:
		return 0, net.ErrClosed
	default:
	}
	for _, f := range frames {
		p.link(p, f)
	}
	p.tx.Add(uint64(len(frames)))
	return len(frames), nil
}

// Close implements dataplane.Port: it unblocks ReadBatch, and later calls
// of either method return net.ErrClosed. Frames sent to a closed port are
// dropped and counted. Closing again does nothing.
func (p *Port) Close() error {
	p.closeOnce.Do(func() { close(p.done) })
	return nil
}

// deliver queues a copy of f for this port's reader, or drops it.
func (p *Port) deliver(f []byte) {
	select {
	case <-p.done:
		p.drops.Add(1)
		return
	default:
	}
	select {
	case p.in <- bytes.Clone(f):
	default:
		p.drops.Add(1)
	}
}

// RxLost implements dataplane.LossCounter: frames for this port dropped
// because its queue was full or it was closed (Stats.Drops).
func (p *Port) RxLost() uint64 { return p.drops.Load() }

// Stats are a port's frame counters.
type Stats struct {
	Rx    uint64 // frames ReadBatch returned
	Tx    uint64 // frames WriteBatch sent
	Drops uint64 // frames for this port dropped: queue full or port closed
}

// Queued is how many frames wait in the port's queue for ReadBatch: a
// test's traffic generator can pace itself by it, so that it fills what
// it means to fill (a flow table) and not the port's queue.
func (p *Port) Queued() int { return len(p.in) }

// Stats returns the port's counters.
func (p *Port) Stats() Stats {
	return Stats{Rx: p.rx.Load(), Tx: p.tx.Load(), Drops: p.drops.Load()}
}
