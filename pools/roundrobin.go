package pools

// roundRobin is round-robin: the available members in member order, one new
// connection each, skipping members that are not available. It is the
// rotation of rotation.go with every weight 1.
type roundRobin struct{}

var _ selector = roundRobin{}

func weightOne(*Pool, int) uint32 { return 1 }

func (roundRobin) pick(p *Pool, c []int32, r *Request, s *Scratch) int {
	return p.rotate(c, r.Now, s, weightOne)
}
