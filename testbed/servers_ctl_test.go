package testbed

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dialFrom connects from host to addr and returns the error (the
// connection, if any, is closed at once: a TCP health check).
func dialFrom(tb *Testbed, host, addr string) error {
	return tb.In(host, func() error {
		c, err := net.DialTimeout("tcp4", addr, 2*time.Second)
		if err != nil {
			return err
		}
		return c.Close()
	})
}

// The seed's story end to end: a TCP health check from the appliance's
// self IP to the IIS host's port 80 ends in RST,ACK, while port 8001 (the
// workaround) closes normally, and both serve HTTP through a virtual.
func TestIntegrationIISHost(t *testing.T) {
	tb := upTestbed(t)
	if got := tb.State.Hosts["iis"]; got != "198.18.2.14" {
		t.Errorf("state lists iis at %q, want 198.18.2.14", got)
	}
	execAll(t, tb.Client(),
		"create ltm pool /Common/iis_pool members add { 198.18.2.14:80 }",
		"create ltm virtual /Common/vs_iis destination 198.18.1.110:80 ip-protocol tcp pool /Common/iis_pool source-address-translation { type automap }",
		"create ltm pool /Common/iis8001_pool members add { 198.18.2.14:8001 }",
		"create ltm virtual /Common/vs_iis8001 destination 198.18.1.111:80 ip-protocol tcp pool /Common/iis8001_pool source-address-translation { type automap }",
	)
	capt, err := tb.Capture("iis", 80, 8001)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { capt.Stop() })

	if err := dialFrom(tb, "client", "198.18.1.110:80"); err != nil {
		t.Fatal(err)
	}
	if !capt.WaitFor(3*time.Second, isFrom("198.18.2.14:80", FlagRST|FlagACK)) {
		t.Error("no RST,ACK from 198.18.2.14:80 within 3s")
	}
	if err := dialFrom(tb, "client", "198.18.1.111:80"); err != nil {
		t.Fatal(err)
	}
	if !capt.WaitFor(3*time.Second, isFrom("198.18.2.14:8001", FlagFIN|FlagACK)) {
		t.Error("no FIN,ACK from 198.18.2.14:8001 within 3s")
	}
	pkts, err := capt.Stop()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("capture on iis:\n%s", FormatPackets(pkts))
	if _, err := FindFlags(pkts, "198.18.2.2", "198.18.2.14:80", "S", "S.", ".", "F.", "R."); err != nil {
		t.Error(err)
	}
	if _, err := FindFlags(pkts, "198.18.2.2", "198.18.2.14:8001", "S", "S.", ".", "F.", "F.", "."); err != nil {
		t.Error(err)
	}
	for _, c := range Connections(pkts) {
		switch c.Server {
		case netip.MustParseAddrPort("198.18.2.14:80"):
			checkIISExchange(t, c)
		case netip.MustParseAddrPort("198.18.2.14:8001"):
			if strings.Contains(c.Exchange(), "R") {
				t.Errorf("port 8001 reset: %s", c.Exchange())
			}
		}
	}
	for _, url := range []string{"http://198.18.1.110/", "http://198.18.1.111/"} {
		if got := ServerName(curl(t, tb, url)); got != "iis" {
			t.Errorf("%s answered by %q, want iis", url, got)
		}
	}
}

// A test stops a server's process and starts it again; the test ports
// come back with it.
func TestIntegrationStopStartServer(t *testing.T) {
	tb := upTestbed(t)
	if err := tb.StartServer("server3"); err == nil {
		t.Error("StartServer of a running server succeeded")
	}
	if err := tb.StopServer("server3"); err != nil {
		t.Fatal(err)
	}
	if err := dialFrom(tb, "server1", "198.18.2.13:80"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("stopped server: dial %v, want connection refused", err)
	}
	if err := tb.StartServer("server3"); err != nil {
		t.Fatal(err)
	}
	if err := dialFrom(tb, "server1", "198.18.2.13:80"); err != nil {
		t.Fatalf("restarted server: %v", err)
	}
	if err := dialFrom(tb, "server1", "198.18.2.13:81"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dead port 81: dial %v, want connection refused", err)
	}
	c, err := tb.Command("server1", "curl", "-sS", "--max-time", "3", "-w", "%{http_code}", "http://198.18.2.13:85/")
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Output()
	if body, code, _ := strings.Cut(string(out), "\n"); err != nil || code != "503" || ServerName(body) != "server3" {
		t.Errorf("status port 85: %q, %v; want 503 from server3", out, err)
	}
	// The pool answers round robin over all three again.
	seen := map[string]bool{}
	for range 3 {
		seen[ServerName(curl(t, tb, "http://"+tb.Topo.VIP.String()+"/"))] = true
	}
	if len(seen) != 3 {
		t.Errorf("three requests answered by %v, want three servers", seen)
	}
}
