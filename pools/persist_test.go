package pools

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"
)

var (
	profSrc = NameHash("/Common/source_addr")
	vsA     = NameHash("/Common/vs_a")
	vsB     = NameHash("/Common/vs_b")
)

func recFor(p *Pool, i int) PersistRecord {
	m := &p.Members[i]
	return PersistRecord{Pool: p.Name, Member: m.Name, Addr: m.Addr, Port: m.Port, Virtual: "/Common/vs_a"}
}

func TestPersistExpiryAndRefresh(t *testing.T) {
	tab := NewPersistTable(100)
	p := mustPool(t, PoolConfig{Members: mems(2)})
	k := SourceAddrKey(profSrc, vsA, netip.MustParseAddr("192.0.2.1"), 0)
	tab.Record(k, recFor(p, 1), 0, 10*time.Second)
	for _, tc := range []struct {
		at   int64
		want bool
	}{
		{9 * sec, true},   // refreshed to expire at 19 s
		{18 * sec, true},  // refreshed to expire at 28 s
		{27 * sec, true},  // refreshed to expire at 37 s
		{37 * sec, false}, // expired exactly at its timeout
		{38 * sec, false},
	} {
		rec, ok := tab.Lookup(k, tc.at)
		if ok != tc.want || (ok && rec.Addr != p.Members[1].Addr) {
			t.Fatalf("Lookup at %ds = %+v, %v; want found=%v", tc.at/sec, rec, ok, tc.want)
		}
	}
	if n := tab.Len(); n != 0 {
		t.Fatalf("Len after an expired lookup = %d", n)
	}
	if n := tab.SessionCount(p.Name, p.Members[1].Addr, 80); n != 0 {
		t.Fatalf("SessionCount after expiry = %d", n)
	}
	// Timeout 0 never expires.
	tab.Record(k, recFor(p, 0), 0, 0)
	if _, ok := tab.Lookup(k, 1<<60); !ok {
		t.Fatal("indefinite record expired")
	}
}

func TestPersistKeyMaskAndScope(t *testing.T) {
	a := netip.MustParseAddr("192.0.2.77")
	b := netip.MustParseAddr("192.0.2.200")
	if SourceAddrKey(profSrc, vsA, a, 24) != SourceAddrKey(profSrc, vsA, b, 24) {
		t.Error("a /24 mask does not group clients of one /24")
	}
	if SourceAddrKey(profSrc, vsA, a, 0) == SourceAddrKey(profSrc, vsA, b, 0) {
		t.Error("host mask groups two clients")
	}
	if SourceAddrKey(profSrc, vsA, a, 0) != SourceAddrKey(profSrc, vsA, netip.AddrFrom16(a.As16()), 0) {
		t.Error("IPv4-mapped client keyed apart from IPv4")
	}
	if SourceAddrKey(profSrc, vsA, a, 0) == SourceAddrKey(profSrc, vsB, a, 0) {
		t.Error("two virtuals share a scoped key")
	}
	if k := SourceAddrKey(profSrc, 0, a, 24); k.value() != "192.0.2.0/24" {
		got := k.value()
		t.Errorf("masked value = %q", got)
	}
}

