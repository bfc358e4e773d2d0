package appliance_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
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

// ltm profile http and one-connect objects configure the proxy; bad
// values and bad combinations are refused naming object and property, and
// leave the running configuration as it was.
func TestHTTPProfiles(t *testing.T) {
	tb := newTestbed(t, testbedConfig(t))
	tb.exec(
		`create ltm profile http web_http defaults-from http insert-xforwarded-for enabled header-insert "X-Lbx: 1" header-erase X-Secret redirect-rewrite matching`,
		"create ltm profile one-connect oc24 source-mask 255.255.255.0 max-reuse 5 idle-timeout-override 30",
		"create ltm virtual vs_p destination 198.18.1.103:80 ip-protocol tcp pool web_pool profiles { tcp web_http oc24 } source-address-translation { type automap }",
	)
	px := tb.app.HTTPProxy("/Common/vs_p")
	if px == nil {
		t.Fatal("no proxy for /Common/vs_p")
	}
	cfg := px.Config()
	if h := cfg.HTTP; !h.InsertXFF || len(h.HeaderInsert) != 1 || h.HeaderInsert[0] != "X-Lbx: 1" || len(h.HeaderErase) != 1 ||
		h.RedirectRewrite != "matching" || h.ServerAgent != "BigIP" || h.MaxHeaderSize != 32768 {
		t.Fatalf("proxy http settings %+v", h)
	}
	if oc := cfg.OneConnect; oc == nil || oc.SourceMask != 24 || oc.MaxReuse != 5 || oc.MaxSize != 10000 || oc.IdleTimeout != 30*time.Second {
		t.Fatalf("proxy one-connect settings %+v", oc)
	}
	tb.exec("modify ltm profile http web_http insert-xforwarded-for disabled")
	if px2 := tb.app.HTTPProxy("/Common/vs_p"); px2 != px || px.Config().HTTP.InsertXFF {
		t.Fatal("a profile change did not reach the running proxy in place")
	}
	out, err := tb.app.Exec("list ltm profile http web_http")
	if err != nil || !strings.Contains(out, `header-insert "X-Lbx: 1"`) {
		t.Fatalf("list: %v\n%s", err, out)
	}
	for _, tc := range []struct{ cmd, want string }{
		{"create ltm virtual vs_q destination 198.18.1.104:80 ip-protocol tcp pool web_pool profiles { tcp oc24 }", "ltm virtual /Common/vs_q: profiles /Common/oc24: needs an http profile"},
		{"create ltm virtual vs_q destination 198.18.1.104:80 ip-protocol tcp pool web_pool profiles { fastL4 http }", "profiles /Common/http: needs the tcp profile, not fastL4"},
		{"create ltm virtual vs_q destination 198.18.1.104:0 ip-protocol tcp pool web_pool profiles { tcp http }", "an HTTP virtual is a host virtual on one port"},
		{"create ltm profile one-connect bad source-mask 255.0.255.0", "source-mask"},
		{"create ltm profile http bad max-header-size 10", "max-header-size"},
		{"delete ltm profile http web_http", "in use"},
	} {
		_, err := tb.app.Exec(tc.cmd)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.cmd, err, tc.want)
		}
	}
	if tb.app.Store().Running().Virtuals["/Common/vs_q"] != nil {
		t.Fatal("a refused virtual is in the running configuration")
	}
}

