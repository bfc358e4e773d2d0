package testbed

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An HTTP virtual (http and oneconnect profiles) through real namespaces:
// curl's requests over one keep-alive connection are balanced one by one,
// the servers see the self IP, and cookie persistence pins a client that
// sends its cookie back.
func TestIntegrationHTTPVirtual(t *testing.T) {
	tb := upTestbed(t)
	for _, cmd := range []string{
		"create ltm profile http http_xff defaults-from http insert-xforwarded-for enabled",
		"modify ltm virtual vs_http profiles replace-all-with { tcp http_xff oneconnect }",
	} {
		if _, err := tb.Client().Exec(cmd); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
	}
	url := "http://" + tb.Topo.VIP.String() + "/"
	args := []string{"-w", "connects=%{num_connects}\n"}
	for range 6 {
		args = append(args, url)
	}
	out := curl(t, tb, args...)
	var servers []string
	connects := 0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		switch {
		case strings.HasPrefix(l, "server="):
			servers = append(servers, ServerName(l))
			if m := peerRe.FindStringSubmatch(l); m == nil || m[1] != "198.18.2.2" {
				t.Errorf("server saw %q, want the self IP 198.18.2.2", l)
			}
		case strings.HasPrefix(l, "connects="):
			if l != "connects=0" {
				connects++
			}
		}
	}
	if len(servers) != 6 || connects != 1 {
		t.Fatalf("want 6 answers over 1 connection, got %d answers, %d connections:\n%s", len(servers), connects, out)
	}
	for i := 1; i < len(servers); i++ {
		if servers[i] == servers[i-1] || i >= 3 && servers[i] != servers[i-3] {
			t.Fatalf("answers over one keep-alive connection %v: want per-request round robin", servers)
		}
	}

	// Cookie persistence: the first answer sets BIGipServer~Common~web_pool,
	// and every later connection that sends it reaches the same server.
	if _, err := tb.Client().Exec("modify ltm virtual vs_http persist replace-all-with { cookie }"); err != nil {
		t.Fatal(err)
	}
	jar := filepath.Join(t.TempDir(), "jar")
	first := ServerName(curl(t, tb, "-c", jar, url))
	b, err := os.ReadFile(jar)
	if err != nil || !strings.Contains(string(b), "BIGipServer~Common~web_pool") {
		t.Fatalf("cookie jar after the first answer (%v):\n%s", err, b)
	}
	for i := range 6 {
		if got := ServerName(curl(t, tb, "-b", jar, url)); got != first {
			t.Fatalf("request %d with the cookie answered by %s, want %s", i, got, first)
		}
	}
	// Without the cookie the client is balanced again.
	seen := map[string]bool{}
	for range 3 {
		seen[ServerName(curl(t, tb, url))] = true
	}
	if len(seen) < 2 {
		t.Fatalf("without the cookie three requests reached %v: want balancing", seen)
	}

	// The servers see the client's address in X-Forwarded-For.
	if h := curl(t, tb, "-o", "/dev/null", "-D", "-", url); !strings.Contains(h, "X-Seen-Xff: 198.18.1.10\r\n") {
		t.Fatalf("server did not see X-Forwarded-For 198.18.1.10; response headers:\n%s", h)
	}
	// A malformed request gets a 400 from the appliance.
	if got := curl(t, tb, "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host:", "--http1.1", url); got != "400" {
		t.Fatalf("request without Host: %s, want 400", got)
	}
}
