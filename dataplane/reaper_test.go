package dataplane

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// checkReapLists checks every shard's reap list: it holds exactly the used
// TCP flows that are not established, each once, with consistent links and
// count.
func checkReapLists(t *testing.T, ft *FlowTable) {
	t.Helper()
	for i := range ft.shards {
		s := &ft.shards[i]
		s.mu.Lock()
		seen := map[int32]bool{}
		prev := int32(-1)
		for e := s.rhead; e >= 0; e = s.entries[e].rnext {
			f := &s.entries[e]
			if seen[e] || len(seen) > len(s.entries) {
				s.mu.Unlock()
				t.Fatalf("shard %d: reap list loops at entry %d", i, e)
			}
			seen[e] = true
			if !f.used || !f.listed || !f.reapable() || f.rprev != prev {
				s.mu.Unlock()
				t.Fatalf("shard %d: entry %d on the reap list: used %v listed %v reapable %v rprev %d (want %d)", i, e, f.used, f.listed, f.reapable(), f.rprev, prev)
			}
			prev = e
		}
		if s.rtail != prev || s.nreap != len(seen) {
			s.mu.Unlock()
			t.Fatalf("shard %d: tail %d count %d, list ends at %d with %d entries", i, s.rtail, s.nreap, prev, len(seen))
		}
		for e := range s.entries {
			if f := &s.entries[e]; f.used && f.reapable() && !seen[int32(e)] {
				s.mu.Unlock()
				t.Fatalf("shard %d: reapable entry %d (state %d) not on the reap list", i, e, f.state)
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
	legit := func(port uint16) *newFlow {
		nf := tcpNew(port, 0)
		nf.fwd.src = cIP + 1
		return nf
	}
	// Shard 0 gets three established connections and one UDP flow.
	var keep []flowKey
	for _, port := range []uint16{1024, 1024 + flowShards, 1024 + 2*flowShards} {
		nf := legit(port)
		if _, r := ft.insert(nf, now, flags(tcpSYN)); r != dropNone {
			t.Fatalf("insert %v: %v", nf.fwd, r)
		}
		establish(t, ft, nf, now)
		keep = append(keep, nf.fwd)
	}
	udp := legit(1024 + 3*flowShards)
	udp.fwd.proto = ProtoUDP
	if _, r := ft.insert(udp, now, tcpSeg{}); r != dropNone {
		t.Fatalf("insert UDP: %v", r)
	}
	keep = append(keep, udp.fwd)

	attacker := cIP + 66
	flood := func(ports []uint16) {
		t.Helper()
		for i, port := range ports {
			nf := tcpNew(port, 0)
			nf.fwd.src = attacker
			if _, r := ft.insert(nf, now, flags(tcpSYN)); r != dropNone {
				t.Fatalf("flood SYN %d from port %d: %v", i, port, r)
			}
			if i%3 == 0 { // the client's kernel resets the member's SYN-ACK
				rev := flowKey{src: nf.member, sport: nf.memberPort, dst: attacker, dport: port, proto: ProtoTCP}
				ft.lookup(rev, now, flags(tcpSYN|tcpACK))
				ft.lookup(nf.fwd, now, flags(tcpRST))
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
	if s0.nreap != ft.reapCap || s0.n != len(keep)+ft.reapCap {
		t.Errorf("shard 0 after the flood: %d flows, %d embryonic; want %d, %d", s0.n, s0.nreap, len(keep)+ft.reapCap, ft.reapCap)
	}
	if got, want := ft.Evicted(), uint64(len(shard0)-ft.reapCap); got != want {
		t.Errorf("Evicted = %d, want %d", got, want)
	}

	// A legitimate SYN into the flooded shard gets a flow, survives the
	// flood SYNs that arrive before the member answers, and completes.
	nf := legit(1024 + 4*flowShards)
	if _, r := ft.insert(nf, now, flags(tcpSYN)); r != dropNone {
		t.Fatalf("legitimate SYN during the flood: %v", r)
	}
	flood(shard0[:ft.reapCap-1])
	establish(t, ft, nf, now)
	keep = append(keep, nf.fwd)

	// Flood everything; the established flows and the UDP flow stay.
	flood(all)
	checkReapLists(t, ft)
	for _, k := range keep {
		if _, ok := ft.lookup(k, now, flags(tcpACK)); !ok {
			t.Errorf("flow %v was evicted by the flood", k)
		}
	}
	if n := ft.Embryonic(); n > flowShards*ft.reapCap {
		t.Errorf("%d embryonic flows, more than the share %d", n, flowShards*ft.reapCap)
	}
	// Another legitimate SYN, in another shard, also gets a flow.
	if _, r := ft.insert(legit(1025), now, flags(tcpSYN)); r != dropNone {
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
		if _, r := ft.insert(nf, 0, flags(tcpSYN)); r != dropNone {
			t.Fatalf("insert %d: %v", i, r)
		}
		establish(t, ft, nf, 0)
	}
	if _, r := ft.insert(tcpNew(1024+per*flowShards, 0), 0, flags(tcpSYN)); r != DropFlowTableFull {
		t.Errorf("SYN into a shard full of established flows = %v, want %v", r, DropFlowTableFull)
	}
	// One of them closes: it is the first to go for a new flow.
	closed := tcpNew(1024, 0)
	ft.lookup(closed.fwd, 0, flags(tcpRST))
	if _, r := ft.insert(tcpNew(1024+per*flowShards, 0), 0, flags(tcpSYN)); r != dropNone {
		t.Errorf("SYN after a flow closed = %v", r)
	}
	if _, ok := ft.lookup(closed.fwd, 0, flags(tcpACK)); ok {
		t.Errorf("the closed flow was kept; an established one must have gone")
	}
	if ft.Evicted() != 1 || ft.Len() != per {
		t.Errorf("Evicted %d, Len %d; want 1, %d", ft.Evicted(), ft.Len(), per)
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
			ft := NewFlowTable(flowShards*6, Timeouts{}, testTime)
			to := ft.Timeouts()
			now := int64(0)
			type est struct {
				k    flowKey
				seen int64
			}
			var established []est
			var opened []*newFlow
			nest := 0
			for op := range 5000 {
				switch x := rng.IntN(100); {
				case x < 40:
					nf := &newFlow{fwd: flowKey{src: cIP + uint32(rng.IntN(4)), dst: vIP, sport: uint16(1024 + 64*rng.IntN(8) + rng.IntN(2)), dport: 80,
						proto: []uint8{ProtoTCP, ProtoTCP, ProtoTCP, ProtoUDP}[rng.IntN(4)]}, member: mIP, memberPort: 8080, egress: [2]int{portInt, portExt}}
					if _, r := ft.insert(nf, now, flags(tcpSYN)); r == dropNone && nf.fwd.proto == ProtoTCP {
						opened = append(opened, nf)
					}
				case x < 70 && len(opened) > 0:
					nf := opened[rng.IntN(len(opened))]
					rev := flowKey{src: nf.member, sport: nf.memberPort, dst: nf.fwd.src, dport: nf.fwd.sport, proto: ProtoTCP}
					switch rng.IntN(4) {
					case 0:
						ft.lookup(rev, now, flags(tcpSYN|tcpACK))
					case 1:
						if _, ok := ft.lookup(nf.fwd, now, flags(tcpACK)); ok {
							if st, _ := ft.state(nf.fwd); st == stateEstablished {
								established = append(established, est{nf.fwd, now})
								nest++
							}
						}
					case 2:
						ft.lookup(nf.fwd, now, flags(tcpRST))
					case 3:
						ft.lookup(nf.fwd, now, flags(tcpSYN))
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
func (ft *FlowTable) state(k flowKey) (flowState, bool) {
	s := &ft.shards[k.sport&(flowShards-1)]
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.findLocked(k, ft.hash(k))
	if i < 0 {
		return 0, false
	}
	return s.entries[(s.index[i].ref-1)>>1].state, true
}

// TestEngineSYNFlood floods a small engine with SYNs from one client and
// checks, with the injected clock, that an established connection keeps
// flowing, new connections from another client are forwarded, nothing is
// refused, the evictions are counted and the pressure is logged once per
// interval.
func TestEngineSYNFlood(t *testing.T) {
	h := newHarness(t, nil)
	e, err := NewEngine(EngineConfig{Ports: []Port{h.ports[0], h.ports[1]}, FlowCapacity: flowShards * 8, Clock: h.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	var logs syncBuffer
	e.log = newTextLogger(&logs)
	h.e = e
	h.w = []*worker{e.newWorker(0), e.newWorker(1)}
	if err := e.Install(testProgram(t, progOpts{})); err != nil {
		t.Fatal(err)
	}
	h.learnAll()
	h.ports[portInt].drain()

	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	// An established connection: SYN, the member's SYN-ACK, ACK.
	h.send(portExt, tcpFrame(cl, 40000, 80, fSYN, ""))
	m := h.ports[portInt].drain()
	if len(m) != 1 {
		t.Fatalf("SYN: %d frames to the members, want 1", len(m))
	}
	mw := decodeWire(t, m[0])
	mi := -1
	for i, a := range members {
		if strings.HasPrefix(mw.Dst, a.String()+":") {
			mi = i
		}
	}
	srv := ipHdr{srcMAC: memberMAC(mi), dstMAC: intMAC, src: members[mi], dst: client}
	h.send(portInt, tcpFrame(srv, 8080, 40000, fSYNACK, ""))
	h.send(portExt, tcpFrame(cl, 40000, 80, fACK, ""))
	h.ports[portExt].drain()
	h.ports[portInt].drain()

	attacker := ipHdr{srcMAC: mustMAC("02:00:00:00:0a:01"), dstMAC: extMAC, src: netip.MustParseAddr("198.18.0.66"), dst: vip}
	syn := tcpFrame(attacker, 1024, 80, fSYN, "")
	const floodN = 20000
	for i := range floodN {
		newClientPort(syn, i)
		h.send(portExt, syn)
		if i%1000 == 999 {
			h.clock.Advance(100 * time.Millisecond)
			h.ports[portInt].drain()
			// The established connection keeps flowing both ways.
			h.send(portExt, tcpFrame(cl, 40000, 80, fACK, "data"))
			h.send(portInt, tcpFrame(srv, 8080, 40000, fACK, "answer"))
			if a, b := len(h.ports[portInt].drain()), len(h.ports[portExt].drain()); a != 1 || b != 1 {
				t.Fatalf("after %d flood SYNs the established connection sent %d and received %d frames, want 1 and 1", i+1, a, b)
			}
			// A new connection from the legitimate client is forwarded.
			h.send(portExt, tcpFrame(cl, uint16(50000+i/1000), 80, fSYN, ""))
			if n := len(h.ports[portInt].drain()); n != 1 {
				t.Fatalf("after %d flood SYNs a new connection's SYN sent %d frames, want 1", i+1, n)
			}
		}
	}
	if d := h.drops(); len(d) != 0 {
		t.Errorf("drops %v, want none: the reaper makes room", d)
	}
	counters := map[string]uint64{}
	for _, c := range e.Counters() {
		counters[c.Name] = c.Value
	}
	if ev := counters["flows.embryonic_evicted"]; ev < floodN-uint64(e.flows.Capacity()) {
		t.Errorf("flows.embryonic_evicted = %d, want at least %d", ev, floodN-e.flows.Capacity())
	}
	if n := counters["flows.embryonic"]; n == 0 || n > uint64(flowShards*e.flows.reapCap) {
		t.Errorf("flows.embryonic = %d, want 1..%d", n, flowShards*e.flows.reapCap)
	}

	e.Sweep(h.clock.Now())
	if got := strings.Count(logs.String(), "flow table under pressure"); got != 1 {
		t.Fatalf("%d pressure log lines after the flood, want 1:\n%s", got, logs.String())
	}
	if !strings.Contains(logs.String(), "embryonic-evicted=") {
		t.Errorf("pressure line lacks the eviction count:\n%s", logs.String())
	}
	// More flooding within the interval: counted, not logged again.
	for i := range 1000 {
		newClientPort(syn, floodN+i)
		h.send(portExt, syn)
	}
	h.clock.Advance(time.Second)
	e.Sweep(h.clock.Now())
	if got := strings.Count(logs.String(), "flow table under pressure"); got != 1 {
		t.Errorf("%d pressure log lines within the interval, want 1", got)
	}
	h.clock.Advance(time.Duration(pressureInterval))
	e.Sweep(h.clock.Now())
	if got := strings.Count(logs.String(), "flow table under pressure"); got != 2 {
		t.Errorf("%d pressure log lines after the interval, want 2", got)
	}
	// Quiet: no more lines.
	h.clock.Advance(time.Duration(2 * pressureInterval))
	e.Sweep(h.clock.Now())
	if got := strings.Count(logs.String(), "flow table under pressure"); got != 2 {
		t.Errorf("%d pressure log lines when quiet, want 2", got)
	}
}
