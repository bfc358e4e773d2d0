package pools

import (
	"net/netip"
	"slices"
	"testing"
)

func TestLeastConnections(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method Method
		setup  func(p *Pool)
		want   []int // acceptable picks; ties must rotate through all of them
	}{
		{"member fewest", MethodLeastConnectionsMember, func(p *Pool) { setConns(p, 5, 2, 7) }, []int{1}},
		{"member ties", MethodLeastConnectionsMember, func(p *Pool) { setConns(p, 1, 4, 1) }, []int{0, 2}},
		{"node counts across pools", MethodLeastConnectionsNode, func(p *Pool) {
			setConns(p, 0, 3, 3)
			p.Members[0].NodeStats.CurConns.Store(9)
			p.Members[1].NodeStats.CurConns.Store(3)
			p.Members[2].NodeStats.CurConns.Store(4)
		}, []int{1}},
		{"weighted by limit", MethodWeightedLeastConnectionsMember, func(p *Pool) {
			setConns(p, 5, 3, 8) // limits 10, 4, 20 → 0.5, 0.75, 0.4
		}, []int{2}},
		{"weighted by node limit", MethodWeightedLeastConnectionsNode, func(p *Pool) {
			p.Members[0].NodeStats.CurConns.Store(10) // /20
			p.Members[1].NodeStats.CurConns.Store(10) // /40
			p.Members[2].NodeStats.CurConns.Store(30) // /80
		}, []int{1}},
		{"ratio", MethodRatioLeastConnectionsMember, func(p *Pool) { setConns(p, 6, 1, 2) /* ratios 3,1,1 → 2,1,2 */ }, []int{1}},
		{"ratio node", MethodRatioLeastConnectionsNode, func(p *Pool) {
			p.Members[0].NodeStats.CurConns.Store(4) // /4
			p.Members[1].NodeStats.CurConns.Store(2) // /1
			p.Members[2].NodeStats.CurConns.Store(1) // /1
		}, []int{0, 2}},
		{"fastest app response", MethodFastestAppResponse, func(p *Pool) {
			for i, v := range []int64{300, 100, 200} {
				p.Members[i].Stats.ObserveRTT(v)
			}
		}, []int{1}},
		{"fastest unsampled first", MethodFastestAppResponse, func(p *Pool) {
			p.Members[0].Stats.ObserveRTT(1)
			p.Members[2].Stats.ObserveRTT(1)
		}, []int{1}},
		{"fastest node", MethodFastestNode, func(p *Pool) {
			for i, v := range []int64{300, 100, 200} {
				p.Members[i].NodeStats.ObserveRTT(v)
				p.Members[i].Stats.ObserveRTT(1000 - v)
			}
		}, []int{1}},
		{"least sessions without table", MethodLeastSessions, func(p *Pool) { setConns(p, 3, 3, 2) }, []int{2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := mems(3)
			for i, r := range []uint32{3, 1, 1} {
				ms[i].Ratio = r
			}
			for i, r := range []uint32{4, 1, 1} {
				ms[i].NodeRatio = r
			}
			for i, l := range []uint32{10, 4, 20} {
				ms[i].ConnLimit = l
			}
			for i, l := range []uint32{20, 40, 80} {
				ms[i].NodeConnLimit = l
				ms[i].NodeStats = new(NodeStats)
			}
			p := mustPool(t, PoolConfig{Method: tc.method, Members: ms})
			tc.setup(p)
			got := picks(t, p, &Request{}, 2*len(tc.want))
			seen := map[int]bool{}
			for _, i := range got {
				if !slices.Contains(tc.want, i) {
					t.Fatalf("picks = %v, want only %v", got, tc.want)
				}
				seen[i] = true
			}
			if len(seen) != len(tc.want) {
				t.Fatalf("picks = %v: ties not rotated through %v", got, tc.want)
			}
		})
	}
}

func setConns(p *Pool, cs ...int64) {
	for i, c := range cs {
		p.Members[i].Stats.CurConns.Store(c)
	}
}

