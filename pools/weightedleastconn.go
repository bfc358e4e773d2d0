package pools

// weightedLeastConns is weighted-least-connections-member and -node: the
// available member with the lowest share of its connection capacity,
// CurConns / ConnLimit (member), or node CurConns / NodeConnLimit (node).
// BIG-IP requires every member to have a limit for this method; when some
// member has none, lbx behaves as least-connections (member or node). Ties
// go round-robin.
type weightedLeastConns struct{ node bool }

var _ selector = weightedLeastConns{}

func memberCapacityMetric(p *Pool, i int) float64 {
	return float64(p.conns(i)) / float64(p.Members[i].ConnLimit)
}

func nodeCapacityMetric(p *Pool, i int) float64 {
	return float64(p.nodeConns(i)) / float64(p.Members[i].NodeConnLimit)
}

func (m weightedLeastConns) pick(p *Pool, c []int32, r *Request, _ *Scratch) int {
	switch {
	case m.node && p.allNodeLimits:
		return p.leastMetric(c, r.Now, nodeCapacityMetric)
	case m.node:
		return p.leastMetric(c, r.Now, nodeConnsMetric)
	case p.allLimits:
		return p.leastMetric(c, r.Now, memberCapacityMetric)
	}
	return p.leastMetric(c, r.Now, memberConnsMetric)
}
