package pools

// dynamicRatio is dynamic-ratio-member and dynamic-ratio-node: ratio
// rotation (as ratio.go) whose weights come from monitor data where a
// monitor reported one — Health.DynamicRatio for the member,
// NodeStats.DynamicRatio for the node — and otherwise from the configured
// Ratio (member) or NodeRatio (node). The weights are read on every
// selection, so a monitor's update takes effect at once.
type dynamicRatio struct{ node bool }

var _ selector = dynamicRatio{}

func dynMemberRatio(p *Pool, i int) uint32 {
	if r := p.Members[i].Health.DynamicRatio(); r > 0 {
		return r
	}
	return p.ratioOf(i, false)
}

func dynNodeRatio(p *Pool, i int) uint32 {
	if ns := p.Members[i].NodeStats; ns != nil {
		if r := ns.DynamicRatio.Load(); r > 0 {
			return r
		}
	}
	return p.ratioOf(i, true)
}

func (m dynamicRatio) pick(p *Pool, c []int32, r *Request, s *Scratch) int {
	if m.node {
		return p.rotate(c, r.Now, s, dynNodeRatio)
	}
	return p.rotate(c, r.Now, s, dynMemberRatio)
}
