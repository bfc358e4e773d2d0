package testbed

import (
	"bufio"
	"net/netip"
	"strings"
	"testing"
	"time"

	"lbx/ctrlplane/ctlsock"
)

// waitMember waits (bounded) for the member's status in show ltm pool and
// returns how long that took.
func waitMember(t *testing.T, app *ctlsock.Client, pool, member, want string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	if err := waitStatus(t.Context(), app, pool, member, want, limit); err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

// countServers sends n requests from the client to url, a new connection
// each, and counts answers by server name; failures count as "(failed)".
func countServers(t *testing.T, tb *Testbed, url string, n int) map[string]int {
	return tb.Burst(t.Context(), "client", url, n)
}

// The seed's story on real packets: an IIS 7.0 server answers the tcp
// monitor's FIN with RST,ACK. The default close check keeps it up, the
// legacy one (old Alteon firmware) marks it down with the reason, and the
// seed's workaround B (service on 8001, virtual on 80 with rport 8001)
// passes even the legacy check.
func TestIntegrationIISCloseCheck(t *testing.T) {
	tb := upTestbed(t)
	app := tb.Client()
	execAll(t, app,
		"create ltm node /Common/198.18.2.14 address 198.18.2.14",
		"create ltm monitor tcp iis_tcp defaults-from tcp interval 1 timeout 3",
		"create ltm pool iis_pool monitor iis_tcp members add { 198.18.2.14:80 198.18.2.11:80 }",
		"create ltm virtual vs_iis destination 198.18.1.100:81 ip-protocol tcp pool iis_pool source-address-translation { type automap }",
	)
	capt, err := tb.Capture("iis", 80)
	if err != nil {
		t.Fatal(err)
	}
	defer capt.Stop()
	waitMember(t, app, "iis_pool", "/Common/198.18.2.14:80", "up", 10*time.Second)

	// The probe's packets, seen on the IIS host: the seed's sequence.
	self := netip.MustParseAddr("198.18.2.2")
	want := "client S, server S., client ., client F., server R."
	found := capt.WaitFor(5*time.Second, func(CapturedPacket) bool {
		for _, c := range Connections(capt.Packets()) {
			if c.Client.Addr() == self && strings.HasPrefix(c.Exchange(), want) {
				return true
			}
		}
		return false
	})
	pkts, err := capt.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatalf("no probe with exchange %q in the capture:\n%s", want, FormatPackets(pkts))
	}
	counts := countServers(t, tb, "http://198.18.1.100:81/", 10)
	if counts["iis"] == 0 || counts["(failed)"] > 0 {
		t.Fatalf("with close-check lenient the IIS member should take traffic: %v", counts)
	}

	// The legacy check marks it down, says why, and traffic avoids it.
	execAll(t, app, "modify ltm monitor tcp iis_tcp close-check legacy")
	took := waitMember(t, app, "iis_pool", "/Common/198.18.2.14:80", "down", 10*time.Second)
	t.Logf("legacy close check: member down after %s (timeout 3s, interval 1s)", took.Round(time.Millisecond))
	trace, err := app.Exec("show ltm monitor-trace iis_pool 198.18.2.14:80")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(trace, "RST after FIN during close") || !strings.Contains(trace, "Flags [R.]") {
		t.Errorf("trace lacks the reason or the RST,ACK:\n%s", trace)
	}
	if show, _ := app.Exec("show ltm pool iis_pool members"); !strings.Contains(show, "RST after FIN during close") {
		t.Errorf("show ltm pool does not give the reason:\n%s", show)
	}
	if counts := countServers(t, tb, "http://198.18.1.100:81/", 10); counts["server1"] != 10 {
		t.Errorf("with the IIS member down, all 10 requests should go to server1: %v", counts)
	}

	// Workaround B: the same service on 8001 (no quirk), rport 8001.
	execAll(t, app, "modify ltm pool iis_pool members replace-all-with { 198.18.2.14:8001 }")
	waitMember(t, app, "iis_pool", "/Common/198.18.2.14:8001", "up", 10*time.Second)
	if counts := countServers(t, tb, "http://198.18.1.100:81/", 5); counts["iis"] != 5 {
		t.Errorf("virtual on 81 translated to rport 8001 should reach iis: %v", counts)
	}
}

