package pools

import "testing"

func TestAvailability(t *testing.T) {
	const now = 100 * sec
	for _, tc := range []struct {
		name      string
		edit      func(m *Member)
		conns     int64 // member
		nodeConns int64
		want      string
	}{
		{name: "unchecked", want: ReasonAvailable},
		{name: "monitor up", edit: func(m *Member) { m.Health = health(HealthUp, 0) }, want: ReasonAvailable},
		{name: "monitor down", edit: func(m *Member) { m.Health = health(HealthDown, 0) }, want: ReasonMonitorDown},
		{name: "monitor checking", edit: func(m *Member) { m.Health = health(HealthChecking, 0) }, want: ReasonMonitorChecking},
		{name: "monitor disabled", edit: func(m *Member) { m.Health = health(HealthDisabled, 0) }, want: ReasonMonitorDisabled},
		{name: "unchecked health", edit: func(m *Member) { m.Health = health(HealthUnchecked, 0) }, want: ReasonAvailable},
		{name: "disabled", edit: func(m *Member) { m.Disabled = true }, want: ReasonDisabled},
		{name: "forced offline", edit: func(m *Member) { m.ForcedOffline = true }, want: ReasonForcedOffline},
		{name: "operator disabled", edit: func(m *Member) { m.Oper = new(OperState); m.Oper.SetDisabled(true) }, want: ReasonOperDisabled},
		{name: "operator enabled again", edit: func(m *Member) { m.Oper = new(OperState); m.Oper.SetDisabled(true); m.Oper.SetDisabled(false) }, want: ReasonAvailable},
		{name: "config disabled before operator", edit: func(m *Member) { m.Oper = new(OperState); m.Oper.SetDisabled(true); m.Disabled = true }, want: ReasonDisabled},
		{name: "forced offline wins", edit: func(m *Member) { m.ForcedOffline, m.Disabled, m.Health = true, true, health(HealthDown, 0) }, want: ReasonForcedOffline},
		{name: "below limit", edit: func(m *Member) { m.ConnLimit = 3 }, conns: 2, want: ReasonAvailable},
		{name: "at limit", edit: func(m *Member) { m.ConnLimit = 3 }, conns: 3, want: ReasonConnectionLimit},
		{name: "above limit", edit: func(m *Member) { m.ConnLimit = 3 }, conns: 9, want: ReasonConnectionLimit},
		{name: "no limit", conns: 1 << 40, want: ReasonAvailable},
		{name: "node below limit", edit: func(m *Member) { m.NodeConnLimit = 5 }, nodeConns: 4, want: ReasonAvailable},
		{name: "node at limit", edit: func(m *Member) { m.NodeConnLimit = 5 }, nodeConns: 5, want: ReasonNodeConnectionLimit},
		{name: "member limit before node limit", edit: func(m *Member) { m.ConnLimit, m.NodeConnLimit = 1, 1 }, conns: 1, nodeConns: 1, want: ReasonConnectionLimit},
		{name: "node limit without node stats counts member", edit: func(m *Member) { m.NodeConnLimit, m.NodeStats = 2, nil }, conns: 2, want: ReasonNodeConnectionLimit},
		{name: "monitor down before limit", edit: func(m *Member) { m.ConnLimit, m.Health = 1, health(HealthDown, 0) }, conns: 5, want: ReasonMonitorDown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mem(1)
			m.NodeStats = new(NodeStats)
			if tc.edit != nil {
				tc.edit(&m)
			}
			p := mustPool(t, PoolConfig{Members: []Member{m}})
			if p.Members[0].Stats != nil {
				p.Members[0].Stats.CurConns.Store(tc.conns)
			}
			if p.Members[0].NodeStats != nil {
				p.Members[0].NodeStats.CurConns.Store(tc.nodeConns)
			}
			if got := p.Reason(0, now); got != tc.want {
				t.Errorf("Reason = %q, want %q", got, tc.want)
			}
			wantAvail := tc.want == ReasonAvailable
			if got := p.Available(0, now); got != wantAvail {
				t.Errorf("Available = %v, want %v", got, wantAvail)
			}
			_, ok := p.Select(&Request{Now: now}, nil)
			if ok != wantAvail {
				t.Errorf("Select ok = %v, want %v", ok, wantAvail)
			}
		})
	}
	p := mustPool(t, PoolConfig{Members: mems(1)})
	if p.Available(-1, 0) || p.Available(1, 0) || p.Reason(5, 0) != ReasonNoSuchMember {
		t.Error("out-of-range member reported available")
	}
}

