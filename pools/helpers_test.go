package pools

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

const sec = int64(time.Second)

// mem returns a member 10.0.0.<i>:80 with its own stats.
func mem(i int) Member {
	a := netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})
	return Member{
		Name:  fmt.Sprintf("/Common/%s:80", a),
		Node:  "/Common/" + a.String(),
		Addr:  a,
		Port:  80,
		Stats: new(MemberStats),
	}
}

func mems(n int) []Member {
	ms := make([]Member, n)
	for i := range ms {
		ms[i] = mem(i + 1)
	}
	return ms
}

func mustPool(t testing.TB, cfg PoolConfig) *Pool {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "/Common/p"
	}
	p, err := NewPool(cfg)
	if err != nil {
		t.Fatalf("NewPool: %v", err)
	}
	return p
}

func health(s HealthState, since int64) *Health {
	h := new(Health)
	h.Set(s, since)
	return h
}

func client(rng *rand.Rand) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(rng.IntN(223) + 1), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
}

// picks selects n times and returns the member indexes.
func picks(t testing.TB, p *Pool, r *Request, n int) []int {
	t.Helper()
	var s Scratch
	out := make([]int, 0, n)
	for range n {
		out = append(out, p.selectIndex(r, &s))
	}
	return out
}

func names(p *Pool, idx []int) []string {
	out := make([]string, len(idx))
	for k, i := range idx {
		if i < 0 {
			out[k] = "-"
			continue
		}
		out[k] = string(rune('A' + i))
	}
	return out
}

// connOpened and connClosed count a connection as the dataplane's flow
// table does: on the member and on its node.
func connOpened(m *Member) {
	if m.Stats != nil {
		m.Stats.CurConns.Add(1)
		m.Stats.TotalConns.Add(1)
	}
	if m.NodeStats != nil {
		m.NodeStats.CurConns.Add(1)
		m.NodeStats.TotalConns.Add(1)
	}
}

func connClosed(m *Member) {
	if m.Stats != nil {
		m.Stats.CurConns.Add(-1)
	}
	if m.NodeStats != nil {
		m.NodeStats.CurConns.Add(-1)
	}
}

// observeRTT feeds a response-time sample to the member and its node, as
// the dataplane's flow table does.
func observeRTT(m *Member, ns int64) {
	if m.Stats != nil {
		m.Stats.ObserveRTT(ns)
	}
	if m.NodeStats != nil {
		m.NodeStats.ObserveRTT(ns)
	}
}
