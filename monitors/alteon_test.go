package monitors

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// refAlteon is the naive reference for Alteon hysteresis: first verdict
// decides, then Retries consecutive failures to go down and Restore
// consecutive successes to come back.
type refAlteon struct {
	retries, restore int
	state            State
	succ, fail       int
}

func (r *refAlteon) step(ok bool) (State, bool) {
	if ok {
		r.succ, r.fail = r.succ+1, 0
	} else {
		r.fail, r.succ = r.fail+1, 0
	}
	from := r.state
	switch {
	case r.state == Checking && ok:
		r.state = Up
	case r.state == Checking:
		r.state = Down
	case r.state == Up && r.fail >= r.retries:
		r.state = Down
	case r.state == Down && r.succ >= r.restore:
		r.state = Up
	}
	return r.state, r.state != from
}

func randomVerdicts(rng *rand.Rand, n int) []bool {
	// Runs of random length so both thresholds are crossed now and then.
	var out []bool
	for len(out) < n {
		v := rng.IntN(2) == 0
		for range 1 + rng.IntN(6) {
			out = append(out, v)
		}
	}
	return out[:n]
}

func TestAlteonMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 2000 {
		retries, restore := 1+rng.IntN(5), 1+rng.IntN(5)
		spec := alteon("/Common/tcp", sec(2), retries, restore)
		m := newMachine(spec, t0)
		ref := &refAlteon{retries: retries, restore: restore}
		seq := randomVerdicts(rng, 60)
		run := 0 // length of the current run of equal verdicts
		for i, ok := range seq {
			if i > 0 && seq[i-1] == ok {
				run++
			} else {
				run = 1
			}
			v := Failure
			if ok {
				v = Success
			}
			now := t0.Add(time.Duration(i) * sec(2))
			from := m.state
			changed := m.observe(now, v, "")
			want, wantChanged := ref.step(ok)
			if m.state != want || changed != wantChanged {
				t.Fatalf("iter %d (retry %d restr %d) step %d %v: state %v changed %v, reference %v changed %v\nseq %v",
					iter, retries, restore, i, v, m.state, changed, want, wantChanged, seq[:i+1])
			}
			// The property the settings promise: no flapping faster than
			// the thresholds allow.
			if changed && from == Up && run < retries {
				t.Fatalf("down after %d failures, retry %d", run, retries)
			}
			if changed && from == Down && run < restore {
				t.Fatalf("up after %d successes, restr %d", run, restore)
			}
		}
	}
}

func TestAlteonThroughScheduler(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for iter := range 5 {
		t.Run(fmt.Sprint(iter), func(t *testing.T) {
			h := newHarness(t, Config{})
			spec := alteon("/Common/tcp", sec(2), 3, 2)
			seq := randomVerdicts(rng, 80)
			ref := &refAlteon{retries: 3, restore: 2}
			first := firstProbe(key1, spec)
			var want []Change
			for i, ok := range seq {
				o := refused
				if ok {
					o = FakeOutcome{Verdict: Success}
				}
				h.fake.Queue("", member1, o)
				from := ref.state
				if to, changed := ref.step(ok); changed {
					want = append(want, Change{From: from, To: to, At: first.Add(time.Duration(i) * sec(2))})
				}
			}
			h.update(check1(spec))
			h.runTo(first.Add(time.Duration(len(seq)-1) * sec(2)))
			if n := len(h.fake.Calls()); n != len(seq) {
				t.Fatalf("%d probes, want %d", n, len(seq))
			}
			wantChanges(t, h.takeChanges(), want...)
		})
	}
}

func TestAlteonCounts(t *testing.T) {
	h := newHarness(t, Config{})
	spec := alteon("/Common/tcp", sec(2), 4, 2)
	first := firstProbe(key1, spec)
	h.fake.Set("", member1, ok)
	h.update(check1(spec))
	h.runTo(first)
	h.fake.Set("", member1, refused)
	h.runTo(first.Add(sec(7))) // failures at +2 +4 +6
	h.wantState(key1, Up)
	h.runTo(first.Add(sec(8))) // the 4th
	h.fake.Set("", member1, ok)
	h.runTo(first.Add(sec(10)))
	h.wantState(key1, Down)
	h.runTo(first.Add(sec(12)))
	wantChanges(t, h.takeChanges(),
		Change{From: Checking, To: Up, At: first, Reason: "/Common/tcp: first probe succeeded"},
		Change{From: Up, To: Down, At: first.Add(sec(8)), Reason: "/Common/tcp: 4 consecutive failures; last: connection refused (RST to SYN)"},
		Change{From: Down, To: Up, At: first.Add(sec(12)), Reason: "/Common/tcp: 2 consecutive successes"},
	)
}

func TestAlteonLongTimeoutDoesNotOverlap(t *testing.T) {
	// timeout 5s > interval 2s: a blackholed server is probed once per
	// timeout, never with two probes in flight.
	h := newHarness(t, Config{})
	spec := &Spec{Name: "/Common/tcp", Type: TCP, Interval: sec(2), Timeout: sec(5), Alteon: true, Retries: 2, Restore: 1}
	first := firstProbe(key1, spec)
	h.fake.Set("", member1, hang)
	h.update(check1(spec))
	h.runTo(first.Add(sec(10)))
	var got []time.Duration
	for _, at := range h.callTimes(member1) {
		got = append(got, at.Sub(first))
	}
	if fmt.Sprint(got) != "[0s 5s 10s]" {
		t.Fatalf("probe offsets %v, want [0s 5s 10s]", got)
	}
	wantChanges(t, h.takeChanges(), Change{From: Checking, To: Down, At: first.Add(sec(5)), Reason: "/Common/tcp: first probe failed: no answer within 5s"})
}
