package localstack

import (
	"bytes"
	"context"
	"io"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
)

// ackRig is an ackDelay with a hand-moved clock, recording what it emits
// and how it sets its timer.
type ackRig struct {
	d       *ackDelay
	clock   int64
	emitted [][]byte
	arms    []time.Duration
}

func newAckRig() *ackRig {
	r := &ackRig{}
	r.d = newAckDelay(AckDelay, func() int64 { return r.clock },
		func(d time.Duration) { r.arms = append(r.arms, d) },
		func(b []byte) { r.emitted = append(r.emitted, bytes.Clone(b)) })
	return r
}

var (
	rigLocal  = netip.MustParseAddrPort("10.9.0.1:64000")
	rigRemote = netip.MustParseAddrPort("10.9.0.2:80")
)

// segOpts are a crafted segment's fields besides the connection.
type segOpts struct {
	seq, ack uint32
	flags    byte
	wnd      uint16
	payload  int
	opts     []byte // TCP options, padded to 4 bytes by the caller
}

// craft builds an IPv4 TCP segment from local to remote (checksums are not
// what the delayer reads, so they are left zero).
func craft(local, remote netip.AddrPort, o segOpts) []byte {
	thl := 20 + len(o.opts)
	b := make([]byte, 20+thl+o.payload)
	b[0] = 0x45
	put16(b[2:], uint16(len(b)))
	b[6] = 0x40 // DF
	b[8] = 64
	b[9] = 6
	s4, d4 := local.Addr().As4(), remote.Addr().As4()
	copy(b[12:16], s4[:])
	copy(b[16:20], d4[:])
	t := b[20:]
	put16(t[0:], local.Port())
	put16(t[2:], remote.Port())
	put32(t[4:], o.seq)
	put32(t[8:], o.ack)
	t[12] = byte(thl/4) << 4
	t[13] = o.flags
	put16(t[14:], o.wnd)
	copy(t[20:], o.opts)
	return b
}

func (r *ackRig) send(t *testing.T, o segOpts) bool {
	t.Helper()
	return r.d.out(craft(rigLocal, rigRemote, o))
}

// established takes the rig's connection through a passive open: our
// SYN-ACK (acknowledging the peer's ISN 1000), then the ACK of a request.
func (r *ackRig) established(t *testing.T) {
	t.Helper()
	if !r.send(t, segOpts{seq: 5000, ack: 1001, flags: tcpSYN | tcpACK, wnd: 65535}) {
		t.Fatal("SYN-ACK held")
	}
}

var tsOpt = []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2} // NOP NOP timestamps

func TestAckDelayHeldThenSuperseded(t *testing.T) {
	r := newAckRig()
	r.established(t)
	if r.send(t, segOpts{seq: 5001, ack: 1101, flags: tcpACK, wnd: 2048, opts: tsOpt}) {
		t.Fatal("pure ACK of a request sent at once, want held")
	}
	if len(r.arms) != 1 || r.arms[0] != AckDelay {
		t.Fatalf("timer set %v, want once for %v", r.arms, AckDelay)
	}
	// The response carries the acknowledgement.
	if !r.send(t, segOpts{seq: 5001, ack: 1101, flags: tcpACK | 0x08, wnd: 2048, payload: 200, opts: tsOpt}) {
		t.Fatal("data segment held")
	}
	r.clock += int64(time.Second)
	r.d.expire()
	if len(r.emitted) != 0 {
		t.Fatalf("emitted %d packets, want the held ACK dropped", len(r.emitted))
	}
	if h, s, to := r.d.held.Load(), r.d.superseded.Load(), r.d.timedOut.Load(); h != 1 || s != 1 || to != 0 {
		t.Fatalf("held %d superseded %d timed out %d, want 1 1 0", h, s, to)
	}
}

