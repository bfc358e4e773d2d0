package flowtable

// Peek finds the flow a packet with key k would belong to, in either
// direction, without touching it: no idle timer refreshed, no TCP state
// moved. ICMP errors (dataplane/icmperr.go) use it: an error about a flow
// is not traffic of that flow. An expired flow is removed and not found,
// as by Lookup.
func (ft *Table) Peek(k Key, now int64) (Hit, bool) {
	h := ft.hash(k)
	s1 := k.Sport & (flowShards - 1)
	if hit, ok := ft.peekIn(&ft.shards[s1], k, h, now); ok {
		return hit, true
	}
	if s2 := k.Dport & (flowShards - 1); s2 != s1 {
		return ft.peekIn(&ft.shards[s2], k, h, now)
	}
	return Hit{}, false
}

func (ft *Table) peekIn(s *flowShard, k Key, h uint32, now int64) (Hit, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, dir, ok := ft.lookupShardLocked(s, k, h, now)
	if !ok {
		return Hit{}, false
	}
	return s.entries[e].hitLocked(dir), true
}