// writeCert writes a self-signed certificate for cn and its key as PEM
// files in dir.
func writeCert(t *testing.T, dir, cn string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, cn+".crt"), filepath.Join(dir, cn+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// client-ssl profiles terminate TLS 1.2 and 1.3 on an HTTP virtual, the
// client's SNI choosing the certificate; an unreadable key fails the apply
// and leaves the running configuration as it was.
func TestHTTPVirtualTLSTermination(t *testing.T) {
	tb := newTestbed(t, testbedConfig(t))
	dir := t.TempDir()
	ac, ak := writeCert(t, dir, "a.example")
	bc, bk := writeCert(t, dir, "b.example")
	tb.exec(
		"create ltm profile client-ssl ssl_a cert "+ac+" key "+ak+" server-name a.example sni-default enabled",
		"create ltm profile client-ssl ssl_b cert "+bc+" key "+bk+" server-name b.example",
		"create ltm virtual vs_tls destination 198.18.1.105:443 ip-protocol tcp pool web_pool profiles { tcp http ssl_a ssl_b } source-address-translation { type automap }",
	)
	for _, tc := range []struct {
		sni, wantCN string
		version     uint16
	}{{"b.example", "b.example", tls.VersionTLS13}, {"a.example", "a.example", tls.VersionTLS12}, {"other.example", "a.example", tls.VersionTLS13}} {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			DialTLSContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
				raw, err := tb.client.DialTCP(ctx, netip.MustParseAddrPort(addr))
				if err != nil {
					return nil, err
				}
				conn := tls.Client(raw, &tls.Config{ServerName: tc.sni, InsecureSkipVerify: true, MinVersion: tc.version, MaxVersion: tc.version})
				if err := conn.HandshakeContext(ctx); err != nil {
					raw.Close()
					return nil, err
				}
				return conn, nil
			},
		}}
		resp, body := fetch(t, c, "https://198.18.1.105:443/")
		if resp.TLS == nil || resp.TLS.Version != tc.version || resp.TLS.PeerCertificates[0].Subject.CommonName != tc.wantCN {
			t.Fatalf("SNI %s: TLS %+v, want version %x and certificate %s", tc.sni, resp.TLS, tc.version, tc.wantCN)
		}
		if porttest.ServerName(body) == "" {
			t.Fatalf("SNI %s: answer %q", tc.sni, body)
		}
	}
	out, err := tb.app.Exec("list ltm profile client-ssl ssl_a")
	if err != nil || !strings.Contains(out, "key "+ak) || strings.Contains(out, "PRIVATE") {
		t.Fatalf("list prints the key's path only (%v):\n%s", err, out)
	}
	if err := os.Remove(bk); err != nil {
		t.Fatal(err)
	}
	_, err = tb.app.Exec("create ltm virtual vs_tls2 destination 198.18.1.106:443 ip-protocol tcp pool web_pool profiles { tcp http ssl_b }")
	if err == nil || !strings.Contains(err.Error(), "profiles /Common/ssl_b") {
		t.Fatalf("apply with a missing key: %v, want an error naming the profile", err)
	}
	if tb.app.Store().Running().Virtuals["/Common/vs_tls2"] != nil {
		t.Fatal("the refused virtual is running")
	}
}

// An HTTP virtual's local traffic policies act per request in its proxy:
// a forward to another pool (which no virtual uses), to a node, a
// redirect, a reset, and header edits with the virtual's pool as the
// default.
func TestHTTPVirtualPolicies(t *testing.T) {
	tb := newTestbed(t, testbedConfig(t))
	tb.exec(
		"create ltm pool static_pool members add { 198.18.2.13:80 }",
		`create ltm policy routing strategy first-match requires { http } controls { forwarding } rules {
    static { conditions { 0 { http-uri path starts-with values { /static/ } } } actions { 0 { forward select pool static_pool } } ordinal 1 }
    one { conditions { 0 { http-header name X-Pin equals values { one } } } actions { 0 { forward select node 198.18.2.11 } 1 { http-header insert name X-Client value pinned } } ordinal 2 }
    old { conditions { 0 { http-uri path matches values { "^/catalog/[0-9]+$" } } } actions { 0 { http-reply redirect location http://www.example.com/shop/ } } ordinal 3 }
    bad { conditions { 0 { http-method equals values { DELETE } } } actions { 0 { forward reset } } ordinal 4 }
    mobile { conditions { 0 { http-user-agent browser-type equals values { android } } } actions { 0 { http-header replace name X-Client value mobile } } ordinal 5 }
}`,
		"create ltm virtual vs_pol destination 198.18.1.103:80 ip-protocol tcp pool web_pool profiles { tcp http oneconnect } policies { routing } source-address-translation { type automap }",
	)
	c := keepAlive(tb.client)
	for i := range 4 {
		if _, body := fetch(t, c, "http://198.18.1.103/static/a.css"); porttest.ServerName(body) != "server3" {
			t.Fatalf("static request %d answered by %q, want server3 (static_pool)", i, body)
		}
	}
	for i := range 3 {
		resp, body := fetch(t, c, "http://198.18.1.103/x", "X-Pin", "one", "X-Client", "first")
		if porttest.ServerName(body) != "server1" {
			t.Fatalf("pinned request %d answered by %q, want server1 (forward select node)", i, body)
		}
		if got := resp.Header.Values("X-Seen-Client"); len(got) != 2 || got[0] != "first" || got[1] != "pinned" {
			t.Fatalf("server saw X-Client %q, want [first pinned] (http-header insert)", got)
		}
	}
	resp, _ := fetch(t, c, "http://198.18.1.103/x", "User-Agent", "Mozilla/5.0 (Linux; Android 14) Mobile", "X-Client", "first")
	if got := resp.Header.Values("X-Seen-Client"); len(got) != 1 || got[0] != "mobile" {
		t.Fatalf("server saw X-Client %q, want [mobile] (http-header replace)", got)
	}
	seen := map[string]bool{}
	for range 6 {
		_, body := fetch(t, c, "http://198.18.1.103/page")
		seen[porttest.ServerName(body)] = true
	}
	if len(seen) != 3 {
		t.Fatalf("default requests reached %v, want web_pool's three servers", seen)
	}
	noRedirect := keepAlive(tb.client)
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, _ = fetch(t, noRedirect, "http://198.18.1.103/catalog/42")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "http://www.example.com/shop/" {
		t.Fatalf("redirect rule: %s Location %q", resp.Status, resp.Header.Get("Location"))
	}
	req, err := http.NewRequest(http.MethodDelete, "http://198.18.1.103/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := keepAlive(tb.client).Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("DELETE answered %s, want the connection reset (forward reset)", resp.Status)
	}
	// The policy's pool is in use: it cannot be deleted.
	if _, err := tb.app.Exec("delete ltm pool static_pool"); err == nil {
		t.Fatal("delete of a pool a policy forwards to succeeded")
	}
}

