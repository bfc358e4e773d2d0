package testbed

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// execQuiet runs tmsh commands on the appliance and fails unless each says
// nothing (no error, no warning).
func execQuiet(t *testing.T, tb *Testbed, cmds ...string) {
	t.Helper()
	app := tb.Client()
	for _, c := range cmds {
		if out, err := app.Exec(c); err != nil || out != "" {
			t.Fatalf("%s: %q, %v (want no output)", c, out, err)
		}
	}
}

var notForUsRe = regexp.MustCompile(`drop\.not-for-us\s+(\d+)\n`)

// notForUs reads the appliance's drop.not-for-us counter.
func notForUs(t *testing.T, tb *Testbed) uint64 {
	t.Helper()
	out, err := tb.Client().Exec("show sys dataplane")
	if err != nil {
		t.Fatal(err)
	}
	m := notForUsRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("show sys dataplane has no drop.not-for-us:\n%s", out)
	}
	n, _ := strconv.ParseUint(m[1], 10, 64)
	return n
}

// A pool member behind a router: the appliance reaches 198.19.0.10
// through the net route's gateway (the router namespace), and the far
// server's answer comes back through the router, whose default gateway is
// the appliance. Without SNAT the far server sees the client's address.
// Its http monitor (local stack) goes the same way.
func TestIntegrationRouteToMemberBehindRouter(t *testing.T) {
	tb := upTestbed(t)
	if err := tb.AddRoutedNetwork(); err != nil {
		t.Fatal(err)
	}
	execQuiet(t, tb,
		"create net route /Common/far network 198.19.0.0/24 gw 198.18.2.254",
		"create ltm monitor http /Common/far_http defaults-from http interval 1 timeout 3",
		"create ltm pool /Common/far_pool monitor /Common/far_http members add { 198.19.0.10:80 }",
		"create ltm virtual /Common/vs_far destination 198.18.1.100:8080 ip-protocol tcp pool /Common/far_pool",
	)
	// The monitor reaches the far member too: from the self IP of the
	// route's egress network, through the router.
	waitMember(t, tb.Client(), "/Common/far_pool", "/Common/198.19.0.10:80", "up", 15*time.Second)
	client := tb.Topo.Hosts[0].Addr.Addr().String()
	for i := range 3 {
		server, local, peer := identity(t, curl(t, tb, "http://198.18.1.100:8080/"))
		if server != "far" || local != "198.19.0.10:80" || peer != client {
			t.Errorf("request %d: %s reached at %s by %s, want far at 198.19.0.10:80 by the client %s", i, server, local, peer, client)
		}
	}
	show, err := tb.Client().Exec("show net route /Common/far")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(show, "in use") {
		t.Errorf("show net route does not say the route is in use:\n%s", show)
	}
}

// A forwarding virtual on real namespaces: without it the client's
// connection to a server's own address through the appliance (its default
// gateway) is dropped and counted as not-for-us; with `destination
// 0.0.0.0:any mask any ip-forward ip-protocol any` the same connection
// reaches the server untranslated (it sees the client's address), ping
// crosses both ways, and a network behind a net route is reached through
// its router.
func TestIntegrationForwardingVirtual(t *testing.T) {
	tb := upTestbed(t)
	before := notForUs(t, tb)
	c, err := tb.Command("client", "curl", "-sS", "--max-time", "2", "http://198.18.2.11/")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := c.Output(); err == nil {
		t.Fatalf("curl to 198.18.2.11 through the appliance without a forwarding virtual succeeded: %s", out)
	}
	if after := notForUs(t, tb); after <= before {
		t.Errorf("drop.not-for-us went from %d to %d, want it counting the refused SYNs", before, after)
	}

	if err := tb.AddRoutedNetwork(); err != nil {
		t.Fatal(err)
	}
	execQuiet(t, tb,
		"create ltm virtual /Common/vs_forward destination 0.0.0.0:any mask any ip-forward ip-protocol any",
		"create net route /Common/far network 198.19.0.0/24 gw 198.18.2.254",
	)
	client := tb.Topo.Hosts[0].Addr.Addr().String()
	for _, tt := range []struct{ url, server, local string }{
		{"http://198.18.2.11/", "server1", "198.18.2.11:80"},
		{"http://198.18.2.12/", "server2", "198.18.2.12:80"},
		{"http://198.19.0.10/", "far", "198.19.0.10:80"},
	} {
		server, local, peer := identity(t, curl(t, tb, tt.url))
		if server != tt.server || local != tt.local || peer != client {
			t.Errorf("%s: %s reached at %s by %s, want %s at %s by the client %s", tt.url, server, local, peer, tt.server, tt.local, client)
		}
	}
	for _, dst := range []string{"198.18.2.13", "198.19.0.10"} {
		c, err := tb.Command("client", "ping", "-c", "2", "-W", "2", dst)
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.Output()
		if err != nil || !strings.Contains(string(out), "2 received") {
			t.Errorf("ping %s through the forwarding virtual: %v\n%s", dst, err, out)
		}
		// One hop through the appliance (and the router for the far
		// network): the TTL the client sees is 64 less the hops.
		wantTTL := "ttl=63"
		if dst == "198.19.0.10" {
			wantTTL = "ttl=62"
		}
		if !strings.Contains(string(out), wantTTL) {
			t.Errorf("ping %s: want %s in the replies (TTL decremented per hop):\n%s", dst, wantTTL, out)
		}
	}
	show, err := tb.Client().Exec("show ltm virtual /Common/vs_forward")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`Total Connections\s+3\n`).MatchString(show) {
		t.Errorf("show ltm virtual does not count the 3 forwarded connections:\n%s", show)
	}
}