func TestAckDelayHeldThenTimedOut(t *testing.T) {
	r := newAckRig()
	r.established(t)
	ack := craft(rigLocal, rigRemote, segOpts{seq: 5001, ack: 1101, flags: tcpACK, wnd: 2048, opts: tsOpt})
	if r.d.out(ack) {
		t.Fatal("pure ACK sent at once, want held")
	}
	r.clock += int64(AckDelay) - 1
	r.d.expire() // early (a stale wake-up): nothing goes, the timer is set again
	if len(r.emitted) != 0 {
		t.Fatalf("emitted %d before its time", len(r.emitted))
	}
	if len(r.arms) != 2 || r.arms[1] != time.Millisecond {
		t.Fatalf("timer set %v, want again for the 1 ms floor", r.arms)
	}
	r.clock++
	r.d.expire()
	if len(r.emitted) != 1 || !bytes.Equal(r.emitted[0], ack) {
		t.Fatalf("emitted %x, want the held ACK %x", r.emitted, ack)
	}
	if r.d.timedOut.Load() != 1 || r.d.nheld != 0 {
		t.Fatalf("timed out %d, held now %d", r.d.timedOut.Load(), r.d.nheld)
	}
	// Nothing held: the timer is not set again.
	r.d.expire()
	if len(r.arms) != 2 {
		t.Fatalf("timer set %v after the last ACK went", r.arms)
	}
}

func TestAckDelayNeverHeld(t *testing.T) {
	sack := []byte{1, 1, 5, 10, 0, 0, 0x04, 0x4c, 0, 0, 0x08, 0x34}
	for _, tc := range []struct {
		name  string
		setup []segOpts // after the SYN-ACK; each must be sent at once
		ack   segOpts   // must be sent at once
	}{
		{name: "duplicate ACK", setup: []segOpts{{seq: 5001, ack: 1101, flags: tcpACK | 0x08, wnd: 2048, payload: 100}},
			ack: segOpts{seq: 5101, ack: 1101, flags: tcpACK, wnd: 2048}},
		{name: "SACK blocks", ack: segOpts{seq: 5001, ack: 1101, flags: tcpACK, wnd: 2048, opts: sack}},
		{name: "window update, same ACK number", setup: []segOpts{{seq: 5001, ack: 1101, flags: tcpACK | 0x08, wnd: 100, payload: 10}},
			ack: segOpts{seq: 5011, ack: 1101, flags: tcpACK, wnd: 2048}},
		{name: "opens a zero window", setup: []segOpts{
			{seq: 5001, ack: 1101, flags: tcpACK | 0x08, wnd: 2048, payload: 10},
			{seq: 5011, ack: 1101, flags: tcpACK | 0x08, wnd: 0, payload: 10}},
			ack: segOpts{seq: 5021, ack: 1201, flags: tcpACK, wnd: 100}},
		{name: "opens a small window", setup: []segOpts{
			{seq: 5001, ack: 1101, flags: tcpACK | 0x08, wnd: 4096, payload: 10},
			{seq: 5011, ack: 1101, flags: tcpACK | 0x08, wnd: 900, payload: 10}},
			ack: segOpts{seq: 5021, ack: 1201, flags: tcpACK, wnd: 1000}},
		{name: "doubles the window", setup: []segOpts{{seq: 5001, ack: 1101, flags: tcpACK | 0x08, wnd: 1000, payload: 10}},
			ack: segOpts{seq: 5011, ack: 1201, flags: tcpACK, wnd: 2000}},
		{name: "after our FIN", setup: []segOpts{{seq: 5001, ack: 1101, flags: tcpACK | tcpFIN, wnd: 2048}},
			ack: segOpts{seq: 5002, ack: 1102, flags: tcpACK, wnd: 2048}},
		{name: "keep-alive", setup: []segOpts{{seq: 5001, ack: 1101, flags: tcpACK | 0x08, wnd: 2048, payload: 10}},
			ack: segOpts{seq: 5010, ack: 1101, flags: tcpACK, wnd: 2048}},
		{name: "too long to keep", ack: segOpts{seq: 5001, ack: 1101, flags: tcpACK, wnd: 2048, opts: append(bytes.Repeat([]byte{1}, 16), tsOpt...)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newAckRig()
			r.established(t)
			for _, o := range tc.setup {
				if !r.send(t, o) {
					t.Fatalf("setup segment %+v held", o)
				}
			}
			if !r.send(t, tc.ack) {
				t.Fatal("held")
			}
			if r.d.held.Load() != 0 || len(r.emitted) != 0 {
				t.Fatalf("held %d emitted %d", r.d.held.Load(), len(r.emitted))
			}
		})
	}
}

