package pools

import (
	"net/netip"
	"sync/atomic"
)

// MemberStats are a member's live counters. They are kept apart from the
// configuration, keyed by member identity, so an apply that leaves a member
// in place does not reset them.
type MemberStats struct {
	CurConns   atomic.Int64
	TotalConns atomic.Uint64
	PktsIn     atomic.Uint64 // towards the member
	PktsOut    atomic.Uint64 // from the member
	BytesIn    atomic.Uint64
	BytesOut   atomic.Uint64
}

// Member is one pool member as the dataplane sees it.
type Member struct {
	Name  string     // tmsh member name, e.g. "/Common/198.18.2.11:80"
	Addr  netip.Addr // IPv4 address
	Port  uint16     // service port; 0 means "same as the virtual's port"
	Stats *MemberStats
}

// Selector picks a member index among n members. It is one load-balancing
// method; each method lives in its own file.
type Selector interface {
	// Pick returns an index in [0, n) or -1 when n == 0.
	Pick(n int) int
}

// Pool is the runtime form of one pool. Members is fixed after build.
type Pool struct {
	Name     string
	Members  []Member
	Selector Selector
}

// Select picks a member for a new connection. ok is false when the pool has
// no member to offer.
func (p *Pool) Select() (m *Member, ok bool) {
	if p == nil || len(p.Members) == 0 {
		return nil, false
	}
	i := p.Selector.Pick(len(p.Members))
	if i < 0 || i >= len(p.Members) {
		return nil, false
	}
	return &p.Members[i], true
}
