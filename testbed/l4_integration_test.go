package testbed

import (
	"net/netip"
	"regexp"
	"testing"
)

var identityRe = regexp.MustCompile(`server=(\S+) addr=([0-9.]+):(\d+) peer=([0-9.]+):\d+`)

// identity parses the identity server's line: server, the address it was
// reached at, and the peer address it saw.
func identity(t *testing.T, body string) (server, local, peer string) {
	t.Helper()
	m := identityRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no identity line in %q", body)
	}
	return m[1], m[2] + ":" + m[3], m[4]
}

// Direct server return on real namespaces: the servers hold the DSR VIP on
// their loopback with ARP for it suppressed; curl from the client through
// the virtual reaches each server, which sees the client's own address as
// the source and the VIP as the destination; its answer goes back through
// its default gateway, the appliance, which routes it to the client.
func TestIntegrationDSR(t *testing.T) {
	tb := upTestbed(t)
	vip := netip.MustParseAddr("198.18.1.101")
	for _, s := range []string{"server1", "server2", "server3"} {
		if err := tb.SetupDSR(s, vip); err != nil {
			t.Fatal(err)
		}
	}
	app := tb.Client()
	out, err := app.Exec("create ltm virtual /Common/vs_dsr destination 198.18.1.101:80 ip-protocol tcp pool /Common/web_pool translate-address disabled")
	if err != nil {
		t.Fatalf("create ltm virtual: %v", err)
	}
	if out != "" {
		t.Errorf("create ltm virtual said %q, want nothing (no warning)", out)
	}
	client := tb.Topo.Hosts[0].Addr.Addr().String()
	seen := map[string]bool{}
	for i := range 6 {
		server, local, peer := identity(t, curl(t, tb, "http://198.18.1.101/"))
		if local != "198.18.1.101:80" || peer != client {
			t.Errorf("request %d: %s was reached at %s by %s, want at 198.18.1.101:80 by the client %s", i, server, local, peer, client)
		}
		seen[server] = true
	}
	if len(seen) != 3 {
		t.Errorf("DSR requests answered by %v, want the three servers (round robin)", seen)
	}
	show, err := app.Exec("show ltm virtual /Common/vs_dsr")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`Total Connections\s+6\n`).MatchString(show) {
		t.Errorf("show ltm virtual does not count 6 connections:\n%s", show)
	}
	// The NAT virtual on the same servers still works beside it.
	if _, local, peer := identity(t, curl(t, tb, "http://"+tb.Topo.VIP.String()+"/")); peer != "198.18.2.2" || local == "198.18.1.101:80" {
		t.Errorf("vs_http: reached at %s by %s, want a server address by the self IP 198.18.2.2 (SNAT automap)", local, peer)
	}
}

// A SNAT pool on real namespaces: the servers see the pool's address as
// the source, reach it by ARP through the appliance, and the answers come
// back to the client.
func TestIntegrationSNATPool(t *testing.T) {
	tb := upTestbed(t)
	app := tb.Client()
	for _, c := range []string{
		"create ltm snatpool /Common/sp members add { 198.18.2.50 }",
		"modify ltm virtual /Common/vs_http source-address-translation { type snat pool /Common/sp }",
	} {
		if out, err := app.Exec(c); err != nil || out != "" {
			t.Fatalf("%s: %q, %v (want no output)", c, out, err)
		}
	}
	for i := range 3 {
		if server, _, peer := identity(t, curl(t, tb, "http://"+tb.Topo.VIP.String()+"/")); peer != "198.18.2.50" {
			t.Errorf("request %d: %s saw the client as %s, want the snatpool address 198.18.2.50", i, server, peer)
		}
	}
}

// translate-port disabled on real namespaces: a virtual on :85 whose pool
// members are :80 reaches the servers' own :85 (the status=503 emulator).
func TestIntegrationTranslatePortDisabled(t *testing.T) {
	tb := upTestbed(t)
	app := tb.Client()
	c := "create ltm virtual /Common/vs_keep destination 198.18.1.100:85 ip-protocol tcp pool /Common/web_pool source-address-translation { type automap } translate-port disabled"
	if out, err := app.Exec(c); err != nil || out != "" {
		t.Fatalf("%s: %q, %v (want no output)", c, out, err)
	}
	for i := range 3 {
		server, local, _ := identity(t, curl(t, tb, "http://"+tb.Topo.VIP.String()+":85/"))
		if ap := netip.MustParseAddrPort(local); ap.Port() != 85 {
			t.Errorf("request %d: %s was reached at %s, want its port 85", i, server, local)
		}
	}
}
