package pools

// leastMetric is the choice the least-* and fastest-* methods share: the
// candidate with the lowest metric (after slow ramp, see slowramp.go). Ties
// are broken round-robin: the scan starts at a candidate offset taken from
// the pool's atomic cursor, which advances on every selection, and the
// first lowest value in that rotated order wins.
func (p *Pool) leastMetric(c []int32, now int64, metric func(p *Pool, i int) float64) int {
	n := len(c)
	off := int((p.cursor.Add(1) - 1) % uint64(n))
	best, bv := -1, 0.0
	for k := range n {
		j := off + k
		if j >= n {
			j -= n
		}
		i := int(c[j])
		v := p.rampMetric(i, now, metric(p, i))
		if best < 0 || v < bv {
			best, bv = i, v
		}
	}
	return best
}
