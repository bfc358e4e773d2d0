package monitors

import (
	"context"
	"fmt"
	"net/netip"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"lbx/internal/clock"
)

func firstProbe(key string, sp *Spec) time.Time {
	return t0.Add(StaggerOffset(key, sp.Name, sp.Interval))
}

func wantChanges(t *testing.T, got []Change, want ...Change) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("changes:\n got %s\nwant %s", fmtChanges(got), fmtChanges(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.From != w.From || g.To != w.To || !g.At.Equal(w.At) || (w.Reason != "" && g.Reason != w.Reason) {
			t.Fatalf("change %d:\n got %s\nwant %s", i, fmtChanges(got[i:i+1]), fmtChanges(want[i:i+1]))
		}
	}
}

func fmtChanges(cs []Change) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "[%v->%v at t0+%v %q] ", c.From, c.To, c.At.Sub(t0), c.Reason)
	}
	return b.String()
}

func TestIntervalPacing(t *testing.T) {
	h := newHarness(t, Config{})
	h.fake.Set("", member1, ok)
	sp := bigip("/Common/tcp", sec(5), sec(16))
	h.update(check1(sp))
	h.run(sec(31))

	first := firstProbe(key1, sp)
	var want []time.Time
	for at := first; !at.After(t0.Add(sec(31))); at = at.Add(sec(5)) {
		want = append(want, at)
	}
	if got := h.callTimes(member1); !reflect.DeepEqual(got, want) {
		t.Fatalf("probe times:\n got %v\nwant %v", got, want)
	}
	wantChanges(t, h.takeChanges(), Change{From: Checking, To: Up, At: first, Reason: "/Common/tcp: probe succeeded"})
}

func TestTimeoutMarksDownExactlyAtLastSuccessPlusTimeout(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fail   FakeOutcome
		reason string
	}{
		{"refused", refused, "/Common/tcp: no successful probe within 16s; last: connection refused (RST to SYN)"},
		{"blackhole", hang, "/Common/tcp: no successful probe within 16s; last: no answer within 5s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			h.fake.Set("", member1, ok)
			sp := bigip("/Common/tcp", sec(5), sec(16))
			h.update(check1(sp))
			h.run(sec(12))
			h.wantState(key1, Up)
			calls := h.callTimes(member1)
			last := calls[len(calls)-1] // the server dies right after this probe
			h.fake.Set("", member1, tc.fail)
			h.takeChanges()

			h.runTo(last.Add(sec(16) - time.Millisecond))
			h.wantState(key1, Up)
			wantChanges(t, h.takeChanges())

			h.runTo(last.Add(sec(16)))
			h.wantState(key1, Down)
			wantChanges(t, h.takeChanges(), Change{From: Up, To: Down, At: last.Add(sec(16)), Reason: tc.reason})
		})
	}
}

func TestNeverUpGoesDownAtStartPlusTimeout(t *testing.T) {
	h := newHarness(t, Config{})
	h.fake.Set("", member1, refused)
	h.update(check1(bigip("/Common/tcp", sec(5), sec(16))))
	h.runTo(t0.Add(sec(16) - time.Millisecond))
	h.wantState(key1, Checking)
	h.runTo(t0.Add(sec(16)))
	wantChanges(t, h.takeChanges(), Change{From: Checking, To: Down, At: t0.Add(sec(16))})
}

func TestUpInterval(t *testing.T) {
	h := newHarness(t, Config{})
	h.fake.Set("", member1, ok)
	sp := bigip("/Common/tcp", sec(5), sec(16))
	sp.UpInterval = sec(30)
	h.update(check1(sp))
	o := firstProbe(key1, sp)
	h.runTo(o.Add(sec(61)))
	h.fake.Set("", member1, refused)
	// The last success is at o+60; the skipped probes of the up-interval do
	// not count, so the deadline is o+60 + (30-5) + 16 = o+101.
	h.runTo(o.Add(sec(101) - time.Millisecond))
	h.wantState(key1, Up)
	h.runTo(o.Add(sec(101)))
	h.wantState(key1, Down)

	var got []time.Duration
	for _, at := range h.callTimes(member1) {
		got = append(got, at.Sub(o))
	}
	want := []time.Duration{0, sec(30), sec(60), sec(90), sec(95), sec(100)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("probe offsets: got %v, want %v (up-interval while up, interval after a failure)", got, want)
	}
	// Each probe's deadline: min(current interval, timeout).
	var deadlines []time.Duration
	for _, c := range h.fake.Calls() {
		deadlines = append(deadlines, c.Deadline.Sub(c.At))
	}
	wantDeadlines := []time.Duration{sec(5), sec(16), sec(16), sec(16), sec(5), sec(5)}
	if !reflect.DeepEqual(deadlines, wantDeadlines) {
		t.Fatalf("probe deadlines: got %v, want %v", deadlines, wantDeadlines)
	}
}

