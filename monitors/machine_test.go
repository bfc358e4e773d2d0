package monitors

import (
	"context"
	"testing"
	"time"
)

func TestMachineResume(t *testing.T) {
	type step struct {
		at time.Duration
		v  Verdict
	}
	for _, tc := range []struct {
		name  string
		spec  *Spec
		steps []step // from up: a failure run that holds it down, then these
		at    time.Duration
		want  State
	}{
		{"last success", bigip("m", sec(5), sec(16)), []step{{30, Success}}, 31, Up},
		{"last failure", bigip("m", sec(5), sec(16)), []step{{30, Failure}}, 31, Down},
		{"last disable", bigip("m", sec(5), sec(16)), []step{{30, Disable}}, 31, Disabled},
		{"time-until-up not served", func() *Spec { s := bigip("m", sec(5), sec(16)); s.TimeUntilUp = sec(10); return s }(),
			[]step{{30, Success}, {35, Success}}, 36, Down},
		{"time-until-up served", func() *Spec { s := bigip("m", sec(5), sec(16)); s.TimeUntilUp = sec(10); return s }(),
			[]step{{30, Success}, {35, Success}, {40, Success}}, 41, Up},
		{"alteon restore not reached", alteon("m", sec(2), 1, 3), []step{{30, Success}, {32, Success}}, 33, Down},
		{"alteon restore reached", alteon("m", sec(2), 1, 3), []step{{30, Success}, {32, Success}, {34, Success}}, 35, Up},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.ManualResume = true
			m := newMachine(tc.spec, t0)
			m.observe(t0, Success, "")
			m.observe(t0.Add(sec(10)), Success, "")
			m.observe(t0.Add(sec(11)), Failure, "")
			if !m.expire(t0.Add(sec(26))) && !tc.spec.Alteon {
				t.Fatal("did not go down")
			}
			if m.state != Down || !m.held {
				t.Fatalf("state %v held %v, want down and held", m.state, m.held)
			}
			for _, s := range tc.steps {
				m.observe(t0.Add(sec(float64(s.at))), s.v, "")
			}
			if m.state != Down {
				t.Fatalf("left down while held: %v", m.state)
			}
			m.resume(t0.Add(sec(float64(tc.at))))
			if m.state != tc.want || m.held {
				t.Fatalf("after resume: %v (held %v), want %v", m.state, m.held, tc.want)
			}
		})
	}
}

// A smoke test on the real clock: only bounded safety waits, no timing
// assertions.
func TestSystemClockSmoke(t *testing.T) {
	fake := NewFakeProber(nil)
	fake.Set("", member1, ok)
	up := make(chan Change, 1)
	s := New(Config{Prober: fake, OnChange: func(c Change) {
		if c.To == Up {
			up <- c
		}
	}})
	defer s.Close()
	if err := s.Update([]Check{check1(bigip("/Common/tcp", 20*time.Millisecond, time.Second))}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-up:
	case <-time.After(10 * time.Second):
		t.Fatal("member never came up")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	c := fake.Calls()[0]
	if got := c.Deadline.Sub(c.At); got <= 0 || got > 20*time.Millisecond {
		t.Fatalf("probe deadline %v after start, want within the interval", got)
	}
}