func TestAckDelayHandshakeAckNotHeld(t *testing.T) {
	r := newAckRig()
	if !r.send(t, segOpts{seq: 5000, flags: tcpSYN, wnd: 65535}) {
		t.Fatal("SYN held")
	}
	if !r.send(t, segOpts{seq: 5001, ack: 9001, flags: tcpACK, wnd: 2048}) {
		t.Fatal("the ACK completing our handshake was held")
	}
	// Established now: the ACK of the first response is held.
	if r.send(t, segOpts{seq: 5001, ack: 9501, flags: tcpACK, wnd: 2048}) {
		t.Fatal("ACK of data sent at once, want held")
	}
}

func TestAckDelaySecondAckSentAtOnce(t *testing.T) {
	r := newAckRig()
	r.established(t)
	if r.send(t, segOpts{seq: 5001, ack: 2449, flags: tcpACK, wnd: 2048}) {
		t.Fatal("first ACK sent at once, want held")
	}
	if !r.send(t, segOpts{seq: 5001, ack: 3897, flags: tcpACK, wnd: 2048}) {
		t.Fatal("second ACK held")
	}
	if s := r.d.superseded.Load(); s != 1 || len(r.emitted) != 0 || r.d.nheld != 0 {
		t.Fatalf("superseded %d emitted %d held %d, want 1 0 0", s, len(r.emitted), r.d.nheld)
	}
	// And the third is held again.
	if r.send(t, segOpts{seq: 5001, ack: 5345, flags: tcpACK, wnd: 2048}) {
		t.Fatal("third ACK sent at once, want held")
	}
}

func TestAckDelayPeerFINAckedAtOnce(t *testing.T) {
	r := newAckRig()
	r.established(t)
	// The peer's FIN, arriving: seq 1101, 50 bytes, then the FIN.
	r.d.markFIN(craft(rigRemote, rigLocal, segOpts{seq: 1101, ack: 5001, flags: tcpACK | tcpFIN, wnd: 2048, payload: 50}))
	if !r.send(t, segOpts{seq: 5001, ack: 1152, flags: tcpACK, wnd: 2048}) {
		t.Fatal("ACK of the peer's FIN held")
	}
	// Another connection's FIN marks nothing of this one.
	r2 := newAckRig()
	r2.established(t)
	other := netip.MustParseAddrPort("10.9.0.3:80")
	r2.d.markFIN(craft(other, rigLocal, segOpts{seq: 1101, ack: 5001, flags: tcpACK | tcpFIN, wnd: 2048}))
	if r2.send(t, segOpts{seq: 5001, ack: 1152, flags: tcpACK, wnd: 2048}) {
		t.Fatal("ACK held back by another connection's FIN: want held")
	}
}

func TestAckDelayFlushedBeforeRST(t *testing.T) {
	r := newAckRig()
	r.established(t)
	ack := craft(rigLocal, rigRemote, segOpts{seq: 5001, ack: 1101, flags: tcpACK, wnd: 2048})
	if r.d.out(ack) {
		t.Fatal("want held")
	}
	if !r.send(t, segOpts{seq: 5001, flags: tcpRST}) {
		t.Fatal("RST held")
	}
	if len(r.emitted) != 1 || !bytes.Equal(r.emitted[0], ack) || r.d.flushed.Load() != 1 {
		t.Fatalf("emitted %d, flushed %d: want the held ACK sent before the RST", len(r.emitted), r.d.flushed.Load())
	}
}

