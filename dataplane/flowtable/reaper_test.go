package flowtable

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// checkReapLists checks every shard's reap lists: together they hold
// exactly the used TCP flows that are not established, each once, on the
// list its state asks for, with consistent links and counts.
func checkReapLists(t *testing.T, ft *Table) {
	t.Helper()
	for i := range ft.shards {
		s := &ft.shards[i]
		s.mu.Lock()
		seen := map[int32]bool{}
		for l := listEmbryonic; l <= listClosed; l++ {
			rl := &s.reap[l-1]
			prev, n := int32(-1), 0
			for e := rl.head; e >= 0; e = s.entries[e].rnext {
				f := &s.entries[e]
				if seen[e] || len(seen) > len(s.entries) {
					s.mu.Unlock()
					t.Fatalf("shard %d: reap list %d loops at entry %d", i, l, e)
				}
				seen[e] = true
				n++
				if !f.used || f.list != l || f.wantList() != l || f.rprev != prev {
					s.mu.Unlock()
					t.Fatalf("shard %d: entry %d on reap list %d: used %v list %d wants %d rprev %d (want %d)", i, e, l, f.used, f.list, f.wantList(), f.rprev, prev)
				}
				prev = e
			}
			if rl.tail != prev || rl.n != n {
				s.mu.Unlock()
				t.Fatalf("shard %d: list %d: tail %d count %d, list ends at %d with %d entries", i, l, rl.tail, rl.n, prev, n)
			}
		}
		for e := range s.entries {
			if f := &s.entries[e]; f.used && f.reapable() && !seen[int32(e)] {
				s.mu.Unlock()
				t.Fatalf("shard %d: reapable entry %d (state %d) not on a reap list", i, e, f.state)
			}
		}
		s.mu.Unlock()
	}
}

// TestFlowTableReaperSYNFlood floods one shard, then the whole table, with
// SYNs from one source that never complete (some reset by the client, as
// a real client's kernel does on an unexpected SYN-ACK): established and
// UDP flows all survive, a legitimate SYN still gets a flow and completes
// its handshake, every eviction is counted and nothing is refused.
func TestFlowTableReaperSYNFlood(t *testing.T) {
	const per = 8
	ft := newTestTable(flowShards * per)
	if ft.reapCap != per/2 {
		t.Fatalf("reap share %d, want %d", ft.reapCap, per/2)
	}
	now := at(ft, 0)
	legit := func(port uint16) *NewFlow {
		nf := tcpNew(port, 0)
		nf.Fwd.Src = cIP + 1
		return nf
	}
	// Shard 0 gets three established connections and one UDP flow.
	var keep []Key
	for _, port := range []uint16{1024, 1024 + flowShards, 1024 + 2*flowShards} {
		nf := legit(port)
		if _, r := ft.Insert(nf, now, flags(tcpSYN)); r != OK {
			t.Fatalf("insert %v: %v", nf.Fwd, r)
		}
		establish(t, ft, nf, now)
		keep = append(keep, nf.Fwd)
	}
	udp := legit(1024 + 3*flowShards)
	udp.Fwd.Proto = protoUDP
	if _, r := ft.Insert(udp, now, Seg{}); r != OK {
		t.Fatalf("insert UDP: %v", r)
	}
	keep = append(keep, udp.Fwd)

	attacker := cIP + 66
	flood := func(ports []uint16) {
		t.Helper()
		for i, port := range ports {
			nf := tcpNew(port, 0)
			nf.Fwd.Src = attacker
			if _, r := ft.Insert(nf, now, flags(tcpSYN)); r != OK {
				t.Fatalf("flood SYN %d from port %d: %v", i, port, r)
			}
			if i%3 == 0 { // the client's kernel resets the member's SYN-ACK
				rev := Key{Src: nf.Member, Sport: nf.MemberPort, Dst: attacker, Dport: port, Proto: protoTCP}
				ft.Lookup(rev, now, flags(tcpSYN|tcpACK))
				ft.Lookup(nf.Fwd, now, flags(tcpRST))
			}
			now += int64(time.Millisecond)
		}
	}
	var shard0, all []uint16
	for p := 2048; p < 65536; p += flowShards {
		shard0 = append(shard0, uint16(p))
	}
	for p := 2048; p < 2048+20000; p++ {
		all = append(all, uint16(p))
	}
	flood(shard0)
	checkReapLists(t, ft)
	s0 := &ft.shards[0]
	if s0.nreapLocked() != ft.reapCap || s0.n != len(keep)+ft.reapCap {
		t.Errorf("shard 0 after the flood: %d flows, %d embryonic; want %d, %d", s0.n, s0.nreapLocked(), len(keep)+ft.reapCap, ft.reapCap)
	}
	// Every flood SYN past the share took an entry: a reset one's (closed,
	// recycled) while there was one, else the oldest embryonic one's.
	if ev, rc, want := ft.Evicted(), ft.Recycled(), uint64(len(shard0)-ft.reapCap); ev+rc != want || rc == 0 {
		t.Errorf("Evicted %d + Recycled %d, want %d with some recycled", ev, rc, want)
	}

	// A legitimate SYN into the flooded shard gets a flow, survives the
	// flood SYNs that arrive before the member answers, and completes.
	nf := legit(1024 + 4*flowShards)
	if _, r := ft.Insert(nf, now, flags(tcpSYN)); r != OK {
		t.Fatalf("legitimate SYN during the flood: %v", r)
	}
	flood(shard0[:ft.reapCap-1])
	establish(t, ft, nf, now)
	keep = append(keep, nf.Fwd)

	// Flood everything; the established flows and the UDP flow stay.
	flood(all)
	checkReapLists(t, ft)
	for _, k := range keep {
		if _, ok := ft.Lookup(k, now, flags(tcpACK)); !ok {
			t.Errorf("flow %v was evicted by the flood", k)
		}
	}
	if n := ft.Embryonic(); n > flowShards*ft.reapCap {
		t.Errorf("%d embryonic flows, more than the share %d", n, flowShards*ft.reapCap)
	}
	// Another legitimate SYN, in another shard, also gets a flow.
	if _, r := ft.Insert(legit(1025), now, flags(tcpSYN)); r != OK {
		t.Errorf("legitimate SYN after the flood: %v", r)
	}
}