func TestConnLimitSkipsMember(t *testing.T) {
	ms := mems(3)
	ms[1].ConnLimit = 2
	p := mustPool(t, PoolConfig{Members: ms})
	p.Members[1].Stats.CurConns.Store(2)
	for _, i := range picks(t, p, &Request{}, 6) {
		if i == 1 {
			t.Fatal("member at its connection limit was selected")
		}
	}
	connClosed(&p.Members[1])
	got := picks(t, p, &Request{}, 3)
	if got[0]+got[1]+got[2] != 3 {
		t.Fatalf("after a close, picks = %v, want each of 0, 1, 2", got)
	}
}

func TestNodeLimitAcrossPools(t *testing.T) {
	ns := new(NodeStats)
	a, b := mem(1), mem(1)
	a.NodeStats, b.NodeStats = ns, ns
	a.NodeConnLimit, b.NodeConnLimit = 2, 2
	pa := mustPool(t, PoolConfig{Name: "/Common/a", Members: []Member{a}})
	pb := mustPool(t, PoolConfig{Name: "/Common/b", Members: []Member{b}})
	m, _ := pa.Select(&Request{}, nil)
	connOpened(m)
	m, _ = pb.Select(&Request{}, nil)
	connOpened(m)
	if _, ok := pa.Select(&Request{}, nil); ok {
		t.Fatal("node at its limit through two pools still selected")
	}
	if r := pb.Reason(0, 0); r != ReasonNodeConnectionLimit {
		t.Fatalf("Reason = %q", r)
	}
	connClosed(m)
	if _, ok := pa.Select(&Request{}, nil); !ok {
		t.Fatal("node below its limit not selected")
	}
	if ns.TotalConns.Load() != 2 || m.Stats.TotalConns.Load() != 1 {
		t.Errorf("total conns node=%d member=%d", ns.TotalConns.Load(), m.Stats.TotalConns.Load())
	}
}

func TestNewPoolErrors(t *testing.T) {
	dup := mems(2)
	dup[1].Addr, dup[1].Port = dup[0].Addr, dup[0].Port
	noAddr := []Member{{Name: "/Common/x:80"}}
	for _, tc := range []struct {
		name string
		cfg  PoolConfig
		want string
	}{
		{"bad method", PoolConfig{Name: "/Common/p", Method: numMethods}, "pool /Common/p: load-balancing-mode: no such load-balancing method: 24"},
		{"duplicate", PoolConfig{Name: "/Common/p", Members: dup}, "pool /Common/p: members /Common/10.0.0.2:80: duplicate member: same address and port as /Common/10.0.0.1:80"},
		{"no address", PoolConfig{Name: "/Common/p", Members: noAddr}, "pool /Common/p: members /Common/x:80: address is not set"},
		{"negative slow ramp", PoolConfig{Name: "/Common/p", SlowRamp: -1}, "pool /Common/p: slow-ramp-time: must be >= 0, got -1ns"},
		{"maglev not prime", PoolConfig{Name: "/Common/p", Method: MethodMaglev, MaglevTableSize: 65536}, "pool /Common/p: maglev-table-size: maglev table size must be a prime larger than the member count and at most 16777213: 65536"},
		{"maglev too small", PoolConfig{Name: "/Common/p", Method: MethodMaglev, MaglevTableSize: 3, Members: mems(3)}, "pool /Common/p: maglev-table-size: maglev table size must be a prime larger than the member count and at most 16777213: 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewPool(tc.cfg)
			if err == nil || err.Error() != tc.want {
				t.Errorf("NewPool error:\n got %v\nwant %s", err, tc.want)
			}
		})
	}
	if _, err := NewPool(PoolConfig{Method: MethodMaglev, MaglevTableSize: 7, Members: mems(3)}); err != nil {
		t.Errorf("maglev size 7 with 3 members: %v", err)
	}
}

func TestEmptyAndNilPool(t *testing.T) {
	var p *Pool
	if _, ok := p.Select(nil, nil); ok {
		t.Fatal("nil pool selected a member")
	}
	if _, ok := p.Pick(nil, nil, nil); ok {
		t.Fatal("nil pool picked a member")
	}
	p.Tick(0)
	for _, m := range Methods() {
		p := mustPool(t, PoolConfig{Method: m})
		if _, ok := p.Select(&Request{}, nil); ok {
			t.Errorf("%v: empty pool selected a member", m)
		}
		p.Tick(0)
		if g := p.ActiveGroups(0); len(g) != 0 {
			t.Errorf("%v: empty pool has active groups %v", m, g)
		}
	}
}