// Scope: records are per virtual unless the profile matches across
// virtuals (scope 0), when every virtual using the profile shares them.
func TestPersistMatchAcross(t *testing.T) {
	tab := NewPersistTable(100)
	p := mustPool(t, PoolConfig{Members: mems(4)})
	c := netip.MustParseAddr("198.51.100.9")
	for _, tc := range []struct {
		name           string
		scopeA, scopeB uint64
		shared         bool
	}{
		{"per virtual", vsA, vsB, false},
		{"match across virtuals", 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab.Delete(PersistFilter{})
			psA := &Persist{Table: tab, Mode: PersistSourceAddr, Profile: profSrc, Scope: tc.scopeA, Virtual: "/Common/vs_a", Timeout: time.Minute}
			psB := &Persist{Table: tab, Mode: PersistSourceAddr, Profile: profSrc, Scope: tc.scopeB, Virtual: "/Common/vs_b", Timeout: time.Minute}
			var s Scratch
			first, _ := p.Pick(&Request{Client: c}, psA, &s)
			// Round-robin would give the next member; persistence decides.
			second, _ := p.Pick(&Request{Client: c}, psB, &s)
			if (first == second) != tc.shared {
				t.Fatalf("vs_a got %s, vs_b got %s; shared=%v", first.Name, second.Name, tc.shared)
			}
			wantRecords := 2
			if tc.shared {
				wantRecords = 1
			}
			if n := len(tab.Records(0, PersistFilter{})); n != wantRecords {
				t.Fatalf("%d records, want %d", n, wantRecords)
			}
		})
	}
}

func TestPickPersistenceRules(t *testing.T) {
	const now = 100 * sec
	c := netip.MustParseAddr("203.0.113.5")
	for _, tc := range []struct {
		name     string
		change   func(m *Member)
		override bool
		persists bool
	}{
		{"healthy", func(*Member) {}, false, true},
		{"user-disabled", func(m *Member) { m.Disabled = true }, false, true},
		{"monitor-disabled", func(m *Member) { m.Health.Set(HealthDisabled, now) }, false, true},
		{"outside the active priority group", func(m *Member) { m.Priority = 1 }, false, true},
		{"forced offline", func(m *Member) { m.ForcedOffline = true }, false, false},
		{"monitor down", func(m *Member) { m.Health.Set(HealthDown, now) }, false, false},
		{"at connection limit", func(m *Member) { m.ConnLimit = 1; m.Stats.CurConns.Store(1) }, false, false},
		{"at connection limit, override", func(m *Member) { m.ConnLimit = 1; m.Stats.CurConns.Store(1) }, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := NewPersistTable(64)
			ms := mems(4)
			for i := range ms {
				ms[i].Health = health(HealthUp, 0)
				ms[i].Priority = 10
			}
			ms[3].Priority = 1
			build := func() *Pool {
				return mustPool(t, PoolConfig{Members: ms, MinActiveMembers: 2, Sessions: tab})
			}
			p := build()
			ps := &Persist{Table: tab, Mode: PersistSourceAddr, Profile: profSrc, Scope: vsA, Virtual: "/Common/vs_a", Timeout: time.Minute, OverrideConnLimit: tc.override}
			var s Scratch
			m, ok := p.Pick(&Request{Client: c, Now: now}, ps, &s)
			if !ok {
				t.Fatal("no member")
			}
			i := slices.IndexFunc(p.Members, func(x Member) bool { return x.Name == m.Name })
			// The configuration changes and is applied: a new Pool over
			// the same live state.
			tc.change(&ms[i])
			p = build()
			for k := range 5 {
				got, ok := p.Pick(&Request{Client: c, Now: now + int64(k)*sec}, ps, &s)
				if !ok {
					t.Fatal("no member")
				}
				if (got.Name == m.Name) != tc.persists {
					t.Fatalf("pick %d went to %s; persisted member %s, want persistence=%v", k, got.Name, m.Name, tc.persists)
				}
			}
			if !tc.persists {
				// The record now points at the new member.
				if rec, _ := tab.Lookup(SourceAddrKey(profSrc, vsA, c, 0), now); rec.Member == m.Name {
					t.Fatal("record not replaced")
				}
			}
			if n := tab.Len(); n != 1 {
				t.Fatalf("%d records, want 1", n)
			}
		})
	}
}

