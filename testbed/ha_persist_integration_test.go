package testbed

import (
	"strings"
	"testing"
	"time"
)

// upHA brings the ha topology up (topo/builtin/ha): lbx1 and lbx2, the
// client and two servers.
func upHA(t *testing.T) *Testbed {
	t.Helper()
	return upTopology(t, "ha")
}

// haPair drives the ha topology's units by tmsh.
type haPair struct {
	t  *testing.T
	tb *Testbed
}

func (p haPair) exec(unit, cmd string) (string, error) {
	c, err := p.tb.ClientOf(unit)
	if err != nil {
		return "", err
	}
	c.Timeout = 3 * time.Second
	return c.Exec(cmd)
}

func (p haPair) must(unit, cmd string) string {
	p.t.Helper()
	out, err := p.exec(unit, cmd)
	if err != nil {
		p.t.Fatalf("%s: %s: %v\n%s", unit, cmd, err, out)
	}
	return out
}

func (p haPair) state(unit string) string {
	out, err := p.exec(unit, "show cm failover-status")
	if err != nil {
		return "unreachable: " + err.Error()
	}
	return out
}

func (p haPair) is(unit, state string) bool {
	return strings.Contains(p.state(unit), "Status           "+state)
}

func (p haPair) waitUntil(what string, limit time.Duration, cond func() bool) time.Duration {
	p.t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			var b strings.Builder
			for _, u := range []string{"lbx1", "lbx2"} {
				rec, _ := p.exec(u, "show ltm persistence persist-records")
				b.WriteString(u + ":\n" + p.state(u) + rec)
			}
			p.t.Fatalf("%s: not within %v\n%s", what, limit, b.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// servedBy is the server that answers the client's request through the
// VIP; "" when none does.
func (p haPair) servedBy() string {
	c, err := p.tb.Command("client", "curl", "-sS", "--max-time", "2", "http://"+p.tb.Topo.VIP.String()+"/")
	if err != nil {
		return ""
	}
	out, err := c.Output()
	if err != nil {
		return ""
	}
	return ServerName(string(out))
}

// The ha topology's servers, by the name they answer with.
var haServerAddr = map[string]string{"server1": "198.18.2.11", "server2": "198.18.2.12"}

// Persistence records are mirrored: the client, persisted by source
// address to a member through the active unit, keeps that member after
// `run sys failover standby` and after kill -9 of the active unit. Before
// each failover the standby is checked to hold the client's record naming
// that member (it came over the mirroring stream: a standby forwards
// nothing, so it makes no record of its own; the record a unit kept from
// its own active time is deleted first), and after it ten requests
// through the new active unit all reach that member.
func TestIntegrationHAPersistMirror(t *testing.T) {
	tb := upHA(t)
	p := haPair{t: t, tb: tb}
	p.waitUntil("lbx1 active, lbx2 standby behind it", 30*time.Second, func() bool {
		return p.is("lbx1", "ACTIVE") && p.is("lbx2", "STANDBY") && strings.Contains(p.state("lbx2"), "Active Peer")
	})
	// The device trust that authenticates the mirroring stream.
	p.must("lbx1", "modify cm trust-domain Root ca-devices add { 127.0.0.2 } name lbx2 username admin password "+tb.State.Password)
	p.waitUntil("lbx1 streaming to lbx2", 10*time.Second, func() bool { return strings.Contains(p.state("lbx1"), "Streaming        yes") })

	// One request before persistence: lbx1's round robin moves on, so
	// the client is likely persisted to the member a standby's first pick
	// is not (the check does not rely on it: it reads the record).
	p.waitUntil("a first request answered", 10*time.Second, func() bool { return p.servedBy() != "" })
	for _, u := range []string{"lbx1", "lbx2"} {
		p.must(u, "modify ltm virtual vs_web persist replace-all-with { source_addr }")
	}
	member := ""
	for i := range 6 {
		got := p.servedBy()
		if got == "" || member != "" && got != member {
			t.Fatalf("request %d through lbx1 with source-address persistence: served by %q, earlier %q", i+1, got, member)
		}
		member = got
	}
	t.Logf("the client is persisted to %s (%s) on lbx1", member, haServerAddr[member])

	// standbyHolds waits for unit's persistence table to hold the
	// client's record naming member.
	standbyHolds := func(unit string) {
		t.Helper()
		took := p.waitUntil(unit+" holds the client's mirrored persistence record", 10*time.Second, func() bool {
			out, err := p.exec(unit, "show ltm persistence persist-records client-addr 198.18.1.10")
			return err == nil && strings.Contains(out, "source-address") && strings.Contains(out, haServerAddr[member]+":80")
		})
		t.Logf("%s holds the record after %v", unit, took.Round(time.Millisecond))
	}
	// keeps checks the client reaches member through unit, ten times.
	keeps := func(unit, how string) {
		t.Helper()
		p.waitUntil(unit+" active after "+how, 10*time.Second, func() bool { return p.is(unit, "ACTIVE") })
		first := ""
		p.waitUntil("a request answered through "+unit, 10*time.Second, func() bool { first = p.servedBy(); return first != "" })
		seen := map[string]int{first: 1}
		for range 9 {
			seen[p.servedBy()]++
		}
		if seen[member] != 10 {
			t.Fatalf("after %s, through %s: served by %v, want %s all ten times", how, unit, seen, member)
		}
		t.Logf("after %s: 10 of 10 requests through %s reached %s", how, unit, member)
	}

	standbyHolds("lbx2")
	p.must("lbx1", "run sys failover standby")
	keeps("lbx2", "run sys failover standby on lbx1")

	// lbx1 back as standby; lbx2 streams to it; kill -9 of lbx2. lbx1
	// still has the record it made while active: it is deleted, so the
	// one lbx1 holds at the failover is the one lbx2 mirrored.
	p.must("lbx1", "run sys failover online")
	p.waitUntil("lbx1 standby, lbx2 streaming to it", 10*time.Second, func() bool {
		return p.is("lbx1", "STANDBY") && strings.Contains(p.state("lbx2"), "Streaming        yes")
	})
	if out := p.must("lbx1", "delete ltm persistence persist-records client-addr 198.18.1.10"); !strings.Contains(out, "Deleted 1 persistence records") {
		t.Fatalf("lbx1: deleting its own record: %q", out)
	}
	standbyHolds("lbx1")
	if err := tb.CrashApplianceNamed("lbx2"); err != nil {
		t.Fatal(err)
	}
	keeps("lbx1", "kill -9 of lbx2")
}