func TestTimeUntilUp(t *testing.T) {
	h := newHarness(t, Config{})
	sp := bigip("/Common/tcp", sec(5), sec(16))
	sp.TimeUntilUp = sec(12)
	o := firstProbe(key1, sp)
	// Probes at o, o+5 succeed, o+10 fails (streak reset), then succeed
	// from o+15: up at the first success 12s into the new streak, o+30.
	h.fake.Set("", member1, ok)
	h.fake.Queue("", member1, ok, ok, refused)
	h.update(check1(sp))
	h.runTo(o.Add(sec(29)))
	h.wantState(key1, Checking)
	h.runTo(o.Add(sec(30)))
	wantChanges(t, h.takeChanges(), Change{From: Checking, To: Up, At: o.Add(sec(30)), Reason: "/Common/tcp: probes succeeded for 12s"})

	// Down, then back: up again only after 12s of successes.
	h.fake.Set("", member1, refused)
	h.runTo(o.Add(sec(46)))
	wantChanges(t, h.takeChanges(), Change{From: Up, To: Down, At: o.Add(sec(46))})
	h.fake.Set("", member1, ok) // first success at o+50
	h.runTo(o.Add(sec(61)))
	h.wantState(key1, Down)
	h.runTo(o.Add(sec(65)))
	wantChanges(t, h.takeChanges(), Change{From: Down, To: Up, At: o.Add(sec(65))})
}

func TestManualResume(t *testing.T) {
	h := newHarness(t, Config{})
	h.fake.Set("", member1, ok)
	sp := bigip("/Common/tcp", sec(5), sec(16))
	sp.ManualResume = true
	o := firstProbe(key1, sp)
	h.update(check1(sp))
	h.runTo(o.Add(sec(1)))
	h.fake.Set("", member1, refused)
	h.runTo(o.Add(sec(16)))
	h.wantState(key1, Down)
	h.fake.Set("", member1, ok)
	h.run(sec(60))
	h.wantState(key1, Down)
	st, _ := h.s.Status(key1)
	if !st.Monitors[0].AwaitingResume || st.Monitors[0].LastVerdict != Success {
		t.Fatalf("monitor status %+v: want awaiting resume with successful probes", st.Monitors[0])
	}
	wantChanges(t, h.takeChanges(),
		Change{From: Checking, To: Up, At: o},
		Change{From: Up, To: Down, At: o.Add(sec(16)), Reason: "/Common/tcp: no successful probe within 16s; last: connection refused (RST to SYN); manual resume required"})

	if err := h.s.Resume(key1); err != nil {
		t.Fatal(err)
	}
	h.settle()
	wantChanges(t, h.takeChanges(), Change{From: Down, To: Up, At: h.clk.Now(), Reason: "/Common/tcp: resumed by operator"})
	if st, _ := h.s.Status(key1); st.Monitors[0].AwaitingResume {
		t.Fatal("still awaiting resume after Resume")
	}
	if err := h.s.Resume("nope"); err == nil {
		t.Fatal("Resume of an unknown key: want error")
	}
}

func TestManualResumeNotNeededIfNeverUp(t *testing.T) {
	h := newHarness(t, Config{})
	h.fake.Set("", member1, refused)
	sp := bigip("/Common/tcp", sec(5), sec(16))
	sp.ManualResume = true
	h.update(check1(sp))
	h.runTo(t0.Add(sec(16)))
	h.wantState(key1, Down)
	h.fake.Set("", member1, ok)
	h.run(sec(5))
	h.wantState(key1, Up)
}