// udpEcho sends msg from the client to dst and returns the echo server's
// answer ("NAME msg"), retrying a few times: the first datagram may wait
// for ARP.
func udpEcho(t *testing.T, tb *Testbed, dst, msg string) string {
	t.Helper()
	var conn net.Conn
	if err := tb.In("client", func() (err error) { conn, err = net.Dial("udp4", dst); return err }); err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 1500)
	var err error
	for range 5 {
		conn.SetDeadline(time.Now().Add(time.Second))
		if _, err = conn.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		var n int
		if n, err = conn.Read(buf); err == nil {
			return string(buf[:n])
		}
	}
	t.Fatalf("udp %s: no echo for %q: %v", dst, msg, err)
	return ""
}

// Network virtuals and ip-protocol any on real namespaces: a network
// virtual on 198.18.100.0/24:80 balances every address of that network
// (the client reaches it through its default gateway, the appliance),
// while the host virtual 198.18.100.100:80 keeps its own pool (the longer
// mask wins); a virtual with ip-protocol any on every port balances TCP
// and UDP alike, and the appliance answers a ping to its address.
func TestIntegrationNetworkVirtualAndProtocolAny(t *testing.T) {
	tb := upTestbed(t)
	execQuiet(t, tb,
		"create ltm pool /Common/one members add { 198.18.2.13:80 }",
		"create ltm virtual /Common/vs_net destination 198.18.100.0:80 mask 255.255.255.0 ip-protocol tcp pool /Common/web_pool source-address-translation { type automap }",
		"create ltm virtual /Common/vs_host destination 198.18.100.100:80 ip-protocol tcp pool /Common/one source-address-translation { type automap }",
		"create ltm virtual /Common/vs_any destination 198.18.1.101:any ip-protocol any translate-port disabled pool /Common/web_pool source-address-translation { type automap }",
	)
	seen := map[string]bool{}
	for i := range 3 {
		url := fmt.Sprintf("http://198.18.100.%d/", 7+i)
		server, local, _ := identity(t, curl(t, tb, url))
		if !strings.HasSuffix(local, ":80") || server == "" {
			t.Errorf("%s: %s reached at %s", url, server, local)
		}
		seen[server] = true
	}
	if len(seen) != 3 {
		t.Errorf("the network virtual's requests went to %v, want the three servers of web_pool", seen)
	}
	for i := range 3 {
		if server, _, _ := identity(t, curl(t, tb, "http://198.18.100.100/")); server != "server3" {
			t.Errorf("request %d to the host virtual answered by %s, want server3 (pool one)", i, server)
		}
	}

	if server, local, _ := identity(t, curl(t, tb, "http://198.18.1.101/")); !strings.HasPrefix(server, "server") || !strings.HasSuffix(local, ":80") {
		t.Errorf("TCP to the ip-protocol any virtual: %s at %s", server, local)
	}
	if reply := udpEcho(t, tb, "198.18.1.101:7", "hello"); !strings.HasPrefix(reply, "server") || !strings.HasSuffix(reply, " hello") {
		t.Errorf("UDP to the ip-protocol any virtual: echo %q, want a server's", reply)
	}
	c, err := tb.Command("client", "ping", "-c", "1", "-W", "2", "198.18.1.101")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := c.Output(); err != nil || !strings.Contains(string(out), "1 received") {
		t.Errorf("ping to the ip-protocol any virtual's address: %v\n%s", err, out)
	}
}
