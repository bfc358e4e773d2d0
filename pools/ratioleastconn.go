package pools

// ratioLeastConns is ratio-least-connections-member and -node: the
// available member with the lowest CurConns / Ratio (member connections
// and Ratio), or node CurConns / NodeRatio (node); ratios of 0 count as 1.
// Ties go round-robin.
type ratioLeastConns struct{ node bool }

var _ selector = ratioLeastConns{}

func memberConnsPerRatio(p *Pool, i int) float64 {
	return float64(p.conns(i)) / float64(p.ratioOf(i, false))
}

func nodeConnsPerRatio(p *Pool, i int) float64 {
	return float64(p.nodeConns(i)) / float64(p.ratioOf(i, true))
}

func (m ratioLeastConns) pick(p *Pool, c []int32, r *Request, _ *Scratch) int {
	if m.node {
		return p.leastMetric(c, r.Now, nodeConnsPerRatio)
	}
	return p.leastMetric(c, r.Now, memberConnsPerRatio)
}
