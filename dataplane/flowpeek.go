package dataplane

// peek finds the flow a packet with key k would belong to, in either
// direction, without touching it: no idle timer refreshed, no TCP state
// moved. ICMP errors (icmperr.go) use it: an error about a flow is not
// traffic of that flow. An expired flow is removed and not found, as by
// lookup.
func (ft *FlowTable) peek(k flowKey, now int64) (flowHit, bool) {
	h := ft.hash(k)
	s1 := k.sport & (flowShards - 1)
	if hit, ok := ft.peekIn(&ft.shards[s1], k, h, now); ok {
		return hit, true
	}
	if s2 := k.dport & (flowShards - 1); s2 != s1 {
		return ft.peekIn(&ft.shards[s2], k, h, now)
	}
	return flowHit{}, false
}

func (ft *FlowTable) peekIn(s *flowShard, k flowKey, h uint32, now int64) (flowHit, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, dir, ok := ft.lookupShardLocked(s, k, h, now)
	if !ok {
		return flowHit{}, false
	}
	return s.entries[e].hitLocked(dir), true
}
