package localstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"lbx/dataplane"
)

// echoOnce serves ln: each connection gets one byte back for the one it
// sends, then the server waits for the client's close (so the client is
// the active closer and its side goes to TIME_WAIT, as the L7 proxy's
// server-side connections do).
func echoOnce(t *testing.T, ln net.Listener) {
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				b := make([]byte, 1)
				if _, err := io.ReadFull(c, b); err != nil {
					return
				}
				c.Write(b)
				io.Copy(io.Discard, c)
			}()
		}
	}()
}

func roundTrip(c net.Conn) error {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte{'x'}); err != nil {
		return err
	}
	b := make([]byte, 1)
	_, err := io.ReadFull(c, b)
	return err
}

// TestServerPortsReused is issue 17: without one-connect the proxy opens
// a server-side connection per client connection and closes it first, so
// each one leaves a TIME_WAIT 4-tuple behind. With gVisor's ephemeral
// bind (exclusive ports, 60 s TIME_WAIT) the 2,049th connection found "no
// ports are available". Ports are now reused per destination, a dial
// waits (bounded) for a TIME_WAIT to end, and the monitor range is
// separate.
func TestServerPortsReused(t *testing.T) {
	app, srv := pair(t)
	dsts := []netip.AddrPort{
		netip.MustParseAddrPort("10.9.0.2:8080"),
		netip.MustParseAddrPort("10.9.0.2:8081"),
		netip.MustParseAddrPort("10.9.0.2:8082"),
		netip.MustParseAddrPort("10.9.0.2:8083"),
	}
	for _, d := range dsts {
		ln, err := srv.ListenTCP(d)
		if err != nil {
			t.Fatal(err)
		}
		echoOnce(t, ln)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	// 3,000 connections, more than the whole stack range of 2,048 ports,
	// alternating between two members: each member needs 1,500 ports,
	// fewer than the proxy range holds, however fast they are dialled.
	const n = 3000
	start := time.Now()
	for i := range n {
		c, err := app.DialServer(ctx, netip.Addr{}, dsts[i%2])
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		lp := netip.MustParseAddrPort(c.LocalAddr().String()).Port()
		if lp < ProxyPortMin || lp > dataplane.StackPortMax {
			c.Close()
			t.Fatalf("connection %d from port %d: want the proxy range %d-%d", i, lp, ProxyPortMin, dataplane.StackPortMax)
		}
		err = roundTrip(c)
		c.Close()
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
	}
	el := time.Since(start)
	t.Logf("%d server-side connections (connect, 1-byte exchange, active close) in %v: %.0f/s", n, el.Round(time.Millisecond), float64(n)/el.Seconds())

	// 2,500 connections to one member, more than the proxy range: once
	// every port is in TIME_WAIT, dials wait for the oldest to end (2 s)
	// instead of failing.
	const one = 2500
	waits := app.PortWaits()
	start = time.Now()
	for i := range one {
		c, err := app.DialServer(ctx, netip.Addr{}, dsts[3])
		if err != nil {
			t.Fatalf("connection %d to one member: %v", i, err)
		}
		err = roundTrip(c)
		c.Close()
		if err != nil {
			t.Fatalf("connection %d to one member: %v", i, err)
		}
	}
	el = time.Since(start)
	t.Logf("%d connections to one member in %v: %.0f/s, %d waits for a port", one, el.Round(time.Millisecond), float64(one)/el.Seconds(), app.PortWaits()-waits)

	// Every proxy port held open to the third member: the next proxy dial
	// to it finds none, but a monitor still reaches it from its own range,
	// and the proxy still reaches the other members.
	proxyPorts := int(dataplane.StackPortMax-ProxyPortMin) + 1
	held := make([]net.Conn, 0, proxyPorts)
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i := range proxyPorts {
		c, err := app.DialTCPFrom(ctx, netip.MustParseAddr("10.9.0.1"), dsts[2])
		if err != nil {
			t.Fatalf("held connection %d: %v", i, err)
		}
		held = append(held, c)
	}
	before := app.PortExhausted()
	if _, err := app.DialServer(ctx, netip.Addr{}, dsts[2]); !errors.Is(err, ErrNoStackPort) {
		t.Fatalf("proxy dial with all %d ports held: %v, want %v", proxyPorts, err, ErrNoStackPort)
	} else {
		t.Logf("proxy dial with every port held: %v", err)
	}
	if got := app.PortExhausted(); got != before+1 {
		t.Errorf("PortExhausted %d, want %d", got, before+1)
	}
	m, err := app.DialTCP(ctx, dsts[2])
	if err != nil {
		t.Fatalf("monitor dial while the proxy range is exhausted: %v", err)
	}
	lp := netip.MustParseAddrPort(m.LocalAddr().String()).Port()
	if lp < MonitorPortMin || lp > MonitorPortMax {
		t.Errorf("monitor connection from port %d: want %d-%d", lp, MonitorPortMin, MonitorPortMax)
	}
	if err := roundTrip(m); err != nil {
		t.Errorf("monitor connection: %v", err)
	}
	m.Close()
	c, err := app.DialServer(ctx, netip.Addr{}, dsts[0])
	if err != nil {
		t.Fatalf("proxy dial to another member: %v", err)
	}
	if err := roundTrip(c); err != nil {
		t.Errorf("proxy dial to another member: %v", err)
	}
	c.Close()
}

// Concurrent dials to the same members (the proxy dials from one
// goroutine per client connection) never share a 4-tuple: every
// connection completes its own exchange.
func TestServerPortsConcurrent(t *testing.T) {
	app, srv := pair(t)
	dsts := []netip.AddrPort{netip.MustParseAddrPort("10.9.0.2:8080"), netip.MustParseAddrPort("10.9.0.2:8081")}
	for _, d := range dsts {
		ln, err := srv.ListenTCP(d)
		if err != nil {
			t.Fatal(err)
		}
		echoOnce(t, ln)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	const workers, each = 8, 250
	errs := make(chan error, workers)
	var mu sync.Mutex
	open := map[netip.AddrPort]map[uint16]bool{}
	for w := range workers {
		go func() {
			for i := range each {
				d := dsts[(w+i)%2]
				c, err := app.DialServer(ctx, netip.Addr{}, d)
				if err != nil {
					errs <- err
					return
				}
				lp := netip.MustParseAddrPort(c.LocalAddr().String()).Port()
				mu.Lock()
				if open[d] == nil {
					open[d] = map[uint16]bool{}
				}
				dup := open[d][lp]
				open[d][lp] = true
				mu.Unlock()
				if dup {
					c.Close()
					errs <- fmt.Errorf("port %d to %s given to two live connections", lp, d)
					return
				}
				err = roundTrip(c)
				c.Close()
				mu.Lock()
				delete(open[d], lp)
				mu.Unlock()
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
