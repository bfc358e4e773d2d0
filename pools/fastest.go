package pools

// fastest is fastest-app-response (the member's response-time EWMA,
// MemberStats.RTT) and fastest-node (the node's, NodeStats.RTT, or the
// member's when it has no NodeStats): the available member with the lowest
// recent response time. A member with no sample yet has time 0, so members
// not yet measured are tried first; ties go round-robin. The dataplane feeds
// samples into MemberStats and NodeStats (ObserveRTT) from the flow
// table's handshake times.
type fastest struct{ node bool }

var _ selector = fastest{}

func memberRTTMetric(p *Pool, i int) float64 { return float64(p.Members[i].Stats.RTT()) }

func nodeRTTMetric(p *Pool, i int) float64 {
	if ns := p.Members[i].NodeStats; ns != nil {
		return float64(ns.RTT())
	}
	return memberRTTMetric(p, i)
}

func (m fastest) pick(p *Pool, c []int32, r *Request, _ *Scratch) int {
	if m.node {
		return p.leastMetric(c, r.Now, nodeRTTMetric)
	}
	return p.leastMetric(c, r.Now, memberRTTMetric)
}
