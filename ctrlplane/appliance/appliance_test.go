package appliance_test

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"lbx/dataplane"
	"lbx/dataplane/porttest"
	"lbx/monitors"
)

// The in-process tier runs the stories of testbed/integration_test.go and
// testbed/monitor_integration_test.go on porttest's ports: same config,
// same addresses, same assertions, no root.

func TestRoundRobinHTTP(t *testing.T) {
	tb := newTestbed(t, testbedConfig(t))
	var got []string
	for i := range 30 {
		name := porttest.ServerName(get(t, tb.client, "http://198.18.1.100/"))
		if name == "" {
			t.Fatalf("request %d: no server name in answer", i)
		}
		got = append(got, name)
	}
	seen := map[string]bool{}
	for _, n := range got[:3] {
		seen[n] = true
	}
	if len(seen) != 3 {
		t.Fatalf("first three answers %v: want three different servers", got[:3])
	}
	for i := 3; i < len(got); i++ {
		if got[i] != got[i-3] {
			t.Fatalf("answer %d is %s, want %s (strict rotation); all answers: %v", i, got[i], got[i-3], got)
		}
	}
	out, err := tb.app.Exec("show ltm virtual /Common/vs_http")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`Total Connections\s+30\n`).MatchString(out) {
		t.Errorf("show ltm virtual does not count 30 connections:\n%s", out)
	}
	// The client's Get returns once it has the body; the last FINs may
	// still be crossing the appliance.
	closed := regexp.MustCompile(`Current Connections\s+0\n`)
	waitFor(t, "virtual's current connections back to 0", func() bool {
		out, err = tb.app.Exec("show ltm virtual /Common/vs_http")
		return err == nil && closed.MatchString(out)
	})
}

var peerRe = regexp.MustCompile(`peer=([0-9.]+):\d+`)

func TestSNATAutomapAndNone(t *testing.T) {
	tb := newTestbed(t, testbedConfig(t))
	peer := func() string {
		t.Helper()
		m := peerRe.FindStringSubmatch(get(t, tb.client, "http://198.18.1.100/"))
		if m == nil {
			t.Fatal("no peer in answer")
		}
		return m[1]
	}
	for range 3 {
		if got := peer(); got != "198.18.2.2" {
			t.Errorf("with SNAT automap the server saw %s, want the self IP 198.18.2.2", got)
		}
	}
	tb.exec("modify ltm virtual vs_http source-address-translation { type none }")
	for range 3 {
		if got := peer(); got != "198.18.1.10" {
			t.Errorf("without SNAT the server saw %s, want the client 198.18.1.10", got)
		}
	}
}

// One UDP socket is one flow through vs_udp: every datagram reaches the
// same server, whose echo comes back through the appliance.
func TestUDPEcho(t *testing.T) {
	tb := newTestbed(t, testbedConfig(t))
	conn, err := tb.client.DialUDP(netip.MustParseAddrPort("198.18.1.100:7"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 1500)
	seen := map[string]bool{}
	for i := range 3 {
		msg := fmt.Sprintf("hello %d", i)
		if _, err := conn.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no echo for %q: %v", msg, err)
		}
		name, rest, _ := strings.Cut(string(buf[:n]), " ")
		if rest != msg || !strings.HasPrefix(name, "server") {
			t.Fatalf("echo %q: got %q", msg, buf[:n])
		}
		seen[name] = true
	}
	if len(seen) != 1 {
		t.Errorf("one UDP flow answered by %v; want one server", seen)
	}
}

// memberState is a member's combined monitor state, as show reports it.
func memberState(tb *testbed, pool, member string) monitors.State {
	st, ok := tb.app.Monitoring().MemberStatus(pool, member)
	if !ok {
		return monitors.Checking
	}
	return st.State
}

