package dataplane

import (
	"lbx/dataplane/flowtable"
	"lbx/pools"
)

// Connection mirroring, the engine's side (package ha/mirror streams):
// the flows of virtuals with Mirror set are queued by the flow table
// (flowtable/mirror.go) when they are made, change TCP state or member,
// and when they end; the mirror goroutine drains the queues and scans the
// table and the persistence records. On the peer the records are
// installed with the names resolved against its own program.

type (
	// MirrorFlow is a mirrored flow's record.
	MirrorFlow = flowtable.MirrorFlow
	// FlowKey is a flow's 5-tuple, addresses in host order.
	FlowKey = flowtable.Key
)

// FlowShards is how many shards MirrorScan takes.
const FlowShards = flowtable.Shards

// EnableMirror allocates the flow table's mirroring queues.
func (e *Engine) EnableMirror() { e.flows.EnableMirror() }

// MirrorDrain appends the mirrored flows made or changed and the
// forward keys of those removed since the last drain.
func (e *Engine) MirrorDrain(flows []MirrorFlow, removed []FlowKey) ([]MirrorFlow, []FlowKey) {
	return e.flows.DrainMirror(e.Mono(), flows, removed)
}

// MirrorScan appends every live mirrored flow of flow-table shard i.
func (e *Engine) MirrorScan(i int, flows []MirrorFlow) []MirrorFlow {
	return e.flows.ScanMirror(i, e.Mono(), flows)
}

// MirrorStats are the flow table's mirroring counters.
func (e *Engine) MirrorStats() flowtable.MirrorStats { return e.flows.MirrorStats() }

// MirrorPersist appends the persistence records of mirrored virtuals.
func (e *Engine) MirrorPersist(out []pools.PersistEntry) []pools.PersistEntry {
	rt := e.rt.cur.Load()
	if rt == nil {
		return out
	}
	return e.persist.Export(e.Mono(), func(v string) bool {
		i, ok := rt.virtIdx[v]
		return ok && rt.prog.Virtuals[i].Mirror
	}, out)
}

// PortNames are the data ports' names in the engine's order: a flow's
// egress is an index into them.
func (e *Engine) PortNames() []string {
	out := make([]string, len(e.ports))
	for i, p := range e.ports {
		out[i] = p.name
	}
	return out
}

// MirrorResult counts what MirrorInstall did.
type MirrorResult struct {
	Installed int
	NoVirtual int // the virtual is not installed here, or not mirrored
	Refused   int // not a flow, an unknown port, or no room
}

// MirrorInstall installs flows received from the active peer. egress maps
// the peer's port indices to this engine's (-1: no such port here).
func (e *Engine) MirrorInstall(flows []MirrorFlow, egress []int) MirrorResult {
	var res MirrorResult
	rt := e.rt.cur.Load()
	now := e.Mono()
	for i := range flows {
		m := &flows[i]
		vi, ok := -1, false
		if rt != nil {
			vi, ok = rt.virtIdx[m.Virtual]
		}
		if !ok || !rt.prog.Virtuals[vi].Mirror {
			res.NoVirtual++
			continue
		}
		var eg [2]int16
		bad := false
		for d, x := range m.Egress {
			if int(x) < 0 || int(x) >= len(egress) || egress[x] < 0 {
				bad = true
				break
			}
			eg[d] = int16(egress[x])
		}
		if bad {
			res.Refused++
			continue
		}
		m.Egress = eg
		v := &rt.virts[vi]
		var ms *pools.MemberStats
		var ns *pools.NodeStats
		addr, port := m.Member()
		if mb := v.pool.MemberAt(addr4(addr), port, m.DSR); mb != nil {
			ms, ns = mb.Stats, mb.NodeStats
		}
		if r, err := e.flows.InstallMirror(m, v.stats, ms, ns, now); err != nil || r != flowtable.OK {
			res.Refused++
			continue
		}
		res.Installed++
	}
	return res
}

// MirrorRemove removes the flows the active peer ended.
func (e *Engine) MirrorRemove(keys []FlowKey) int {
	now, n := e.Mono(), 0
	for _, k := range keys {
		if e.flows.RemoveMirror(k, now) {
			n++
		}
	}
	return n
}

// MirrorPersistInstall installs persistence records received from the
// active peer, for virtuals mirrored here too.
func (e *Engine) MirrorPersistInstall(recs []pools.PersistEntry) (installed int) {
	rt := e.rt.cur.Load()
	if rt == nil {
		return 0
	}
	now := e.Mono()
	for i := range recs {
		vi, ok := rt.virtIdx[recs[i].Rec.Virtual]
		if !ok || !rt.prog.Virtuals[vi].Mirror {
			continue
		}
		e.persist.Import(&recs[i], now)
		installed++
	}
	return installed
}
