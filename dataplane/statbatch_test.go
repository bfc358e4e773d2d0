package dataplane

import (
	"testing"

	"lbx/pools"
)

// TestStatBatch: tallies reach the shared statistics at flush, not before;
// more keys than slots in one batch flush early and lose nothing; nil
// virtual or member statistics are skipped.
func TestStatBatch(t *testing.T) {
	const keys = 2*statSlots + 3
	vs := make([]VirtualStats, keys)
	ms := make([]pools.MemberStats, keys)
	w := &worker{}
	var early VirtualStats
	w.count(&early, nil, true, 5)
	if early.PktsIn.Load() != 0 {
		t.Fatalf("a tally reached the statistics before flush")
	}
	w.flushStats()
	if early.PktsIn.Load() != 1 || early.BytesIn.Load() != 5 {
		t.Fatalf("after flush: %d packets %d bytes, want 1 and 5", early.PktsIn.Load(), early.BytesIn.Load())
	}
	for range 3 {
		for i := range keys {
			w.count(&vs[i], &ms[i], true, 100)
			w.count(&vs[i], &ms[i], false, 10)
			w.count(&vs[i], nil, false, 1) // a DSR answer: the virtual only
		}
		w.flushStats()
	}
	for i := range keys {
		v, m := &vs[i], &ms[i]
		if v.PktsIn.Load() != 3 || v.BytesIn.Load() != 300 || v.PktsOut.Load() != 6 || v.BytesOut.Load() != 33 {
			t.Errorf("virtual %d: in %d/%d out %d/%d, want 3/300 6/33", i, v.PktsIn.Load(), v.BytesIn.Load(), v.PktsOut.Load(), v.BytesOut.Load())
		}
		if m.PktsIn.Load() != 3 || m.BytesIn.Load() != 300 || m.PktsOut.Load() != 3 || m.BytesOut.Load() != 30 {
			t.Errorf("member %d: in %d/%d out %d/%d, want 3/300 3/30", i, m.PktsIn.Load(), m.BytesIn.Load(), m.PktsOut.Load(), m.BytesOut.Load())
		}
	}
	if w.stats.n != 0 || w.stats.t[0].vs != nil {
		t.Errorf("flush left tallies behind: %d", w.stats.n)
	}
}