// Universal persistence on the Host header (host-name affinity) sends every
// request for one host to one member, across client connections, while
// one-connect balances each request; the records are listed, and a
// request without the header is load balanced.
func TestHTTPVirtualHostAffinity(t *testing.T) {
	tb := newTestbed(t, testbedConfig(t))
	tb.exec("create ltm persistence universal host_aff header-name Host timeout 600",
		"create ltm virtual vs_host destination 198.18.1.103:80 ip-protocol tcp pool web_pool profiles { tcp http oneconnect } persist { host_aff } source-address-translation { type automap }")
	owner := map[string]string{}
	for round := range 3 {
		c := keepAlive(tb.client) // a new client connection each round
		for _, host := range []string{"a.example.com", "B.example.com", "c.example.com", "d.example.com"} {
			req, _ := http.NewRequest(http.MethodGet, "http://198.18.1.103/", nil)
			req.Host = host
			if round == 2 {
				req.Host = strings.ToLower(host) // host names compare without case
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			n := porttest.ServerName(string(b))
			key := strings.ToLower(host)
			if o, ok := owner[key]; ok && o != n {
				t.Fatalf("round %d: host %s answered by %s, before by %s", round, host, n, o)
			}
			owner[key] = n
		}
	}
	out, err := tb.app.Exec("show ltm persistence persist-records virtual vs_host")
	if err != nil || strings.Count(out, "universal") != 4 {
		t.Fatalf("want 4 universal records (%v):\n%s", err, out)
	}
	// Each record shows its key, the host name as the first request
	// wrote it, as BIG-IP does (not its hash).
	for _, host := range []string{"a.example.com", "b.example.com", "c.example.com", "d.example.com"} {
		if !strings.Contains(strings.ToLower(out), " "+host+" ") {
			t.Fatalf("no record shows the key %s:\n%s", host, out)
		}
	}
	if st := tb.app.HTTPProxy("/Common/vs_host").Stats(); st["header_persisted"] != 12 {
		t.Fatalf("proxy counters %v: want 12 requests placed by the header", st)
	}
	// A header-name that is no HTTP token is refused naming the profile
	// and the property; the running profile stays.
	if _, err := tb.app.Exec("modify ltm persistence universal host_aff header-name X:Y"); err == nil || !strings.Contains(err.Error(), "header-name") {
		t.Fatalf("bad header-name: %v", err)
	}
	if out, _ := tb.app.Exec("list ltm persistence universal host_aff"); !strings.Contains(out, "header-name Host") {
		t.Fatalf("profile changed by a refused modify:\n%s", out)
	}
}

// Cookie persistence, method hash: the member sets its own session cookie;
// the appliance records its value's hash against that member and sends
// the requests carrying it there. A value it never saw maps consistently
// to one member. Method rewrite writes the member's placeholder cookie.
func TestHTTPVirtualCookieHashAndRewrite(t *testing.T) {
	tb := newTestbed(t, testbedConfig(t))
	tb.exec("create ltm persistence cookie ck_hash method hash cookie-name JSESSIONID timeout 600",
		"create ltm virtual vs_hash destination 198.18.1.104:80 ip-protocol tcp pool web_pool profiles { tcp http oneconnect } persist { ck_hash } source-address-translation { type automap }")
	c := keepAlive(tb.client)
	for _, sess := range []string{"s1", "s2", "s3"} {
		_, body := fetch(t, c, "http://198.18.1.104/?set-cookie=JSESSIONID="+sess)
		owner := porttest.ServerName(body)
		for i := range 4 {
			_, body := fetch(t, c, "http://198.18.1.104/", "Cookie", "JSESSIONID="+sess)
			if n := porttest.ServerName(body); n != owner {
				t.Fatalf("session %s request %d answered by %s, want %s (who set the cookie)", sess, i, n, owner)
			}
		}
	}
	_, body := fetch(t, c, "http://198.18.1.104/", "Cookie", "JSESSIONID=unseen")
	first := porttest.ServerName(body)
	for range 3 {
		if _, body := fetch(t, c, "http://198.18.1.104/", "Cookie", "JSESSIONID=unseen"); porttest.ServerName(body) != first {
			t.Fatalf("an unseen cookie value moved from %s to %s", first, porttest.ServerName(body))
		}
	}
	// The records show the cookie values they are keyed by (recorded from
	// the member's Set-Cookie, or by the request that carried an unseen one).
	out, err := tb.app.Exec("show ltm persistence persist-records virtual vs_hash")
	for _, v := range []string{"s1", "s2", "s3", "unseen"} {
		if err != nil || !strings.Contains(out, " "+v+" ") {
			t.Fatalf("no record shows the cookie value %s (%v):\n%s", v, err, out)
		}
	}
	// A hash profile without cookie-name is refused, naming it.
	tb.exec("create ltm persistence cookie ck_noname method hash")
	if _, err := tb.app.Exec("modify ltm virtual vs_hash persist replace-all-with { ck_noname }"); err == nil || !strings.Contains(err.Error(), "cookie-name") {
		t.Fatalf("hash without cookie-name: %v", err)
	}

	tb.exec("create ltm persistence cookie ck_rw method rewrite",
		"modify ltm virtual vs_hash persist replace-all-with { ck_rw }")
	resp, body := fetch(t, c, "http://198.18.1.104/?set-cookie="+url.QueryEscape("BIGipServer~Common~web_pool=placeholder; Path=/app"))
	served := porttest.ServerName(body)
	sc := resp.Header.Values("Set-Cookie")
	if len(sc) != 1 || !strings.HasSuffix(sc[0], "; Path=/app") {
		t.Fatalf("rewritten Set-Cookie %q: want the member's one cookie with its attributes", sc)
	}
	val := strings.TrimSuffix(strings.TrimPrefix(sc[0], "BIGipServer~Common~web_pool="), "; Path=/app")
	a, _, err := pools.DecodeCookie(val)
	if err != nil || a.String() != map[string]string{"server1": "198.18.2.11", "server2": "198.18.2.12", "server3": "198.18.2.13"}[served] {
		t.Fatalf("rewritten value %q (%v) does not name %s", val, err, served)
	}
	// No cookie from the member: none inserted.
	if resp, _ := fetch(t, c, "http://198.18.1.104/"); len(resp.Header.Values("Set-Cookie")) != 0 {
		t.Fatalf("rewrite inserted a cookie the member did not set: %q", resp.Header.Values("Set-Cookie"))
	}
}

// sys file ssl-cert and ssl-key objects name the PEM files a client-ssl
// profile uses: list prints their source paths and never a key; a missing
// file, a key that does not match its certificate, a cert that names a key
// object or no object at all are refused naming object and property, and
// leave the running configuration as it was; a used file cannot be
// deleted.
func TestSysFileSSLObjects(t *testing.T) {
	tb := newTestbed(t, testbedConfig(t))
	dir := t.TempDir()
	ac, ak := writeCert(t, dir, "a.example")
	_, bk := writeCert(t, dir, "b.example")
	tb.exec(
		"create sys file ssl-cert a.crt source-path file:"+ac,
		"create sys file ssl-key a.key source-path file:"+ak,
		"create sys file ssl-key b.key source-path file:"+bk,
		"create ltm profile client-ssl ssl_a cert a.crt key /Common/a.key",
		"create ltm virtual vs_tls destination 198.18.1.105:443 ip-protocol tcp pool web_pool profiles { tcp http ssl_a } source-address-translation { type automap }",
	)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialTLSContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			raw, err := tb.client.DialTCP(ctx, netip.MustParseAddrPort(addr))
			if err != nil {
				return nil, err
			}
			conn := tls.Client(raw, &tls.Config{ServerName: "a.example", InsecureSkipVerify: true})
			if err := conn.HandshakeContext(ctx); err != nil {
				raw.Close()
				return nil, err
			}
			return conn, nil
		},
	}}
	resp, body := fetch(t, c, "https://198.18.1.105:443/")
	if resp.TLS == nil || resp.TLS.PeerCertificates[0].Subject.CommonName != "a.example" || porttest.ServerName(body) == "" {
		t.Fatalf("TLS through sys file objects: %+v %q", resp.TLS, body)
	}
	out, err := tb.app.Exec("list sys file ssl-key a.key")
	if err != nil || !strings.Contains(out, "sys file ssl-key /Common/a.key {") || !strings.Contains(out, "source-path file:"+ak) || strings.Contains(out, "PRIVATE") {
		t.Fatalf("list sys file ssl-key (%v):\n%s", err, out)
	}
	running := func() string {
		out, err := tb.app.Exec("list ltm profile client-ssl ssl_a")
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	before := running()
	for _, tc := range []struct{ cmd, want string }{
		{"modify ltm profile client-ssl ssl_a key b.key", "key /Common/b.key (sys file ssl-key /Common/b.key source-path file:" + bk + ") does not match cert /Common/a.crt"},
		{"modify ltm profile client-ssl ssl_a cert a.key", "ltm profile client-ssl /Common/ssl_a: cert a.key: no such sys file ssl-cert"},
		{"modify ltm profile client-ssl ssl_a cert nothing.crt", "cert nothing.crt: no such sys file ssl-cert"},
		{"modify sys file ssl-cert a.crt source-path file:" + dir + "/gone.crt", "cert /Common/a.crt (sys file ssl-cert /Common/a.crt source-path file:" + dir + "/gone.crt): no such file or directory"},
		{"modify sys file ssl-cert a.crt source-path relative.crt", "source-path"},
		{"delete sys file ssl-cert a.crt", "in use"},
	} {
		_, err := tb.app.Exec(tc.cmd)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: %v, want an error containing %q", tc.cmd, err, tc.want)
		}
		if strings.Contains(err.Error(), "PRIVATE") {
			t.Fatalf("%s: the error quotes the key: %v", tc.cmd, err)
		}
		if got := running(); got != before {
			t.Fatalf("%s changed the running profile:\n%s", tc.cmd, got)
		}
	}
	if out, _ := tb.app.Exec("list sys file ssl-cert a.crt"); !strings.Contains(out, "source-path file:"+ac) {
		t.Fatalf("refused modify changed the file object:\n%s", out)
	}
}