func TestRecvDisable(t *testing.T) {
	h := newHarness(t, Config{})
	sp := bigip("/Common/http", sec(5), sec(16))
	o := firstProbe(key1, sp)
	h.fake.Set("", member1, ok)
	h.update(check1(sp))
	h.runTo(o.Add(sec(1)))
	h.fake.Set("", member1, disable)
	h.runTo(o.Add(sec(6)))
	h.wantState(key1, Disabled)
	h.fake.Set("", member1, ok)
	h.runTo(o.Add(sec(11)))
	h.wantState(key1, Up)
	h.fake.Set("", member1, disable)
	h.runTo(o.Add(sec(16)))
	// A disabled member still answers: its deadline counts from the last
	// recv-disable match (o+15).
	h.fake.Set("", member1, refused)
	h.runTo(o.Add(sec(40)))
	wantChanges(t, h.takeChanges(),
		Change{From: Checking, To: Up, At: o},
		Change{From: Up, To: Disabled, At: o.Add(sec(5)), Reason: "/Common/http: recv-disable matched"},
		Change{From: Disabled, To: Up, At: o.Add(sec(10))},
		Change{From: Up, To: Disabled, At: o.Add(sec(15))},
		Change{From: Disabled, To: Down, At: o.Add(sec(31))},
	)
}

func TestAndRule(t *testing.T) {
	h := newHarness(t, Config{})
	a, b := bigip("/Common/http", sec(5), sec(16)), bigip("/Common/icmp", sec(5), sec(16))
	h.fake.Set(a.Name, member1, ok)
	h.fake.Set(b.Name, member1, ok)
	h.update(check1(a, b))
	h.run(sec(5))
	h.wantState(key1, Up)
	h.fake.Set(b.Name, member1, disable)
	h.run(sec(5))
	h.wantState(key1, Disabled)
	h.fake.Set(b.Name, member1, refused)
	h.run(sec(20))
	h.wantState(key1, Down)
	st, _ := h.s.Status(key1)
	if st.Monitors[0].State != Up || st.Monitors[1].State != Down {
		t.Fatalf("monitor states %v, %v: want up, down", st.Monitors[0].State, st.Monitors[1].State)
	}
	if !strings.HasPrefix(st.Reason, "/Common/icmp: ") {
		t.Fatalf("reason %q: want the failing monitor named", st.Reason)
	}
}

func TestMinRule(t *testing.T) {
	h := newHarness(t, Config{})
	a, b, c := bigip("/Common/a", sec(5), sec(16)), bigip("/Common/b", sec(5), sec(16)), bigip("/Common/c", sec(5), sec(16))
	h.fake.Set(a.Name, member1, ok)
	h.fake.Set(b.Name, member1, ok)
	h.fake.Set(c.Name, member1, refused)
	h.update(Check{Key: key1, Target: member1, Rule: Rule{Specs: []*Spec{a, b, c}, Min: 2}})
	h.run(sec(30))
	h.wantState(key1, Up) // 2 of 3 up, c down
	h.fake.Set(b.Name, member1, refused)
	h.run(sec(30))
	h.wantState(key1, Down)
	st, _ := h.s.Status(key1)
	if !strings.HasSuffix(st.Reason, "(1 of 3 monitors up, min 2)") {
		t.Fatalf("reason %q", st.Reason)
	}
}

func TestCombine(t *testing.T) {
	for _, tc := range []struct {
		states []State
		min    int
		want   State
	}{
		{[]State{Up, Up}, 0, Up},
		{[]State{Up, Checking}, 0, Checking},
		{[]State{Up, Disabled}, 0, Disabled},
		{[]State{Disabled, Checking}, 0, Checking},
		{[]State{Disabled, Down}, 0, Down},
		{[]State{Up, Down, Up}, 0, Down},
		{[]State{Up, Down, Up}, 2, Up},
		{[]State{Up, Down, Down}, 2, Down},
		{[]State{Up, Disabled, Down}, 2, Disabled},
		{[]State{Up, Checking, Down}, 2, Checking},
		{[]State{Down, Checking, Down}, 2, Down},
		{[]State{Up, Up, Up}, 3, Up},
		{[]State{Up, Up, Disabled}, 3, Disabled},
	} {
		if got := combine(tc.states, tc.min); got != tc.want {
			t.Errorf("combine(%v, min %d) = %v, want %v", tc.states, tc.min, got, tc.want)
		}
	}
}

