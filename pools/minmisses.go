package pools

// minMisses is alteon-minmisses, Alteon's minimum-misses metric (built for
// cache redirection): every configured member — identified, like an Alteon
// real server, by its address and port — gets a score from a hash of the
// client source address and its own identity, and the member with the
// highest score wins; when it is unavailable the next in that ranking is
// used. That is rendezvous hashing, so a failing member moves only its own
// clients and they come back when it recovers: the minimum of cache misses.
// Slow ramp does not apply.
type minMisses struct {
	mh []uint64
}

var _ selector = (*minMisses)(nil)

// seedMinMisses separates minmisses member hashes from other uses.
const seedMinMisses = 0xa17e_0000_0000_0002

func newMinMisses(p *Pool) *minMisses {
	h := &minMisses{mh: make([]uint64, len(p.Members))}
	for i, m := range p.Members {
		h.mh[i] = mix64(hashAddr(m.Addr, m.Port, true) ^ seedMinMisses)
	}
	return h
}

// Ranking over all members and taking the first available one is the same
// as taking the highest score among the available ones, which needs no
// sorting.
func (h *minMisses) pick(p *Pool, c []int32, r *Request, _ *Scratch) int {
	return hrwPick(c, hashAddr(r.Client, 0, false), h.mh)
}
