package appliance_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"lbx/dataplane/porttest"
	"lbx/pools"
)

// keepAlive is an HTTP client from a porttest host over one keep-alive
// connection at a time.
func keepAlive(h *porttest.Host) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			ap, err := netip.ParseAddrPort(addr)
			if err != nil {
				return nil, err
			}
			return h.DialTCP(ctx, ap)
		},
		MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1,
	}}
}

func fetch(t *testing.T, c *http.Client, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("get %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// An HTTP virtual with one-connect balances each request of one keep-alive
// client connection; the server-side connections leave from the self IP.
func TestHTTPVirtualPerRequestBalancing(t *testing.T) {
	tb := newTestbed(t, testbedConfig(t))
	tb.exec("create ltm virtual vs_l7 destination 198.18.1.101:80 ip-protocol tcp pool web_pool profiles { tcp http oneconnect } source-address-translation { type automap }")
	c := keepAlive(tb.client)
	var got []string
	for range 6 {
		_, body := fetch(t, c, "http://198.18.1.101/")
		got = append(got, porttest.ServerName(body))
		if m := peerRe.FindStringSubmatch(body); m == nil || m[1] != "198.18.2.2" {
			t.Fatalf("member saw peer %q, want the self IP 198.18.2.2: %s", m, body)
		}
	}
	for i := 3; i < len(got); i++ {
		if got[i] != got[i-3] || got[i] == got[i-1] {
			t.Fatalf("answers %v over one client connection: want per-request round robin", got)
		}
	}
	px := tb.app.HTTPProxy("/Common/vs_l7")
	if px == nil {
		t.Fatal("no proxy for /Common/vs_l7")
	}
	if st := px.Stats(); st["client_conns"] != 1 || st["requests"] != 6 || st["server_conns"] != 3 || st["server_reuses"] != 3 {
		t.Fatalf("proxy counters %v: want 1 client connection, 6 requests, 3 server connections reused 3 times", st)
	}
	out, err := tb.app.Exec("show ltm virtual /Common/vs_l7")
	if err != nil || !regexp.MustCompile(`Total Connections\s+1\n`).MatchString(out) {
		t.Fatalf("show ltm virtual does not count the client connection (%v):\n%s", err, out)
	}
	// The layer-4 virtual on .100 is untouched.
	if name := porttest.ServerName(get(t, tb.client, "http://198.18.1.100/")); name == "" {
		t.Fatal("the fastL4 virtual stopped answering")
	}
	// Deleting the virtual closes its listener.
	tb.exec("delete ltm virtual vs_l7")
	if tb.app.HTTPProxy("/Common/vs_l7") != nil {
		t.Fatal("proxy still running after delete")
	}
}

// Cookie persistence on an HTTP virtual inserts BIGipServer<pool> and pins
// the client to its member.
func TestHTTPVirtualCookiePersistence(t *testing.T) {
	tb := newTestbed(t, testbedConfig(t))
	tb.exec("create ltm virtual vs_ck destination 198.18.1.102:80 ip-protocol tcp pool web_pool profiles { tcp http oneconnect } persist { cookie } source-address-translation { type automap }")
	c := keepAlive(tb.client)
	resp, body := fetch(t, c, "http://198.18.1.102/")
	first := porttest.ServerName(body)
	var val string
	for _, ck := range resp.Cookies() {
		if ck.Name == "BIGipServer~Common~web_pool" {
			val = ck.Value
		}
	}
	a, port, err := pools.DecodeCookie(val)
	if err != nil {
		t.Fatalf("cookie %v: %v", resp.Header["Set-Cookie"], err)
	}
	if want := map[string]string{"server1": "198.18.2.11", "server2": "198.18.2.12", "server3": "198.18.2.13"}[first]; a.String() != want || port != 80 {
		t.Fatalf("cookie names %s:%d, the answer came from %s", a, port, first)
	}
	for i := range 5 {
		_, body := fetch(t, c, "http://198.18.1.102/", "Cookie", "BIGipServer~Common~web_pool="+val)
		if n := porttest.ServerName(body); n != first {
			t.Fatalf("request %d with the cookie answered by %s, want %s", i, n, first)
		}
	}
	out, err := tb.app.Exec("list ltm virtual vs_ck")
	if err != nil || !strings.Contains(out, "oneconnect") {
		t.Fatalf("list: %v\n%s", err, out)
	}
}
