package sshd

import (
	"sync"
	"time"

	"lbx/internal/clock"
)

// The login rate limit, per client address: freeFailures failed logins
// in a row cost nothing; each one after that blocks the address for a
// pause doubling from firstBlock up to maxBlock, during which every
// attempt is refused unchecked. A successful login clears the address.
// At most maxTracked addresses are remembered (the oldest forgotten).
const (
	freeFailures = 3
	firstBlock   = time.Second
	maxBlock     = time.Minute
	maxTracked   = 4096
)

// limiter is the failed-login rate limit.
type limiter struct {
	clk clock.Clock

	mu    sync.Mutex
	addrs map[string]*failures
}

type failures struct {
	n     int
	until time.Time // refused until then
	last  time.Time
}

func newLimiter(clk clock.Clock) *limiter {
	return &limiter{clk: clk, addrs: map[string]*failures{}}
}

// blocked returns how long addr is still refused; 0 when it may try.
func (l *limiter) blocked(addr string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.addrs[addr]
	if f == nil {
		return 0
	}
	return max(f.until.Sub(l.clk.Now()), 0)
}

// failed records a failed login from addr and returns the pause it is
// now blocked for (0 while within freeFailures).
func (l *limiter) failed(addr string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clk.Now()
	f := l.addrs[addr]
	if f == nil {
		if len(l.addrs) >= maxTracked {
			l.forgetOldestLocked()
		}
		f = &failures{}
		l.addrs[addr] = f
	}
	f.n++
	f.last = now
	if f.n <= freeFailures {
		return 0
	}
	pause := firstBlock << min(f.n-freeFailures-1, 16)
	pause = min(pause, maxBlock)
	f.until = now.Add(pause)
	return pause
}

// succeeded clears addr.
func (l *limiter) succeeded(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.addrs, addr)
}

func (l *limiter) forgetOldestLocked() {
	var oldest string
	for a, f := range l.addrs {
		if oldest == "" || f.last.Before(l.addrs[oldest].last) {
			oldest = a
		}
	}
	delete(l.addrs, oldest)
}
