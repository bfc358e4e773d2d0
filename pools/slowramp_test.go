package pools

import (
	"testing"
	"time"
)

func TestRampShare(t *testing.T) {
	const up = 50 * sec
	for _, tc := range []struct {
		name     string
		h        *Health
		enabled  int64 // Member.EnabledAt
		slowRamp time.Duration
		now      int64
		want     float64
	}{
		{"just up", health(HealthUp, up), 0, 10 * time.Second, up, 0},
		{"quarter", health(HealthUp, up), 0, 10 * time.Second, up + 5*sec/2, 0.25},
		{"half", health(HealthUp, up), 0, 10 * time.Second, up + 5*sec, 0.5},
		{"done", health(HealthUp, up), 0, 10 * time.Second, up + 10*sec, 1},
		{"long done", health(HealthUp, up), 0, 10 * time.Second, up + 1000*sec, 1},
		{"clock before up", health(HealthUp, up), 0, 10 * time.Second, up - sec, 0},
		{"slow ramp off", health(HealthUp, up), 0, 0, up, 1},
		{"unchecked, never enabled: no ramp", nil, 0, 10 * time.Second, 0, 1},
		{"unchecked health never ramps", health(HealthUnchecked, up), 0, 10 * time.Second, up, 1},
		{"down is not ramped", health(HealthDown, up), 0, 10 * time.Second, up, 1},
		{"re-enabled unmonitored", nil, up, 10 * time.Second, up + 5*sec, 0.5},
		{"re-enabled after up", health(HealthUp, up), up + 4*sec, 10 * time.Second, up + 5*sec, 0.1},
		{"up after re-enabled", health(HealthUp, up+4*sec), up, 10 * time.Second, up + 5*sec, 0.1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mem(1)
			m.Health = tc.h
			m.EnabledAt = tc.enabled
			p := mustPool(t, PoolConfig{Members: []Member{m}, SlowRamp: tc.slowRamp})
			if got := p.RampShare(0, tc.now); got != tc.want {
				t.Errorf("RampShare = %v, want %v", got, tc.want)
			}
		})
	}
}

// A rotation turn of a ramping member is accepted on exactly share of its
// turns; declined turns go to the next member.
func TestSlowRampRotation(t *testing.T) {
	const up, now = 100 * sec, 100*sec + 5*sec/2 // share 0.25
	for _, m := range []Method{MethodRoundRobin, MethodRatioMember, MethodObservedMember, MethodDynamicRatioNode} {
		t.Run(m.String(), func(t *testing.T) {
			ms := mems(2)
			ms[0].Health, ms[1].Health = health(HealthUp, 0), health(HealthUp, up)
			p := mustPool(t, PoolConfig{Method: m, Members: ms, SlowRamp: 10 * time.Second})
			var n [2]int
			for _, i := range picks(t, p, &Request{Now: now}, 4000) {
				n[i]++
			}
			if n != [2]int{3500, 500} {
				t.Fatalf("counts = %v, want [3500 500] (member B at share 0.25 of its 2000 turns)", n)
			}
			// At the end of the ramp the rotation is even again.
			n = [2]int{}
			for _, i := range picks(t, p, &Request{Now: up + 10*sec}, 4000) {
				n[i]++
			}
			if n != [2]int{2000, 2000} {
				t.Fatalf("after ramp: counts = %v", n)
			}
		})
	}
}

func TestSlowRampAllRampingStillSelects(t *testing.T) {
	ms := mems(2)
	ms[0].Health, ms[1].Health = health(HealthUp, 10*sec), health(HealthUp, 10*sec)
	p := mustPool(t, PoolConfig{Members: ms, SlowRamp: 10 * time.Second})
	for _, i := range picks(t, p, &Request{Now: 10 * sec}, 10) {
		if i < 0 {
			t.Fatal("no member while every member ramps at share 0")
		}
	}
}

// Least-metric methods divide a ramping member's metric by its share.
func TestSlowRampLeastConnections(t *testing.T) {
	const up = 100 * sec
	ms := mems(2)
	ms[0].Health, ms[1].Health = health(HealthUp, 0), health(HealthUp, up)
	p := mustPool(t, PoolConfig{Method: MethodLeastConnectionsMember, Members: ms, SlowRamp: 10 * time.Second})
	p.Members[0].Stats.CurConns.Store(10)
	p.Members[1].Stats.CurConns.Store(2)
	// share 0.1: B's 2 connections count as 20 > 10.
	if i := p.selectIndex(&Request{Now: up + sec}, nil); i != 0 {
		t.Fatalf("share 0.1: picked %d, want 0", i)
	}
	// share 0.5: B's 2 count as 4 < 10.
	if i := p.selectIndex(&Request{Now: up + 5*sec}, nil); i != 1 {
		t.Fatalf("share 0.5: picked %d, want 1", i)
	}
	// Steady state: B carries about share of A's connections.
	for i := range 2 {
		p.Members[i].Stats.CurConns.Store(0)
	}
	var s Scratch
	for range 1100 {
		connOpened(&p.Members[p.selectIndex(&Request{Now: up + 2*sec}, &s)])
	}
	a, b := p.Members[0].Stats.CurConns.Load(), p.Members[1].Stats.CurConns.Load()
	if b < a/5-2 || b > a/5+2 {
		t.Fatalf("share 0.2: conns A=%d B=%d, want B ≈ A/5", a, b)
	}
}
