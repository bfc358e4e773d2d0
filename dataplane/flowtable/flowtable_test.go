package flowtable

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"lbx/pools"
)

var (
	cIP  = u32(client)
	vIP  = u32(vip)
	mIP  = u32(members[0])
	snIP = u32(selfInt.Addr())
)

func newTestTable(capacity int) *Table {
	return New(capacity, Timeouts{}, testTime)
}

func at(ft *Table, d time.Duration) int64 { return ft.Mono(testTime.Add(d)) }

func tcpNew(cport uint16, snat uint32) *NewFlow {
	return &NewFlow{
		Fwd:    Key{Src: cIP, Dst: vIP, Sport: cport, Dport: 80, Proto: protoTCP},
		Member: mIP, MemberPort: 8080, SNAT: snat,
		Egress: [2]int{portInt, portExt}, VS: &VirtualStats{Name: "vs"},
	}
}

func (k Key) String() string {
	return fmt.Sprintf("%v:%d>%v:%d/%d", addr4(k.Src), k.Sport, addr4(k.Dst), k.Dport, k.Proto)
}

func TestFlowTableBothDirections(t *testing.T) {
	for _, snat := range []bool{false, true} {
		t.Run(fmt.Sprintf("snat=%v", snat), func(t *testing.T) {
			ft := newTestTable(1024)
			nf := tcpNew(40000, 0)
			wantSrc := cIP
			if snat {
				nf.SNAT, wantSrc = snIP, snIP
			}
			nf.MS = new(pools.MemberStats)
			hit, r := ft.Insert(nf, 0, flags(tcpSYN))
			if r != OK {
				t.Fatalf("insert: %v", r)
			}
			wantFwd := Hit{Dir: Forward, Src: wantSrc, Sport: 40000, Dst: mIP, Dport: 8080, Egress: portInt, VS: nf.VS, MS: nf.MS}
			if hit != wantFwd {
				t.Errorf("insert hit = %+v, want %+v", hit, wantFwd)
			}
			got, ok := ft.Lookup(nf.Fwd, 1, flags(tcpSYN))
			if !ok || got != wantFwd {
				t.Errorf("forward lookup = %+v, %v; want %+v", got, ok, wantFwd)
			}
			rev := Key{Src: mIP, Sport: 8080, Dst: wantSrc, Dport: 40000, Proto: protoTCP}
			wantRev := Hit{Dir: Reverse, Src: vIP, Sport: 80, Dst: cIP, Dport: 40000, Egress: portExt, VS: nf.VS, MS: nf.MS}
			got, ok = ft.Lookup(rev, 2, flags(tcpSYN|tcpACK))
			if !ok || got != wantRev {
				t.Errorf("reverse lookup = %+v, %v; want %+v", got, ok, wantRev)
			}
			for _, k := range []Key{
				{Src: cIP, Dst: vIP, Sport: 40001, Dport: 80, Proto: protoTCP},
				{Src: cIP, Dst: vIP, Sport: 40000, Dport: 80, Proto: protoUDP},
				{Src: mIP, Sport: 8080, Dst: wantSrc, Dport: 40064, Proto: protoTCP},
			} {
				if _, ok := ft.Lookup(k, 3, flags(0)); ok {
					t.Errorf("lookup %v found a flow", k)
				}
			}
			if ft.Len() != 1 || nf.VS.CurConns.Load() != 1 || nf.VS.TotalConns.Load() != 1 || nf.MS.CurConns.Load() != 1 || nf.MS.TotalConns.Load() != 1 {
				t.Errorf("Len %d, vs cur/total %d/%d, member cur/total %d/%d; want 1 each",
					ft.Len(), nf.VS.CurConns.Load(), nf.VS.TotalConns.Load(), nf.MS.CurConns.Load(), nf.MS.TotalConns.Load())
			}
			// A second insert of the same forward key answers with the flow.
			if again, r := ft.Insert(nf, 4, flags(tcpSYN)); r != OK || again != wantFwd || ft.Len() != 1 {
				t.Errorf("re-insert = %+v, %v, Len %d", again, r, ft.Len())
			}
		})
	}
}

