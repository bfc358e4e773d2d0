package pools

// leastSessions is least-sessions and ratio-session: the available member
// with the fewest persistence records (least-sessions), or the lowest
// records / Ratio (ratio-session; a ratio of 0 counts as 1). Record counts
// come from PoolConfig.Sessions, the persistence table, by member identity
// (pool, address, port); they include records that expired but were not
// swept yet. Without a table both fall back to current connections
// (least-connections-member and ratio-least-connections-member). Ties go
// round-robin.
type leastSessions struct{ ratio bool }

var _ selector = leastSessions{}

func sessionsMetric(p *Pool, i int) float64 {
	return float64(max(p.sessionCounter(i, p.sessions).Load(), 0))
}

func sessionsPerRatio(p *Pool, i int) float64 {
	return sessionsMetric(p, i) / float64(p.ratioOf(i, false))
}

func (m leastSessions) pick(p *Pool, c []int32, r *Request, _ *Scratch) int {
	switch {
	case p.sess == nil && m.ratio:
		return p.leastMetric(c, r.Now, memberConnsPerRatio)
	case p.sess == nil:
		return p.leastMetric(c, r.Now, memberConnsMetric)
	case m.ratio:
		return p.leastMetric(c, r.Now, sessionsPerRatio)
	}
	return p.leastMetric(c, r.Now, sessionsMetric)
}
