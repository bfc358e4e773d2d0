package dataplane

import "math/rand/v2"

// The ARP responder's per-source rate limit. A host asks for an address a
// few times a minute; a flood of requests from one sender would otherwise
// be answered one for one, on the port it came from. Each port goroutine
// owns one limiter (no lock, no atomics) with a fixed table of slots
// indexed by a seeded hash of the sender's IPv4 address; senders sharing a
// slot share its budget, so the table never grows and nothing is allocated
// per packet. The seed is random so a sender cannot pick a victim's slot.

const (
	arpLimitSlots = 256 // power of two
	// arpReplyInterval is the sustained rate per sender: 10 replies a second.
	arpReplyInterval = int64(100e6)
	// arpReplyBurst is how many replies a quiet sender may get at once.
	arpReplyBurst = 20
	// conflictLogInterval spaces address-conflict log lines.
	conflictLogInterval = int64(10e9)
)

// arpLimiter is a generic cell-rate (GCRA) limiter per slot: tat is the
// theoretical arrival time of the slot's next request at the sustained
// rate; a request is allowed while tat is at most burst-1 intervals ahead.
type arpLimiter struct {
	seed uint32
	tat  [arpLimitSlots]int64
}

func (l *arpLimiter) init() { l.seed = rand.Uint32() }

// allow reports whether a request from sender at now (engine monotonic ns)
// may be answered, and charges it if so.
func (l *arpLimiter) allow(sender uint32, now int64) bool {
	i := ((sender ^ l.seed) * 0x9e3779b1) >> 24 & (arpLimitSlots - 1)
	t := max(l.tat[i], now)
	if t-now > (arpReplyBurst-1)*arpReplyInterval {
		return false
	}
	l.tat[i] = t + arpReplyInterval
	return true
}