type step struct {
	dir   int
	flags uint8
}

func TestFlowTableExpiryByState(t *testing.T) {
	d := DefaultTimeouts()
	tests := []struct {
		name    string
		proto   uint8
		steps   []step
		state   flowState
		timeout time.Duration
	}{
		{"udp", protoUDP, nil, stateUDP, d.UDP},
		{"tcp syn sent", protoTCP, nil, stateSynSent, d.TCPHalfOpen},
		{"tcp syn-ack seen", protoTCP, []step{{Reverse, tcpSYN | tcpACK}}, stateSynRecv, d.TCPHalfOpen},
		{"tcp established", protoTCP, []step{{Reverse, tcpSYN | tcpACK}, {Forward, tcpACK}}, stateEstablished, d.TCPEstablished},
		{"tcp one fin", protoTCP, []step{{Reverse, tcpSYN | tcpACK}, {Forward, tcpACK}, {Forward, tcpFIN | tcpACK}}, stateEstablished, d.TCPEstablished},
		{"tcp fin both", protoTCP, []step{{Reverse, tcpSYN | tcpACK}, {Forward, tcpACK}, {Forward, tcpFIN | tcpACK}, {Reverse, tcpFIN | tcpACK}}, stateClosing, d.TCPClosing},
		{"tcp rst", protoTCP, []step{{Reverse, tcpSYN | tcpACK}, {Forward, tcpACK}, {Reverse, tcpRST}}, stateReset, d.TCPClosing},
		{"tcp rst then new syn", protoTCP, []step{{Reverse, tcpRST}, {Forward, tcpSYN}}, stateSynSent, d.TCPHalfOpen},
		{"tcp ack without syn-ack stays half-open", protoTCP, []step{{Forward, tcpACK}}, stateSynSent, d.TCPHalfOpen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ft := newTestTable(1024)
			nf := tcpNew(40000, snIP)
			nf.Fwd.Proto = tt.proto
			nf.MS = new(pools.MemberStats)
			if _, r := ft.Insert(nf, 0, flags(tcpSYN)); r != OK {
				t.Fatalf("insert: %v", r)
			}
			rev := Key{Src: mIP, Sport: 8080, Dst: snIP, Dport: 40000, Proto: tt.proto}
			keys := [2]Key{nf.Fwd, rev}
			last := time.Duration(0)
			for i, s := range tt.steps {
				last = time.Duration(i+1) * time.Second
				if _, ok := ft.Lookup(keys[s.dir], at(ft, last), flags(s.flags)); !ok {
					t.Fatalf("step %d: flow gone", i)
				}
			}
			st := flowState(255)
			for _, f := range ft.shards[40000%flowShards].entries {
				if f.used {
					st = f.state
				}
			}
			if st != tt.state {
				t.Errorf("state = %d, want %d", st, tt.state)
			}
			// A connection closed by both FINs or a RST stops counting as
			// current at once, though its entry lives on until it expires.
			wantCur := int64(1)
			if tt.state == stateClosing || tt.state == stateReset {
				wantCur = 0
			}
			if nf.VS.CurConns.Load() != wantCur || nf.MS.CurConns.Load() != wantCur {
				t.Errorf("current conns: vs %d, member %d; want %d", nf.VS.CurConns.Load(), nf.MS.CurConns.Load(), wantCur)
			}
			if n := ft.Sweep(testTime.Add(last + tt.timeout)); n != 0 {
				t.Errorf("Sweep at exactly the timeout removed %d flows", n)
			}
			// Expired on lookup: treated as absent and removed at once.
			if _, ok := ft.Lookup(keys[Reverse], at(ft, last+tt.timeout+1), flags(0)); ok {
				t.Errorf("lookup after %v idle found the flow", tt.timeout+1)
			}
			if ft.Len() != 0 || nf.VS.CurConns.Load() != 0 || nf.MS.CurConns.Load() != 0 {
				t.Errorf("after expiry: Len %d, vs cur %d, member cur %d; want 0", ft.Len(), nf.VS.CurConns.Load(), nf.MS.CurConns.Load())
			}
			if nf.VS.TotalConns.Load() != 1 {
				t.Errorf("vs total conns = %d, want 1", nf.VS.TotalConns.Load())
			}
		})
	}
}