func TestPickIgnoresOtherPoolsRecords(t *testing.T) {
	tab := NewPersistTable(64)
	ms := mems(3)
	pa := mustPool(t, PoolConfig{Name: "/Common/a", Members: ms})
	pb := mustPool(t, PoolConfig{Name: "/Common/b", Members: ms})
	c := netip.MustParseAddr("203.0.113.5")
	ps := &Persist{Table: tab, Mode: PersistSourceAddr, Profile: profSrc, Timeout: time.Minute}
	pa.Pick(&Request{Client: c}, ps, nil)
	pb.Pick(&Request{Client: c}, ps, nil) // replaces a's record
	recs := tab.Records(0, PersistFilter{})
	if len(recs) != 1 || recs[0].Pool != "/Common/b" {
		t.Fatalf("records = %+v", recs)
	}
}

func TestPickHashPersistence(t *testing.T) {
	tab := NewPersistTable(64)
	p := mustPool(t, PoolConfig{Members: mems(3)})
	ps := &Persist{Table: tab, Mode: PersistHash, Profile: NameHash("/Common/hash"), Scope: vsA, Timeout: time.Minute}
	var s Scratch
	ps.Key = 1234
	m1, _ := p.Pick(&Request{}, ps, &s)
	ps.Key = 99
	m2, _ := p.Pick(&Request{}, ps, &s)
	ps.Key = 1234
	m3, _ := p.Pick(&Request{}, ps, &s)
	if m1 != m3 || m1 == m2 {
		t.Fatalf("hash persistence: %s, %s, %s", m1.Name, m2.Name, m3.Name)
	}
	recs := tab.Records(0, PersistFilter{})
	if len(recs) != 2 || recs[0].Mode != "hash" {
		t.Fatalf("records = %+v", recs)
	}
	// No client address: source-address persistence is skipped.
	sp := &Persist{Table: tab, Mode: PersistSourceAddr, Profile: profSrc, Timeout: time.Minute}
	if _, ok := p.Pick(&Request{}, sp, &s); !ok || tab.Len() != 2 {
		t.Fatalf("pick without client: ok=%v len=%d", ok, tab.Len())
	}
}

