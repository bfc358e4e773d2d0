package netprobe

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"lbx/dataplane/localstack"
)

type peer struct {
	to atomic.Pointer[localstack.Stack]
}

func (p *peer) SendLocal(pkt []byte) error {
	if s := p.to.Load(); s != nil {
		s.DeliverLocal(pkt)
	}
	return nil
}

var (
	appIP = netip.MustParseAddr("10.9.0.1")
	srvIP = netip.MustParseAddr("10.9.0.2")
)

// pair wires the appliance's local stack to a server stack back to back;
// the server answers on 8080 (closes after the peer does) and 8443 with
// an HTTP answer, and has nothing on 81.
func pair(t *testing.T) *localstack.Stack {
	t.Helper()
	var toSrv, toApp peer
	app, err := localstack.New(&toSrv, []netip.Prefix{netip.PrefixFrom(appIP, 24)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := localstack.New(&toApp, []netip.Prefix{netip.PrefixFrom(srvIP, 24)}, nil)
	if err != nil {
		app.Close()
		t.Fatal(err)
	}
	toSrv.to.Store(srv)
	toApp.to.Store(app)
	echo, err := srv.ListenTCP(netip.AddrPortFrom(srvIP, 8080))
	if err != nil {
		t.Fatal(err)
	}
	web, err := srv.ListenTCP(netip.AddrPortFrom(srvIP, 8000))
	if err != nil {
		t.Fatal(err)
	}
	serve := func(ln net.Listener, h func(net.Conn)) {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); c.SetDeadline(time.Now().Add(5 * time.Second)); h(c) }()
		}
	}
	go serve(echo, func(c net.Conn) { io.Copy(io.Discard, c) })
	go serve(web, func(c net.Conn) {
		r := bufio.NewReader(c)
		for {
			l, err := r.ReadString('\n')
			if err != nil || l == "\r\n" {
				break
			}
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
	})
	t.Cleanup(func() { echo.Close(); web.Close(); app.Close(); srv.Close() })
	return app
}

func ctx5(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func flagsOf(o Outcome) string {
	var f []string
	for _, p := range o.Packets {
		s := Summarize(p)
		dir := "<"
		if p.Out {
			dir = ">"
		}
		f = append(f, dir+s.Flags)
	}
	return strings.Join(f, " ")
}

func TestTCPHandshakeGracefulClose(t *testing.T) {
	app := pair(t)
	o := TCPHandshake(ctx5(t), app, netip.AddrPortFrom(srvIP, 8080), false, true)
	if !o.OK {
		t.Fatalf("check failed: %s (%s)", o.Reason, flagsOf(o))
	}
	if got, want := flagsOf(o), ">S <S. >. >F. <. <F. >."; got != want && got != ">S <S. >. >F. <F. >." {
		t.Errorf("exchange %q, want %q", got, want)
	}
}

func TestTCPHalfOpen(t *testing.T) {
	app := pair(t)
	o := TCPHandshake(ctx5(t), app, netip.AddrPortFrom(srvIP, 8080), true, false)
	if !o.OK || flagsOf(o) != ">S <S. >R" {
		t.Fatalf("half-open: ok=%v reason=%q exchange %q, want >S <S. >R", o.OK, o.Reason, flagsOf(o))
	}
}

func TestTCPRefused(t *testing.T) {
	app := pair(t)
	for _, half := range []bool{false, true} {
		o := TCPHandshake(ctx5(t), app, netip.AddrPortFrom(srvIP, 81), half, false)
		if o.OK || o.Reason != "connection refused (RST to SYN)" {
			t.Errorf("half-open=%v: ok=%v reason=%q, want refused", half, o.OK, o.Reason)
		}
	}
}

func TestTCPNoAnswer(t *testing.T) {
	app := pair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	o := TCPHandshake(ctx, app, netip.AddrPortFrom(netip.MustParseAddr("10.9.0.99"), 80), false, false)
	if o.OK || o.Reason != "no answer to SYN" {
		t.Errorf("ok=%v reason=%q", o.OK, o.Reason)
	}
}

func TestICMPEcho(t *testing.T) {
	app := pair(t)
	if o := ICMPEcho(ctx5(t), app, srvIP); !o.OK || len(o.Packets) != 2 {
		t.Fatalf("echo: ok=%v reason=%q packets=%d", o.OK, o.Reason, len(o.Packets))
	}
}

func TestStreamHTTP(t *testing.T) {
	app := pair(t)
	dst := netip.AddrPortFrom(srvIP, 8000)
	send := "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	tests := []struct {
		name        string
		recv, rdis  string
		ok, disable bool
		reason      string
	}{
		{"recv matches", "200 OK", "", true, false, ""},
		{"recv mismatch", "^HTTP/1.1 503", "", false, false, "recv mismatch (HTTP 200)"},
		{"recv-disable", "200", "hello", false, true, "recv-disable matched"},
		{"no recv: any answer", "", "", true, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := StreamSpec{Send: send, HTTP: true}
			if tt.recv != "" {
				s.Recv = regexp.MustCompile(tt.recv)
			}
			if tt.rdis != "" {
				s.RecvDisable = regexp.MustCompile(tt.rdis)
			}
			o := Stream(ctx5(t), app, dst, s)
			if o.OK != tt.ok || o.Disable != tt.disable || o.Reason != tt.reason {
				t.Errorf("ok=%v disable=%v reason=%q; want %v %v %q", o.OK, o.Disable, o.Reason, tt.ok, tt.disable, tt.reason)
			}
			if len(o.Packets) < 3 || !strings.HasPrefix(flagsOf(o), ">S <S. >.") {
				t.Errorf("trace %q: want the handshake first", flagsOf(o))
			}
		})
	}
	if o := Stream(ctx5(t), app, netip.AddrPortFrom(srvIP, 81), StreamSpec{HTTP: true}); o.OK || o.Reason != "connection refused (RST to SYN)" {
		t.Errorf("refused: ok=%v reason=%q", o.OK, o.Reason)
	}
}

