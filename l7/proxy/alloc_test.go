package proxy

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
)

// rawMember is a member that allocates nothing per request: it reads
// GET requests (no body) into a fixed buffer and answers each with one
// fixed response, so that testing.AllocsPerRun counts the proxy's
// allocations only.
func rawMember(t *testing.T) netip.AddrPort {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nserver=raw\r\n")
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 16384)
				n := 0
				for {
					m, err := c.Read(buf[n:])
					if err != nil {
						return
					}
					n += m
					for {
						i := bytes.Index(buf[:n], []byte("\r\n\r\n"))
						if i < 0 {
							break
						}
						if _, err := c.Write(resp); err != nil {
							return
						}
						n = copy(buf, buf[i+4:n])
					}
					if n == len(buf) {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).AddrPort()
}

// rawClient sends one request at a time over one connection and reads
// the answer (Content-Length delimited), allocating nothing per request.
type rawClient struct {
	c   net.Conn
	req []byte
	buf []byte
	n   int
}

var errShort = errors.New("answer not understood")

func (rc *rawClient) roundTrip() error {
	if _, err := rc.c.Write(rc.req); err != nil {
		return err
	}
	for {
		if i := bytes.Index(rc.buf[:rc.n], []byte("\r\n\r\n")); i >= 0 {
			cl := contentLength(rc.buf[:i])
			if cl < 0 {
				return errShort
			}
			end := i + 4 + cl
			for rc.n < end {
				m, err := rc.c.Read(rc.buf[rc.n:])
				if err != nil {
					return err
				}
				rc.n += m
			}
			if !bytes.HasPrefix(rc.buf, []byte("HTTP/1.1 200 ")) {
				return errShort
			}
			rc.n = copy(rc.buf, rc.buf[end:rc.n])
			return nil
		}
		if rc.n == len(rc.buf) {
			return errShort
		}
		m, err := rc.c.Read(rc.buf[rc.n:])
		if err != nil {
			return err
		}
		rc.n += m
	}
}

// contentLength is the Content-Length of a response header, -1 if none.
func contentLength(h []byte) int {
	k := []byte("\r\nContent-Length: ")
	i := bytes.Index(h, k)
	if i < 0 {
		return -1
	}
	v, n := 0, 0
	for _, b := range h[i+len(k):] {
		if b < '0' || b > '9' {
			break
		}
		v, n = v*10+int(b-'0'), n+1
	}
	if n == 0 {
		return -1
	}
	return v
}

// proxyAllocBudget is what one keep-alive GET through the proxy
// (one-connect, a reused server connection, no policy, no cookie) may
// allocate: nothing. The request and the answer take the proxy's own
// HTTP/1.1 reader and writer (h1.go, fast.go) over the connections'
// buffers; with net/http's parser and writer it was 29 (go1.26).
const proxyAllocBudget = 0

// The proxy's per-request path allocates a bounded, named amount (the
// budget above): counted with testing.AllocsPerRun over keep-alive
// requests through a one-connect virtual, between a client and a member
// that allocate nothing themselves.
func TestProxyAllocsPerRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("counts allocations over real loopback connections")
	}
	m := rawMember(t)
	b := backend{"p": newPool(t, "p", m)}
	_, addr := startProxy(t, &Config{Virtual: "v", Pool: "p", OneConnect: &OneConnect{}}, b)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	rc := &rawClient{c: c, req: []byte("GET /x HTTP/1.1\r\nHost: bench\r\nUser-Agent: raw\r\nAccept: */*\r\n\r\n"), buf: make([]byte, 16384)}
	for range 50 { // warm: the server connection, the buffers, the pools
		if err := rc.roundTrip(); err != nil {
			t.Fatal(err)
		}
	}
	var rtErr error
	allocs := testing.AllocsPerRun(500, func() {
		if err := rc.roundTrip(); err != nil && rtErr == nil {
			rtErr = err
		}
	})
	if rtErr != nil {
		t.Fatal(rtErr)
	}
	t.Logf("allocations per keep-alive request through the proxy: %.1f", allocs)
	if allocs > proxyAllocBudget {
		t.Errorf("%.1f allocations per request, budget %d", allocs, proxyAllocBudget)
	}
}