func TestFlowTableSweep(t *testing.T) {
	ft := newTestTable(1024)
	vs := new(VirtualStats)
	for i, start := range []time.Duration{0, 5 * time.Second, 9 * time.Second} {
		nf := tcpNew(uint16(40000+i), 0)
		nf.VS = vs
		if _, r := ft.Insert(nf, at(ft, start), flags(tcpSYN)); r != OK {
			t.Fatalf("insert %d: %v", i, r)
		}
	}
	for _, c := range []struct {
		at          time.Duration
		removed     int
		left, conns int
	}{
		{10 * time.Second, 0, 3, 3},
		{10*time.Second + 1, 1, 2, 2},
		{15*time.Second + 1, 1, 1, 1},
		{19 * time.Second, 0, 1, 1},
		{time.Hour, 1, 0, 0},
	} {
		if n := ft.Sweep(testTime.Add(c.at)); n != c.removed || ft.Len() != c.left || vs.CurConns.Load() != int64(c.conns) {
			t.Errorf("Sweep(+%v) removed %d, Len %d, CurConns %d; want %d, %d, %d", c.at, n, ft.Len(), vs.CurConns.Load(), c.removed, c.left, c.conns)
		}
	}
}

func TestFlowTableFull(t *testing.T) {
	ft := newTestTable(flowShards) // one flow per shard
	if ft.Capacity() != flowShards {
		t.Fatalf("Capacity = %d, want %d", ft.Capacity(), flowShards)
	}
	if _, r := ft.Insert(tcpNew(1000, 0), 0, flags(tcpSYN)); r != OK {
		t.Fatalf("first insert: %v", r)
	}
	establish(t, ft, tcpNew(1000, 0), 0)
	if _, r := ft.Insert(tcpNew(1000+flowShards, 0), 0, flags(tcpSYN)); r != Full {
		t.Errorf("insert into full shard = %v, want %v", r, Full)
	}
	if _, r := ft.Insert(tcpNew(1001, 0), 0, flags(tcpSYN)); r != OK {
		t.Errorf("insert into another shard = %v", r)
	}
	// Once the first flow has expired its slot is reclaimed on demand.
	if _, r := ft.Insert(tcpNew(1000+flowShards, 0), at(ft, time.Hour), flags(tcpSYN)); r != OK {
		t.Errorf("insert after expiry = %v", r)
	}
	if ft.Len() != 2 {
		t.Errorf("Len = %d, want 2", ft.Len())
	}
}

func TestFlowTableSNATPortAllocation(t *testing.T) {
	tests := []struct {
		name    string
		cport   uint16
		clients int // how many different clients use the same port
		own     bool
	}{
		{"client port free", 40000, 1, true},
		{"collisions take other ports of the residue", 40000, 3, true},
		{"low port moves above 1023", 80, 2, false},
		{"a client port among the local ports moves down", 65500, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ft := newTestTable(flowShards * 128)
			seen := map[uint16]bool{}
			for i := range tt.clients {
				nf := tcpNew(tt.cport, snIP)
				nf.Fwd.Src = cIP + uint32(i)
				hit, r := ft.Insert(nf, 0, flags(tcpSYN))
				if r != OK {
					t.Fatalf("client %d: insert: %v", i, r)
				}
				if i == 0 && tt.own != (hit.Sport == tt.cport) {
					t.Errorf("first client: SNAT port %d, client port %d: want own port %v", hit.Sport, tt.cport, tt.own)
				}
				if seen[hit.Sport] {
					t.Errorf("client %d: SNAT port %d given twice", i, hit.Sport)
				}
				seen[hit.Sport] = true
				if hit.Sport%flowShards != tt.cport%flowShards || hit.Sport < snatPortMin || hit.Sport >= AutomapPortLimit {
					t.Errorf("client %d: SNAT port %d not ≡ %d (mod %d) or not in [%d, %d)", i, hit.Sport, tt.cport, flowShards, snatPortMin, AutomapPortLimit)
				}
				// The member's answer finds this client.
				back, ok := ft.Lookup(Key{Src: mIP, Sport: 8080, Dst: snIP, Dport: hit.Sport, Proto: protoTCP}, 0, flags(tcpSYN|tcpACK))
				if !ok || back.Dst != nf.Fwd.Src || back.Dport != tt.cport {
					t.Errorf("client %d: reverse lookup = %+v, %v", i, back, ok)
				}
			}
		})
	}
}

