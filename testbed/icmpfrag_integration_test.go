package testbed

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"
)

// echoUDP sends msg on conn until an answer comes (the first datagram may
// wait for ARP somewhere), at most tries times, and returns the answer.
func echoUDP(t *testing.T, conn net.Conn, msg []byte, tries int) (string, error) {
	t.Helper()
	buf := make([]byte, 65536)
	var err error
	for range tries {
		conn.SetDeadline(time.Now().Add(time.Second))
		if _, err = conn.Write(msg); err != nil {
			return "", err
		}
		var n int
		if n, err = conn.Read(buf); err == nil {
			return string(buf[:n]), nil
		}
	}
	return "", err
}

// A 4 KB UDP datagram through the default UDP virtual: the client's stack
// sends it in three fragments, the appliance sends every fragment to the
// member the first one chose, with the same NAT; the member's echo, in
// fragments too, comes back whole.
func TestIntegrationUDPFragments(t *testing.T) {
	tb := upTestbed(t)
	var conn net.Conn
	if err := tb.In("client", func() (err error) {
		conn, err = net.Dial("udp4", tb.Topo.VIP.String()+":7")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msg := []byte(strings.Repeat("0123456789abcdef", 256)) // 4096 bytes
	reply, err := echoUDP(t, conn, msg, 5)
	if err != nil {
		t.Fatalf("no echo of a 4 KB datagram: %v", err)
	}
	name, rest, _ := strings.Cut(reply, " ")
	if !strings.HasPrefix(name, "server") || rest != string(msg) {
		t.Fatalf("echo of %d bytes: got %d bytes from %q", len(msg), len(rest), name)
	}
	out, err := tb.Client().Exec("show sys dataplane")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "drop.fragment") && !strings.HasSuffix(strings.TrimSpace(l), " 0") {
			t.Errorf("fragments dropped: %s", l)
		}
	}
}

