package ctrlplane

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

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
	checks, err := monitorChecks(c)
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
	clk := monitors.NewManualClock(time.Unix(1000, 0))
	fake := monitors.NewFakeProber(clk)
	member := monitors.Target{Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
	fake.Set("/Common/tcp", member, monitors.FakeOutcome{Verdict: monitors.Success})
	s, table := newTestStore(t, "")
	mon := NewMonitoring(monitors.Config{Prober: fake, Clock: clk}, table, func() int64 { return clk.Now().UnixNano() })
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
