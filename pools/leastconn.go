package pools

// leastConns is least-connections-member and least-connections-node: the
// available member with the fewest current connections — the member's own
// (MemberStats.CurConns) or its node's across all pools
// (NodeStats.CurConns; a member without NodeStats counts its own). Ties go
// round-robin (leastmetric.go).
type leastConns struct{ node bool }

var _ selector = leastConns{}

func memberConnsMetric(p *Pool, i int) float64 { return float64(p.conns(i)) }
func nodeConnsMetric(p *Pool, i int) float64   { return float64(p.nodeConns(i)) }

func (m leastConns) pick(p *Pool, c []int32, r *Request, _ *Scratch) int {
	if m.node {
		return p.leastMetric(c, r.Now, nodeConnsMetric)
	}
	return p.leastMetric(c, r.Now, memberConnsMetric)
}