// A member's kernel answers a datagram to a closed port with ICMP port
// unreachable; the appliance translates it back, and the client's
// connected socket gets ECONNREFUSED, which its kernel reports only for an
// error quoting the client's own datagram to VIP:port.
func TestIntegrationICMPPortUnreachable(t *testing.T) {
	tb := upTestbed(t)
	app := tb.Client()
	for _, c := range []string{
		"create ltm pool /Common/closed_pool members add { 198.18.2.11:9 }",
		"create ltm virtual /Common/vs_closed destination 198.18.1.100:9 ip-protocol udp pool /Common/closed_pool source-address-translation { type automap }",
	} {
		if out, err := app.Exec(c); err != nil || out != "" {
			t.Fatalf("%s: %q, %v (want no output)", c, out, err)
		}
	}
	var conn net.Conn
	if err := tb.In("client", func() (err error) {
		conn, err = net.Dial("udp4", tb.Topo.VIP.String()+":9")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err := echoUDP(t, conn, []byte("anyone?"), 5)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("datagram to a closed port through the VIP: %v, want ECONNREFUSED", err)
	}
}

// Path MTU discovery through the VIP. A second client, 198.18.1.70, sits
// behind a router whose link towards it has an MTU of 1280 (proxy ARP
// makes it look on-link to the appliance). The member's 1.4 KB echo
// leaves it with DF set; the router, a real Linux forwarding path, cannot
// forward it and sends fragmentation needed (MTU 1280) to the source, the
// VIP. The appliance translates that error for the member, whose kernel
// records the path MTU towards the SNAT address and fragments its next
// answer: the client gets it. Without the translation the member never
// learns, and every large answer dies at the router.
func TestIntegrationPMTUThroughVIP(t *testing.T) {
	tb := upTestbed(t)
	const (
		routerNS = "lbx-pmtu-rt"
		clientNS = "lbx-pmtu-cl"
		client2  = "198.18.1.70"
	)
	rt, err := tb.AddPeer(routerNS, PeerLink{Bridge: "br-client", SwEnd: "v-pmtu-rt", Name: "eth0", Addr: netip.MustParsePrefix("198.18.1.60/24")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Remove(nil) })
	cl, err := tb.AddPeer(clientNS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Remove(nil) })
	run := func(p *Peer, argv ...string) {
		t.Helper()
		c, err := p.Command(argv...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Output(); err != nil {
			t.Fatal(err)
		}
	}
	run(rt, "ip", "link", "add", "rt1", "type", "veth", "peer", "name", "eth0", "netns", clientNS)
	run(rt, "ip", "link", "set", "rt1", "mtu", "1280", "up")
	run(rt, "ip", "route", "add", client2+"/32", "dev", "rt1")
	for _, s := range [][2]string{
		{"net/ipv4/ip_forward", "1"},
		{"net/ipv4/conf/eth0/proxy_arp", "1"},
		{"net/ipv4/neigh/eth0/proxy_delay", "0"},
		{"net/ipv4/conf/all/send_redirects", "0"},
		{"net/ipv4/conf/eth0/send_redirects", "0"},
	} {
		if err := rt.Sysctl(s[0], s[1]); err != nil {
			t.Fatal(err)
		}
	}
	run(cl, "ip", "link", "set", "lo", "up")
	run(cl, "ip", "addr", "add", client2+"/32", "dev", "eth0")
	// Both ends of the veth pair carry at most 1280 bytes (a veth drops
	// what is larger than the receiving end's MTU): client2's own stack
	// fragments its 1.4 KB datagram, which the appliance forwards as
	// fragments.
	run(cl, "ip", "link", "set", "eth0", "mtu", "1280", "up")
	run(cl, "ip", "route", "add", "default", "via", "198.18.1.60", "dev", "eth0", "onlink")

	var conn net.Conn
	if err := withNS(clientNS, func() (err error) {
		conn, err = net.Dial("udp4", tb.Topo.VIP.String()+":7")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A small echo first: the path works, and names the member.
	reply, err := echoUDP(t, conn, []byte("small"), 10)
	if err != nil {
		t.Fatalf("no echo of a small datagram through the router: %v", err)
	}
	server, _, _ := strings.Cut(reply, " ")
	if !strings.HasPrefix(server, "server") {
		t.Fatalf("echo %q does not name a server", reply)
	}
	pmtu := func() string {
		t.Helper()
		c, err := tb.Command(server, "ip", "-4", "route", "get", "198.18.2.2")
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.Output()
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	if r := pmtu(); strings.Contains(r, "mtu 1280") {
		t.Fatalf("%s knows a path MTU before the test: %s", server, r)
	}

	// 1400 bytes: the echo (1400 + the server's name) is too big for the
	// router's 1280 link. The first copy dies there and teaches the
	// member; a later one arrives in fragments.
	big := []byte(strings.Repeat("P", 1400))
	reply, err = echoUDP(t, conn, big, 10)
	if err != nil {
		drops, _ := tb.Client().Exec("show sys dataplane")
		t.Fatalf("no echo of a 1400-byte datagram: %v\nmember's route: %s\nappliance:\n%s", err, pmtu(), drops)
	}
	if name, rest, _ := strings.Cut(reply, " "); name != server || rest != string(big) {
		t.Errorf("echo of 1400 bytes: %d bytes from %q, want 1400 from %s", len(rest), name, server)
	}
	if r := pmtu(); !strings.Contains(r, "mtu 1280") {
		t.Errorf("%s's route to the SNAT address has no path MTU 1280: %s", server, r)
	}
	// The router did send the error: its own counter.
	c, err := rt.Command("cat", "/proc/net/snmp")
	if err != nil {
		t.Fatal(err)
	}
	snmp, err := c.Output()
	if err != nil {
		t.Fatal(err)
	}
	if n := icmpOutDestUnreachs(string(snmp)); n < 1 {
		t.Errorf("the router sent %d destination unreachables, want at least 1: the test did not exercise PMTU", n)
	}
}

// icmpOutDestUnreachs reads Icmp OutDestUnreachs from /proc/net/snmp.
func icmpOutDestUnreachs(snmp string) int {
	var names, values []string
	for _, l := range strings.Split(snmp, "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "Icmp:" {
			if names == nil {
				names = f
			} else {
				values = f
			}
		}
	}
	for i, n := range names {
		if n == "OutDestUnreachs" && i < len(values) {
			var v int
			fmt.Sscan(values[i], &v)
			return v
		}
	}
	return -1
}