func TestStaggerSpreadsFirstProbes(t *testing.T) {
	h := newHarness(t, Config{})
	interval := sec(10)
	var checks []Check
	for i := range 200 {
		tgt := Target{Addr: netip.AddrFrom4([4]byte{198, 18, 3, byte(i)}), Port: 80}
		h.fake.Set("", tgt, ok)
		checks = append(checks, Check{Key: fmt.Sprintf("/Common/pool %v", tgt), Target: tgt,
			Rule: Rule{Specs: []*Spec{bigip("/Common/tcp", interval, sec(31))}}})
	}
	h.update(checks...)
	h.run(interval - time.Nanosecond)
	first := map[Target]time.Time{}
	for _, c := range h.fake.Calls() {
		if _, ok := first[c.Target]; !ok {
			first[c.Target] = c.At
		}
	}
	if len(first) != len(checks) {
		t.Fatalf("%d of %d members probed within the first interval", len(first), len(checks))
	}
	var buckets [10]int
	for _, c := range checks {
		off := first[c.Target].Sub(t0)
		if want := StaggerOffset(c.Key, "/Common/tcp", interval); off != want {
			t.Fatalf("%s: first probe at +%v, want +%v", c.Key, off, want)
		}
		buckets[off*10/interval]++
	}
	for i, n := range buckets {
		if n == 0 || n > 40 {
			t.Fatalf("first probes per tenth of the interval: %v (bucket %d)", buckets, i)
		}
	}
}

func TestUpdateKeepsUnchangedAndResetsChanged(t *testing.T) {
	h := newHarness(t, Config{})
	h.fake.Set("", member1, ok)
	mk := func(timeout time.Duration) *Spec {
		sp, err := CompileSpec(Spec{Name: "/Common/http", Type: HTTP, Interval: sec(5), Timeout: timeout, Send: "GET / HTTP/1.0\r\n\r\n"}, "200 OK", "")
		if err != nil {
			t.Fatal(err)
		}
		return sp
	}
	h.update(check1(mk(sec(16))))
	h.run(sec(20))
	before, _ := h.s.Status(key1)
	trace := h.s.Trace(key1)
	h.takeChanges()

	// Same values, new pointers (a re-parsed config): nothing resets.
	h.update(check1(mk(sec(16))))
	after, _ := h.s.Status(key1)
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("status changed by a no-op update:\n got %+v\nwant %+v", after, before)
	}
	if got := h.s.Trace(key1); !reflect.DeepEqual(got, trace) {
		t.Fatalf("trace changed by a no-op update")
	}
	calls := len(h.fake.Calls())
	h.run(sec(5))
	if n := len(h.fake.Calls()) - calls; n != 1 {
		t.Fatalf("%d probes in one interval after a no-op update, want 1 (timing kept)", n)
	}
	wantChanges(t, h.takeChanges())

	// A changed timeout restarts that monitor.
	h.update(check1(mk(sec(11))))
	now := h.clk.Now()
	wantChanges(t, h.takeChanges(), Change{From: Up, To: Checking, At: now, Reason: "monitors changed"})
	if len(h.s.Trace(key1)) != 0 {
		t.Fatal("trace kept for a changed monitor")
	}
	h.run(sec(5))
	h.wantState(key1, Up)
	h.takeChanges()

	// The same key with another address starts over and says so.
	moved := check1(mk(sec(11)))
	moved.Target = Target{Addr: netip.MustParseAddr("198.18.2.99"), Port: 80}
	h.update(moved)
	wantChanges(t, h.takeChanges(), Change{From: Up, To: Checking, At: h.clk.Now(), Reason: "member address changed"})
}