// Killing a server's HTTP process takes its member down within timeout
// (plus one interval), traffic moves to the others, and restarting it brings
// it back after time-until-up.
func TestIntegrationMonitorKillAndRestart(t *testing.T) {
	tb := upTestbed(t)
	app := tb.Client()
	execAll(t, app,
		`create ltm monitor http web_http defaults-from http interval 1 timeout 3 time-until-up 2 send "GET / HTTP/1.0\r\n\r\n" recv "server="`,
		"modify ltm pool web_pool monitor web_http slow-ramp-time 0",
	)
	for _, m := range []string{"/Common/198.18.2.11:80", "/Common/198.18.2.12:80", "/Common/198.18.2.13:80"} {
		waitMember(t, app, "web_pool", m, "up", 15*time.Second)
	}
	if err := tb.StopServer("server2"); err != nil {
		t.Fatal(err)
	}
	took := waitMember(t, app, "web_pool", "/Common/198.18.2.12:80", "down", 3*time.Second+time.Second+3*time.Second)
	t.Logf("server2 killed: member down after %s (timeout 3s + interval 1s allowed)", took.Round(time.Millisecond))
	counts := countServers(t, tb, "http://198.18.1.100/", 20)
	if counts["server2"] != 0 || counts["(failed)"] != 0 || counts["server1"]+counts["server3"] != 20 {
		t.Errorf("after server2 went down, traffic should go to server1 and server3 only: %v", counts)
	}
	if err := tb.StartServer("server2"); err != nil {
		t.Fatal(err)
	}
	took = waitMember(t, app, "web_pool", "/Common/198.18.2.12:80", "up", 10*time.Second)
	t.Logf("server2 restarted: member up after %s (time-until-up 2s)", took.Round(time.Millisecond))
	if took < 2*time.Second {
		t.Errorf("member came up after %s, before time-until-up 2s", took)
	}
	if counts := countServers(t, tb, "http://198.18.1.100/", 9); counts["server2"] == 0 {
		t.Errorf("server2 back up but takes no traffic: %v", counts)
	}
}

// tcp-half-open ends the handshake with RST after SYN,ACK; an http recv
// mismatch (a 503) is down; recv-disable marks the member disabled: an
// established connection keeps flowing, new ones go elsewhere.
func TestIntegrationMonitorTypes(t *testing.T) {
	tb := upTestbed(t)
	app := tb.Client()
	execAll(t, app,
		"create ltm monitor tcp-half-open half defaults-from tcp_half_open interval 1 timeout 3",
		"create ltm pool half_pool monitor half members add { 198.18.2.13:80 }",
		`create ltm monitor http want200 defaults-from http interval 1 timeout 3 send "GET / HTTP/1.0\r\n\r\n" recv "200 OK"`,
		"create ltm pool p503 monitor want200 members add { 198.18.2.13:85 }",
	)
	capt, err := tb.Capture("server3", 80)
	if err != nil {
		t.Fatal(err)
	}
	defer capt.Stop()
	waitMember(t, app, "half_pool", "/Common/198.18.2.13:80", "up", 10*time.Second)
	self := netip.MustParseAddr("198.18.2.2")
	want := "client S, server S., client R"
	if !capt.WaitFor(5*time.Second, func(CapturedPacket) bool {
		for _, c := range Connections(capt.Packets()) {
			if c.Client.Addr() == self && c.Exchange() == want {
				return true
			}
		}
		return false
	}) {
		pkts, _ := capt.Stop()
		t.Fatalf("no half-open probe %q in the capture:\n%s", want, FormatPackets(pkts))
	}
	waitMember(t, app, "p503", "/Common/198.18.2.13:85", "down", 10*time.Second)
	if show, _ := app.Exec("show ltm pool p503"); !strings.Contains(show, "recv mismatch (HTTP 503)") {
		t.Errorf("show ltm pool p503 lacks the reason:\n%s", show)
	}

	// recv-disable: a long-lived connection to server1 keeps working while
	// new connections avoid it.
	conn := dialVIP(t, tb)
	defer conn.Close()
	r := bufio.NewReader(conn)
	first, err := oneRequest(conn, r)
	if err != nil {
		t.Fatal(err)
	}
	held := ServerName(first)
	execAll(t, app,
		`create ltm monitor http dis defaults-from http interval 1 timeout 3 send "GET / HTTP/1.0\r\n\r\n" recv "server=" recv-disable "server=`+held+` "`,
		"modify ltm pool web_pool monitor dis slow-ramp-time 0",
	)
	waitMember(t, app, "web_pool", memberOf(held), "disabled", 10*time.Second)
	if again, err := oneRequest(conn, r); err != nil || ServerName(again) != held {
		t.Errorf("established connection to the disabled %s: %q, %v", held, again, err)
	}
	if counts := countServers(t, tb, "http://198.18.1.100/", 10); counts[held] != 0 || counts["(failed)"] != 0 {
		t.Errorf("new connections should avoid the disabled %s: %v", held, counts)
	}
}

func memberOf(server string) string {
	return map[string]string{"server1": "/Common/198.18.2.11:80", "server2": "/Common/198.18.2.12:80", "server3": "/Common/198.18.2.13:80"}[server]
}