func TestPersistRecordsDeleteAndCounts(t *testing.T) {
	tab := NewPersistTable(1000)
	ms := mems(3)
	pa := mustPool(t, PoolConfig{Name: "/Common/a", Members: ms, Sessions: tab})
	pb := mustPool(t, PoolConfig{Name: "/Common/b", Members: ms, Sessions: tab})
	psA := &Persist{Table: tab, Mode: PersistSourceAddr, Profile: profSrc, Scope: vsA, Virtual: "/Common/vs_a", Timeout: 30 * time.Second}
	psB := &Persist{Table: tab, Mode: PersistSourceAddr, Profile: profSrc, Scope: vsB, Virtual: "/Common/vs_b", Timeout: 60 * time.Second, MaskBits: 24}
	var s Scratch
	for k := range 6 {
		c := netip.AddrFrom4([4]byte{192, 0, 2, byte(k + 1)})
		pa.Pick(&Request{Client: c, Now: 0}, psA, &s)
		pb.Pick(&Request{Client: c, Now: 0}, psB, &s) // one /24 record
	}
	count := func(p *Pool, i int) int64 { return tab.SessionCount(p.Name, p.Members[i].Addr, p.Members[i].Port) }
	for i := range 3 {
		if n := count(pa, i); n != 2 {
			t.Errorf("pool a member %d: %d records, want 2", i, n)
		}
	}
	if n := count(pb, 0) + count(pb, 1) + count(pb, 2); n != 1 {
		t.Errorf("pool b: %d records, want 1", n)
	}
	recs := tab.Records(10*sec, PersistFilter{})
	if len(recs) != 7 {
		t.Fatalf("%d records, want 7", len(recs))
	}
	first := recs[0]
	want := PersistRecordView{Mode: "source-address", Value: "192.0.2.1", Virtual: "/Common/vs_a", Pool: "/Common/a",
		Member: "/Common/10.0.0.1:80", Age: 10 * time.Second, Remaining: 20 * time.Second}
	if first != want {
		t.Errorf("first record:\n got %+v\nwant %+v", first, want)
	}
	if last := recs[6]; last.Value != "192.0.2.0/24" || last.Remaining != 50*time.Second {
		t.Errorf("pool b record = %+v", last)
	}
	// Records takes the same filter as Delete.
	sel := tab.Records(10*sec, PersistFilter{Client: netip.MustParseAddr("192.0.2.3")})
	if len(sel) != 2 || sel[0].Value != "192.0.2.3" || sel[1].Value != "192.0.2.0/24" {
		t.Errorf("Records(client 192.0.2.3) = %+v, want its vs_a record and the /24 record", sel)
	}
	if n := len(tab.Records(10*sec, PersistFilter{Pool: "/Common/b"})); n != 1 {
		t.Errorf("Records(pool b) = %d records, want 1", n)
	}
	// Delete by client address: its vs_a record and the /24 record.
	if n := tab.Delete(PersistFilter{Client: netip.MustParseAddr("192.0.2.3")}); n != 2 {
		t.Errorf("Delete(client) removed %d, want 2", n)
	}
	if n := tab.Delete(PersistFilter{Pool: "/Common/a", Virtual: "/Common/vs_b"}); n != 0 {
		t.Errorf("Delete(pool a, vs_b) removed %d, want 0", n)
	}
	if n := tab.Delete(PersistFilter{Pool: "/Common/a", Client: netip.MustParseAddr("192.0.2.4")}); n != 1 {
		t.Errorf("Delete(pool, client) removed %d, want 1", n)
	}
	// Expiry sweeps vs_a's 30 s records but not pool b's (already gone).
	if n := tab.Expire(30 * sec); n != 4 {
		t.Errorf("Expire removed %d, want 4", n)
	}
	if n := count(pa, 0) + count(pa, 1) + count(pa, 2); n != 0 {
		t.Errorf("pool a counts %d after expiry", n)
	}
	pa.Pick(&Request{Client: netip.MustParseAddr("192.0.2.9")}, psA, &s)
	if n := tab.Delete(PersistFilter{}); n != 1 || tab.Len() != 0 {
		t.Errorf("Delete(all) removed %d, Len %d", n, tab.Len())
	}
	for i := range 3 {
		if count(pa, i) != 0 || count(pb, i) != 0 {
			t.Fatal("counts not zero after deleting everything")
		}
	}
}

func TestPersistTableFull(t *testing.T) {
	tab := NewPersistTable(8)
	if tab.Cap() != 8 {
		t.Fatalf("Cap = %d", tab.Cap())
	}
	p := mustPool(t, PoolConfig{Members: mems(1)})
	for k := range 8 {
		tab.Record(HashKey(1, 1, uint64(k)), recFor(p, 0), int64(k), 0)
	}
	if tab.Evicted() != 0 || tab.Len() != 8 {
		t.Fatalf("evicted %d len %d", tab.Evicted(), tab.Len())
	}
	tab.Lookup(HashKey(1, 1, 0), 100) // key 0 is now the most recent
	tab.Record(HashKey(1, 1, 100), recFor(p, 0), 101, 0)
	if tab.Evicted() != 1 || tab.Len() != 8 {
		t.Fatalf("evicted %d len %d", tab.Evicted(), tab.Len())
	}
	if _, ok := tab.Lookup(HashKey(1, 1, 1), 102); ok {
		t.Fatal("least recently used record survived")
	}
	if _, ok := tab.Lookup(HashKey(1, 1, 0), 102); !ok {
		t.Fatal("recently used record evicted")
	}
	// Expired records go before live ones.
	tab.Record(HashKey(1, 1, 200), recFor(p, 0), 200, time.Nanosecond) // evicts
	tab.Record(HashKey(1, 1, 201), recFor(p, 0), 300, 0)               // takes 200's place
	if tab.Evicted() != 2 {
		t.Fatalf("a live record was evicted while an expired one was there (%d)", tab.Evicted())
	}
	if n := tab.SessionCount(p.Name, p.Members[0].Addr, 80); n != 8 {
		t.Fatalf("SessionCount = %d, want 8", n)
	}
}