func TestUpdateValidation(t *testing.T) {
	h := newHarness(t, Config{})
	good := bigip("/Common/tcp", sec(5), sec(16))
	h.update(check1(good))
	for _, tc := range []struct {
		name   string
		checks []Check
		want   string
	}{
		{"duplicate", []Check{check1(good), check1(good)}, "duplicate key"},
		{"no monitors", []Check{check1()}, "rule has no monitor"},
		{"min", []Check{{Key: key1, Target: member1, Rule: Rule{Specs: []*Spec{good}, Min: 2}}}, "min 2 of 1"},
		{"bad spec", []Check{check1(bigip("/Common/x", 0, sec(1)))}, "monitor /Common/x: interval must be > 0"},
		{"twice", []Check{check1(good, good)}, "listed twice"},
	} {
		err := h.s.Update(tc.checks)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, ok := h.s.Status(key1); !ok {
		t.Fatal("a failed update changed the checks")
	}
}

func TestRemovedChecksStop(t *testing.T) {
	h := newHarness(t, Config{})
	h.fake.Set("", member1, FakeOutcome{Verdict: Success, Latency: sec(2)})
	sp := bigip("/Common/tcp", sec(5), sec(16))
	o := firstProbe(key1, sp)
	h.update(check1(sp))
	h.runTo(o.Add(sec(1))) // a probe is in flight until o+2
	if st, _ := h.s.Status(key1); !st.Monitors[0].InFlight {
		t.Fatal("want a probe in flight")
	}
	h.update()
	calls := len(h.fake.Calls())
	h.run(sec(60))
	if n := len(h.fake.Calls()); n != calls {
		t.Fatalf("%d probes after removal", n-calls)
	}
	if _, ok := h.s.Status(key1); ok {
		t.Fatal("removed check still has a status")
	}
	wantChanges(t, h.takeChanges())
}

func TestRemovalCancelsBlockedProbe(t *testing.T) {
	started := make(chan struct{})
	errc := make(chan error, 1)
	prober := ProberFunc(func(ctx context.Context, _ *Spec, _ Target) Result {
		close(started)
		<-ctx.Done()
		errc <- ctx.Err()
		return Result{Verdict: Success}
	})
	h := newHarness(t, Config{Prober: prober})
	sp := bigip("/Common/tcp", sec(5), sec(16))
	h.update(check1(sp))
	h.clk.AdvanceTo(firstProbe(key1, sp))
	<-started
	h.update()
	if err := <-errc; err != context.Canceled {
		t.Fatalf("probe context error %v, want context.Canceled", err)
	}
	h.settle()
	wantChanges(t, h.takeChanges())
}

func TestProbeDeadlineFromClock(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec *Spec
		want time.Duration
	}{
		{"bigip interval < timeout", bigip("/Common/tcp", sec(5), sec(16)), sec(5)},
		{"alteon", &Spec{Name: "/Common/tcp", Type: TCP, Interval: sec(2), Timeout: sec(7), Alteon: true, Retries: 4, Restore: 2}, sec(7)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			h.fake.Set("", member1, hang)
			h.update(check1(tc.spec))
			h.run(tc.spec.Interval + tc.want)
			c := h.fake.Calls()[0]
			if got := c.Deadline.Sub(c.At); got != tc.want {
				t.Fatalf("probe deadline %v after start, want %v", got, tc.want)
			}
			r, ok := h.s.LastProbe(key1, "/Common/tcp")
			if !ok || r.Reason != NoAnswer(tc.want) || !r.End.Equal(c.Deadline) {
				t.Fatalf("last probe %+v, want %q at the deadline", r, NoAnswer(tc.want))
			}
		})
	}
}

func TestMaxConcurrent(t *testing.T) {
	h := newHarness(t, Config{MaxConcurrent: 2})
	var checks []Check
	for i := range 10 {
		tgt := Target{Addr: netip.AddrFrom4([4]byte{198, 18, 4, byte(i)}), Port: 80}
		h.fake.Set("", tgt, FakeOutcome{Verdict: Success, Latency: sec(1)})
		checks = append(checks, Check{Key: tgt.String(), Target: tgt, Rule: Rule{Specs: []*Spec{bigip("/Common/tcp", sec(3), sec(10))}}})
	}
	h.update(checks...)
	for range 300 {
		h.run(100 * time.Millisecond)
		inflight := 0
		for _, st := range h.s.Statuses() {
			if st.Monitors[0].InFlight {
				inflight++
			}
		}
		if inflight > 2 {
			t.Fatalf("at t0+%v: %d probes in flight, max 2", h.clk.Now().Sub(t0), inflight)
		}
	}
	for _, st := range h.s.Statuses() {
		if st.State != Up {
			t.Fatalf("%s: %v, want every member probed and up", st.Key, st.State)
		}
	}
}

func TestTraceDepthAndLastProbe(t *testing.T) {
	h := newHarness(t, Config{TraceDepth: 3})
	sp := bigip("/Common/tcp", sec(5), sec(16))
	o := firstProbe(key1, sp)
	h.fake.Set("", member1, ok)
	h.fake.Queue("", member1, ok, ok, ok, refused, FakeOutcome{Verdict: Failure, Reason: ReasonRSTAfterFIN})
	h.update(check1(sp))
	h.runTo(o.Add(sec(21)))
	tr := h.s.Trace(key1)
	var got []string
	for _, r := range tr {
		got = append(got, fmt.Sprintf("+%v %v %s", r.Start.Sub(o), r.Verdict, r.Reason))
	}
	want := []string{"+10s success ", "+15s failure connection refused (RST to SYN)", "+20s failure RST after FIN during close"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("trace:\n got %q\nwant %q", got, want)
	}
	if tr[2].Monitor != sp.Name || tr[2].Target != member1 {
		t.Fatalf("trace result not labelled: %+v", tr[2])
	}
	last, ok := h.s.LastProbe(key1, sp.Name)
	if !ok || last.Reason != ReasonRSTAfterFIN {
		t.Fatalf("LastProbe = %+v, %v", last, ok)
	}
}

