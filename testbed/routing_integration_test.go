package testbed

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
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
func TestIntegrationRouteToMemberBehindRouter(t *testing.T) {
	tb := upTestbed(t)
	if err := tb.AddRoutedNetwork(); err != nil {
		t.Fatal(err)
	}
	execQuiet(t, tb,
		"create net route /Common/far network 198.19.0.0/24 gw 198.18.2.254",
		"create ltm pool /Common/far_pool members add { 198.19.0.10:80 }",
		"create ltm virtual /Common/vs_far destination 198.18.1.100:8080 ip-protocol tcp pool /Common/far_pool",
	)
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
	// The appliance's neighbour for the far network is the router: it
	// asked ARP for the gateway, never for 198.19.0.10.
	arp, err := tb.Client().Exec("show net arp")
	if err == nil && strings.Contains(arp, "198.19.0.10") {
		t.Errorf("show net arp lists the far server itself, want only its gateway:\n%s", arp)
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