// An HTTP virtual's proxy counters reach show ltm virtual, show ltm
// profile http (summed over its virtuals), and the Prometheus metrics:
// requests, responses by class, the appliance's own 400 and 503, and the
// server side's connections, reuses and bytes.
func TestHTTPVirtualCounters(t *testing.T) {
	tb := newTestbed(t, testbedConfig(t))
	tb.exec(
		"create ltm profile http http_count defaults-from http",
		"create ltm pool down_pool members add { 198.18.2.13:80 }",
		"modify ltm pool down_pool members modify { 198.18.2.13:80 { state user-down } }",
		"create ltm virtual vs_cnt destination 198.18.1.107:80 ip-protocol tcp pool web_pool profiles { tcp http_count oneconnect } source-address-translation { type automap }",
		"create ltm virtual vs_down destination 198.18.1.108:80 ip-protocol tcp pool down_pool profiles { tcp http_count } source-address-translation { type automap }",
	)
	c := keepAlive(tb.client)
	for range 4 {
		fetch(t, c, "http://198.18.1.107/")
	}
	// The local stack held the pure ACKs of the requests (ackdelay.go):
	// show sys dataplane counts them with the other local counters.
	if held := counter(t, tb.app, "local.ack_delay_held"); held == 0 {
		t.Errorf("local.ack_delay_held %d after 4 keep-alive requests, want some", held)
	}
	for _, name := range []string{"local.ack_delay_superseded", "local.ack_delay_timeout", "local.ack_delay_flushed", "local.tx_packets"} {
		counter(t, tb.app, name) // present
	}
	if resp, _ := fetch(t, c, "http://198.18.1.108/"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("no usable member: %d, want 503", resp.StatusCode)
	}
	// A malformed request line: 400.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	raw, err := tb.client.DialTCP(ctx, netip.MustParseAddrPort("198.18.1.107:80"))
	if err != nil {
		t.Fatal(err)
	}
	_ = raw.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := raw.Write([]byte("NOT A REQUEST\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	ans, _ := io.ReadAll(raw)
	raw.Close()
	if !strings.HasPrefix(string(ans), "HTTP/1.1 400") {
		t.Fatalf("malformed request answered %q", ans)
	}
	out, err := tb.app.Exec("show ltm virtual vs_cnt")
	if err != nil {
		t.Fatal(err)
	}
	for _, re := range []string{`Total Requests\s+4\n`, `Responses 2xx\s+4\n`, `Responses 4xx\s+1\n`, `400 Bad Request\s+1\n`,
		`Connections Opened\s+[1-4]\n`, `Bytes In\s+[1-9][0-9]+\n`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Fatalf("show ltm virtual vs_cnt lacks %s:\n%s", re, out)
		}
	}
	if m := regexp.MustCompile(`Connections Opened\s+(\d)\n[^\n]*Requests Reused\s+(\d)\n`).FindStringSubmatch(out); m == nil || m[1][0]-'0'+m[2][0]-'0' != 4 {
		t.Fatalf("server connections opened and reused must add up to the 4 requests:\n%s", out)
	}
	out, err = tb.app.Exec("show ltm profile http http_count")
	if err != nil || !strings.Contains(out, "/Common/vs_cnt, /Common/vs_down") || !regexp.MustCompile(`503 No Member\s+1\n`).MatchString(out) ||
		!regexp.MustCompile(`Responses 5xx\s+1\n`).MatchString(out) || !regexp.MustCompile(`Total Requests\s+5\n`).MatchString(out) {
		t.Fatalf("show ltm profile http (%v):\n%s", err, out)
	}
	if out, err := tb.app.Exec("show ltm virtual vs_http"); err != nil || !strings.Contains(out, "Traffic") || strings.Contains(out, "HTTP Requests") {
		// vs_http of the default config is a layer-4 virtual
		t.Fatalf("a layer-4 virtual (%v):\n%s", err, out)
	}
	rec := httptest.NewRecorder()
	tb.app.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`lbx_http_requests_total{virtual="/Common/vs_cnt"} 4`,
		`lbx_http_responses_total{class="2xx",virtual="/Common/vs_cnt"} 4`,
		`lbx_http_errors_total{code="400",virtual="/Common/vs_cnt"} 1`,
		`lbx_http_errors_total{code="503",virtual="/Common/vs_down"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Fatalf("metrics lack %s", want)
		}
	}
}

// An HTTP virtual with source-address-translation type snat: its
// server-side connections leave from the SNAT pool's addresses, in turn; a
// layer-4 virtual may not share those addresses, and a change back to
// automap takes effect for the next connections.
func TestHTTPVirtualSNATPool(t *testing.T) {
	tb := newTestbed(t, testbedConfig(t))
	tb.exec(
		"create ltm snatpool l7_snat members add { 198.18.2.50 198.18.2.51 }",
		"create ltm virtual vs_snat destination 198.18.1.110:80 ip-protocol tcp pool web_pool profiles { tcp http oneconnect } source-address-translation { type snat pool l7_snat }",
		"create ltm pool one_pool members add { 198.18.2.11:80 }",
		"create ltm virtual vs_one destination 198.18.1.112:80 ip-protocol tcp pool one_pool profiles { tcp http oneconnect } source-address-translation { type automap }",
	)
	// An idle one-connect connection from the self IP is not reused once
	// the SNAT pool is set.
	if _, body := fetch(t, keepAlive(tb.client), "http://198.18.1.112/"); !strings.Contains(body, "peer=198.18.2.2:") {
		t.Fatalf("automap: %q", body)
	}
	tb.exec("modify ltm virtual vs_one source-address-translation { type snat pool l7_snat }")
	if _, body := fetch(t, keepAlive(tb.client), "http://198.18.1.112/"); !strings.Contains(body, "peer=198.18.2.5") {
		t.Fatalf("after the change to a SNAT pool the member saw %q", body)
	}
	seen := map[string]int{}
	for range 6 {
		c := keepAlive(tb.client) // a new client connection, so a new server connection
		_, body := fetch(t, c, "http://198.18.1.110/")
		m := peerRe.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("answer %q", body)
		}
		seen[m[1]]++
		c.CloseIdleConnections()
		tb.app.HTTPProxy("/Common/vs_snat").CloseIdle() // each request on a new server connection
	}
	if len(seen) != 2 || seen["198.18.2.50"] == 0 || seen["198.18.2.51"] == 0 {
		t.Fatalf("the members saw %v: want both SNAT pool addresses", seen)
	}
	_, err := tb.app.Exec("create ltm virtual vs_l4snat destination 198.18.1.111:80 ip-protocol tcp pool web_pool source-address-translation { type snat pool l7_snat }")
	if err == nil || !strings.Contains(err.Error(), "is also a SNAT address of HTTP virtual /Common/vs_") {
		t.Fatalf("a layer-4 virtual sharing the HTTP virtual's SNAT addresses: %v", err)
	}
	tb.exec("modify ltm virtual vs_snat source-address-translation { type automap }")
	c := keepAlive(tb.client)
	if _, body := fetch(t, c, "http://198.18.1.110/"); !strings.Contains(body, "peer=198.18.2.2:") {
		t.Fatalf("after automap the member saw %q, want the self IP", body)
	}
}

// Issue 17: without one-connect every client connection gets a server
// connection of its own, which the proxy closes first when the client
// leaves, so each leaves a TIME_WAIT 4-tuple on the appliance. 3,000 of
// them, more than the local stack's 2,048 ports (which used to be held
// for 60 s each: the 2,049th failed with "no ports are available"), are
// all answered.
func TestHTTPVirtualManyServerConnections(t *testing.T) {
	tb := newTestbed(t, testbedConfig(t))
	tb.exec("create ltm virtual vs_l7 destination 198.18.1.101:80 ip-protocol tcp pool web_pool profiles { tcp http } source-address-translation { type automap }")
	ctx, cancel := context.WithTimeout(context.Background(), 180*time.Second)
	defer cancel()
	const n = 3000
	start := time.Now()
	for i := range n {
		raw, err := tb.client.DialTCP(ctx, netip.MustParseAddrPort("198.18.1.101:80"))
		if err != nil {
			t.Fatalf("client connection %d: %v", i, err)
		}
		raw.SetDeadline(time.Now().Add(10 * time.Second))
		// HTTP/1.1 keep-alive: the member keeps its side open, so the
		// proxy closes the server connection when the client closes.
		if _, err := io.WriteString(raw, "GET / HTTP/1.1\r\nHost: 198.18.1.101\r\n\r\n"); err != nil {
			raw.Close()
			t.Fatalf("client connection %d: %v", i, err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(raw), nil)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %s", resp.Status)
			}
		}
		raw.Close()
		if err != nil {
			t.Fatalf("client connection %d: %v", i, err)
		}
	}
	el := time.Since(start)
	t.Logf("%d client connections, each with its own server connection, in %v: %.0f/s", n, el.Round(time.Millisecond), float64(n)/el.Seconds())
	st := tb.app.HTTPProxy("/Common/vs_l7").Stats()
	if st["client_conns"] != n || st["server_conns"] != n {
		t.Fatalf("proxy counters %v: want %d client and %d server connections", st, n, n)
	}
}