// An http monitor marks a member down when its server stops, within
// timeout (plus one interval) of monitor time; traffic moves to the
// others; started again, the member comes back after time-until-up. The
// monitors' clock is stepped, so the timing bounds are in monitor time and
// hold however slow the machine is.
func TestMonitorDownAndUp(t *testing.T) {
	tb := newTestbed(t, testbedConfig(t))
	tb.exec(
		`create ltm monitor http web_http defaults-from http interval 1 timeout 3 time-until-up 2 send "GET / HTTP/1.0\r\n\r\n" recv "server="`,
		"modify ltm pool web_pool monitor web_http slow-ramp-time 0",
	)
	const pool = "/Common/web_pool"
	members := map[string]string{"server1": "/Common/198.18.2.11:80", "server2": "/Common/198.18.2.12:80", "server3": "/Common/198.18.2.13:80"}
	l := tb.lab
	defer func() {
		if t.Failed() {
			out, _ := tb.app.Exec("show ltm pool web_pool members")
			tr, _ := tb.app.Exec("show ltm monitor-trace web_pool 198.18.2.11:80")
			t.Logf("%s\n%s", out, tr)
		}
	}()
	l.stepUntil(time.Second, 10*time.Second, "all members up", func() bool {
		for _, m := range members {
			if memberState(tb, pool, m) != monitors.Up {
				return false
			}
		}
		return true
	})
	if counts := countServers(tb.client, "http://198.18.1.100/", 9); counts["server1"] != 3 || counts["server2"] != 3 || counts["server3"] != 3 {
		t.Errorf("all up: want 3 answers from each server: %v", counts)
	}

	if err := tb.http["server2"].Close(); err != nil {
		t.Fatal(err)
	}
	took := l.stepUntil(100*time.Millisecond, 10*time.Second, "server2 down", func() bool {
		return memberState(tb, pool, members["server2"]) == monitors.Down
	})
	// Down at the last success + timeout 3s; the last success was at most
	// one interval before the server stopped.
	if took < 2*time.Second || took > 4*time.Second {
		t.Errorf("server2 stopped: member down after %s of monitor time, want 2s to 4s (timeout 3s, interval 1s)", took)
	}
	st, _ := tb.app.Monitoring().MemberStatus(pool, members["server2"])
	t.Logf("server2 stopped: member down after %s: %s", took, st.Reason)
	out, err := tb.app.Exec("show ltm pool web_pool members")
	if err != nil || !regexp.MustCompile(`/Common/198\.18\.2\.12:80\s+\S+\s+down`).MatchString(out) {
		t.Errorf("show ltm pool does not show server2 down (%v):\n%s", err, out)
	}
	counts := countServers(tb.client, "http://198.18.1.100/", 20)
	if counts["server2"] != 0 || counts["(failed)"] != 0 || counts["server1"]+counts["server3"] != 20 {
		t.Errorf("after server2 went down, traffic should go to server1 and server3 only: %v", counts)
	}

	tb.http["server2"] = l.serve(tb.servers["server2"], "server2")
	took = l.stepUntil(100*time.Millisecond, 10*time.Second, "server2 up again", func() bool {
		return memberState(tb, pool, members["server2"]) == monitors.Up
	})
	if took < 2*time.Second {
		t.Errorf("server2 restarted: member up after %s of monitor time, before time-until-up 2s", took)
	}
	if counts := countServers(tb.client, "http://198.18.1.100/", 9); counts["server2"] == 0 || counts["(failed)"] != 0 {
		t.Errorf("server2 back up but takes no traffic: %v", counts)
	}
}

// A tcp monitor (the Alteon-style handshake check) sees a stopped server
// refuse its SYN and marks it down too.
func TestTCPMonitorDown(t *testing.T) {
	tb := newTestbed(t, testbedConfig(t))
	tb.exec(
		"create ltm monitor tcp web_tcp defaults-from tcp interval 1 timeout 3",
		"modify ltm pool web_pool monitor web_tcp",
	)
	const pool, member = "/Common/web_pool", "/Common/198.18.2.13:80"
	l := tb.lab
	l.stepUntil(time.Second, 10*time.Second, "server3 up", func() bool { return memberState(tb, pool, member) == monitors.Up })
	tb.http["server3"].Close()
	l.stepUntil(100*time.Millisecond, 10*time.Second, "server3 down", func() bool { return memberState(tb, pool, member) == monitors.Down })
	if counts := countServers(tb.client, "http://198.18.1.100/", 10); counts["server3"] != 0 || counts["(failed)"] != 0 {
		t.Errorf("server3 down: traffic should avoid it: %v", counts)
	}
}

