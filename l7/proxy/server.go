package proxy

import (
	"bufio"
	"net"
	"net/netip"
	"sync"
	"time"

	"lbx/pools"
)

// serverConn is one server-side connection to a member. It counts as one
// connection of the member (and its node) from dial to close, as a flow
// does on the layer-4 path.
type serverConn struct {
	c      net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	key    poolKey
	pool   string // the pool it was chosen from
	stats  *pools.MemberStats
	node   *pools.NodeStats
	uses   int
	idleAt time.Time
	closed bool
	// rdl and wdl are its read and write deadlines, refreshed lazily.
	rdl, wdl lazyDeadline
}

// poolKey is what one-connect reuse matches on: the member and the client
// source under the profile's source mask.
type poolKey struct {
	member netip.AddrPort
	source netip.Prefix
}

func newServerConn(c net.Conn, key poolKey, pool string, m *pools.Member) *serverConn {
	sc := &serverConn{c: c, br: bufio.NewReaderSize(c, 8192), bw: bufio.NewWriterSize(c, 8192), key: key, pool: pool}
	if m != nil {
		sc.stats, sc.node = m.Stats, m.NodeStats
	}
	if sc.stats != nil {
		sc.stats.CurConns.Add(1)
		sc.stats.TotalConns.Add(1)
	}
	if sc.node != nil {
		sc.node.CurConns.Add(1)
		sc.node.TotalConns.Add(1)
	}
	return sc
}

func (sc *serverConn) close() {
	if sc == nil || sc.closed {
		return
	}
	sc.closed = true
	_ = sc.c.Close()
	if sc.stats != nil {
		sc.stats.CurConns.Add(-1)
	}
	if sc.node != nil {
		sc.node.CurConns.Add(-1)
	}
}

// connPool holds idle server connections for one-connect reuse.
type connPool struct {
	ctr *Counters

	mu    sync.Mutex
	idle  map[poolKey][]*serverConn
	n     int
	limit OneConnect
}

func newConnPool(ctr *Counters) *connPool {
	return &connPool{ctr: ctr, idle: map[poolKey][]*serverConn{}}
}

func (cp *connPool) setLimits(oc OneConnect) {
	cp.mu.Lock()
	cp.limit = oc
	cp.mu.Unlock()
}

// get returns the most recently idle connection for key, or nil.
func (cp *connPool) get(key poolKey, now time.Time) *serverConn {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	for {
		l := cp.idle[key]
		if len(l) == 0 {
			return nil
		}
		sc := l[len(l)-1]
		l[len(l)-1] = nil
		// The emptied list stays (expire removes it), so that the next
		// put for key does not allocate a new one.
		cp.idle[key] = l[:len(l)-1]
		cp.n--
		if cp.limit.IdleTimeout > 0 && now.Sub(sc.idleAt) > cp.limit.IdleTimeout {
			sc.close()
			continue
		}
		return sc
	}
}

// put keeps sc for reuse, or closes it when it has been used max-reuse
// times or the pool is full.
func (cp *connPool) put(sc *serverConn, now time.Time) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if cp.limit.MaxReuse > 0 && sc.uses >= cp.limit.MaxReuse || cp.limit.MaxSize > 0 && cp.n >= cp.limit.MaxSize {
		sc.close()
		return
	}
	sc.idleAt = now
	cp.idle[sc.key] = append(cp.idle[sc.key], sc)
	cp.n++
}

// drop closes every idle connection for key: after one of them turned out
// closed by the member, those that have waited longer are too.
func (cp *connPool) drop(key poolKey) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	l := cp.idle[key]
	for _, sc := range l {
		sc.close()
	}
	cp.n -= len(l)
	clear(l)
	if len(l) > 0 {
		cp.idle[key] = l[:0]
	}
}

// expire closes idle connections past the idle timeout and forgets the
// keys whose lists get has emptied.
func (cp *connPool) expire(now time.Time) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	for k, l := range cp.idle {
		kept := l[:0]
		for _, sc := range l {
			if cp.limit.IdleTimeout > 0 && now.Sub(sc.idleAt) > cp.limit.IdleTimeout {
				sc.close()
				cp.n--
				continue
			}
			kept = append(kept, sc)
		}
		clear(l[len(kept):])
		if len(kept) == 0 {
			delete(cp.idle, k)
		} else {
			cp.idle[k] = kept
		}
	}
}

// closeAll closes every idle connection.
func (cp *connPool) closeAll() {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	for k, l := range cp.idle {
		for _, sc := range l {
			sc.close()
		}
		delete(cp.idle, k)
	}
	cp.n = 0
}

// idleCount returns the number of idle connections (for tests and show).
func (cp *connPool) idleCount() int {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return cp.n
}

// CloseIdle closes the idle server connections one-connect holds, so that
// the next requests dial anew (the appliance calls it when the virtual's
// source addresses change).
func (p *Proxy) CloseIdle() { p.idle.closeAll() }

// IdleServerConns returns how many idle server connections one-connect
// holds for reuse.
func (p *Proxy) IdleServerConns() int { return p.idle.idleCount() }

// countConn counts a server connection's bytes.
type countConn struct {
	net.Conn
	ctr *Counters
}

func (c *countConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.ctr.ServerBytesIn.Add(uint64(n))
	}
	return n, err
}

func (c *countConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if n > 0 {
		c.ctr.ServerBytesOut.Add(uint64(n))
	}
	return n, err
}
