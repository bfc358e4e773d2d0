package flowtable

import (
	"runtime"
	"testing"
	"time"
	"unsafe"
)

// TestClosedFlowReuse: a closed flow's entry is taken by a new connection
// at once, long before its closing timeout.
func TestClosedFlowReuse(t *testing.T) {
	close := map[string]func(ft *Table, nf *NewFlow, now int64){
		"FINs": func(ft *Table, nf *NewFlow, now int64) {
			ft.Lookup(nf.Fwd, now, flags(tcpFIN|tcpACK))
			ft.Lookup(Key{Src: nf.Member, Sport: nf.MemberPort, Dst: nf.Fwd.Src, Dport: nf.Fwd.Sport, Proto: protoTCP}, now, flags(tcpFIN|tcpACK))
		},
		"RST": func(ft *Table, nf *NewFlow, now int64) { ft.Lookup(nf.Fwd, now, flags(tcpRST)) },
	}
	for name, closeFn := range close {
		t.Run(name+"/same 5-tuple", func(t *testing.T) {
			// The client's next SYN from the same port reuses the entry:
			// embryonic again, counted open again, same member.
			ft := newTestTable(1024)
			nf := tcpNew(40000, 0)
			ft.Insert(nf, 0, flags(tcpSYN))
			establish(t, ft, nf, 0)
			closeFn(ft, nf, at(ft, time.Second))
			if st, _ := ft.state(nf.Fwd); st != stateClosing && st != stateReset {
				t.Fatalf("state after close = %d, want closing or reset", st)
			}
			if cur := nf.VS.CurConns.Load(); cur != 0 {
				t.Fatalf("CurConns after close = %d, want 0", cur)
			}
			hit, ok := ft.Lookup(nf.Fwd, at(ft, 2*time.Second), flags(tcpSYN))
			if !ok || hit.Dst != nf.Member || hit.Dport != nf.MemberPort {
				t.Fatalf("SYN on the closed flow: %+v, %v; want the same member", hit, ok)
			}
			if st, _ := ft.state(nf.Fwd); st != stateSynSent || ft.Len() != 1 || nf.VS.CurConns.Load() != 1 {
				t.Errorf("after the new SYN: state %d, Len %d, CurConns %d; want SYN sent, 1, 1", st, ft.Len(), nf.VS.CurConns.Load())
			}
			checkReapLists(t, ft)
			if ft.shards[nf.Fwd.Sport&(flowShards-1)].reap[listEmbryonic-1].n != 1 {
				t.Errorf("the reused flow is not on the embryonic list")
			}
		})
		t.Run(name+"/same member side", func(t *testing.T) {
			// Another virtual's flow from the same client port to the
			// same member:port has the closed flow's reverse key: it
			// takes the entry, where an open flow's refuses it.
			ft := newTestTable(1024)
			nf := tcpNew(40000, 0)
			ft.Insert(nf, 0, flags(tcpSYN))
			establish(t, ft, nf, 0)
			other := tcpNew(40000, 0)
			other.Fwd.Dport = 443
			if _, r := ft.Insert(other, at(ft, time.Second), flags(tcpSYN)); r != Collision {
				t.Fatalf("insert beside an open flow = %v, want %v", r, Collision)
			}
			closeFn(ft, nf, at(ft, time.Second))
			hit, r := ft.Insert(other, at(ft, 2*time.Second), flags(tcpSYN))
			if r != OK || hit.Dst != other.Member {
				t.Fatalf("insert beside the closed flow = %+v, %v; want OK", hit, r)
			}
			if _, ok := ft.Lookup(nf.Fwd, at(ft, 2*time.Second), flags(tcpACK)); ok {
				t.Errorf("the closed flow is still there")
			}
			if ft.Len() != 1 || ft.Recycled() != 1 || ft.Evicted() != 0 {
				t.Errorf("Len %d, Recycled %d, Evicted %d; want 1, 1, 0", ft.Len(), ft.Recycled(), ft.Evicted())
			}
			checkReapLists(t, ft)
		})
	}
}

// TestReapOrder: under pressure the reaper takes closed flows first, oldest
// first, then embryonic ones, oldest first, and never established ones.
func TestReapOrder(t *testing.T) {
	const per = 8
	ft := newTestTable(flowShards * per) // shard 0: 8 entries, share 4
	port := func(i int) uint16 { return uint16(1024 + i*flowShards) }
	var flows []*NewFlow
	open := func(i int, now int64) *NewFlow {
		t.Helper()
		nf := tcpNew(port(i), 0)
		if _, r := ft.Insert(nf, now, flags(tcpSYN)); r != OK {
			t.Fatalf("insert %d: %v", i, r)
		}
		flows = append(flows, nf)
		return nf
	}
	// 0..3 established; 4 and 5 embryonic (4 older); 6 and 7 established
	// then closed (7 closed first, so older on the closed list).
	for i := range 8 {
		nf := open(i, int64(i))
		if i < 4 || i >= 6 {
			establish(t, ft, nf, int64(i))
		}
	}
	ft.Lookup(flows[7].Fwd, 10, flags(tcpRST))
	ft.Lookup(flows[6].Fwd, 11, flags(tcpRST))
	checkReapLists(t, ft)
	alive := func(i int) bool {
		_, ok := ft.state(flows[i].Fwd)
		return ok
	}
	// Each new SYN in the full shard takes one entry: 7, 6 (closed), then
	// 4, 5 (embryonic) — the new flows are embryonic too, and younger.
	for n, victim := range []int{7, 6, 4, 5} {
		open(8+n, int64(20+n))
		if alive(victim) {
			t.Fatalf("new flow %d: flow %d still there, want it reaped", n, victim)
		}
		for i := range 4 {
			if !alive(i) {
				t.Fatalf("new flow %d: established flow %d reaped", n, i)
			}
		}
		checkReapLists(t, ft)
	}
	if ft.Recycled() != 2 || ft.Evicted() != 2 {
		t.Errorf("Recycled %d, Evicted %d; want 2, 2", ft.Recycled(), ft.Evicted())
	}
}

// TestFlowSize: an entry is 96 bytes, and a table of 1M flows, filled,
// costs at most 128 bytes a flow of heap (entries and index).
func TestFlowSize(t *testing.T) {
	if got := unsafe.Sizeof(flow{}); got != 96 {
		t.Errorf("flow entry is %d bytes, want 96", got)
	}
	const n = 1 << 20
	b := bytesPerFlow(t, n)
	t.Logf("%d flows: %.1f bytes a flow", n, b)
	// The heap also holds what else the process allocated meanwhile (a
	// few hundred KB at most): half a byte a flow of slack.
	if b > 128.5 {
		t.Errorf("%.1f bytes a flow, want at most 128", b)
	}
}

// bytesPerFlow makes a table of capacity n, fills it with n UDP flows and
// returns the heap it holds, per flow.
func bytesPerFlow(t testing.TB, n int) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ft := New(n, Timeouts{}, testTime)
	vs := &VirtualStats{Name: "vs"}
	for i := range n {
		// Client ports spread over all shards; the addresses make them
		// distinct.
		k := Key{Src: cIP + uint32(i>>16), Dst: vIP, Sport: uint16(i), Dport: 53, Proto: protoUDP}
		if _, r := ft.Insert(&NewFlow{Fwd: k, Member: mIP, MemberPort: 53, Egress: [2]int{portInt, portExt}, VS: vs}, 0, Seg{}); r != OK {
			t.Fatalf("flow %d: %v", i, r)
		}
	}
	if ft.Len() != n {
		t.Fatalf("Len %d, want %d", ft.Len(), n)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(ft)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}