// A large table spreads records over shards and finds them all.
func TestPersistTableMany(t *testing.T) {
	tab := NewPersistTable(100000)
	p := mustPool(t, PoolConfig{Members: mems(2)})
	for k := range 50000 {
		tab.Record(HashKey(1, 2, uint64(k)), recFor(p, k%2), 0, 0)
	}
	for k := range 50000 {
		rec, ok := tab.Lookup(HashKey(1, 2, uint64(k)), 1)
		if !ok || rec.Addr != p.Members[k%2].Addr {
			t.Fatalf("key %d: %+v %v", k, rec, ok)
		}
	}
	if tab.Evicted() != 0 || tab.Len() != 50000 {
		t.Fatalf("evicted %d len %d", tab.Evicted(), tab.Len())
	}
}

// match-across-services: a client persisted by the http virtual's pool on
// :80 goes to the same node in the https virtual's pool on :443; without
// MatchNode the https pool balances on its own.
func TestPickMatchNodeAcrossPools(t *testing.T) {
	tab := NewPersistTable(100)
	onPort := func(name string, port uint16) *Pool {
		ms := mems(3)
		for i := range ms {
			ms[i].Port = port
			ms[i].Name = netip.AddrPortFrom(ms[i].Addr, port).String()
		}
		return mustPool(t, PoolConfig{Name: name, Members: ms})
	}
	c := netip.MustParseAddr("198.51.100.9")
	for _, matchNode := range []bool{true, false} {
		tab.Delete(PersistFilter{})
		web, tls := onPort("/Common/web", 80), onPort("/Common/tls", 443)
		var s Scratch
		psWeb := &Persist{Table: tab, Mode: PersistSourceAddr, Profile: profSrc, Virtual: "/Common/vs_web", Timeout: time.Minute, MatchNode: matchNode}
		psTLS := *psWeb
		psTLS.Virtual = "/Common/vs_tls"
		// Move the web pool's rotation so its pick differs from the tls
		// pool's first round-robin choice.
		web.Select(&Request{}, &s)
		first, _ := web.Pick(&Request{Client: c}, psWeb, &s)
		second, _ := tls.Pick(&Request{Client: c}, &psTLS, &s)
		if same := first.Addr == second.Addr; same != matchNode {
			t.Fatalf("MatchNode=%v: web sent the client to %s, tls to %s", matchNode, first.Name, second.Name)
		}
		if second.Port != 443 {
			t.Fatalf("MatchNode=%v: tls pool picked %s, want a :443 member", matchNode, second.Name)
		}
	}
}

