package pools

import (
	"net/netip"
	"sync"
	"testing"
	"time"
)

// steadyPool is a pool of 8 members in mixed states: unchecked, up, one
// ramping, one down, one at its connection limit, two priority groups.
func steadyPool(t testing.TB, method Method, tab *PersistTable) *Pool {
	ms := mems(8)
	for i := range ms {
		ms[i].Ratio = uint32(i%3 + 1)
		ms[i].NodeRatio = uint32(i%2 + 1)
		ms[i].ConnLimit = 100
		ms[i].NodeConnLimit = 200
		ms[i].NodeStats = new(NodeStats)
		ms[i].Priority = uint32(10 - i/4*5)
		if i > 0 {
			ms[i].Health = health(HealthUp, 0)
		}
	}
	ms[2].Health = health(HealthUp, 99*sec) // ramping at 100 s
	ms[3].Health = health(HealthDown, 0)
	p := mustPool(t, PoolConfig{Method: method, Members: ms, MinActiveMembers: 3, SlowRamp: 10 * time.Second, Sessions: tab})
	p.Members[4].Stats.CurConns.Store(100)
	for i := range ms {
		observeRTT(&p.Members[i], int64(100+i))
	}
	p.Tick(99 * sec)
	return p
}

func TestSelectDoesNotAllocate(t *testing.T) {
	for _, method := range Methods() {
		t.Run(method.String(), func(t *testing.T) {
			tab := NewPersistTable(1 << 16)
			p := steadyPool(t, method, tab)
			var s Scratch
			k := uint32(0)
			var r Request
			next := func() {
				k++
				r = Request{Client: netip.AddrFrom4([4]byte{198, 51, byte(k >> 8), byte(k)}), ClientPort: uint16(k), Now: 100 * sec}
			}
			next()
			if _, ok := p.Select(&r, &s); !ok {
				t.Fatal("no member")
			}
			if n := testing.AllocsPerRun(1000, func() {
				next()
				if _, ok := p.Select(&r, &s); !ok {
					t.Fatal("no member")
				}
			}); n != 0 {
				t.Errorf("Select: %v allocs per run", n)
			}
			src := &Persist{Table: tab, Mode: PersistSourceAddr, Profile: profSrc, Scope: vsA, Virtual: "/Common/vs_a", Timeout: time.Minute}
			hash := &Persist{Table: tab, Mode: PersistHash, Profile: 9, Timeout: time.Minute}
			next()
			p.Pick(&r, src, &s)
			if n := testing.AllocsPerRun(1000, func() {
				next()
				if _, ok := p.Pick(&r, src, &s); !ok { // new client: select and record
					t.Fatal("no member")
				}
				if _, ok := p.Pick(&r, src, &s); !ok { // persisted
					t.Fatal("no member")
				}
				hash.Key = uint64(k % 64)
				if _, ok := p.Pick(&r, hash, &s); !ok {
					t.Fatal("no member")
				}
			}); n != 0 {
				t.Errorf("Pick: %v allocs per run", n)
			}
			if n := testing.AllocsPerRun(10, func() { p.Tick(101 * sec) }); n != 0 {
				t.Errorf("Tick: %v allocs per run", n)
			}
		})
	}
}

// TestConcurrentSelection runs selection, persistence, monitor changes,
// Tick and table maintenance at once; run it with -race.
func TestConcurrentSelection(t *testing.T) {
	const workers, each = 4, 2000
	for _, method := range Methods() {
		t.Run(method.String(), func(t *testing.T) {
			tab := NewPersistTable(4096)
			p := steadyPool(t, method, tab)
			ps := Persist{Table: tab, Mode: PersistSourceAddr, Profile: profSrc, Timeout: time.Second}
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var s Scratch
					for k := range each {
						r := &Request{Client: netip.AddrFrom4([4]byte{10, byte(w), byte(k >> 8), byte(k)}), ClientPort: uint16(k), Now: int64(k) * sec / 100}
						var m *Member
						var ok bool
						if k%2 == 0 {
							m, ok = p.Pick(r, &ps, &s)
						} else {
							m, ok = p.Select(r, &s)
						}
						if ok {
							connOpened(m)
							observeRTT(m, int64(k))
							connClosed(m)
						}
					}
				}()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range each / 4 {
					now := int64(k) * sec / 25
					st := HealthUp
					if k%3 == 0 {
						st = HealthDown
					}
					p.Members[1+k%7].Health.Set(st, now)
					p.Members[k%8].NodeStats.DynamicRatio.Store(uint32(k % 4))
					p.Tick(now)
					tab.Expire(now)
					if k%50 == 0 {
						tab.Records(now, PersistFilter{})
						p.ActiveGroups(now)
						tab.Delete(PersistFilter{Client: netip.AddrFrom4([4]byte{10, 1, 0, byte(k)})})
					}
				}
			}()
			wg.Wait()
			for i := range p.Members {
				if c := p.Members[i].Stats.CurConns.Load(); c != 0 && i != 4 {
					t.Errorf("member %d: %d connections left", i, c)
				}
			}
		})
	}
}

func BenchmarkSelect(b *testing.B) {
	for _, method := range Methods() {
		b.Run(method.String(), func(b *testing.B) {
			p := steadyPool(b, method, NewPersistTable(1024))
			var s Scratch
			r := Request{Client: netip.MustParseAddr("198.51.100.1"), Now: 100 * sec}
			for k := 0; b.Loop(); k++ {
				r.ClientPort = uint16(k)
				p.Select(&r, &s)
			}
		})
	}
}

func BenchmarkPickSourceAddr(b *testing.B) {
	tab := NewPersistTable(1 << 16)
	p := steadyPool(b, MethodRoundRobin, tab)
	ps := &Persist{Table: tab, Mode: PersistSourceAddr, Profile: profSrc, Timeout: time.Minute}
	var s Scratch
	r := Request{Now: 100 * sec}
	for k := 0; b.Loop(); k++ {
		r.Client = netip.AddrFrom4([4]byte{10, 0, byte(k >> 8 & 0x3f), byte(k)})
		p.Pick(&r, ps, &s)
	}
}
