package neighbor

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
	// ARPReplyInterval is the sustained rate per sender: 10 replies a second.
	ARPReplyInterval = int64(100e6)
	// ARPReplyBurst is how many replies a quiet sender may get at once.
	ARPReplyBurst = 20
)

// ARPLimiter is a generic cell-rate (GCRA) limiter per slot: tat is the
// theoretical arrival time of the slot's next request at the sustained
// rate; a request is allowed while tat is at most burst-1 intervals ahead.
// Init it once before use.
type ARPLimiter struct {
	seed uint32
	tat  [arpLimitSlots]int64
}

// Init seeds the limiter's hash.
func (l *ARPLimiter) Init() { l.seed = rand.Uint32() }

// Allow reports whether a request from sender (an IPv4 address, host
// order) at now (monotonic ns) may be answered, and charges it if so.
func (l *ARPLimiter) Allow(sender uint32, now int64) bool {
	i := ((sender ^ l.seed) * 0x9e3779b1) >> 24 & (arpLimitSlots - 1)
	t := max(l.tat[i], now)
	if t-now > (ARPReplyBurst-1)*ARPReplyInterval {
		return false
	}
	l.tat[i] = t + ARPReplyInterval
	return true
}
