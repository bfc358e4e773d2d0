package dataplane

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakePort is an in-memory Port: tests put frames into in and read what the
// engine sent from out.
type fakePort struct {
	name string
	mac  net.HardwareAddr
	in   chan []byte
	out  chan []byte

	closeOnce sync.Once
	done      chan struct{}
	lost      atomic.Uint64 // what RxLost reports

	// GSO (dataplane.GSOPort): gso says whether WriteGSO works; frames
	// written whole go to gsoOut (copied) when it is set, else are only
	// counted in gsoWrites, which allocates nothing.
	gso       bool
	gsoOut    chan gsoWrite
	gsoWrites atomic.Uint64
}

// gsoWrite is one frame the engine wrote whole, without its headroom.
type gsoWrite struct {
	frame []byte
	mss   int
}

var (
	_ Port        = (*fakePort)(nil)
	_ LossCounter = (*fakePort)(nil)
	_ GSOPort     = (*fakePort)(nil)
)

// ReadGSO never returns a frame whole: tests hand whole frames to the
// worker directly (gso_test.go).
func (p *fakePort) ReadGSO(bufs [][]byte, sizes []int, _ *GSOFrame) (int, error) {
	return p.ReadBatch(bufs, sizes)
}

func (p *fakePort) CutGSO()           {}
func (p *fakePort) CanWriteGSO() bool { return p.gso }

func (p *fakePort) WriteGSO(buf []byte, mss int) error {
	if !p.gso {
		return errors.New("fake port: no GSO")
	}
	p.gsoWrites.Add(1)
	if p.gsoOut != nil {
		p.gsoOut <- gsoWrite{frame: bytes.Clone(buf[GSOHeadroom:]), mss: mss}
	}
	return nil
}

func (p *fakePort) RxLost() uint64 { return p.lost.Load() }

func newFakePort(name, mac string) *fakePort {
	hw, err := net.ParseMAC(mac)
	if err != nil {
		panic(err)
	}
	return &fakePort{name: name, mac: hw, in: make(chan []byte, 256), out: make(chan []byte, 4096), done: make(chan struct{})}
}

func (p *fakePort) Name() string          { return p.name }
func (p *fakePort) MAC() net.HardwareAddr { return p.mac }

func (p *fakePort) ReadBatch(bufs [][]byte, sizes []int) (int, error) {
	select {
	case <-p.done:
		return 0, net.ErrClosed
	case f := <-p.in:
		sizes[0] = copy(bufs[0], f)
		n := 1
		for n < len(bufs) {
			select {
			case f := <-p.in:
				sizes[n] = copy(bufs[n], f)
				n++
			default:
				return n, nil
			}
		}
		return n, nil
	}
}

func (p *fakePort) WriteBatch(frames [][]byte) (int, error) {
	select {
	case <-p.done:
		return 0, net.ErrClosed
	default:
	}
	for i, f := range frames {
		select {
		case p.out <- bytes.Clone(f):
		default:
			return i, errors.New("fake port: output full")
		}
	}
	return len(frames), nil
}

func (p *fakePort) Close() error {
	p.closeOnce.Do(func() { close(p.done) })
	return nil
}

// inject hands a frame to the engine's reader of this port.
func (p *fakePort) inject(f []byte) { p.in <- bytes.Clone(f) }

// drain returns every frame sent so far without waiting.
func (p *fakePort) drain() [][]byte {
	var fs [][]byte
	for {
		select {
		case f := <-p.out:
			fs = append(fs, f)
		default:
			return fs
		}
	}
}

// expect waits for the next sent frame that keep accepts, skipping others.
func (p *fakePort) expect(t *testing.T, what string, keep func([]byte) bool) []byte {
	t.Helper()
	timeout := time.NewTimer(5 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case f := <-p.out:
			if keep == nil || keep(f) {
				return f
			}
		case <-timeout.C:
			t.Fatalf("port %s: no %s sent within 5s", p.name, what)
			return nil
		}
	}
}