// Two appliances back to back: A's internal port is cabled to B's external
// port, A's pool member is B's VIP, and a client of A reaches B's servers.
//
//	client 198.18.1.10 ── A lbx-ext [self 198.18.1.2, VIP 198.18.1.100:80 → pool { 198.18.2.100:80 }]
//	                      A lbx-int [self 198.18.2.2] ═══ B lbx-ext [self 198.18.2.3, VIP 198.18.2.100:80]
//	                      B lbx-int [self 198.18.3.2] ── server1..3 198.18.3.11-13
func TestBackToBackAppliances(t *testing.T) {
	l := newLab(t)
	csw, ssw := porttest.NewSwitch(), porttest.NewSwitch()
	aInt, bExt := l.pipe("lbx-int", "lbx-ext")
	confA := `ltm pool /Common/to_b {
    members {
        /Common/198.18.2.100:80 {
            address 198.18.2.100
        }
    }
}
ltm virtual /Common/vs_a {
    destination /Common/198.18.1.100:80
    ip-protocol tcp
    pool /Common/to_b
    source-address-translation {
        type automap
    }
}
`
	confB := `ltm pool /Common/web_pool {
    load-balancing-mode round-robin
    members {
        /Common/198.18.3.11:80 {
            address 198.18.3.11
        }
        /Common/198.18.3.12:80 {
            address 198.18.3.12
        }
        /Common/198.18.3.13:80 {
            address 198.18.3.13
        }
    }
}
ltm virtual /Common/vs_b {
    destination /Common/198.18.2.100:80
    ip-protocol tcp
    pool /Common/web_pool
    source-address-translation {
        type automap
    }
}
`
	a := l.appliance([]dataplane.Port{l.port(csw, "lbx-ext"), aInt}, confA, "ext 198.18.1.2/24 lbx-ext", "int 198.18.2.2/24 lbx-int")
	b := l.appliance([]dataplane.Port{bExt, l.port(ssw, "lbx-int")}, confB, "ext 198.18.2.3/24 lbx-ext", "int 198.18.3.2/24 lbx-int")
	client := l.host(csw, "client", "198.18.1.10/24", "198.18.1.2")
	for i := 1; i <= 3; i++ {
		l.server(ssw, fmt.Sprintf("server%d", i), fmt.Sprintf("198.18.3.%d/24", 10+i), "198.18.3.2")
	}

	var got []string
	for i := range 6 {
		body := get(t, client, "http://198.18.1.100/")
		if m := peerRe.FindStringSubmatch(body); m == nil || m[1] != "198.18.3.2" {
			t.Errorf("request %d: %q: want the server to see B's internal self IP 198.18.3.2", i, body)
		}
		got = append(got, porttest.ServerName(body))
	}
	if seen := map[string]bool{got[0]: true, got[1]: true, got[2]: true}; len(seen) != 3 || got[3] != got[0] || got[4] != got[1] || got[5] != got[2] {
		t.Errorf("answers %v: want B's round robin over its three servers, twice", got)
	}
	total := regexp.MustCompile(`Total Connections\s+6\n`)
	for _, c := range []struct {
		name string
		app  interface{ Exec(string) (string, error) }
		vs   string
	}{{"A", a, "vs_a"}, {"B", b, "vs_b"}} {
		out, err := c.app.Exec("show ltm virtual " + c.vs)
		if err != nil || !total.MatchString(out) {
			t.Errorf("appliance %s: show ltm virtual %s does not count 6 connections (%v):\n%s", c.name, c.vs, err, out)
		}
	}
	// B learnt A's internal self IP on the cable between them.
	if _, ok := b.Engine().Neighbor("lbx-ext", netip.MustParseAddr("198.18.2.2")); !ok {
		t.Error("B has no neighbour entry for A's self IP 198.18.2.2 on lbx-ext")
	}
}
