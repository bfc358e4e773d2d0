package pools

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// Every hash method spreads random clients evenly: each of 10 members gets
// within ±6% of the mean of 200,000 clients (the binomial standard deviation
// is about 1.4% of the mean, so this is over 4σ).
func TestHashDistribution(t *testing.T) {
	const n, clients, tol = 10, 200000, 0.06
	for _, method := range []Method{MethodSourceAddressHash, MethodSourceAddressPortHash, MethodAlteonHash, MethodAlteonMinMisses, MethodMaglev} {
		t.Run(method.String(), func(t *testing.T) {
			p := mustPool(t, PoolConfig{Method: method, Members: mems(n)})
			rng := rand.New(rand.NewPCG(1, 2))
			var s Scratch
			got := make([]int, n)
			for range clients {
				got[p.selectIndex(&Request{Client: client(rng), ClientPort: uint16(rng.IntN(65536))}, &s)]++
			}
			mean := float64(clients) / n
			for i, c := range got {
				if d := float64(c)/mean - 1; d > tol || d < -tol {
					t.Errorf("member %d got %d clients, %.1f%% off the mean %.0f (counts %v)", i, c, 100*d, mean, got)
				}
			}
		})
	}
}

// A client's member does not depend on its port for the address-only
// hashes, and does for the address-and-port ones.
func TestHashPortSensitivity(t *testing.T) {
	a := netip.MustParseAddr("192.0.2.7")
	for _, tc := range []struct {
		method   Method
		withPort bool
	}{
		{MethodSourceAddressHash, false}, {MethodAlteonHash, false}, {MethodAlteonMinMisses, false},
		{MethodSourceAddressPortHash, true}, {MethodMaglev, true},
	} {
		p := mustPool(t, PoolConfig{Method: tc.method, Members: mems(8)})
		seen := map[int]bool{}
		for port := range 64 {
			seen[p.selectIndex(&Request{Client: a, ClientPort: uint16(1024 + port)}, nil)] = true
		}
		if tc.withPort != (len(seen) > 1) {
			t.Errorf("%v: 64 ports of one client reached %d members", tc.method, len(seen))
		}
	}
}

// keyMap returns the member of each of nkeys clients.
func keyMap(p *Pool, nkeys int) []int {
	rng := rand.New(rand.NewPCG(3, 4))
	var s Scratch
	out := make([]int, nkeys)
	for k := range out {
		out[k] = p.selectIndex(&Request{Client: client(rng), ClientPort: uint16(rng.IntN(65536))}, &s)
	}
	return out
}

// Rendezvous hashing moves exactly the failed member's clients, and they
// come back when it recovers.
func TestHashMinimalDisruption(t *testing.T) {
	const n, keys = 10, 50000
	for _, method := range []Method{MethodSourceAddressHash, MethodSourceAddressPortHash, MethodAlteonMinMisses} {
		t.Run(method.String(), func(t *testing.T) {
			ms := mems(n)
			for i := range ms {
				ms[i].Health = health(HealthUp, 0)
			}
			p := mustPool(t, PoolConfig{Method: method, Members: ms})
			before := keyMap(p, keys)
			p.Members[3].Health.Set(HealthDown, 0)
			after := keyMap(p, keys)
			moved := 0
			for k := range before {
				switch {
				case before[k] == 3 && after[k] == 3:
					t.Fatal("client stayed on a down member")
				case before[k] == 3:
					moved++
				case after[k] != before[k]:
					t.Fatalf("client %d moved from %d to %d though its member stayed up", k, before[k], after[k])
				}
			}
			if f := float64(moved) / keys; f < 0.08 || f > 0.12 {
				t.Errorf("moved %.3f of clients, want about 1/%d", f, n)
			}
			p.Members[3].Health.Set(HealthUp, 0)
			back := keyMap(p, keys)
			for k := range before {
				if back[k] != before[k] {
					t.Fatalf("client %d did not return to member %d after recovery", k, before[k])
				}
			}
		})
	}
}

// Alteon's hash re-maps most clients when a member leaves (documented).
func TestAlteonHashRemaps(t *testing.T) {
	ms := mems(10)
	p := mustPool(t, PoolConfig{Method: MethodAlteonHash, Members: ms})
	before := keyMap(p, 10000)
	p.Members[3].Disabled = true
	after := keyMap(p, 10000)
	moved := 0
	for k := range before {
		if before[k] != after[k] {
			moved++
		}
	}
	if moved < 5000 {
		t.Errorf("alteon-hash moved only %d of 10000 clients", moved)
	}
}

