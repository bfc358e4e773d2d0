package pools

// alteonHash is alteon-hash, Alteon's hash metric: the client source address
// alone is hashed (H = lbx's fixed address hash) and the member is
// candidate[H mod n] among the n available members in member order. As on
// the Alteon, any change in the set of available members re-maps most
// clients; use alteon-minmisses or maglev where that matters. Slow ramp does
// not apply.
type alteonHash struct{}

var _ selector = alteonHash{}

func (alteonHash) pick(p *Pool, c []int32, r *Request, _ *Scratch) int {
	k := hashAddr(r.Client, 0, false)
	return int(c[k%uint64(len(c))])
}