// Consistent persistence (cookie hash): a key without a record goes to the
// member rendezvous hashing names, the same on two units with their own
// tables; the record then holds it there, also when the member set
// changes; Remember records a member's own key; a key hash folds case
// only when asked.
func TestPersistConsistentAndRemember(t *testing.T) {
	ms := mems(5)
	for i := range ms {
		ms[i].Health = health(HealthUp, 0)
	}
	p1 := mustPool(t, PoolConfig{Members: ms})
	p2 := mustPool(t, PoolConfig{Members: mems(5)})
	base := Persist{Mode: PersistCookieHash, Consistent: true, Profile: NameHash("/Common/ck"), Scope: vsA, Timeout: time.Minute}
	ps1, ps2 := base, base
	ps1.Table, ps2.Table = NewPersistTable(1000), NewPersistTable(1000)
	spread := map[string]bool{}
	for i := range 200 {
		k := KeyHash("session-"+strconv.Itoa(i), false)
		ps1.Key, ps2.Key = k, k
		m1, ok1 := p1.Pick(&Request{}, &ps1, nil)
		m2, ok2 := p2.Pick(&Request{}, &ps2, nil)
		if !ok1 || !ok2 || m1.Name != m2.Name {
			t.Fatalf("key %d: unit 1 picks %v, unit 2 %v", i, m1, m2)
		}
		spread[m1.Name] = true
	}
	if len(spread) != 5 {
		t.Fatalf("200 keys reached %d of 5 members", len(spread))
	}
	recs := ps1.Table.Records(0, PersistFilter{})
	if len(recs) != 200 || recs[0].Mode != "cookie" {
		t.Fatalf("%d records, first %+v: want 200 of mode cookie", len(recs), recs[0])
	}
	// A recorded key stays on its member while the member is usable.
	ps1.Key = KeyHash("session-7", false)
	m, _ := p1.Pick(&Request{}, &ps1, nil)
	p1.Members[(slices.IndexFunc(p1.Members, func(x Member) bool { return x.Name == m.Name })+1)%5].Health.Set(HealthDown, 0)
	if again, _ := p1.Pick(&Request{}, &ps1, nil); again.Name != m.Name {
		t.Fatalf("recorded key moved from %s to %s when another member went down", m.Name, again.Name)
	}
	// Remember: the member that set the cookie owns its value.
	k := KeyHash("remembered", false)
	p1.Remember(&ps1, k, KeyText{}, p1.Members[2].Addr, p1.Members[2].Port, 80, 0)
	ps1.Key = k
	if got, _ := p1.Pick(&Request{}, &ps1, nil); got.Name != p1.Members[2].Name {
		t.Fatalf("remembered key picked %s, want %s", got.Name, p1.Members[2].Name)
	}
	if KeyHash("WWW.Example.com", true) != KeyHash("www.example.com", true) || KeyHash("A", false) == KeyHash("a", false) {
		t.Fatal("KeyHash: fold must ignore ASCII case, no fold must not")
	}
}

// A hash or universal record keeps the beginning of its key for show:
// bounded, escaped, marked when cut; the hash stays alongside.
func TestPersistRecordKeyText(t *testing.T) {
	tab := NewPersistTable(64)
	long := strings.Repeat("x", 40)
	for i, key := range []string{"www.example.com", "a b\\c\x01", long} {
		k := HashKey(NameHash("prof"), 0, KeyHash(key, false))
		k.Mode = PersistUniversal
		tab.Record(k, PersistRecord{Pool: "/Common/p", Member: "/Common/m" + strconv.Itoa(i), Addr: netip.MustParseAddr("10.0.0.1"), Port: 80, Key: MakeKeyText(key)}, 1, 0)
	}
	src := SourceAddrKey(NameHash("prof"), 0, netip.MustParseAddr("192.0.2.7"), 32)
	tab.Record(src, PersistRecord{Pool: "/Common/p", Member: "/Common/m9", Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}, 1, 0)
	recs := tab.Records(2, PersistFilter{})
	want := []string{"www.example.com", `a\x20b\\c\x01`, strings.Repeat("x", 30) + "...", "192.0.2.7"}
	if len(recs) != len(want) {
		t.Fatalf("records %+v", recs)
	}
	for i, r := range recs {
		if r.Value != want[i] {
			t.Errorf("record %d value %q, want %q", i, r.Value, want[i])
		}
		if i < 3 && r.Hash != strconv.FormatUint(KeyHash([]string{"www.example.com", "a b\\c\x01", long}[i], false), 16) {
			t.Errorf("record %d hash %q", i, r.Hash)
		}
		if i == 3 && r.Hash != "" {
			t.Errorf("source-address record with a hash %q", r.Hash)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = MakeKeyText(long) }); n != 0 {
		t.Errorf("MakeKeyText allocates %v times", n)
	}
	if s := unsafe.Sizeof(KeyText{}); s != 32 {
		t.Errorf("KeyText is %d bytes, want 32", s)
	}
}
