package testbed

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"lbx/ctrlplane/ctlsock"
)

// The service-down tests mark a member down with a tcp monitor whose
// destination is port 9090 of the member's address, a port the test opens
// and closes itself (healthPort), while the member's data port (80, or the
// UDP echo on 7) keeps working: only the monitor's verdict changes.
const healthPortNum = 9090

// healthPort is a TCP listener on a server host, opened in the host's
// namespace by the test process, that accepts and closes every connection.
type healthPort struct {
	t    *testing.T
	tb   *Testbed
	host string
	ln   net.Listener
	done chan struct{}
}

func newHealthPort(t *testing.T, tb *Testbed, host string) *healthPort {
	h := &healthPort{t: t, tb: tb, host: host}
	h.open()
	t.Cleanup(h.close)
	return h
}

// open starts listening (a no-op when it already is).
func (h *healthPort) open() {
	h.t.Helper()
	if h.ln != nil {
		return
	}
	if err := h.tb.In(h.host, func() error {
		var err error
		h.ln, err = net.Listen("tcp4", fmt.Sprintf(":%d", healthPortNum))
		return err
	}); err != nil {
		h.t.Fatalf("%s: listen on %d: %v", h.host, healthPortNum, err)
	}
	ln, done := h.ln, make(chan struct{})
	h.done = done
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed
			}
			c.Close()
		}
	}()
}

// close stops listening: the kernel refuses the monitor's SYNs.
func (h *healthPort) close() {
	if h.ln == nil {
		return
	}
	h.ln.Close()
	<-h.done
	h.ln = nil
}

// dripConn is one GET /drip through a VIP, read line by line in a
// goroutine. Every read has a deadline of gap, so a transfer that stops
// ends with a timeout error after gap; the whole read is bounded by limit.
type dripConn struct {
	conn   net.Conn
	server string // the first line's server
	lines  atomic.Int64
	done   chan struct{}
	mu     sync.Mutex
	err    error     // why reading ended; nil: the body ended cleanly
	last   time.Time // when the last line arrived
	ended  time.Time // when reading ended
}