// Maglev: removing one of N members moves that member's flows plus a small
// fraction of the others' (the paper's table makes this small, not zero).
// With N = 10 and M = 65537: the moved fraction is within 1/N ± 2.5% and at
// most 1% of the flows on the other members move. Adding the member back
// restores every flow.
func TestMaglevDisruption(t *testing.T) {
	const keys = 100000
	for _, n := range []int{5, 10, 30} {
		ms := mems(n)
		for i := range ms {
			ms[i].Health = health(HealthUp, 0)
		}
		p := mustPool(t, PoolConfig{Method: MethodMaglev, Members: ms})
		before := keyMap(p, keys)
		gone := n / 2
		p.Members[gone].Health.Set(HealthDown, 0)
		after := keyMap(p, keys)
		moved, others, othersMoved := 0, 0, 0
		for k := range before {
			if after[k] == gone {
				t.Fatal("flow still on the removed member")
			}
			if before[k] != after[k] {
				moved++
			}
			if before[k] != gone {
				others++
				if before[k] != after[k] {
					othersMoved++
				}
			}
		}
		f, want := float64(moved)/keys, 1/float64(n)
		if f < want-0.025 || f > want+0.025 {
			t.Errorf("n=%d: moved %.4f of flows, want %.4f ± 0.025", n, f, want)
		}
		if o := float64(othersMoved) / float64(others); o > 0.01 {
			t.Errorf("n=%d: %.4f of the flows on remaining members moved, want ≤ 0.01", n, o)
		}
		t.Logf("n=%d: moved %.4f (1/n %.4f), others moved %.4f", n, f, want, float64(othersMoved)/float64(others))
		p.Members[gone].Health.Set(HealthUp, 0)
		back := keyMap(p, keys)
		for k := range before {
			if back[k] != before[k] {
				t.Fatalf("n=%d: flow %d not restored after the member came back", n, k)
			}
		}
	}
}

// Maglev's table gives every member about M/N slots.
func TestMaglevTableBalance(t *testing.T) {
	const n = 10
	p := mustPool(t, PoolConfig{Method: MethodMaglev, Members: mems(n)})
	tab := p.sel.(*maglevSel).tab.Load()
	cnt := make([]int, n)
	for _, e := range tab.ent {
		cnt[e]++
	}
	for i, c := range cnt {
		if c < 65537/n-200 || c > 65537/n+200 {
			t.Errorf("member %d owns %d slots, want about %d", i, c, 65537/n)
		}
	}
	ref := refMaglev(p.Members, func(int) bool { return true }, 65537)
	for k, e := range tab.ent {
		if int(e) != ref[k] {
			t.Fatalf("slot %d: table %d, reference %d", k, e, ref[k])
		}
	}
}

// The table is rebuilt when the member set changes, not per selection, and
// a member at its connection limit is passed over without a rebuild.
func TestMaglevRebuilds(t *testing.T) {
	ms := mems(4)
	ms[0].ConnLimit = 1
	for i := range ms {
		ms[i].Health = health(HealthUp, 0)
	}
	p := mustPool(t, PoolConfig{Method: MethodMaglev, Members: ms, MaglevTableSize: 1009})
	mg := p.sel.(*maglevSel)
	keyMap(p, 1000)
	if n := mg.rebuilds.Load(); n != 0 {
		t.Fatalf("%d rebuilds with a stable set", n)
	}
	p.Members[0].Stats.CurConns.Store(1)
	for _, i := range keyMap(p, 1000) {
		if i == 0 {
			t.Fatal("member at its limit selected")
		}
	}
	if n := mg.rebuilds.Load(); n != 0 {
		t.Fatalf("%d rebuilds for a connection limit", n)
	}
	p.Members[2].Health.Set(HealthDown, 0)
	keyMap(p, 1000)
	p.Members[2].Health.Set(HealthUp, 0)
	keyMap(p, 1000)
	if n := mg.rebuilds.Load(); n != 2 {
		t.Fatalf("%d rebuilds for one down and one up, want 2", n)
	}
}

func TestIsPrime(t *testing.T) {
	primes := map[uint32]bool{2: true, 3: true, 5: true, 7: true, 11: true, 13: true, 17: true, 19: true}
	for n := range uint32(20) {
		if isPrime(n) != primes[n] {
			t.Errorf("isPrime(%d) = %v", n, isPrime(n))
		}
	}
	for _, n := range []uint32{65537, 16777213, 1009, 251} {
		if !isPrime(n) {
			t.Errorf("isPrime(%d) = false", n)
		}
	}
	for _, n := range []uint32{65536, 65535, 16777215, 1001} {
		if isPrime(n) {
			t.Errorf("isPrime(%d) = true", n)
		}
	}
}
