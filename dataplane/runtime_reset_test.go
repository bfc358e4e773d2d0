package dataplane

import (
	"net/netip"
	"testing"
)

func TestRuntimeResetStats(t *testing.T) {
	p := programWith(t, 1, addVirtual)
	web := virtualOf(p, "/Common/vs_web")
	pool := web.Pool.Name
	m0 := web.Pool.Members[0]
	onNode, seen := 0, map[string]bool{}
	for _, v := range p.Virtuals {
		if v.Pool == nil || seen[v.Pool.Name] {
			continue
		}
		seen[v.Pool.Name] = true
		for _, m := range v.Pool.Members {
			if m.Addr == m0.Addr {
				onNode++
			}
		}
	}
	type counts struct{ vPkts, vTotal, mPkts, mTotal uint64 }
	tests := []struct {
		name      string
		reset     func(r *Runtime) int
		wantN     int
		wantWeb   counts // after the reset
		wantOther uint64 // vs_new's packets in after the reset
	}{
		{name: "one virtual", reset: func(r *Runtime) int { return r.ResetVirtualStats("/Common/vs_web") }, wantN: 1, wantWeb: counts{0, 0, 7, 3}, wantOther: 5},
		{name: "every virtual", reset: func(r *Runtime) int { return r.ResetVirtualStats("") }, wantN: len(p.Virtuals), wantWeb: counts{0, 0, 7, 3}, wantOther: 0},
		{name: "missing virtual", reset: func(r *Runtime) int { return r.ResetVirtualStats("/Common/nope") }, wantN: 0, wantWeb: counts{9, 4, 7, 3}, wantOther: 5},
		{name: "pool", reset: func(r *Runtime) int { return r.ResetPoolStats(pool) }, wantN: len(web.Pool.Members), wantWeb: counts{9, 4, 0, 0}, wantOther: 5},
		{name: "node", reset: func(r *Runtime) int { return r.ResetNodeStats(m0.Addr) }, wantN: onNode, wantWeb: counts{9, 4, 0, 0}, wantOther: 5},
		{name: "other node", reset: func(r *Runtime) int { return r.ResetNodeStats(netip.MustParseAddr("192.0.2.99")) }, wantN: 0, wantWeb: counts{9, 4, 7, 3}, wantOther: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRuntime(nil)
			if err := r.Install(p, 0); err != nil {
				t.Fatal(err)
			}
			vs, other := r.VirtualStats("/Common/vs_web"), r.VirtualStats("/Common/vs_new")
			ms := r.Member(pool, m0.Name).Stats
			vs.PktsIn.Add(9)
			vs.TotalConns.Add(4)
			vs.CurConns.Add(2)
			other.PktsIn.Add(5)
			ms.PktsIn.Add(7)
			ms.TotalConns.Add(3)
			ms.CurConns.Add(1)
			if n := tt.reset(r); n != tt.wantN {
				t.Errorf("reset %d, want %d", n, tt.wantN)
			}
			got := counts{vs.PktsIn.Load(), vs.TotalConns.Load(), ms.PktsIn.Load(), ms.TotalConns.Load()}
			if got != tt.wantWeb {
				t.Errorf("vs_web and its member = %+v, want %+v", got, tt.wantWeb)
			}
			if o := other.PktsIn.Load(); o != tt.wantOther {
				t.Errorf("vs_new packets in = %d, want %d", o, tt.wantOther)
			}
			if vs.CurConns.Load() != 2 || ms.CurConns.Load() != 1 {
				t.Errorf("current connections reset: virtual %d member %d, want 2 and 1 kept", vs.CurConns.Load(), ms.CurConns.Load())
			}
		})
	}
}