func startDrip(t *testing.T, tb *Testbed, vip string, n, ms int, gap, limit time.Duration) *dripConn {
	t.Helper()
	var conn net.Conn
	if err := tb.In("client", func() error {
		var err error
		conn, err = net.DialTimeout("tcp4", vip, 5*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	d := &dripConn{conn: conn, done: make(chan struct{})}
	end := time.Now().Add(limit)
	deadline := func() {
		dl := time.Now().Add(gap)
		if dl.After(end) {
			dl = end
		}
		conn.SetReadDeadline(dl)
	}
	conn.SetWriteDeadline(time.Now().Add(3 * time.Second))
	if _, err := fmt.Fprintf(conn, "GET /drip?n=%d&ms=%d HTTP/1.1\r\nHost: vip\r\n\r\n", n, ms); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	deadline()
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("drip through %s: %v", vip, err)
	}
	body := bufio.NewReader(resp.Body)
	first, err := body.ReadString('\n')
	if err != nil {
		t.Fatalf("drip through %s: first line %q: %v", vip, first, err)
	}
	d.server = ServerName(first)
	d.lines.Store(1)
	d.last = time.Now()
	go func() {
		defer close(d.done)
		defer func() {
			d.mu.Lock()
			d.ended = time.Now()
			d.mu.Unlock()
		}()
		for i := 1; i < n; i++ {
			deadline()
			l, err := body.ReadString('\n')
			if err != nil {
				d.mu.Lock()
				d.err = err
				d.mu.Unlock()
				return
			}
			if ServerName(l) != d.server {
				d.mu.Lock()
				d.err = fmt.Errorf("line %d %q from another server than %s", i+1, l, d.server)
				d.mu.Unlock()
				return
			}
			d.mu.Lock()
			d.last = time.Now()
			d.mu.Unlock()
			d.lines.Add(1)
		}
		// Then the end of the chunked body.
		deadline()
		if _, err := body.ReadByte(); err == nil {
			d.mu.Lock()
			d.err = errors.New("more than n lines")
			d.mu.Unlock()
		}
	}()
	return d
}

// wait waits (bounded) for the reader to end and returns when the last
// line arrived, when reading ended, and why.
func (d *dripConn) wait(t *testing.T, limit time.Duration) (last, ended time.Time, err error) {
	t.Helper()
	select {
	case <-d.done:
	case <-time.After(limit):
		t.Fatalf("drip reader still running after %s (%d lines)", limit, d.lines.Load())
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last, d.ended, d.err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// monitorDown is how long a monitor with interval 1 and timeout 3 may take
// to mark a member down once its port closes: the timeout after the last
// good probe, one interval, and 3 s for scheduling and show polling.
const monitorDown = 3*time.Second + time.Second + 3*time.Second

// actAllowance bounds how long after show reports the member down the
// dataplane may take to act on a live connection (the show poll is 100 ms;
// the rest is for scheduling on a loaded 2-core machine).
const actAllowance = 3 * time.Second

func setupServiceDown(t *testing.T, tb *Testbed, app *ctlsock.Client) map[string]*healthPort {
	t.Helper()
	hp := map[string]*healthPort{}
	for _, s := range []string{"server1", "server2", "server3"} {
		hp[s] = newHealthPort(t, tb, s)
	}
	execAll(t, app,
		fmt.Sprintf("create ltm monitor tcp sd_tcp defaults-from tcp interval 1 timeout 3 destination *:%d", healthPortNum),
		"create ltm pool sd_pool monitor sd_tcp slow-ramp-time 0 members add { 198.18.2.11:80 }",
		"create ltm virtual vs_sd destination 198.18.1.101:80 ip-protocol tcp pool sd_pool source-address-translation { type automap }",
		"create ltm pool sd_udp monitor sd_tcp slow-ramp-time 0 service-down-action reselect members add { 198.18.2.11:7 198.18.2.12:7 198.18.2.13:7 }",
		"create ltm virtual vs_sd_udp destination 198.18.1.101:7 ip-protocol udp pool sd_udp source-address-translation { type automap }",
	)
	return hp
}

// service-down-action on live connections: a tcp monitor on port 9090
// marks server1's member down while its port 80 keeps serving a long
// /drip transfer through the VIP; what the client sees depends on the
// pool's service-down-action. A UDP flow stays on its member with none
// (the control) and moves to another member with reselect.
func TestIntegrationServiceDownAction(t *testing.T) {
	tb := upTestbed(t)
	app := tb.Client()
	hp := setupServiceDown(t, tb, app)
	const member = "/Common/198.18.2.11:80"
	const vip = "198.18.1.101:80"

	// run sets the action, waits for the member to be up, starts a drip
	// of n lines 100 ms apart, closes the health port and waits for the
	// member to go down; it returns the drip and the line count then.
	run := func(t *testing.T, action string, n int, gap, limit time.Duration) (*dripConn, int64) {
		t.Helper()
		execAll(t, app, "modify ltm pool sd_pool service-down-action "+action)
		hp["server1"].open()
		waitMember(t, app, "sd_pool", member, "up", 15*time.Second)
		d := startDrip(t, tb, vip, n, 100, gap, limit)
		if d.server != "server1" {
			t.Fatalf("drip answered by %q, want server1", d.server)
		}
		hp["server1"].close()
		took := waitMember(t, app, "sd_pool", member, "down", monitorDown)
		at := d.lines.Load()
		t.Logf("member down %s after the health port closed; %d lines read by then", took.Round(time.Millisecond), at)
		return d, at
	}

	t.Run("none", func(t *testing.T) {
		// 80 lines, 100 ms apart: 7.9 s, longer than the monitor needs.
		const n = 80
		d, at := run(t, "none", n, 3*time.Second, 30*time.Second)
		if at >= n {
			t.Fatalf("the transfer ended (%d lines) before the member went down: nothing shown", at)
		}
		_, _, err := d.wait(t, time.Duration(n)*100*time.Millisecond+5*time.Second)
		if err != nil || d.lines.Load() != n {
			t.Errorf("with service-down-action none the transfer should complete: %d of %d lines, %v", d.lines.Load(), n, err)
		}
	})

	t.Run("reset", func(t *testing.T) {
		const n = 600 // 60 s: it must be cut long before
		d, _ := run(t, "reset", n, 3*time.Second, 30*time.Second)
		downAt := time.Now()
		_, ended, err := d.wait(t, actAllowance+3*time.Second)
		t.Logf("reset: reader ended %s after the member was down: %d lines, %v", ended.Sub(downAt).Round(time.Millisecond), d.lines.Load(), err)
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("with service-down-action reset the client should see a reset; reading ended with %v after %d lines", err, d.lines.Load())
		} else if ended.Sub(downAt) > actAllowance {
			t.Errorf("reset came %s after the member was marked down, want within %s", ended.Sub(downAt), actAllowance)
		}
	})

	t.Run("drop", func(t *testing.T) {
		capt, err := tb.Capture("client", 80)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { capt.Stop() })
		const n = 600
		const gap = 2 * time.Second // 20 times the drip's pause: the data has stopped
		d, _ := run(t, "drop", n, gap, 30*time.Second)
		downAt := time.Now()
		last, ended, err := d.wait(t, actAllowance+gap+3*time.Second)
		t.Logf("drop: reader ended %s after the member was down: %d lines, the last %s after, %v",
			ended.Sub(downAt).Round(time.Millisecond), d.lines.Load(), last.Sub(downAt).Round(time.Millisecond), err)
		switch {
		case !isTimeout(err):
			t.Errorf("with service-down-action drop the client should get no more data and time out; reading ended with %v after %d lines", err, d.lines.Load())
		case last.Sub(downAt) > actAllowance:
			t.Errorf("data still arrived %s after the member was marked down (allowance %s)", last.Sub(downAt), actAllowance)
		}
		pkts, _ := capt.Stop()
		local := netip.MustParseAddrPort(d.conn.LocalAddr().String())
		seen := 0
		for _, p := range pkts {
			if p.Proto != ProtoTCP || p.Dst != local {
				continue
			}
			seen++
			if p.Flags&FlagRST != 0 {
				t.Errorf("the client got a RST: %s\n%s", p, FormatPackets(pkts))
				break
			}
		}
		if seen == 0 { // the capture must have seen the transfer for its silence to count
			t.Errorf("the capture on the client saw no packet to %s:\n%s", local, FormatPackets(pkts))
		}
	})

	// udpFlow sets sd_udp's action, waits for its members to be up, opens
	// a UDP flow from one client socket and returns its echo and the
	// member that answers it (steady over a few datagrams).
	udpFlow := func(t *testing.T, action string) (echo func() string, first string) {
		t.Helper()
		execAll(t, app, "modify ltm pool sd_udp service-down-action "+action)
		for _, s := range []string{"server1", "server2", "server3"} {
			hp[s].open()
			waitMember(t, app, "sd_udp", serverMember(t, tb, s, 7), "up", 15*time.Second)
		}
		var conn net.Conn
		if err := tb.In("client", func() error {
			var err error
			conn, err = net.Dial("udp4", "198.18.1.101:7")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		seq := 0
		// echo sends one datagram and returns the answering server, ""
		// when no answer came within 300 ms.
		echo = func() string {
			seq++
			msg := fmt.Sprintf("sd %d", seq)
			conn.SetDeadline(time.Now().Add(300 * time.Millisecond))
			if _, err := conn.Write([]byte(msg)); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 1500)
			for {
				k, err := conn.Read(buf)
				if err != nil {
					return ""
				}
				name, rest, _ := strings.Cut(string(buf[:k]), " ")
				if rest == msg { // an older answer arriving late is skipped
					return name
				}
			}
		}
		for i := 0; i < 10 && first == ""; i++ { // the first datagram may wait for ARP
			first = echo()
		}
		if !strings.HasPrefix(first, "server") {
			t.Fatalf("no echo through the UDP virtual: %q", first)
		}
		for range 3 {
			if got := echo(); got != first {
				t.Fatalf("one UDP flow answered by %s, then %q", first, got)
			}
		}
		return echo, first
	}

	// The control: with none, the flow stays on its member after it is
	// marked down, whose echo keeps answering (only the verdict changed).
	t.Run("none udp", func(t *testing.T) {
		echo, first := udpFlow(t, "none")
		hp[first].close()
		waitMember(t, app, "sd_udp", serverMember(t, tb, first, 7), "down", monitorDown)
		for range 5 {
			if got := echo(); got != first {
				t.Errorf("with service-down-action none the flow should stay on %s after it is down; answered by %q", first, got)
			}
		}
	})

	t.Run("reselect udp", func(t *testing.T) {
		echo, first := udpFlow(t, "reselect")
		hp[first].close()
		waitMember(t, app, "sd_udp", serverMember(t, tb, first, 7), "down", monitorDown)
		downAt := time.Now()
		var moved string
		answers := map[string]int{}
		for time.Since(downAt) < actAllowance+2*time.Second && moved == "" {
			name := echo()
			answers[name]++
			if name != "" && name != first {
				moved = name
			}
			if name != "" {
				time.Sleep(100 * time.Millisecond)
			}
		}
		t.Logf("reselect: after %s down, answers %v", first, answers)
		if moved == "" {
			t.Fatalf("with service-down-action reselect the flow should move off %s once it is down; answers %v", first, answers)
		}
		for range 3 {
			if got := echo(); got != moved {
				t.Errorf("after reselecting %s the flow answered by %q", moved, got)
			}
		}
	})
}