// TestFlowTableSNATExhaustion fills one client-port residue's SNAT ports
// towards one member: almost all of them are given out before the named
// drop, and a flow that ends (RST) gives its port to the next client at
// once, before its entry expires.
func TestFlowTableSNATExhaustion(t *testing.T) {
	ft := newTestTable(flowShards * 2048)
	ft.reapCap = 0 // SYN-only flows; the reaper has its own tests
	slots := (int(AutomapPortLimit) - snatPortMin) / flowShards
	var last Refusal
	var ok []*NewFlow
	for i := range 2 * slots {
		nf := tcpNew(40000, snIP)
		nf.Fwd.Src = cIP + uint32(i)
		if _, last = ft.Insert(nf, 0, flags(tcpSYN)); last != OK {
			break
		}
		ok = append(ok, nf)
	}
	if last != SNATPortsExhausted {
		t.Fatalf("last insert = %v, want %v", last, SNATPortsExhausted)
	}
	// Linear probing from hashed starts: at high load, 65 probes can all
	// meet taken ports before every port is given out.
	if len(ok) < slots*8/10 {
		t.Errorf("%d of %d ports given out before exhaustion, want at least 80%%", len(ok), slots)
	}
	// A RST from each client ends its flow: new clients get ports at once,
	// before the old entries expire (almost as many: a new client takes
	// an ended flow's port only when its probes meet no free one).
	for _, nf := range ok {
		if _, found := ft.Lookup(nf.Fwd, 0, flags(tcpRST)); !found {
			t.Fatalf("flow %v not found", nf.Fwd)
		}
	}
	again := 0
	for i := range ok {
		nf := tcpNew(40000, snIP)
		nf.Fwd.Src = cIP + uint32(10*slots+i)
		if _, r := ft.Insert(nf, 0, flags(tcpSYN)); r == OK {
			again++
		} else if r != SNATPortsExhausted {
			t.Fatalf("insert %d after the flows were reset = %v", i, r)
		}
	}
	if again < len(ok)*9/10 {
		t.Errorf("%d of %d new clients got a port after the old flows were reset, want at least 90%%", again, len(ok))
	}
}

func TestFlowTableCollisionWithoutSNAT(t *testing.T) {
	ft := newTestTable(1024)
	if _, r := ft.Insert(tcpNew(40000, 0), 0, flags(tcpSYN)); r != OK {
		t.Fatal(r)
	}
	// Same client tuple towards another VIP, same member: the reply tuple
	// would be ambiguous.
	nf := tcpNew(40000, 0)
	nf.Fwd.Dst++
	if _, r := ft.Insert(nf, 0, flags(tcpSYN)); r != Collision {
		t.Errorf("insert = %v, want %v", r, Collision)
	}
}

// refFlow and refTable are a naive model of the flow table: a slice
// scanned on every operation.
type refFlow struct {
	keys     [2]Key
	lastSeen int64
	timeout  int64
}

type refTable struct {
	flows    []*refFlow
	perShard int
}

func (r *refTable) live(now int64) []*refFlow {
	var out []*refFlow
	for _, f := range r.flows {
		if now-f.lastSeen <= f.timeout {
			out = append(out, f)
		}
	}
	r.flows = out
	return out
}