func TestAckDelayEvictionSendsHeld(t *testing.T) {
	r := newAckRig()
	// ackWays+1 connections whose entries share one set.
	set := -1
	var conns []netip.AddrPort
	for p := uint16(1); len(conns) < ackWays+1; p++ {
		l := netip.AddrPortFrom(rigLocal.Addr(), 60000+p)
		s4, d4 := l.Addr().As4(), rigRemote.Addr().As4()
		h := connHash(uint32(s4[0])<<24|uint32(s4[1])<<16|uint32(s4[2])<<8|uint32(s4[3]),
			uint32(d4[0])<<24|uint32(d4[1])<<16|uint32(d4[2])<<8|uint32(d4[3]), uint32(l.Port())<<16|uint32(rigRemote.Port()))
		if s := int(h & (ackSets - 1)); set < 0 || s == set {
			set = s
			conns = append(conns, l)
		}
	}
	var first []byte
	for i, l := range conns {
		if !r.d.out(craft(l, rigRemote, segOpts{seq: 5000, ack: 1001, flags: tcpSYN | tcpACK, wnd: 65535})) {
			t.Fatal("SYN-ACK held")
		}
		a := craft(l, rigRemote, segOpts{seq: 5001, ack: 1101, flags: tcpACK, wnd: 2048})
		if i == 0 {
			first = a
			if r.d.out(a) {
				t.Fatal("first connection's ACK not held")
			}
		}
	}
	// The last SYN-ACK took the least recently used entry: the first
	// connection's, whose held ACK went out then.
	if len(r.emitted) != 1 || !bytes.Equal(r.emitted[0], first) || r.d.nheld != 0 {
		t.Fatalf("emitted %d (held now %d), want the evicted connection's ACK", len(r.emitted), r.d.nheld)
	}
}

func TestAckDelayAllocs(t *testing.T) {
	var clock int64
	d := newAckDelay(AckDelay, func() int64 { return clock }, func(time.Duration) {}, func([]byte) {})
	synack := craft(rigLocal, rigRemote, segOpts{seq: 5000, ack: 1001, flags: tcpSYN | tcpACK, wnd: 65535, opts: tsOpt})
	d.out(synack)
	ack := craft(rigLocal, rigRemote, segOpts{seq: 5001, flags: tcpACK, wnd: 2048, opts: tsOpt})
	data := craft(rigLocal, rigRemote, segOpts{seq: 5001, flags: tcpACK | 0x08, wnd: 2048, payload: 300, opts: tsOpt})
	fin := craft(rigRemote, rigLocal, segOpts{seq: 1, flags: tcpACK | tcpFIN, wnd: 2048})
	n := uint32(1001)
	allocs := testing.AllocsPerRun(1000, func() {
		n += 100
		put32(ack[28:], n)
		put32(data[28:], n)
		d.out(ack)  // held
		d.out(data) // supersedes it
		n += 100
		put32(ack[28:], n)
		d.out(ack) // held, then runs out
		clock += int64(AckDelay)
		d.expire()
		d.markFIN(fin)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per held, superseded and timed-out ACK, want 0", allocs)
	}
	if d.held.Load() == 0 || d.superseded.Load() == 0 || d.timedOut.Load() == 0 {
		t.Fatalf("held %d superseded %d timed out %d: the loop did not exercise the path", d.held.Load(), d.superseded.Load(), d.timedOut.Load())
	}
}

// FuzzAckDelay feeds arbitrary packets to the delayer (and its FIN marks):
// it must not panic, must keep its count of held ACKs, and must hold only
// what it was given.
func FuzzAckDelay(f *testing.F) {
	f.Add(craft(rigLocal, rigRemote, segOpts{seq: 5000, ack: 1001, flags: tcpSYN | tcpACK, wnd: 65535}),
		craft(rigLocal, rigRemote, segOpts{seq: 5001, ack: 1101, flags: tcpACK, wnd: 2048, opts: tsOpt}))
	f.Add([]byte{0x45, 0, 0, 20}, []byte{0x4f, 0, 0, 60, 0, 0, 0, 0, 0, 6})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		r := newAckRig()
		for _, p := range [][]byte{a, b, a, b} {
			in := bytes.Clone(p)
			if !r.d.out(p) {
				i := -1
				for j := range r.d.conns {
					if r.d.conns[j].held && bytes.Equal(r.d.pkts[j][:r.d.conns[j].hlen], in) {
						i = j
					}
				}
				if i < 0 {
					t.Fatal("held a packet it does not keep")
				}
			}
			r.d.markFIN(p)
			r.clock += int64(AckDelay) / 2
			r.d.expire()
		}
		n := 0
		for j := range r.d.conns {
			if r.d.conns[j].held != (r.d.due[j] != 0) {
				t.Fatalf("entry %d: held %v due %d", j, r.d.conns[j].held, r.d.due[j])
			}
			if r.d.conns[j].held {
				n++
			}
		}
		if n != r.d.nheld {
			t.Fatalf("%d held, counted %d", n, r.d.nheld)
		}
	})
}

