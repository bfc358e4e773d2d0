package proxy

import (
	"net"
	"time"
)

// deadlineSlack is how stale a refreshed deadline may be. A netstack
// connection (gonet, the local stack's) makes a new runtime timer and
// closure at every Set*Deadline, so the per-request refreshes of an
// unchanged timeout are skipped while the last one was set less than
// deadlineSlack ago: such a timeout then fires at most deadlineSlack
// early (299 s of a 300 s idle timeout), never late.
const deadlineSlack = time.Second

// lazyDeadline is one direction's deadline of one connection.
type lazyDeadline struct {
	d  time.Duration // the timeout last armed; 0: none
	at time.Time     // when
}

// arm sets c's read (write false) or write deadline to now+d, unless d
// was armed less than deadlineSlack ago.
func (l *lazyDeadline) arm(c net.Conn, write bool, now time.Time, d time.Duration) {
	if d == l.d && now.Sub(l.at) < deadlineSlack && !now.Before(l.at) {
		return
	}
	l.d, l.at = d, now
	if write {
		_ = c.SetWriteDeadline(now.Add(d))
	} else {
		_ = c.SetReadDeadline(now.Add(d))
	}
}
