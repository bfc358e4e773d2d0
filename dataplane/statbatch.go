package dataplane

import "lbx/pools"

// statSlots is how many (virtual, member, direction) tallies a worker keeps
// between flushes.
const statSlots = 8

// statTally is one batch's packets and bytes for one virtual and member in
// one direction.
type statTally struct {
	vs          *VirtualStats
	ms          *pools.MemberStats
	in          bool // client → member (PktsIn, BytesIn); else member → client
	pkts, bytes uint64
}

// statBatch tallies a worker's per-packet virtual and member statistics and
// adds them to the shared atomics once per batch (at flush), not once per
// packet: the statistics of one virtual are shared by every port
// goroutine, and a batch of 32 packets of one flow costs one atomic add per
// counter instead of 32 on a cache line the other goroutines write too.
// Readers see the counts at most one batch late. Fixed size: a tally for a
// new key when every slot is taken flushes them all first.
type statBatch struct {
	n int
	t [statSlots]statTally
}

// count adds one packet of the given size to the tally of (vs, ms, in);
// vs or ms may be nil.
func (w *worker) count(vs *VirtualStats, ms *pools.MemberStats, in bool, bytes uint64) {
	w.countN(vs, ms, in, 1, bytes)
}

// countN adds pkts packets of bytes in all (a GSO frame's wire segments)
// to the tally of (vs, ms, in).
func (w *worker) countN(vs *VirtualStats, ms *pools.MemberStats, in bool, pkts, bytes uint64) {
	b := &w.stats
	for i := range b.n {
		if t := &b.t[i]; t.vs == vs && t.ms == ms && t.in == in {
			t.pkts += pkts
			t.bytes += bytes
			return
		}
	}
	if b.n == statSlots {
		w.flushStats()
	}
	b.t[b.n] = statTally{vs: vs, ms: ms, in: in, pkts: pkts, bytes: bytes}
	b.n++
}

// flushStats adds the tallies to the shared statistics and clears them.
func (w *worker) flushStats() {
	b := &w.stats
	for i := range b.n {
		t := &b.t[i]
		if t.in {
			if t.vs != nil {
				t.vs.PktsIn.Add(t.pkts)
				t.vs.BytesIn.Add(t.bytes)
			}
			if t.ms != nil {
				t.ms.PktsIn.Add(t.pkts)
				t.ms.BytesIn.Add(t.bytes)
			}
		} else {
			if t.vs != nil {
				t.vs.PktsOut.Add(t.pkts)
				t.vs.BytesOut.Add(t.bytes)
			}
			if t.ms != nil {
				t.ms.PktsOut.Add(t.pkts)
				t.ms.BytesOut.Add(t.bytes)
			}
		}
		*t = statTally{} // drop the pointers: a removed virtual's stats may go
	}
	b.n = 0
}