// countingPeer is a peer that counts what it carries.
type countingPeer struct {
	peer
	n atomic.Int64
}

func (p *countingPeer) SendLocal(pkt []byte) error {
	p.n.Add(1)
	return p.peer.SendLocal(pkt)
}

// stackPair is two local stacks wired back to back, app (10.9.0.1) and
// srv (10.9.0.2), closed when the test ends; the counter counts what app
// sends.
func stackPair(t *testing.T) (app, srv *Stack, toSrv *countingPeer) {
	t.Helper()
	toSrv, toApp := &countingPeer{}, &countingPeer{}
	app, err := New(toSrv, []netip.Prefix{netip.MustParsePrefix("10.9.0.1/24")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)
	srv, err = New(toApp, []netip.Prefix{netip.MustParsePrefix("10.9.0.2/24")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	toSrv.to.Store(srv)
	toApp.to.Store(app)
	return app, srv, toSrv
}

// TestAckDelayKeepAliveExchange runs request/response exchanges on one
// connection between two netstacks and counts the packets the client side
// sends: with the delayer the next request carries the ACK of each
// response, so about one packet per exchange, where gVisor alone sends
// two. Then, idle, the last response's ACK goes out when its time runs
// out.
func TestAckDelayKeepAliveExchange(t *testing.T) {
	app, srv, toSrv := stackPair(t)
	ln, err := srv.ListenTCP(netip.MustParseAddrPort("10.9.0.2:8080"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const exchanges = 200
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 64)
		for {
			if _, err := io.ReadFull(c, buf[:16]); err != nil {
				return
			}
			if _, err := c.Write(buf[:48]); err != nil {
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := app.DialTCP(ctx, netip.MustParseAddrPort("10.9.0.2:8080"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 48)
	// The first exchange settles the handshake.
	exchange := func() {
		if _, err := c.Write(buf[:16]); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
	}
	exchange()
	before := toSrv.n.Load()
	for range exchanges {
		exchange()
	}
	sent := toSrv.n.Load() - before
	t.Logf("client side: %d packets for %d exchanges; held %d superseded %d timed out %d flushed %d",
		sent, exchanges, app.acks.held.Load(), app.acks.superseded.Load(), app.acks.timedOut.Load(), app.acks.flushed.Load())
	// Two per exchange without the delayer; a scheduling stall longer than
	// AckDelay costs one more packet, so the bound leaves room for many.
	if sent >= exchanges*3/2 {
		t.Errorf("%d packets for %d exchanges, want about one each", sent, exchanges)
	}
	if app.acks.superseded.Load() == 0 {
		t.Error("no held ACK was superseded")
	}
	// Idle: the last response's ACK goes when its time runs out.
	deadline := time.Now().Add(5 * time.Second)
	for app.acks.timedOut.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if app.acks.timedOut.Load() == 0 {
		t.Fatal("the last ACK never went out")
	}
}

// BenchmarkAckDelayOut is the delayer's cost on the transmit path: per
// iteration a pure ACK held and the data segment that supersedes it.
func BenchmarkAckDelayOut(b *testing.B) {
	d := newAckDelay(AckDelay, func() int64 { return 1 }, func(time.Duration) {}, func([]byte) {})
	d.out(craft(rigLocal, rigRemote, segOpts{seq: 5000, ack: 1001, flags: tcpSYN | tcpACK, wnd: 65535, opts: tsOpt}))
	ack := craft(rigLocal, rigRemote, segOpts{seq: 5001, flags: tcpACK, wnd: 2048, opts: tsOpt})
	data := craft(rigLocal, rigRemote, segOpts{seq: 5001, flags: tcpACK | 0x08, wnd: 2048, payload: 300, opts: tsOpt})
	n := uint32(1001)
	for b.Loop() {
		n += 100
		put32(ack[28:], n)
		put32(data[28:], n)
		d.out(ack)
		d.out(data)
	}
}
