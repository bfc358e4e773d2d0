package pools

import "sync/atomic"

// MemberStats are a member's live counters. They are kept apart from the
// configuration, keyed by member identity, so an apply that leaves a member
// in place does not reset them. The dataplane owns them: its flow table
// increments CurConns (and the node's) when it opens a connection to the
// member and decrements them on close.
type MemberStats struct {
	CurConns   atomic.Int64
	TotalConns atomic.Uint64
	PktsIn     atomic.Uint64 // towards the member
	PktsOut    atomic.Uint64 // from the member
	BytesIn    atomic.Uint64
	BytesOut   atomic.Uint64

	// rtt is an exponentially weighted moving average of the member's
	// response time in ns (0 = no sample yet); see ObserveRTT.
	rtt atomic.Int64
}

// ObserveRTT folds one response-time sample (ns) into the member's EWMA,
// used by fastest-app-response (and fastest-node when the node has no
// NodeStats). The dataplane calls it with the time from a connection's first
// packet to the member's first answer (SYN to SYN-ACK for L4; request to
// first response byte for L7).
func (s *MemberStats) ObserveRTT(ns int64) { observeEWMA(&s.rtt, ns) }

// RTT returns the response-time EWMA in ns, 0 when no sample was taken.
func (s *MemberStats) RTT() int64 {
	if s == nil {
		return 0
	}
	return s.rtt.Load()
}

// NodeStats are a node's live counters, shared by every member on that node
// in every pool; the -node load-balancing methods and node connection limits
// read them. Kept by node identity across applies, like MemberStats.
type NodeStats struct {
	CurConns   atomic.Int64
	TotalConns atomic.Uint64
	rtt        atomic.Int64

	// DynamicRatio is the node's dynamic ratio reported by a monitor (for
	// dynamic-ratio-node); 0 means none, and the member's NodeRatio is used.
	DynamicRatio atomic.Uint32
}

// ObserveRTT folds one response-time sample (ns) into the node's EWMA, used
// by fastest-node.
func (s *NodeStats) ObserveRTT(ns int64) { observeEWMA(&s.rtt, ns) }

// RTT returns the node's response-time EWMA in ns, 0 when no sample was
// taken.
func (s *NodeStats) RTT() int64 {
	if s == nil {
		return 0
	}
	return s.rtt.Load()
}

// observeEWMA applies avg += (sample-avg)/8, TCP's SRTT gain. The first
// sample seeds the average. Samples below 1 ns count as 1 ns so that a
// sampled member never looks unsampled.
func observeEWMA(v *atomic.Int64, ns int64) {
	ns = max(ns, 1)
	for {
		old := v.Load()
		nv := ns
		if old != 0 {
			nv = max(old+(ns-old)/8, 1)
		}
		if v.CompareAndSwap(old, nv) {
			return
		}
	}
}
