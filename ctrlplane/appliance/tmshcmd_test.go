package appliance_test

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The first-hour tmsh commands that read or change the dataplane's runtime
// state, on the engine: show and delete sys connection, reset-stats, show
// net interface.
func TestConnectionsAndResetStatsOnTheEngine(t *testing.T) {
	tb := newTestbed(t, testbedConfig(t))
	echo := func(msg string) {
		t.Helper()
		conn, err := tb.client.DialUDP(netip.MustParseAddrPort("198.18.1.100:7"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 1500)
		n, err := conn.Read(buf)
		if err != nil || !strings.HasSuffix(string(buf[:n]), " "+msg) {
			t.Fatalf("echo %q: got %q, %v", msg, buf[:n], err)
		}
	}
	show := func(cmd string) string {
		t.Helper()
		out, err := tb.app.Exec(cmd)
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		return out
	}
	echo("one")
	line := regexp.MustCompile(`(?m)^198\.18\.1\.10:\d+  198\.18\.1\.100:7  198\.18\.2\.2:\d+  198\.18\.2\.1[123]:7  udp  \d+  /Common/vs_udp$`)
	out := show("show sys connection cs-client-addr 198.18.1.10")
	if !line.MatchString(out) || !strings.Contains(out, "Total records returned: 1\n") {
		t.Fatalf("show sys connection does not list the UDP flow:\n%s", out)
	}
	if out := show("show sys connection cs-client-addr 198.18.1.99"); !strings.HasSuffix(out, "Total records returned: 0\n") {
		t.Errorf("a filter matching no client listed flows:\n%s", out)
	}
	packetsIn := regexp.MustCompile(`Packets In\s+(\d+)\n`)
	if m := packetsIn.FindStringSubmatch(show("show ltm virtual vs_udp")); m == nil || m[1] == "0" {
		t.Fatalf("vs_udp counted no packets before the reset: %v", m)
	}
	show("reset-stats ltm virtual vs_udp")
	if m := packetsIn.FindStringSubmatch(show("show ltm virtual vs_udp")); m == nil || m[1] != "0" {
		t.Errorf("vs_udp packets in after reset-stats = %v, want 0", m)
	}
	ifaces := show("show net interface")
	for _, p := range []string{"lbx-ext", "lbx-int"} {
		if !regexp.MustCompile(`(?m)^` + p + `\s+[1-9]\d*\s+[1-9]\d*\s`).MatchString(ifaces) {
			t.Errorf("show net interface lacks %s with packets in and out:\n%s", p, ifaces)
		}
	}
	show("delete sys connection cs-client-addr 198.18.1.10")
	if out := show("show sys connection"); !strings.HasSuffix(out, "Total records returned: 0\n") {
		t.Errorf("flows left after delete sys connection:\n%s", out)
	}
	// The next datagram is a new flow.
	echo("two")
	if out := show("show sys connection"); !strings.Contains(out, fmt.Sprintf("Total records returned: %d\n", 1)) {
		t.Errorf("the datagram after the delete made no new flow:\n%s", out)
	}
}
