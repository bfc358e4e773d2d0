package pools

import "sync/atomic"

// RoundRobin hands out members in order, one new connection each. The cursor
// is atomic so concurrent port goroutines share one rotation.
type RoundRobin struct {
	next atomic.Uint64
}

var _ Selector = (*RoundRobin)(nil)

// Pick implements Selector.
func (r *RoundRobin) Pick(n int) int {
	if n <= 0 {
		return -1
	}
	return int((r.next.Add(1) - 1) % uint64(n))
}