// A udp probe to a port nothing listens on fails with the ICMP port
// unreachable the server sends, well before its deadline.
func TestUDPPortUnreachable(t *testing.T) {
	app := pair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	o := UDP(ctx, app, netip.AddrPortFrom(srvIP, 81), "ping", nil)
	if o.OK || o.Reason != "port unreachable" {
		t.Fatalf("outcome %+v, want a failure: port unreachable", o)
	}
	if ctx.Err() != nil {
		t.Errorf("the probe waited for its deadline instead of taking the ICMP error")
	}
}

// otherClockCtx is a probe context on a clock other than the wall clock
// (a test's manual clock): its deadline reads as long past in wall time,
// yet it is not done.
type otherClockCtx struct{ context.Context }

func (otherClockCtx) Deadline() (time.Time, bool) {
	return time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), true
}

// Sockets follow the end of the probe's context, not its deadline's value:
// on a monitors clock that is not the wall clock, a stream probe still
// talks, and it is cut short when its context ends.
func TestStreamFollowsContextNotDeadlineValue(t *testing.T) {
	app := pair(t)
	dst := netip.AddrPortFrom(srvIP, 8000)
	s := StreamSpec{Send: "GET / HTTP/1.0\r\n\r\n", Recv: regexp.MustCompile("hello"), HTTP: true}
	if o := Stream(otherClockCtx{ctx5(t)}, app, dst, s); !o.OK {
		t.Errorf("stream on another clock: %q, want success", o.Reason)
	}
	// The echo port never answers: only the context's end stops the read.
	ctx, cancel := context.WithCancel(ctx5(t))
	time.AfterFunc(50*time.Millisecond, cancel)
	s = StreamSpec{Send: "ping", Recv: regexp.MustCompile("never")}
	if o := Stream(otherClockCtx{ctx}, app, netip.AddrPortFrom(srvIP, 8080), s); o.OK || !strings.Contains(o.Reason, "no answer") {
		t.Errorf("stream cancelled while waiting: ok=%v reason=%q, want no answer", o.OK, o.Reason)
	}
}