func (r *refTable) lookup(k Key, now int64) (Hit, bool) {
	for _, f := range r.live(now) {
		for d := range 2 {
			if f.keys[d] == k {
				f.lastSeen = now
				o := f.keys[1-d]
				return Hit{Dir: uint8(d), Src: o.Dst, Sport: o.Dport, Dst: o.Src, Dport: o.Sport, Egress: [2]int{portInt, portExt}[d]}, true
			}
		}
	}
	return Hit{}, false
}

func (r *refTable) insert(nf *NewFlow, now int64, timeout int64) (Hit, Refusal) {
	if h, ok := r.lookup(nf.Fwd, now); ok && h.Dir == Forward {
		return h, OK
	}
	n := 0
	for _, f := range r.live(now) {
		if f.keys[0].Sport%flowShards == nf.Fwd.Sport%flowShards {
			n++
		}
	}
	if n >= r.perShard {
		return Hit{}, Full
	}
	used := func(k Key) bool {
		for _, f := range r.flows {
			if f.keys[0] == k || f.keys[1] == k {
				return true
			}
		}
		return false
	}
	rev := Key{Src: nf.Member, Sport: nf.MemberPort, Dst: nf.Fwd.Src, Dport: nf.Fwd.Sport, Proto: nf.Fwd.Proto}
	if nf.SNAT == 0 {
		if used(rev) {
			return Hit{}, Collision
		}
	} else {
		rev.Dst = nf.SNAT
		ok := false
		// The client's own port when in range, then snatMaxAttempts
		// ports of its residue from the hashed start.
		res := int(nf.Fwd.Sport) % flowShards
		slots := (int(AutomapPortLimit) - snatPortMin) / flowShards
		start := int(snatProbeStart(nf.Fwd.Src, nf.Fwd.Sport, &rev) % uint32(slots))
		var cands []int
		if p := int(nf.Fwd.Sport); p >= snatPortMin && p < int(AutomapPortLimit) {
			cands = append(cands, p)
		}
		for i := range snatMaxAttempts {
			cands = append(cands, snatPortMin+(start+i)%slots*flowShards+res)
		}
		for _, p := range cands {
			rev.Dport = uint16(p)
			if !used(rev) {
				ok = true
				break
			}
		}
		if !ok {
			return Hit{}, SNATPortsExhausted
		}
	}
	r.flows = append(r.flows, &refFlow{keys: [2]Key{nf.Fwd, rev}, lastSeen: now, timeout: timeout})
	return Hit{Dir: Forward, Src: rev.Dst, Sport: rev.Dport, Dst: rev.Src, Dport: rev.Sport, Egress: portInt}, OK
}