// TestFlowTableReaperFullOfEstablished checks the reaper never makes room
// by evicting established flows: a shard full of them refuses a new SYN.
func TestFlowTableReaperFullOfEstablished(t *testing.T) {
	const per = 4
	ft := newTestTable(flowShards * per)
	for i := range per {
		nf := tcpNew(uint16(1024+i*flowShards), 0)
		if _, r := ft.Insert(nf, 0, flags(tcpSYN)); r != OK {
			t.Fatalf("insert %d: %v", i, r)
		}
		establish(t, ft, nf, 0)
	}
	if _, r := ft.Insert(tcpNew(1024+per*flowShards, 0), 0, flags(tcpSYN)); r != Full {
		t.Errorf("SYN into a shard full of established flows = %v, want %v", r, Full)
	}
	// One of them closes: it is the first to go for a new flow.
	closed := tcpNew(1024, 0)
	ft.Lookup(closed.Fwd, 0, flags(tcpRST))
	if _, r := ft.Insert(tcpNew(1024+per*flowShards, 0), 0, flags(tcpSYN)); r != OK {
		t.Errorf("SYN after a flow closed = %v", r)
	}
	if _, ok := ft.Lookup(closed.Fwd, 0, flags(tcpACK)); ok {
		t.Errorf("the closed flow was kept; an established one must have gone")
	}
	if ft.Evicted() != 0 || ft.Recycled() != 1 || ft.Len() != per {
		t.Errorf("Evicted %d, Recycled %d, Len %d; want 0, 1, %d", ft.Evicted(), ft.Recycled(), ft.Len(), per)
	}
	checkReapLists(t, ft)
}

// TestFlowTableReaperRandom runs random inserts, state changes, time steps
// and sweeps with the reaper on, checking the reap lists after every
// operation and that no established flow ever disappears before its
// timeout.
func TestFlowTableReaperRandom(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			ft := New(flowShards*6, Timeouts{}, testTime)
			to := ft.Timeouts()
			now := int64(0)
			type est struct {
				k    Key
				seen int64
			}
			var established []est
			var opened []*NewFlow
			nest := 0
			for op := range 5000 {
				switch x := rng.IntN(100); {
				case x < 40:
					nf := &NewFlow{Fwd: Key{Src: cIP + uint32(rng.IntN(4)), Dst: vIP, Sport: uint16(1024 + 64*rng.IntN(8) + rng.IntN(2)), Dport: 80,
						Proto: []uint8{protoTCP, protoTCP, protoTCP, protoUDP}[rng.IntN(4)]}, Member: mIP, MemberPort: 8080, Egress: [2]int{portInt, portExt}}
					if _, r := ft.Insert(nf, now, flags(tcpSYN)); r == OK && nf.Fwd.Proto == protoTCP {
						opened = append(opened, nf)
					}
				case x < 70 && len(opened) > 0:
					nf := opened[rng.IntN(len(opened))]
					rev := Key{Src: nf.Member, Sport: nf.MemberPort, Dst: nf.Fwd.Src, Dport: nf.Fwd.Sport, Proto: protoTCP}
					switch rng.IntN(4) {
					case 0:
						ft.Lookup(rev, now, flags(tcpSYN|tcpACK))
					case 1:
						if _, ok := ft.Lookup(nf.Fwd, now, flags(tcpACK)); ok {
							if st, _ := ft.state(nf.Fwd); st == stateEstablished {
								established = append(established, est{nf.Fwd, now})
								nest++
							}
						}
					case 2:
						ft.Lookup(nf.Fwd, now, flags(tcpRST))
					case 3:
						ft.Lookup(nf.Fwd, now, flags(tcpSYN))
					}
				case x < 95:
					now += int64(time.Duration(rng.IntN(3000)) * time.Millisecond)
				default:
					ft.Sweep(testTime.Add(time.Duration(now)))
				}
				checkReapLists(t, ft)
				kept := established[:0]
				for _, e := range established {
					st, ok := ft.state(e.k)
					switch {
					case ok && st == stateEstablished:
						kept = append(kept, e)
					case !ok && now-e.seen <= int64(to.TCPEstablished):
						t.Fatalf("op %d: established flow %v gone after %v idle", op, e.k, time.Duration(now-e.seen))
					}
				}
				established = kept
			}
			if ft.Evicted() == 0 || nest == 0 {
				t.Errorf("random operations made the reaper evict %d times and established %d flows; want both", ft.Evicted(), nest)
			}
		})
	}
}

// state returns the state of the flow with forward key k, without touching
// it, and whether there is one.
func (ft *Table) state(k Key) (flowState, bool) {
	s := &ft.shards[k.Sport&(flowShards-1)]
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.findLocked(k, ft.hash(k))
	if i < 0 {
		return 0, false
	}
	return s.entries[(s.index[i].ref-1)>>1].state, true
}
