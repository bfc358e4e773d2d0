package localstack

import (
	"context"
	"io"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
)

// peer is a Sender that hands packets to another Stack, so two stacks talk
// back to back without a kernel device.
type peer struct{ to atomic.Pointer[Stack] }

func (p *peer) SendLocal(pkt []byte) error {
	if s := p.to.Load(); s != nil {
		s.DeliverLocal(pkt)
	}
	return nil
}

// pair builds an appliance-side stack (10.9.0.1) and a server-side one
// (10.9.0.2), wired to each other.
func pair(t *testing.T) (app, srv *Stack) {
	t.Helper()
	var toSrv, toApp peer
	app, err := New(&toSrv, []netip.Prefix{netip.MustParsePrefix("10.9.0.1/24")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err = New(&toApp, []netip.Prefix{netip.MustParsePrefix("10.9.0.2/24")}, nil)
	if err != nil {
		app.Close()
		t.Fatal(err)
	}
	toSrv.to.Store(srv)
	toApp.to.Store(app)
	t.Cleanup(func() { app.Close(); srv.Close() })
	return app, srv
}

func TestDialThroughNetstackIsTapped(t *testing.T) {
	app, srv := pair(t)
	ln, err := srv.ListenTCP(netip.MustParseAddrPort("10.9.0.2:8080"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Write([]byte("hello from server"))
		c.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dst := netip.MustParseAddrPort("10.9.0.2:8080")
	tap := app.NewTap(dst, 64)
	c, err := app.DialTCP(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "hello from server" {
		t.Fatalf("read %q", got)
	}
	local := netip.MustParseAddrPort(c.LocalAddr().String())
	c.Close()
	if local.Addr() != netip.MustParseAddr("10.9.0.1") || local.Port() < 63488 {
		t.Errorf("local address %s: want the self IP and a stack port", local)
	}
	pkts := app.StopTap(tap, local.Port())
	if len(pkts) < 4 || !pkts[0].Out || pkts[0].Data[33]&0x02 == 0 {
		t.Fatalf("tap saw %d packets, first should be our SYN", len(pkts))
	}
}

func TestRawSocketSeesSynAck(t *testing.T) {
	app, srv := pair(t)
	ln, err := srv.ListenTCP(netip.MustParseAddrPort("10.9.0.2:8080"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	rc, err := app.OpenRaw(ProtoTCP, netip.MustParseAddr("10.9.0.2"))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if p := rc.Local.Port(); p < 61440 || p > 63487 {
		t.Fatalf("raw port %d outside the probe range", p)
	}
	syn := tcpSegment(rc.Local, netip.MustParseAddrPort("10.9.0.2:8080"), 1000, 0, 0x02)
	if err := rc.Send(syn); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := rc.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if flags := p.Data[33]; flags&0x12 != 0x12 {
		t.Fatalf("flags %#x, want SYN,ACK", flags)
	}
	if _, err := app.OpenRaw(ProtoTCP, netip.MustParseAddr("192.0.2.1")); err == nil {
		t.Error("raw socket to an unconnected network opened")
	}
}

// tcpSegment builds a minimal IPv4+TCP packet with correct checksums.
func tcpSegment(src, dst netip.AddrPort, seq, ack uint32, flags byte) []byte {
	b := make([]byte, 40)
	b[0] = 0x45
	b[3] = 40
	b[8] = 64
	b[9] = 6
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	copy(b[12:16], s4[:])
	copy(b[16:20], d4[:])
	put16(b[10:], ^csum(b[:20], 0))
	t := b[20:]
	put16(t[0:], src.Port())
	put16(t[2:], dst.Port())
	put32(t[4:], seq)
	put32(t[8:], ack)
	t[12] = 5 << 4
	t[13] = flags
	put16(t[14:], 65535)
	var ph [12]byte
	copy(ph[0:4], s4[:])
	copy(ph[4:8], d4[:])
	ph[9] = 6
	ph[11] = 20
	put16(t[16:], ^csum(t, uint32(csum(ph[:], 0))))
	return b
}

func put16(b []byte, v uint16) { b[0], b[1] = byte(v>>8), byte(v) }
func put32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}
func csum(b []byte, init uint32) uint16 {
	s := init
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}