func TestWeightedLeastConnectionsWithoutLimits(t *testing.T) {
	ms := mems(3)
	ms[0].ConnLimit = 100 // member 1 and 2 have none: least-connections
	p := mustPool(t, PoolConfig{Method: MethodWeightedLeastConnectionsMember, Members: ms})
	setConns(p, 5, 3, 4)
	if i := p.selectIndex(&Request{}, nil); i != 1 {
		t.Fatalf("picked %d, want 1 (fewest connections)", i)
	}
}

func TestObserveRTT(t *testing.T) {
	var s MemberStats
	if s.RTT() != 0 {
		t.Fatal("unsampled RTT != 0")
	}
	s.ObserveRTT(800)
	if s.RTT() != 800 {
		t.Fatalf("first sample: %d", s.RTT())
	}
	s.ObserveRTT(1600) // 800 + 800/8
	if s.RTT() != 900 {
		t.Fatalf("EWMA = %d, want 900", s.RTT())
	}
	s.ObserveRTT(-5)
	if s.RTT() < 1 {
		t.Fatalf("EWMA = %d after a bad sample", s.RTT())
	}
	var nilStats *MemberStats
	if nilStats.RTT() != 0 {
		t.Fatal("nil stats RTT")
	}
	var ns NodeStats
	ns.ObserveRTT(50)
	if ns.RTT() != 50 {
		t.Fatalf("node RTT %d after one sample of 50", ns.RTT())
	}
}

func TestLeastSessionsUsesRecordCounts(t *testing.T) {
	tab := NewPersistTable(1024)
	ms := mems(3)
	ms[0].Ratio = 4
	p := mustPool(t, PoolConfig{Method: MethodLeastSessions, Members: ms, Sessions: tab})
	rs := mustPool(t, PoolConfig{Method: MethodRatioSession, Members: ms, Sessions: tab})
	rec := func(member int, n int) {
		m := &ms[member]
		for k := range n {
			key := HashKey(1, 2, uint64(member*1000+k))
			tab.Record(key, PersistRecord{Pool: p.Name, Member: m.Name, Addr: m.Addr, Port: m.Port}, 0, 0)
		}
	}
	rec(0, 4)
	rec(1, 2)
	rec(2, 3)
	setConns(p, 0, 9, 9) // connections do not matter
	if i := p.selectIndex(&Request{}, nil); i != 1 {
		t.Fatalf("least-sessions picked %d, want 1", i)
	}
	// ratio-session: 4/4=1, 2/1=2, 3/1=3.
	if i := rs.selectIndex(&Request{}, nil); i != 0 {
		t.Fatalf("ratio-session picked %d, want 0", i)
	}
	if n := tab.SessionCount(p.Name, netip.MustParseAddr("10.0.0.3"), 80); n != 3 {
		t.Fatalf("SessionCount = %d", n)
	}
}

// A pool's record counters are the table's, fetched at first use: one read
// by the pool before any record (least-sessions picking) and one a
// record makes later are the same counter, and a pool built again (an
// apply) reads the counts its members' records left.
func TestSessionCountersSharedWithTable(t *testing.T) {
	tab := NewPersistTable(1024)
	ms := mems(2)
	p := mustPool(t, PoolConfig{Method: MethodLeastSessions, Members: ms, Sessions: tab})
	if i := p.selectIndex(&Request{}, nil); i != 0 {
		t.Fatalf("least-sessions with no records picked %d, want 0 (ties go round-robin from the first)", i)
	}
	for k := range 3 {
		m := &ms[0]
		tab.Record(HashKey(1, 2, uint64(k)), PersistRecord{Pool: p.Name, Member: m.Name, Addr: m.Addr, Port: m.Port}, 0, 0)
	}
	if got := p.sessionCounter(0, tab).Load(); got != 3 {
		t.Fatalf("the pool's counter of member 0 reads %d after 3 records, want 3", got)
	}
	again := mustPool(t, PoolConfig{Method: MethodLeastSessions, Members: ms, Sessions: tab})
	for range 4 {
		if i := again.selectIndex(&Request{}, nil); i != 1 {
			t.Fatalf("the rebuilt pool picked %d, want 1 (member 0 has 3 records)", i)
		}
	}
	if p.sessionCounter(0, tab) != again.sessionCounter(0, tab) {
		t.Error("the two builds of the pool hold different counters for one member")
	}
}