func TestDestinationOverride(t *testing.T) {
	h := newHarness(t, Config{})
	sp := bigip("/Common/tcp8080", sec(5), sec(16))
	sp.Destination = Target{Port: 8080}
	alias := Target{Addr: member1.Addr, Port: 8080}
	h.fake.Set("", alias, ok)
	h.update(check1(sp))
	h.run(sec(5))
	h.wantState(key1, Up)
	if c := h.fake.Calls(); len(c) == 0 || c[0].Target != alias {
		t.Fatalf("calls %+v: want probes to %v", c, alias)
	}
}

func TestCloseCancelsAndWaits(t *testing.T) {
	base := runtime.NumGoroutine()
	clk := clock.NewManual(t0)
	var wg sync.WaitGroup
	wg.Add(3)
	prober := ProberFunc(func(ctx context.Context, _ *Spec, _ Target) Result {
		wg.Done()
		<-ctx.Done()
		return Result{}
	})
	s := New(Config{Prober: prober, Clock: clk})
	var checks []Check
	for i := range 3 {
		tgt := Target{Addr: netip.AddrFrom4([4]byte{198, 18, 5, byte(i)}), Port: 80}
		checks = append(checks, Check{Key: tgt.String(), Target: tgt, Rule: Rule{Specs: []*Spec{bigip("/Common/tcp", sec(5), sec(16))}}})
	}
	if err := s.Update(checks); err != nil {
		t.Fatal(err)
	}
	clk.Advance(sec(5))
	wg.Wait() // three probes blocked
	s.Close()
	if err := s.Update(nil); err != ErrClosed {
		t.Fatalf("Update after Close: %v, want ErrClosed", err)
	}
	// Close waited for its goroutines; allow the runtime a moment to retire
	// them (bounded, not a timing assertion).
	for i := 0; runtime.NumGoroutine() > base; i++ {
		if i == 1000 {
			t.Fatalf("%d goroutines after Close, %d before New", runtime.NumGoroutine(), base)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestOnChangeMayReadStatus(t *testing.T) {
	clk := clock.NewManual(t0)
	fake := NewFakeProber(clk)
	fake.Set("", member1, ok)
	var s *Scheduler
	var seen []State
	s = New(Config{Prober: fake, Clock: clk, OnChange: func(c Change) {
		st, _ := s.Status(c.Key)
		seen = append(seen, st.State)
	}})
	defer s.Close()
	if err := s.Update([]Check{check1(bigip("/Common/tcp", sec(5), sec(16)))}); err != nil {
		t.Fatal(err)
	}
	clk.AdvanceSettled(sec(5), func() { s.WaitIdle(context.Background()) })
	if !reflect.DeepEqual(seen, []State{Up}) {
		t.Fatalf("states seen from OnChange: %v", seen)
	}
}

// A server that flaps (open 3s, refusing 3s) against BIG-IP timing: with a
// timeout shorter than the closed phase every cycle costs one down and one
// up; with a timeout longer than the closed phase plus an interval the
// member stays up after its first verdict.
func TestTransitionsUnderFlap(t *testing.T) {
	const period, open = 6 * time.Second, 3 * time.Second
	for _, tc := range []struct {
		name        string
		timeout     time.Duration
		timeUntilUp time.Duration
		want        int // transitions in 60s
	}{
		// Per 6s cycle one up (the second success of an open phase ends
		// a 1s streak) and one down (2s after its last success, inside the
		// closed phase): 10 cycles, 20 transitions.
		{"timeout 2 time-until-up 1", sec(2), sec(1), 20},
		// The longest gap between successes is the closed phase plus one
		// interval (4s) < 5s: never down.
		{"timeout 5", sec(5), 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h *harness
			h = newHarness(t, Config{Prober: ProberFunc(func(_ context.Context, _ *Spec, _ Target) Result {
				if h.clk.Now().Sub(t0)%period < open {
					return Result{Verdict: Success}
				}
				return Result{Verdict: Failure, Reason: "connection refused (RST to SYN)"}
			})})
			sp := bigip("/Common/flap", sec(1), tc.timeout)
			sp.TimeUntilUp = tc.timeUntilUp
			h.update(check1(sp))
			h.run(sec(60))
			changes := h.takeChanges()
			if len(changes) != tc.want {
				t.Errorf("%d transitions, want %d: %s", len(changes), tc.want, fmtChanges(changes))
			}
		})
	}
}