// deadlineConn counts the deadlines set on it.
type deadlineConn struct {
	net.Conn
	reads, writes int
	last          time.Time
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error  { c.reads++; c.last = t; return nil }
func (c *deadlineConn) SetWriteDeadline(t time.Time) error { c.writes++; c.last = t; return nil }

func TestLazyDeadline(t *testing.T) {
	c := &deadlineConn{}
	var l lazyDeadline
	t0 := time.Unix(1000, 0)
	l.arm(c, false, t0, 30*time.Second)
	l.arm(c, false, t0.Add(500*time.Millisecond), 30*time.Second) // within the slack: kept
	if c.reads != 1 || !c.last.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("after a refresh within the slack: %d sets, deadline %v", c.reads, c.last)
	}
	l.arm(c, false, t0.Add(600*time.Millisecond), 5*time.Second) // another timeout: set at once
	if c.reads != 2 || !c.last.Equal(t0.Add(5600*time.Millisecond)) {
		t.Fatalf("another timeout: %d sets, deadline %v", c.reads, c.last)
	}
	l.arm(c, false, t0.Add(600*time.Millisecond+deadlineSlack), 5*time.Second) // slack passed: re-armed
	if c.reads != 3 {
		t.Fatalf("after the slack: %d sets", c.reads)
	}
	l.arm(c, false, t0, 5*time.Second) // the clock went back: re-armed, never late
	if c.reads != 4 || c.writes != 0 {
		t.Fatalf("clock back: %d read sets, %d write sets", c.reads, c.writes)
	}
	var w lazyDeadline
	w.arm(c, true, t0, time.Second)
	if c.writes != 1 || c.reads != 4 {
		t.Fatalf("write deadline: %d write sets, %d read sets", c.writes, c.reads)
	}
}

// The parts of the per-request path that are the proxy's own allocate
// nothing: refreshing a deadline, and taking a server connection from the
// one-connect pool and giving it back.
func TestProxyOwnPathAllocFree(t *testing.T) {
	c := &deadlineConn{}
	var l lazyDeadline
	now := time.Now()
	l.arm(c, true, now, time.Minute)
	if n := testing.AllocsPerRun(100, func() { l.arm(c, true, now, time.Minute) }); n != 0 {
		t.Errorf("lazyDeadline.arm: %.0f allocs", n)
	}
	cp := newConnPool(&Counters{})
	key := poolKey{member: netip.MustParseAddrPort("192.0.2.1:80")}
	sc := &serverConn{c: c, key: key}
	cp.put(sc, now)
	if n := testing.AllocsPerRun(100, func() {
		got := cp.get(key, now)
		if got != sc {
			t.Fatal("get did not return the idle connection")
		}
		cp.put(got, now)
	}); n != 0 {
		t.Errorf("one-connect get and put: %.0f allocs", n)
	}
}

// countingListener counts the read deadlines set on the connections it
// accepts.
type countingListener struct {
	net.Listener
	reads *atomic.Int64
}

type countingConn struct {
	net.Conn
	reads *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.reads}, nil
}

func (c countingConn) SetReadDeadline(t time.Time) error {
	c.reads.Add(1)
	return c.Conn.SetReadDeadline(t)
}

// A keep-alive request whose header arrives whole sets no client read
// deadline of its own: the idle timeout is refreshed at most once per
// deadlineSlack, the request timeout only when the header needs more
// reads (on a netstack connection every Set*Deadline allocates a timer).
func TestClientReadDeadlinesPerRequest(t *testing.T) {
	m := rawMember(t)
	b := backend{"p": newPool(t, "p", m)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var reads atomic.Int64
	p := New(&Config{Virtual: "v", Pool: "p", OneConnect: &OneConnect{}}, Options{Backend: b})
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Serve(countingListener{l, &reads}) }()
	t.Cleanup(func() { p.Close(); <-done })
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	rc := &rawClient{c: c, req: []byte("GET /x HTTP/1.1\r\nHost: bench\r\n\r\n"), buf: make([]byte, 16384)}
	const n = 300
	start := time.Now()
	for range n {
		if err := rc.roundTrip(); err != nil {
			t.Fatal(err)
		}
	}
	// At most one idle refresh per slack interval begun, and one more
	// for the first request and the next one's wait.
	limit := int64(time.Since(start)/deadlineSlack) + 3
	if got := reads.Load(); got > limit {
		t.Fatalf("%d client read deadlines for %d requests in %v, want at most %d", got, n, time.Since(start), limit)
	}
	t.Logf("%d client read deadlines for %d requests", reads.Load(), n)
}
