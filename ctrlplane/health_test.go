package ctrlplane

import (
	"context"
	"errors"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"lbx/ctrlplane/alteon"
	"lbx/ctrlplane/ctrltest"
	"lbx/ctrlplane/health"
	"lbx/internal/clock"
	"lbx/monitors"
	"lbx/pools"
)

// The send string reaches the probe exactly as the lexer unescaped it (no
// second pass), and the destination overrides the member's port.
func TestMonitorSpecFromConfig(t *testing.T) {
	c := mustParse(t, `ltm monitor http hm { defaults-from http interval 2 timeout 7 send "GET / HTTP/1.0\r\n\\r\n" recv "200 OK" destination *:8001 }
ltm monitor tcp legacy { defaults-from tcp close-check legacy }
ltm pool p { monitor min 1 of { hm legacy } members { 10.0.0.1:80 } }`)
	c.ApplyDefaults()
	checks, err := health.Checks(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != 1 || checks[0].Key != "/Common/p /Common/10.0.0.1:80" || checks[0].Rule.Min != 1 || len(checks[0].Rule.Specs) != 2 {
		t.Fatalf("checks = %+v", checks)
	}
	hm, legacy := checks[0].Rule.Specs[0], checks[0].Rule.Specs[1]
	if hm.Send != "GET / HTTP/1.0\r\n\\r\n" {
		t.Errorf("send = %q, want the lexer's unescaping only", hm.Send)
	}
	if hm.Interval != 2*time.Second || hm.Timeout != 7*time.Second || hm.Recv == nil || hm.Recv.String() != "200 OK" {
		t.Errorf("spec = %+v", hm)
	}
	if got := hm.Resolve(checks[0].Target); got != (monitors.Target{Addr: netip.MustParseAddr("10.0.0.1"), Port: 8001}) {
		t.Errorf("destination resolves to %v, want 10.0.0.1:8001", got)
	}
	if legacy.CloseCheck != monitors.CloseLegacy || hm.CloseCheck != monitors.CloseLenient {
		t.Errorf("close checks = %v, %v", legacy.CloseCheck, hm.CloseCheck)
	}
}

// A member a monitor starts checking is not available until the verdict,
// the verdict reaches its Health, and dropping the monitor releases it.
func TestMonitoringDrivesMemberHealth(t *testing.T) {
	clk := clock.NewManual(time.Unix(1000, 0))
	fake := monitors.NewFakeProber(clk)
	member := monitors.Target{Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
	fake.Set("/Common/tcp", member, monitors.FakeOutcome{Verdict: monitors.Success})
	s, table := newTestStore(t, "")
	mon := health.NewMonitoring(monitors.Config{Prober: fake, Clock: clk}, table, func() int64 { return clk.Now().UnixNano() })
	defer mon.Close()
	s.AttachMonitoring(mon)
	if err := s.LoadText("ltm pool web { monitor tcp members { 10.0.0.1:80 10.0.0.2:80 } }\nltm virtual vs { destination 198.18.1.100:80 pool web }"); err != nil {
		t.Fatal(err)
	}
	h := table.MemberHealth("/Common/web", "/Common/10.0.0.1:80")
	if st := h.State(); st != pools.HealthChecking {
		t.Fatalf("before any probe: %v, want checking", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	clk.AdvanceSettled(6*time.Second, func() { mon.Scheduler().WaitIdle(ctx) })
	if st := h.State(); st != pools.HealthUp {
		t.Fatalf("after a successful probe: %v, want up", st)
	}
	// 10.0.0.2 never answers (the fake fails unknown targets): down at timeout.
	clk.AdvanceSettled(16*time.Second, func() { mon.Scheduler().WaitIdle(ctx) })
	if st := table.MemberHealth("/Common/web", "/Common/10.0.0.2:80").State(); st != pools.HealthDown {
		t.Fatalf("silent member after timeout: %v, want down", st)
	}
	out, err := s.Exec("show ltm pool web members")
	if err != nil {
		t.Fatal(err)
	}
	if memberCol(out, "/Common/10.0.0.1:80") != "up" || memberCol(out, "/Common/10.0.0.2:80") != "down" {
		t.Errorf("show ltm pool:\n%s", out)
	}
	if _, err := s.Exec("modify ltm pool web monitor none"); err != nil {
		t.Fatal(err)
	}
	if st := h.State(); st != pools.HealthUnchecked {
		t.Errorf("after the monitor is removed: %v, want unchecked", st)
	}
}

func memberCol(out, member string) string {
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == member {
			return f[2]
		}
	}
	return ""
}

// healthRig is a Store with a monitor engine on a clock.Manual and a
// FakeProber.
type healthRig struct {
	t    *testing.T
	clk  *clock.Manual
	fake *monitors.FakeProber
	s    *testStack
	dp   *ctrltest.Dataplane
	mon  *health.Monitoring
}

func newHealthRig(t *testing.T) *healthRig {
	t.Helper()
	r := &healthRig{t: t, clk: clock.NewManual(time.Unix(1000, 0))}
	r.fake = monitors.NewFakeProber(r.clk)
	r.s, r.dp = newTestStore(t, "")
	r.mon = health.NewMonitoring(monitors.Config{Prober: r.fake, Clock: r.clk}, r.dp, func() int64 { return r.clk.Now().UnixNano() })
	t.Cleanup(func() { r.mon.Close() })
	r.s.AttachMonitoring(r.mon)
	return r
}

func (r *healthRig) exec(cmds ...string) {
	r.t.Helper()
	for _, c := range cmds {
		if _, err := r.s.Exec(c); err != nil {
			r.t.Fatalf("%s: %v", c, err)
		}
	}
}

// run advances the clock by d, letting every probe it triggers complete.
func (r *healthRig) run(d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.clk.AdvanceSettled(d, func() { r.mon.Scheduler().WaitIdle(ctx) })
}

func (r *healthRig) set(monitor, target string, v monitors.Verdict, reason string) {
	ap := netip.MustParseAddrPort(target)
	r.fake.Set(monitor, monitors.Target{Addr: ap.Addr(), Port: ap.Port()}, monitors.FakeOutcome{Verdict: v, Reason: reason})
}

func (r *healthRig) setAddr(monitor, addr string, v monitors.Verdict) {
	r.fake.Set(monitor, monitors.Target{Addr: netip.MustParseAddr(addr)}, monitors.FakeOutcome{Verdict: v})
}

// want checks members' Health and their status and reason in show ltm pool.
func (r *healthRig) want(pool string, members map[string]pools.HealthState) {
	r.t.Helper()
	out, err := r.s.Exec("show ltm pool " + pool + " members")
	if err != nil {
		r.t.Fatal(err)
	}
	for m, want := range members {
		if got := r.dp.MemberHealth("/Common/"+pool, "/Common/"+m).State(); got != want {
			r.t.Errorf("at +%s: %s %s health %v, want %v\n%s", r.clk.Now().Sub(time.Unix(1000, 0)), pool, m, got, want, out)
		}
		word := want.String()
		if want == pools.HealthUnchecked {
			word = "unknown"
		}
		if got := memberCol(out, "/Common/"+m); got != word {
			r.t.Errorf("show ltm pool %s: member %s is %q, want %q\n%s", pool, m, got, word, out)
		}
	}
}

func (r *healthRig) calls(monitor string, t monitors.Target) int {
	n := 0
	for _, c := range r.fake.Calls() {
		if c.Monitor == monitor && c.Target == t {
			n++
		}
	}
	return n
}

// A node monitor applies to every member on the node, in every pool, and
// is probed once per node; a member is available only when its pool's and
// its node's monitors both pass, and the node's failure is the reason.
func TestNodeMonitorTakesItsMembersDown(t *testing.T) {
	r := newHealthRig(t)
	r.set("/Common/tcp", "10.0.0.1:80", monitors.Success, "")
	r.set("/Common/tcp", "10.0.0.2:80", monitors.Success, "")
	r.set("/Common/svc81", "10.0.0.1:81", monitors.Failure, "connection refused (RST to SYN)")
	r.exec(
		"create ltm monitor tcp svc81 defaults-from tcp interval 1 timeout 3 destination *:81",
		"create ltm pool web monitor tcp members add { 10.0.0.1:80 10.0.0.2:80 }",
		"create ltm pool plain members add { 10.0.0.1:8080 10.0.0.2:8080 }",
		"create ltm virtual vs destination 198.18.1.100:80 pool web",
		"create ltm virtual vs2 destination 198.18.1.100:81 pool plain",
		"modify ltm node 10.0.0.1 monitor svc81",
	)
	// Checking until the node's verdict, even where the pool's has come.
	r.want("web", map[string]pools.HealthState{"10.0.0.1:80": pools.HealthChecking, "10.0.0.2:80": pools.HealthChecking})
	r.want("plain", map[string]pools.HealthState{"10.0.0.1:8080": pools.HealthChecking, "10.0.0.2:8080": pools.HealthUnchecked})
	r.run(6 * time.Second)
	r.want("web", map[string]pools.HealthState{"10.0.0.1:80": pools.HealthDown, "10.0.0.2:80": pools.HealthUp})
	r.want("plain", map[string]pools.HealthState{"10.0.0.1:8080": pools.HealthDown, "10.0.0.2:8080": pools.HealthUnchecked})
	st, ok := r.mon.MemberStatus("/Common/web", "/Common/10.0.0.1:80")
	if !ok || !strings.HasPrefix(st.Reason, "node monitor down: /Common/svc81: no successful probe within 3s") {
		t.Errorf("reason %q (%v), want the node monitor's", st.Reason, ok)
	}
	if len(st.Monitors) != 2 || st.Monitors[0].Name != "/Common/tcp" || st.Monitors[0].State != monitors.Up || st.Monitors[1].Name != "/Common/svc81" {
		t.Errorf("monitors %+v, want the pool's tcp up, then the node's svc81", st.Monitors)
	}
	// One probe a second for the node, not one per member.
	if n := r.calls("/Common/svc81", monitors.Target{Addr: netip.MustParseAddr("10.0.0.1"), Port: 81}); n < 5 || n > 7 {
		t.Errorf("%d node probes in 6s at interval 1, want 5-7 (one per node)", n)
	}
	show, err := r.s.Exec("show ltm node 10.0.0.1")
	if err != nil || !regexp.MustCompile(`Availability\s+: offline`).MatchString(show) || !strings.Contains(show, "svc81") {
		t.Errorf("show ltm node: %v\n%s", err, show)
	}
	mon, err := r.s.Exec("show ltm monitor tcp svc81")
	if err != nil || !regexp.MustCompile(`node /Common/10\.0\.0\.1\s+10\.0\.0\.1\s+down`).MatchString(mon) {
		t.Errorf("show ltm monitor: %v\n%s", err, mon)
	}

	// The node recovers: its members come back.
	r.set("/Common/svc81", "10.0.0.1:81", monitors.Success, "")
	r.run(2 * time.Second)
	r.want("web", map[string]pools.HealthState{"10.0.0.1:80": pools.HealthUp})
	r.want("plain", map[string]pools.HealthState{"10.0.0.1:8080": pools.HealthUp})
	if st, _ := r.mon.MemberStatus("/Common/plain", "/Common/10.0.0.1:8080"); st.Transitions != 2 || !strings.HasPrefix(st.Reason, "node monitor up: ") {
		t.Errorf("node-only member: %d transitions, reason %q; want 2 (checking, down, up) and the node's", st.Transitions, st.Reason)
	}
	trace, err := r.s.Exec("show ltm monitor-trace plain 10.0.0.1:8080")
	if err != nil || !strings.Contains(trace, "/Common/svc81") || !regexp.MustCompile(`Transitions\s+: 2\n`).MatchString(trace) {
		t.Errorf("monitor-trace of a node-monitored member: %v\n%s", err, trace)
	}

	// Without the node monitor the pool's alone decides, and the member
	// of the unmonitored pool is released.
	r.set("/Common/svc81", "10.0.0.1:81", monitors.Failure, "refused")
	r.run(5 * time.Second)
	r.want("web", map[string]pools.HealthState{"10.0.0.1:80": pools.HealthDown})
	r.exec("modify ltm node 10.0.0.1 monitor none")
	r.want("web", map[string]pools.HealthState{"10.0.0.1:80": pools.HealthUp, "10.0.0.2:80": pools.HealthUp})
	r.want("plain", map[string]pools.HealthState{"10.0.0.1:8080": pools.HealthUnchecked})
	if _, ok := r.mon.MemberStatus("/Common/plain", "/Common/10.0.0.1:8080"); ok {
		t.Error("member without pool or node monitor still has a monitor status")
	}
}

// An icmp node monitor makes the members of an unmonitored pool follow the
// node; a member added later on the node takes the node's verdict at once.
func TestNodeMonitorICMP(t *testing.T) {
	r := newHealthRig(t)
	r.setAddr("/Common/icmp", "10.0.0.1", monitors.Success)
	r.exec(
		"create ltm pool web members add { 10.0.0.1:80 10.0.0.1:443 }",
		"create ltm virtual vs destination 198.18.1.100:80 pool web",
		"modify ltm node 10.0.0.1 monitor icmp",
	)
	r.run(6 * time.Second)
	r.want("web", map[string]pools.HealthState{"10.0.0.1:80": pools.HealthUp, "10.0.0.1:443": pools.HealthUp})
	show, _ := r.s.Exec("show ltm node 10.0.0.1")
	if !regexp.MustCompile(`Availability\s+: available`).MatchString(show) {
		t.Errorf("show ltm node:\n%s", show)
	}
	// A second pool on the same node: its member takes the node's verdict
	// at once, and the node's check goes on (a restart would start it
	// anew, in checking).
	before, _ := r.mon.NodeStatus("/Common/10.0.0.1")
	r.exec("create ltm pool more members add { 10.0.0.1:8080 }")
	r.want("more", map[string]pools.HealthState{"10.0.0.1:8080": pools.HealthUp})
	if after, _ := r.mon.NodeStatus("/Common/10.0.0.1"); after.State != monitors.Up || !after.Since.Equal(before.Since) {
		t.Errorf("node check restarted by an unrelated apply: %v since %v, was up since %v", after.State, after.Since, before.Since)
	}
}

// BIG-IP refuses a service monitor without a port on a node; the apply
// fails and changes nothing.
func TestNodeMonitorNeedsAPort(t *testing.T) {
	r := newHealthRig(t)
	r.exec("create ltm pool web members add { 10.0.0.1:80 }")
	_, err := r.s.Exec("modify ltm node 10.0.0.1 monitor tcp")
	if err == nil || !strings.Contains(err.Error(), "ltm node /Common/10.0.0.1: monitor /Common/tcp: the monitor has a wildcard destination service") {
		t.Fatalf("err = %v", err)
	}
	if got := r.s.Running().Nodes["/Common/10.0.0.1"].Monitor.Names; len(got) != 0 {
		t.Errorf("running node monitor %v after a refused apply", got)
	}
	r.want("web", map[string]pools.HealthState{"10.0.0.1:80": pools.HealthUnchecked})
}

// Transitions counts each change of a member's combined state, in order,
// also when several arrive faster than anyone reads them.
func TestMemberTransitionsCounted(t *testing.T) {
	r := newHealthRig(t)
	r.exec(
		"create ltm monitor tcp t1 defaults-from tcp interval 1 timeout 2",
		"create ltm pool web monitor t1 members add { 10.0.0.1:80 }",
	)
	up := func(ok bool) {
		v := monitors.Failure
		if ok {
			v = monitors.Success
		}
		r.set("/Common/t1", "10.0.0.1:80", v, "")
	}
	// Up, down (2s without success), up, down: four transitions.
	for _, ok := range []bool{true, false, true, false} {
		up(ok)
		r.run(3 * time.Second)
	}
	st, _ := r.mon.MemberStatus("/Common/web", "/Common/10.0.0.1:80")
	if st.Transitions != 4 || st.State != monitors.Down {
		t.Errorf("member: %d transitions (%v); want 4, down", st.Transitions, st.State)
	}
}

// An apply the dataplane refuses after monitors were prepared leaves the
// members' health as it was: a member that was available stays available.
func TestFailedInstallRestoresMemberHealth(t *testing.T) {
	clk := clock.NewManual(time.Unix(1000, 0))
	s, dp := newTestStore(t, "ltm pool web { members { 10.0.0.1:80 } }\nltm virtual vs { destination 198.18.1.100:80 pool web }")
	mon := health.NewMonitoring(monitors.Config{Prober: monitors.NewFakeProber(clk), Clock: clk}, dp, func() int64 { return clk.Now().UnixNano() })
	defer mon.Close()
	s.AttachMonitoring(mon)
	h := dp.MemberHealth("/Common/web", "/Common/10.0.0.1:80")
	if st := h.State(); st != pools.HealthUnchecked {
		t.Fatalf("unmonitored member: %v", st)
	}
	dp.SetFail(errors.New("refused"))
	if _, err := s.Exec("modify ltm pool web monitor tcp"); err == nil {
		t.Fatal("the refused apply succeeded")
	}
	if st := h.State(); st != pools.HealthUnchecked {
		t.Fatalf("after a refused apply: %v, want unchecked (available) as before", st)
	}
}

// Services sharing a group share their rport; a group on port 0 is checked
// on its service's port.
func TestAlteonSharedGroupAndHealthPort(t *testing.T) {
	r := newHealthRig(t)
	ss := r.s.alt.NewSession()
	altExec(t, ss, `/c/slb/real 1/ena/rip 198.18.2.11
/c/slb/advhc/health t TCP/inter 1/timeout 1/retry 2/restr 1
/c/slb/group 1/add 1/health t
/c/slb/virt 1/ena/vip 198.18.1.100/service 80/group 1
/c/slb/virt 1/service 8080/group 1
apply`)
	if _, err := ss.Exec("/c/slb/virt 1/service 8080/rport 81"); err == nil || !strings.Contains(err.Error(), "also used by virt 1 service 80") {
		t.Errorf("rport on a shared group: %v", err)
	}
	r.set("/Common/t", "198.18.2.11:80", monitors.Failure, "connection refused")
	r.run(3 * time.Second)
	r.want("1", map[string]pools.HealthState{"1:0": pools.HealthDown})
	out := altExec(t, ss, "/i/slb/group 1")
	if !strings.Contains(out, "real 1: 198.18.2.11, down, ") || !strings.Contains(out, "connection refused") {
		t.Errorf("/i/slb/group 1:\n%s", out)
	}
	if n := r.calls("/Common/t", monitors.Target{Addr: netip.MustParseAddr("198.18.2.11"), Port: 80}); n < 2 {
		t.Errorf("%d probes on the service port 80", n)
	}
}

func altExec(t *testing.T, ss *alteon.Session, text string) string {
	t.Helper()
	out, err := ss.Exec(text)
	if err != nil {
		t.Fatalf("Alteon Exec(%q): %v\n%s", text, err, out)
	}
	return out
}
