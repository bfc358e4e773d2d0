package testbed

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"lbx/ctrlplane/ctlsock"
)

// memberTransitions reads a member's transition count from
// show ltm monitor-trace.
func memberTransitions(t *testing.T, app *ctlsock.Client, pool, member string) int {
	t.Helper()
	out, err := app.Exec("show ltm monitor-trace " + pool + " " + member)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*Transitions\s*: (\d+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("monitor-trace %s %s has no transition count:\n%s", pool, member, out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// memberLine returns the member's line of show ltm pool NAME members.
func memberLine(t *testing.T, app *ctlsock.Client, pool, member string) string {
	t.Helper()
	out, err := app.Exec("show ltm pool " + pool + " members")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == member {
			return l
		}
	}
	t.Fatalf("show ltm pool %s has no member %s:\n%s", pool, member, out)
	return ""
}

// loggedTransitions counts the appliance's log lines of a member's
// transitions.
func loggedTransitions(t *testing.T, tb *Testbed, pool, member string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(tb.opts.StateDir, "appliance.log"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for l := range strings.Lines(string(b)) {
		if strings.Contains(l, `msg="pool member health changed"`) && strings.Contains(l, " pool="+pool+" ") &&
			strings.Contains(l, " member="+member+" ") {
			n++
		}
	}
	return n
}

// phasesMeeting is the most phases of length d, one every period, that
// can overlap a window of length w: a phase starting at s meets [a, a+w]
// when s lies in (a-d, a+w], an interval of length w+d.
func phasesMeeting(w, d, period time.Duration) int {
	return int(math.Ceil(float64(w+d) / float64(period)))
}

// A flapping server (port 84: open 3s, refusing 3s) makes no more
// transitions than the monitor's rise and fall settings allow.
//
// Member A (server1:84), tcp interval 1 timeout 2 time-until-up 1:
//   - it comes up only after 1s of uninterrupted successes, and successes
//     come only from open phases, so an up happens inside an open phase;
//     and at most one per open phase, since a down in between would need
//     2s (timeout) without a success while an open phase answers every 1s
//     (interval);
//   - it goes down 2s after its last success, which is less than the 3s
//     closed phase, so a down happens inside a closed phase; at most one
//     per closed phase, since the next down needs an up first.
//
// Over a window of length W, A makes at most phasesMeeting(W, 3s, 6s)
// ups plus as many downs: 8 for 20s. Typically it makes two per cycle,
// 6 or 7. The phases of the emulator are never shorter than 3s (timers do
// not fire early), which only lowers the count.
//
// Member B (server2:84), tcp interval 1 timeout 5: the longest time
// between two successes is the closed phase plus one interval, 4s plus
// the probe's own latency, less than the 5s timeout: once up it never
// goes down, 0 transitions allowed.
//
// The count is the appliance's own (show ltm monitor-trace), checked
// against the transitions it logged.
func TestIntegrationMonitorFlapTransitions(t *testing.T) {
	const (
		window           = 20 * time.Second
		flapUp, flapDown = 3 * time.Second, 3 * time.Second // topology.go, port 84
		period           = flapUp + flapDown
	)
	tb := upTestbed(t)
	app := tb.Client()
	const memberA, memberB = "/Common/198.18.2.11:84", "/Common/198.18.2.12:84"
	execAll(t, app,
		"create ltm monitor tcp flap_fast defaults-from tcp interval 1 timeout 2 time-until-up 1",
		"create ltm monitor tcp flap_slow defaults-from tcp interval 1 timeout 5",
		"create ltm pool flap_a monitor flap_fast members add { 198.18.2.11:84 }",
		"create ltm pool flap_b monitor flap_slow members add { 198.18.2.12:84 }",
	)
	// The first up needs an open phase with room for two probes (the
	// time-until-up streak): within two flap periods.
	waitMember(t, app, "flap_a", memberA, "up", 2*period)
	waitMember(t, app, "flap_b", memberB, "up", period+2*time.Second)

	start := time.Now()
	a0 := memberTransitions(t, app, "flap_a", memberA)
	b0 := memberTransitions(t, app, "flap_b", memberB)
	timer := time.NewTimer(window)
	select {
	case <-timer.C:
	case <-t.Context().Done():
		timer.Stop()
		t.Fatal(t.Context().Err())
	}
	a1 := memberTransitions(t, app, "flap_a", memberA)
	b1 := memberTransitions(t, app, "flap_b", memberB)
	w := time.Since(start)

	bound := phasesMeeting(w, flapUp, period) + phasesMeeting(w, flapDown, period)
	t.Logf("flap_a (interval 1, timeout 2, time-until-up 1): %d transitions in %s (allowed %d); flap_b (interval 1, timeout 5): %d",
		a1-a0, w.Round(time.Millisecond), bound, b1-b0)
	if n := a1 - a0; n <= 0 || n > bound {
		t.Errorf("flap_a made %d transitions in %s; want 1..%d", n, w.Round(time.Millisecond), bound)
	}
	if n := b1 - b0; n != 0 {
		t.Errorf("flap_b made %d transitions in %s after its first up; want 0 (timeout 5s > closed 3s + interval 1s)", n, w.Round(time.Millisecond))
	}
	if l := memberLine(t, app, "flap_b", memberB); strings.Fields(l)[2] != "up" {
		t.Errorf("flap_b member not up: %s", l)
	}
	// Every counted transition was logged, and only those (the count read
	// before and after the log brackets it).
	for _, m := range []struct{ pool, member string }{{"/Common/flap_a", memberA}, {"/Common/flap_b", memberB}} {
		before := memberTransitions(t, app, m.pool, m.member)
		logged := loggedTransitions(t, tb, m.pool, m.member)
		after := memberTransitions(t, app, m.pool, m.member)
		if logged < before || logged > after {
			t.Errorf("%s %s: %d transitions logged, count %d..%d", m.pool, m.member, logged, before, after)
		}
	}
}

// The udp monitor: the servers' echo on port 7 answers (up, and the recv
// string sees the echo); a port nothing listens on is down, and so is the
// blackhole that never answers.
func TestIntegrationMonitorUDP(t *testing.T) {
	tb := upTestbed(t)
	app := tb.Client()
	execAll(t, app,
		`create ltm monitor udp echo7 defaults-from udp interval 1 timeout 3 send "lbx-probe" recv "^server[1-3] lbx-probe$"`,
		"create ltm pool udp_mon monitor echo7 members add { 198.18.2.11:7 198.18.2.12:81 198.18.2.13:82 }",
	)
	took := waitMember(t, app, "udp_mon", "/Common/198.18.2.11:7", "up", 5*time.Second)
	t.Logf("udp echo member up after %s", took.Round(time.Millisecond))
	// Down at start + timeout (3s), plus the first probe's stagger.
	waitMember(t, app, "udp_mon", "/Common/198.18.2.12:81", "down", 3*time.Second+2*time.Second)
	waitMember(t, app, "udp_mon", "/Common/198.18.2.13:82", "down", 3*time.Second+2*time.Second)
	for member, want := range map[string]string{
		"198.18.2.12:81": "port unreachable", // ICMP from the server's kernel
		"198.18.2.13:82": "no answer",
	} {
		trace, err := app.Exec("show ltm monitor-trace udp_mon " + member)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(trace, want) {
			t.Errorf("%s: trace lacks %q:\n%s", member, want, trace)
		}
	}
	// The recv string decides: a reply that does not match is down.
	execAll(t, app, `modify ltm monitor udp echo7 recv "^server9 "`)
	waitMember(t, app, "udp_mon", "/Common/198.18.2.11:7", "down", 3*time.Second+2*time.Second)
	if l := memberLine(t, app, "udp_mon", "/Common/198.18.2.11:7"); !strings.Contains(l, "recv mismatch") {
		t.Errorf("member line lacks the reason: %s", l)
	}
}

// The https monitor: the servers' TLS port (443, self-signed) is up with
// the recv string matched inside TLS; plain HTTP on 80 fails the TLS
// handshake. A virtual on 443 then carries TLS from the client to the up
// members only.
func TestIntegrationMonitorHTTPS(t *testing.T) {
	tb := upTestbed(t)
	app := tb.Client()
	execAll(t, app,
		`create ltm monitor https tls_check defaults-from https interval 1 timeout 3 send "GET / HTTP/1.0\r\n\r\n" recv "server=server[1-3] "`,
		"create ltm pool tls_pool monitor tls_check slow-ramp-time 0 members add { 198.18.2.11:443 198.18.2.12:443 198.18.2.13:80 }",
		"create ltm virtual vs_tls destination 198.18.1.100:443 ip-protocol tcp pool tls_pool source-address-translation { type automap }",
	)
	for _, m := range []string{"/Common/198.18.2.11:443", "/Common/198.18.2.12:443"} {
		took := waitMember(t, app, "tls_pool", m, "up", 5*time.Second)
		t.Logf("%s up after %s", m, took.Round(time.Millisecond))
	}
	waitMember(t, app, "tls_pool", "/Common/198.18.2.13:80", "down", 3*time.Second+2*time.Second)
	trace, err := app.Exec("show ltm monitor-trace tls_pool 198.18.2.13:80")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(trace, "TLS handshake") {
		t.Errorf("plain HTTP member: trace lacks the TLS handshake failure:\n%s", trace)
	}
	seen := map[string]int{}
	for range 6 {
		out := curl(t, tb, "-k", "https://198.18.1.100/")
		seen[ServerName(out)]++
	}
	if seen["server1"] == 0 || seen["server2"] == 0 || seen["server1"]+seen["server2"] != 6 {
		t.Errorf("https through vs_tls should reach server1 and server2 only: %v", seen)
	}
}

// The external monitor runs the script with the member's address and port
// as its first two arguments (then the monitor's args), and its exit
// decides: the script passes port 80 and fails anything else.
func TestIntegrationMonitorExternal(t *testing.T) {
	dir := t.TempDir() // before the testbed, so it outlives the appliance's last probe
	log := filepath.Join(dir, "calls.log")
	script := filepath.Join(dir, "check_port80.sh")
	// Written as for BIG-IP, which passes the address IPv4-mapped: strip
	// "::ffff:" and use the plain address.
	body := fmt.Sprintf(`#!/bin/sh
ip=$(echo "$1" | sed 's/::ffff://')
echo "argc=$# ip=$ip port=$2 rest=$3,$4 env=$NODE_IP:$NODE_PORT" >> %s
if [ "$2" = 80 ]; then
	echo "UP $ip:$2"
	exit 0
fi
echo "port $2 is not served" >&2
exit 1
`, log)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	tb := upTestbed(t)
	app := tb.Client()
	execAll(t, app,
		fmt.Sprintf(`create ltm monitor external port80 defaults-from external interval 1 timeout 3 run "%s" args "--mode strict"`, script),
		"create ltm pool ext_pool monitor port80 members add { 198.18.2.11:80 198.18.2.12:81 }",
	)
	waitMember(t, app, "ext_pool", "/Common/198.18.2.11:80", "up", 5*time.Second)
	waitMember(t, app, "ext_pool", "/Common/198.18.2.12:81", "down", 3*time.Second+2*time.Second)
	if l := memberLine(t, app, "ext_pool", "/Common/198.18.2.12:81"); !strings.Contains(l, "exit status 1: port 81 is not served") {
		t.Errorf("down member's reason: %s", l)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	calls := string(b)
	for _, want := range []string{
		"argc=4 ip=198.18.2.11 port=80 rest=--mode,strict env=",
		"argc=4 ip=198.18.2.12 port=81 rest=--mode,strict env=",
	} {
		if !strings.Contains(calls, want) {
			t.Errorf("the script was never called as %q:\n%s", want, calls)
		}
	}
	// NODE_IP and NODE_PORT name the member too.
	for l := range strings.Lines(calls) {
		ip, port := fieldOf(l, "ip="), fieldOf(l, "port=")
		if env := fieldOf(l, "env="); env != ip+":"+port && env != "::ffff:"+ip+":"+port {
			t.Errorf("environment %q does not match the arguments in %q", env, l)
		}
	}
}

func fieldOf(line, prefix string) string {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, prefix); ok {
			return v
		}
	}
	return ""
}

// Node monitors: an icmp node monitor on a server that answers keeps its
// members up; a tcp node monitor on the dead port 81 takes every member on
// that node down, in a pool with its own monitor and in one without, and
// traffic avoids it; a node monitor that passes again brings them back.
func TestIntegrationMonitorNode(t *testing.T) {
	tb := upTestbed(t)
	app := tb.Client()
	execAll(t, app,
		"create ltm monitor icmp ping1 defaults-from icmp interval 1 timeout 3",
		"create ltm monitor tcp dead81 defaults-from tcp interval 1 timeout 3 destination *:81",
		"create ltm monitor tcp web_tcp defaults-from tcp interval 1 timeout 3",
		"modify ltm pool web_pool monitor web_tcp slow-ramp-time 0",
		"modify ltm node 198.18.2.11 monitor ping1",
		"modify ltm node 198.18.2.12 monitor dead81",
	)
	applied := time.Now()
	// web_pool has its own monitor, udp_pool none: server1's members follow
	// ping1 (and web_tcp), server2's go down with dead81, server3's follow
	// web_tcp alone or are unmonitored.
	for _, m := range []string{"/Common/198.18.2.11:80", "/Common/198.18.2.13:80"} {
		waitMember(t, app, "web_pool", m, "up", 5*time.Second)
	}
	waitMember(t, app, "udp_pool", "/Common/198.18.2.11:7", "up", 5*time.Second)
	waitMember(t, app, "web_pool", "/Common/198.18.2.12:80", "down", 3*time.Second+2*time.Second)
	t.Logf("node monitor on dead port 81: server2's members down %s after the apply (timeout 3s)", time.Since(applied).Round(time.Millisecond))
	waitMember(t, app, "udp_pool", "/Common/198.18.2.12:7", "down", time.Second)
	for _, m := range []struct{ pool, member string }{{"web_pool", "/Common/198.18.2.12:80"}, {"udp_pool", "/Common/198.18.2.12:7"}} {
		if l := memberLine(t, app, m.pool, m.member); !strings.Contains(l, "node monitor down: /Common/dead81") {
			t.Errorf("%s %s: reason should name the node monitor: %s", m.pool, m.member, l)
		}
	}
	if l := memberLine(t, app, "udp_pool", "/Common/198.18.2.13:7"); strings.Fields(l)[2] != "unknown" {
		t.Errorf("member of an unmonitored pool on an unmonitored node: %s", l)
	}
	if show, _ := app.Exec("show ltm node 198.18.2.12"); !regexp.MustCompile(`Availability\s+: offline`).MatchString(show) {
		t.Errorf("show ltm node 198.18.2.12:\n%s", show)
	}
	counts := countServers(t, tb, "http://198.18.1.100/", 12)
	if counts["server2"] != 0 || counts["(failed)"] != 0 || counts["server1"] == 0 || counts["server3"] == 0 {
		t.Errorf("with server2's node down, traffic should go to server1 and server3: %v", counts)
	}

	// The node passes again: both its members come back.
	execAll(t, app, "modify ltm node 198.18.2.12 monitor ping1")
	took := waitMember(t, app, "web_pool", "/Common/198.18.2.12:80", "up", 5*time.Second)
	waitMember(t, app, "udp_pool", "/Common/198.18.2.12:7", "up", time.Second)
	t.Logf("node monitor icmp: server2's members up after %s", took.Round(time.Millisecond))
	if counts := countServers(t, tb, "http://198.18.1.100/", 9); counts["server2"] == 0 {
		t.Errorf("server2 back up but takes no traffic: %v", counts)
	}
}
