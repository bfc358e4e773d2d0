package pools

// sampledRatio is observed-member, observed-node, predictive-member and
// predictive-node: ratio rotation (rotation.go) with weights that Pool.Tick
// recomputes from connection counts sampled about once a second.
//
// At each Tick every member's sample s is its current connection count —
// the member's own for -member, its node's across all pools for -node. The
// observed score is s itself; the predictive score is in predictive.go.
// Weights are inversely proportional to score+1, relative to the lowest
// score among the members whose state allows new connections:
//
//	weight = max(1, round(16 · (min+1) / (score+1)))
//
// then divided by the weights' greatest common divisor so that equal
// members alternate one by one. Until the first Tick every weight is 1
// (round-robin).
type sampledRatio struct{}

var _ selector = sampledRatio{}

// sampledScale is the weight the least-loaded member gets.
const sampledScale = 16

func sampledWeight(p *Pool, i int) uint32 { return p.st[i].weight.Load() }

func (sampledRatio) pick(p *Pool, c []int32, r *Request, s *Scratch) int {
	return p.rotate(c, r.Now, s, sampledWeight)
}

// sampleLocked takes one sample per member and stores new weights.
func (p *Pool) sampleLocked(now int64) {
	node := p.method == MethodObservedNode || p.method == MethodPredictiveNode
	predictive := p.method == MethodPredictiveMember || p.method == MethodPredictiveNode
	minOK, minAll := int64(-1), int64(-1)
	for i := range p.Members {
		v := p.conns(i)
		if node {
			v = p.nodeConns(i)
		}
		st := &p.st[i]
		score := v
		if predictive {
			score = predictScore(v, st.prev, st.primed)
		}
		st.prev, st.primed, st.score = v, true, score
		if minAll < 0 || score < minAll {
			minAll = score
		}
		if p.stateOK(i) && (minOK < 0 || score < minOK) {
			minOK = score
		}
	}
	lo := minOK
	if lo < 0 {
		lo = minAll
	}
	g := uint32(0)
	for pass := range 2 {
		for i := range p.Members {
			st := &p.st[i]
			w := weightFor(st.score, lo)
			if pass == 0 {
				g = gcd(g, w)
				continue
			}
			st.weight.Store(w / g)
		}
	}
}

// weightFor is the sampled weight for a score given the lowest score lo.
func weightFor(score, lo int64) uint32 {
	score = max(score, 0)
	lo = max(min(lo, score), 0)
	w := (sampledScale*(lo+1) + (score+1)/2) / (score + 1)
	return uint32(max(w, 1))
}

func gcd(a, b uint32) uint32 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
