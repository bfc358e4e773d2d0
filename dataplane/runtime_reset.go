package dataplane

import (
	"net/netip"

	"lbx/pools"
)

// reset-stats: the traffic counters (packets, bytes, total connections)
// of virtual servers, pool members and nodes go back to zero. Current
// connections are a gauge the data path counts down as flows end (and
// least-connections selects on), so they are kept. The counters are atomic:
// a packet counted while they are reset is either before or after it.

// ResetVirtualStats zeroes the counters of virtual server name, or of every
// virtual when name is empty, and returns how many it reset.
func (r *Runtime) ResetVirtualStats(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for vn, s := range r.vstats {
		if name != "" && vn != name {
			continue
		}
		s.PktsIn.Store(0)
		s.PktsOut.Store(0)
		s.BytesIn.Store(0)
		s.BytesOut.Store(0)
		s.TotalConns.Store(0)
		n++
	}
	return n
}

// ResetPoolStats zeroes the counters of every member of pool name (of
// every pool when name is empty), which a pool's own are the sum of, and
// returns how many members it reset.
func (r *Runtime) ResetPoolStats(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for k, l := range r.mlive {
		if l.stats == nil || name != "" && k.pool != name {
			continue
		}
		resetMemberStats(l.stats)
		n++
	}
	return n
}

// ResetNodeStats zeroes the counters of the node at addr (every node when
// addr is the zero Addr): its own and those of the installed pool members
// on it, which a node's traffic is the sum of. It returns how many members
// it reset.
func (r *Runtime) ResetNodeStats(addr netip.Addr) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for a, s := range r.nstats {
		if !addr.IsValid() || a == addr {
			s.TotalConns.Store(0)
		}
	}
	rt := r.cur.Load()
	if rt == nil {
		return 0
	}
	n := 0
	for _, p := range rt.pools {
		for i := range p.pool.Members {
			m := &p.pool.Members[i]
			if (!addr.IsValid() || m.Addr == addr) && m.Stats != nil {
				resetMemberStats(m.Stats)
				n++
			}
		}
	}
	return n
}

func resetMemberStats(s *pools.MemberStats) {
	s.PktsIn.Store(0)
	s.PktsOut.Store(0)
	s.BytesIn.Store(0)
	s.BytesOut.Store(0)
	s.TotalConns.Store(0)
}
