package pools

// ratio is ratio-member (weights: Member.Ratio) and ratio-node (weights:
// Member.NodeRatio); a ratio of 0 counts as 1. Each available member gets
// ratio consecutive new connections per cycle, in member order: ratios
// 3:1:1 give A, A, A, B, C, A, A, A, B, C, …
type ratio struct{ node bool }

var _ selector = ratio{}

func memberRatio(p *Pool, i int) uint32 { return p.ratioOf(i, false) }
func nodeRatio(p *Pool, i int) uint32   { return p.ratioOf(i, true) }

func (m ratio) pick(p *Pool, c []int32, r *Request, s *Scratch) int {
	if m.node {
		return p.rotate(c, r.Now, s, nodeRatio)
	}
	return p.rotate(c, r.Now, s, memberRatio)
}