// TestFlowTableDifferential runs random inserts, lookups (both directions,
// hits and misses), time steps and sweeps against the naive model. Few
// ports, few shards and a tiny index force long probe runs, SNAT stepping
// and backward-shift deletions.
func TestFlowTableDifferential(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			ft := New(flowShards*6, Timeouts{}, testTime)
			ft.reapCap = 0 // the model has no reaper; TestFlowTableReaper* test it
			ref := &refTable{perShard: 6}
			to := ft.Timeouts()
			now := int64(0)
			var known []Key
			seen := map[string]int{}
			randKey := func() Key {
				if len(known) > 0 && rng.IntN(4) != 0 {
					return known[rng.IntN(len(known))]
				}
				return Key{Src: cIP + uint32(rng.IntN(3)), Dst: vIP, Sport: uint16(1000 + 64*rng.IntN(4) + rng.IntN(2)), Dport: 80, Proto: []uint8{protoTCP, protoUDP}[rng.IntN(2)]}
			}
			for op := range 20000 {
				switch x := rng.IntN(100); {
				case x < 35:
					k := Key{Src: cIP + uint32(rng.IntN(3)), Dst: vIP + uint32(rng.IntN(2)), Sport: uint16(1000 + 64*rng.IntN(4) + rng.IntN(2)), Dport: 80, Proto: []uint8{protoTCP, protoUDP}[rng.IntN(2)]}
					nf := &NewFlow{Fwd: k, Member: mIP + uint32(rng.IntN(2)), MemberPort: 8080, Egress: [2]int{portInt, portExt}}
					if rng.IntN(2) == 0 {
						nf.SNAT = snIP
					}
					timeout := int64(to.UDP)
					if k.Proto == protoTCP {
						timeout = int64(to.TCPHalfOpen)
					}
					got, gr := ft.Insert(nf, now, flags(0))
					want, wr := ref.insert(nf, now, timeout)
					if gr != wr || got != want {
						t.Fatalf("op %d insert %v snat=%v: got %+v %v, want %+v %v", op, k, nf.SNAT != 0, got, gr, want, wr)
					}
					seen["insert "+gr.String()]++
					if gr == OK {
						known = append(known, k, Key{Src: got.Dst, Sport: got.Dport, Dst: got.Src, Dport: got.Sport, Proto: k.Proto})
					}
				case x < 80:
					k := randKey()
					got, gok := ft.Lookup(k, now, flags(0))
					want, wok := ref.lookup(k, now)
					if gok != wok || got != want {
						t.Fatalf("op %d lookup %v: got %+v %v, want %+v %v", op, k, got, gok, want, wok)
					}
					seen[fmt.Sprintf("lookup hit=%v dir=%d", gok, got.Dir)]++
				case x < 97:
					now += int64(time.Duration(rng.IntN(4000)) * time.Millisecond)
				default:
					ft.Sweep(testTime.Add(time.Duration(now)))
					if got, want := ft.Len(), len(ref.live(now)); got != want {
						t.Fatalf("op %d: after sweep Len = %d, model has %d", op, got, want)
					}
				}
			}
			for _, k := range []string{"insert ok", "insert full", "insert collision", "lookup hit=true dir=0", "lookup hit=true dir=1", "lookup hit=false dir=0"} {
				if seen[k] == 0 {
					t.Errorf("random operations never produced %q: %v", k, seen)
				}
			}
		})
	}
}

// TestFlowTableConcurrent exercises the shard locks under -race.
func TestFlowTableConcurrent(t *testing.T) {
	ft := newTestTable(8192)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				nf := tcpNew(uint16(1024+i), snIP)
				nf.Fwd.Src = cIP + uint32(g)
				nf.Member = mIP + uint32(g)
				hit, r := ft.Insert(nf, int64(i), flags(tcpSYN))
				if r != OK {
					t.Errorf("insert: %v", r)
					return
				}
				if _, ok := ft.Lookup(Key{Src: hit.Dst, Sport: hit.Dport, Dst: hit.Src, Dport: hit.Sport, Proto: protoTCP}, int64(i), flags(tcpSYN|tcpACK)); !ok {
					t.Errorf("reverse lookup missed")
					return
				}
				if _, ok := ft.Lookup(nf.Fwd, int64(i), flags(tcpACK)); !ok {
					t.Errorf("forward lookup missed")
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 50 {
			ft.Sweep(testTime)
		}
	}()
	wg.Wait()
	if ft.Len() != 8000 {
		t.Errorf("Len = %d, want 8000", ft.Len())
	}
}

// establish completes the handshake of the TCP flow nf opened (without
// SNAT): the member's SYN-ACK, the client's ACK.
func establish(t *testing.T, ft *Table, nf *NewFlow, now int64) {
	t.Helper()
	rev := Key{Src: nf.Member, Sport: nf.MemberPort, Dst: nf.Fwd.Src, Dport: nf.Fwd.Sport, Proto: protoTCP}
	if _, ok := ft.Lookup(rev, now, flags(tcpSYN|tcpACK)); !ok {
		t.Fatalf("SYN-ACK %v: no flow", rev)
	}
	if _, ok := ft.Lookup(nf.Fwd, now, flags(tcpACK)); !ok {
		t.Fatalf("ACK %v: no flow", nf.Fwd)
	}
}
