package loginlimit

import (
	"sync"
	"time"

	"lbx/internal/clock"
)

// The login rate limit, per client address: FreeFailures failed logins
// in a row cost nothing; each one after that blocks the address for a
// pause doubling from FirstBlock up to MaxBlock, during which every
// attempt is refused unchecked. A successful login clears the address.
// At most MaxTracked addresses are remembered (the oldest forgotten).
const (
	FreeFailures = 3
	FirstBlock   = time.Second
	MaxBlock     = time.Minute
	MaxTracked   = 4096
)

// Limiter is the failed-login rate limit. It is safe for concurrent use.
type Limiter struct {
	clk clock.Clock

	mu    sync.Mutex
	addrs map[string]*failures
}

type failures struct {
	n     int
	until time.Time // refused until then
	last  time.Time
}

// New returns a Limiter timed by clk.
func New(clk clock.Clock) *Limiter {
	return &Limiter{clk: clk, addrs: map[string]*failures{}}
}

// Blocked returns how long addr is still refused; 0 when it may try.
func (l *Limiter) Blocked(addr string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.addrs[addr]
	if f == nil {
		return 0
	}
	return max(f.until.Sub(l.clk.Now()), 0)
}

// Failed records a failed login from addr and returns the pause it is
// now blocked for (0 while within FreeFailures).
func (l *Limiter) Failed(addr string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clk.Now()
	f := l.addrs[addr]
	if f == nil {
		if len(l.addrs) >= MaxTracked {
			l.forgetOldestLocked()
		}
		f = &failures{}
		l.addrs[addr] = f
	}
	f.n++
	f.last = now
	if f.n <= FreeFailures {
		return 0
	}
	pause := FirstBlock << min(f.n-FreeFailures-1, 16)
	pause = min(pause, MaxBlock)
	f.until = now.Add(pause)
	return pause
}

// Succeeded clears addr.
func (l *Limiter) Succeeded(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.addrs, addr)
}

func (l *Limiter) forgetOldestLocked() {
	var oldest string
	for a, f := range l.addrs {
		if oldest == "" || f.last.Before(l.addrs[oldest].last) {
			oldest = a
		}
	}
	delete(l.addrs, oldest)
}
