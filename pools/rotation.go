package pools

// rotate is the weighted rotation the ratio family shares, BIG-IP style:
// over one cycle of W = Σ weight turns (W over the current candidates), each
// candidate receives weight consecutive turns, in member order — ratios
// 3:1:1 give A, A, A, B, C. The pool-wide atomic cursor numbers the turns, so
// concurrent callers share one rotation and a full cycle is exact. Slow ramp
// is applied as described in slowramp.go. weight must return >= 1.
func (p *Pool) rotate(c []int32, now int64, s *Scratch, weight func(p *Pool, i int) uint32) int {
	s.w = growUint32(s.w, len(c))
	total := uint64(0)
	for k, i := range c {
		w := max(weight(p, int(i)), 1)
		s.w[k] = w
		total += uint64(w)
	}
	pos := (p.cursor.Add(1) - 1) % total
	j := 0
	for k, w := range s.w {
		if pos < uint64(w) {
			j = k
			break
		}
		pos -= uint64(w)
	}
	n := len(c)
	for t := range n {
		k := j + t
		if k >= n {
			k -= n
		}
		if p.rampAccept(int(c[k]), now) {
			return int(c[k])
		}
	}
	return int(c[j])
}
