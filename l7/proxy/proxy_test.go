package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"lbx/pools"
)

// member is a real net/http server on loopback, counting the connections
// it accepts and recording the last request's headers.
type member struct {
	name  string
	srv   *http.Server
	addr  netip.AddrPort
	conns atomic.Int64
	reqs  atomic.Int64

	mu   sync.Mutex
	last http.Header
}

func startMember(t *testing.T, name string, h http.HandlerFunc) *member {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &member{name: name, addr: l.Addr().(*net.TCPAddr).AddrPort()}
	m.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.reqs.Add(1)
			m.mu.Lock()
			m.last = r.Header.Clone()
			m.mu.Unlock()
			if h != nil {
				h(w, r)
				return
			}
			body, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "server=%s path=%s body=%d\n", name, r.URL.Path, len(body))
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				m.conns.Add(1)
			}
		},
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = m.srv.Serve(l) }()
	t.Cleanup(func() { _ = m.srv.Close() })
	return m
}

func (m *member) header() http.Header {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last
}

// backend is the proxy's Backend over real pools.Pools.
type backend map[string]*pools.Pool

func (b backend) Pool(name string) *pools.Pool { return b[name] }

func newPool(t testing.TB, name string, ms ...netip.AddrPort) *pools.Pool {
	t.Helper()
	var mem []pools.Member
	for _, a := range ms {
		mem = append(mem, pools.Member{Name: "/Common/" + a.String(), Node: "/Common/" + a.Addr().String(),
			Addr: a.Addr(), Port: a.Port(), Stats: new(pools.MemberStats)})
	}
	p, err := pools.NewPool(pools.PoolConfig{Name: name, Method: pools.MethodRoundRobin, Members: mem})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startProxy serves cfg on a loopback listener.
func startProxy(t *testing.T, cfg *Config, b Backend) (*Proxy, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := New(cfg, Options{Backend: b})
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Serve(l) }()
	t.Cleanup(func() {
		p.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after Close")
		}
	})
	return p, l.Addr().String()
}

// keepAliveClient is one client connection for many requests.
func keepAliveClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}}
}

func get(t *testing.T, c *http.Client, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func serverOf(body string) string {
	f := strings.Fields(body)
	if len(f) == 0 {
		return ""
	}
	return strings.TrimPrefix(f[0], "server=")
}

func TestPerConnectionBalancingWithoutOneConnect(t *testing.T) {
	a, b := startMember(t, "a", nil), startMember(t, "b", nil)
	be := backend{"/Common/p": newPool(t, "/Common/p", a.addr, b.addr)}
	_, addr := startProxy(t, &Config{Virtual: "/Common/vs", Pool: "/Common/p"}, be)
	seen := map[string]int{}
	for conn := 0; conn < 4; conn++ {
		c := keepAliveClient()
		first := ""
		for i := 0; i < 5; i++ {
			_, body := get(t, c, "http://"+addr+"/x")
			s := serverOf(body)
			if first == "" {
				first = s
			} else if s != first {
				t.Fatalf("client connection %d: request %d went to %s, first to %s: want one member per client connection", conn, i, s, first)
			}
		}
		seen[first]++
		c.CloseIdleConnections()
	}
	if seen["a"] != 2 || seen["b"] != 2 {
		t.Fatalf("client connections per member = %v, want 2 each (round robin)", seen)
	}
	if got := a.conns.Load() + b.conns.Load(); got != 4 {
		t.Fatalf("server-side connections = %d, want 4 (one per client connection)", got)
	}
}

func TestOneConnectPerRequestBalancingAndReuse(t *testing.T) {
	a, b := startMember(t, "a", nil), startMember(t, "b", nil)
	be := backend{"/Common/p": newPool(t, "/Common/p", a.addr, b.addr)}
	p, addr := startProxy(t, &Config{Virtual: "/Common/vs", Pool: "/Common/p", OneConnect: &OneConnect{}}, be)
	for conn := 0; conn < 3; conn++ {
		c := keepAliveClient()
		prev := ""
		for i := 0; i < 6; i++ {
			_, body := get(t, c, "http://"+addr+"/x")
			s := serverOf(body)
			if s == prev {
				t.Fatalf("request %d on one client connection went to %s again: want per-request round robin", i, s)
			}
			prev = s
		}
		c.CloseIdleConnections()
	}
	if a.reqs.Load() != 9 || b.reqs.Load() != 9 {
		t.Fatalf("requests a=%d b=%d, want 9 each", a.reqs.Load(), b.reqs.Load())
	}
	// Sequential requests: each member's one connection is reused by
	// every request, across the three client connections.
	if a.conns.Load() != 1 || b.conns.Load() != 1 {
		t.Fatalf("server-side connections a=%d b=%d, want 1 each (reused)", a.conns.Load(), b.conns.Load())
	}
	if got := p.IdleServerConns(); got != 2 {
		t.Fatalf("idle server connections = %d, want 2", got)
	}
	if got := p.Counters().ServerReuses.Load(); got != 16 {
		t.Fatalf("server_reuses = %d, want 16", got)
	}
}

func TestOneConnectMaxReuseAndSourceMask(t *testing.T) {
	a := startMember(t, "a", nil)
	be := backend{"/Common/p": newPool(t, "/Common/p", a.addr)}
	_, addr := startProxy(t, &Config{Virtual: "/Common/vs", Pool: "/Common/p", OneConnect: &OneConnect{MaxReuse: 2, SourceMask: 32}}, be)
	c := keepAliveClient()
	for i := 0; i < 6; i++ {
		get(t, c, "http://"+addr+"/x")
	}
	// Each server connection carries max-reuse (2) requests.
	if got := a.conns.Load(); got != 3 {
		t.Fatalf("server-side connections = %d, want 3 for 6 requests at max-reuse 2", got)
	}
}

// rawConn is a client that writes bytes and reads responses itself.
func rawConn(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

func readResp(t *testing.T, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestPipelinedRequestsAnsweredInOrder(t *testing.T) {
	a := startMember(t, "a", nil)
	be := backend{"/Common/p": newPool(t, "/Common/p", a.addr)}
	_, addr := startProxy(t, &Config{Pool: "/Common/p"}, be)
	c, br := rawConn(t, addr)
	var w strings.Builder
	for i := 0; i < 4; i++ {
		fmt.Fprintf(&w, "GET /r%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
	}
	if _, err := c.Write([]byte(w.String())); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		_, body := readResp(t, br, "GET")
		if want := fmt.Sprintf("path=/r%d ", i); !strings.Contains(body, want) {
			t.Fatalf("response %d = %q, want %q", i, body, want)
		}
	}
}

func TestChunkedBothWays(t *testing.T) {
	a := startMember(t, "a", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "got %d te=%v|", len(body), r.TransferEncoding)
		w.(http.Flusher).Flush() // a chunked response
		fmt.Fprint(w, strings.Repeat("z", 5000))
	})
	be := backend{"/Common/p": newPool(t, "/Common/p", a.addr)}
	_, addr := startProxy(t, &Config{Pool: "/Common/p"}, be)
	c, br := rawConn(t, addr)
	req := "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
	for i := 0; i < 2; i++ { // twice over one connection: the framing holds
		if _, err := c.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		resp, body := readResp(t, br, "POST")
		if len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
			t.Fatalf("response transfer-encoding = %v, want chunked", resp.TransferEncoding)
		}
		if want := "got 11 te=[chunked]|" + strings.Repeat("z", 5000); body != want {
			t.Fatalf("body = %.60q…, want %.60q…", body, want)
		}
	}
}

func TestHTTP10ClientGetsNoChunks(t *testing.T) {
	a := startMember(t, "a", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "part1|")
		w.(http.Flusher).Flush() // chunked from the member
		fmt.Fprint(w, "part2")
	})
	be := backend{"/Common/p": newPool(t, "/Common/p", a.addr)}
	_, addr := startProxy(t, &Config{Pool: "/Common/p"}, be)
	c, br := rawConn(t, addr)
	if _, err := c.Write([]byte("GET / HTTP/1.0\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, body := readResp(t, br, "GET")
	if len(resp.TransferEncoding) != 0 || body != "part1|part2" || !resp.Close {
		t.Fatalf("HTTP/1.0 answer: te=%v close=%v body %q, want raw body to the end of the connection", resp.TransferEncoding, resp.Close, body)
	}
}

func TestExpectContinue(t *testing.T) {
	a := startMember(t, "a", nil)
	be := backend{"/Common/p": newPool(t, "/Common/p", a.addr)}
	_, addr := startProxy(t, &Config{Pool: "/Common/p"}, be)
	c, br := rawConn(t, addr)
	if _, err := c.Write([]byte("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(line, "HTTP/1.1 100 ") {
		t.Fatalf("first line = %q, want 100 Continue before the body is sent", line)
	}
	if _, err := br.ReadString('\n'); err != nil { // the blank line
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("abcd")); err != nil {
		t.Fatal(err)
	}
	resp, body := readResp(t, br, "POST")
	if resp.StatusCode != 200 || !strings.Contains(body, "body=4") {
		t.Fatalf("response %d %q, want 200 with body=4", resp.StatusCode, body)
	}
	if _, ok := a.header()["Expect"]; ok {
		t.Fatal("Expect was forwarded to the member")
	}
}

func TestMalformedAndOversizedRequests(t *testing.T) {
	a := startMember(t, "a", nil)
	be := backend{"/Common/p": newPool(t, "/Common/p", a.addr)}
	p, addr := startProxy(t, &Config{Pool: "/Common/p", HTTP: HTTP{MaxHeaderSize: 1024, ServerAgent: "BigIP"}}, be)
	cases := []struct {
		in     string
		status int
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", 400},
		{"GARBAGE\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\n\r\n", 400}, // no Host
		{"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 8000) + "\r\n\r\n", 431},
	}
	for _, tc := range cases {
		c, br := rawConn(t, addr)
		if _, err := c.Write([]byte(tc.in)); err != nil {
			t.Fatal(err)
		}
		resp, _ := readResp(t, br, "GET")
		if resp.StatusCode != tc.status || resp.Header.Get("Server") != "BigIP" {
			t.Fatalf("%.40q: %d Server=%q, want %d from BigIP", tc.in, resp.StatusCode, resp.Header.Get("Server"), tc.status)
		}
	}
	if got := p.Counters().BadRequests.Load(); got != 3 {
		t.Fatalf("bad_requests = %d, want 3", got)
	}
	if got := p.Counters().HeaderTooLarge.Load(); got != 1 {
		t.Fatalf("header_too_large = %d, want 1", got)
	}
	if a.reqs.Load() != 0 {
		t.Fatal("a malformed request reached the member")
	}
}

func deadAddr(t *testing.T) netip.AddrPort {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().(*net.TCPAddr).AddrPort()
	_ = l.Close()
	return a
}

func TestReselectOnConnectFailure(t *testing.T) {
	a := startMember(t, "a", nil)
	be := backend{"/Common/p": newPool(t, "/Common/p", deadAddr(t), a.addr)}
	p, addr := startProxy(t, &Config{Pool: "/Common/p", OneConnect: &OneConnect{}}, be)
	c := keepAliveClient()
	for i := 0; i < 4; i++ {
		resp, body := get(t, c, "http://"+addr+"/x")
		if resp.StatusCode != 200 || serverOf(body) != "a" {
			t.Fatalf("request %d: %d %q, want 200 from a", i, resp.StatusCode, body)
		}
	}
	if p.Counters().Reselects.Load() == 0 || p.Counters().ConnectFails.Load() == 0 {
		t.Fatalf("reselects=%d connect_fails=%d, want both > 0", p.Counters().Reselects.Load(), p.Counters().ConnectFails.Load())
	}
}

func TestMemberFailsMidRequest(t *testing.T) {
	a := startMember(t, "a", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		c, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = c.Close() // dies with the request read and nothing answered
		}
	})
	be := backend{"/Common/p": newPool(t, "/Common/p", a.addr)}
	p, addr := startProxy(t, &Config{Pool: "/Common/p"}, be)
	resp, err := http.Post("http://"+addr+"/x", "text/plain", strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, want 502 (a POST whose body the member read is not retried)", resp.StatusCode)
	}
	if p.Counters().BadGateway.Load() != 1 || a.reqs.Load() != 1 {
		t.Fatalf("bad_gateway=%d member requests=%d, want 1 and 1", p.Counters().BadGateway.Load(), a.reqs.Load())
	}
}

func TestCookieInsertAndHonour(t *testing.T) {
	a, b := startMember(t, "a", nil), startMember(t, "b", nil)
	be := backend{"/Common/p": newPool(t, "/Common/p", a.addr, b.addr)}
	p, addr := startProxy(t, &Config{Pool: "/Common/p", OneConnect: &OneConnect{}, Cookie: &Cookie{}}, be)
	c := keepAliveClient()
	resp, body := get(t, c, "http://"+addr+"/")
	var ck *http.Cookie
	for _, x := range resp.Cookies() {
		if x.Name == "BIGipServer~Common~p" {
			ck = x
		}
	}
	if ck == nil {
		t.Fatalf("no BIGipServer~Common~p cookie in %v", resp.Header["Set-Cookie"])
	}
	ip, port, err := pools.DecodeCookie(ck.Value)
	if err != nil {
		t.Fatal(err)
	}
	first := serverOf(body)
	want := map[string]netip.AddrPort{"a": a.addr, "b": b.addr}[first]
	if netip.AddrPortFrom(ip, port) != want {
		t.Fatalf("cookie names %s:%d, the answer came from %s (%s)", ip, port, first, want)
	}
	for i := 0; i < 6; i++ { // per-request balancing would alternate; the cookie pins
		resp, body := get(t, c, "http://"+addr+"/", "Cookie", ck.Name+"="+ck.Value)
		if serverOf(body) != first {
			t.Fatalf("request %d with the cookie went to %s, want %s", i, serverOf(body), first)
		}
		if len(resp.Header["Set-Cookie"]) != 0 {
			t.Fatalf("cookie re-inserted for a client that sent it: %v", resp.Header["Set-Cookie"])
		}
	}
	if got := p.Counters().CookiesHonoured.Load(); got != 6 {
		t.Fatalf("cookies_honoured = %d, want 6", got)
	}
	// A cookie naming a member that is down is not honoured.
	be["/Common/p"].Members[map[string]int{"a": 0, "b": 1}[first]].Health = new(pools.Health)
	be["/Common/p"].Members[map[string]int{"a": 0, "b": 1}[first]].Health.Set(pools.HealthDown, 1)
	_, body = get(t, c, "http://"+addr+"/", "Cookie", ck.Name+"="+ck.Value)
	if serverOf(body) == first {
		t.Fatalf("a cookie for a down member was honoured")
	}
}

func TestHeaderEditsAndXFF(t *testing.T) {
	a := startMember(t, "a", nil)
	be := backend{"/Common/p": newPool(t, "/Common/p", a.addr)}
	_, addr := startProxy(t, &Config{Pool: "/Common/p", HTTP: HTTP{
		InsertXFF: true, HeaderInsert: []string{"X-Lbx: on"}, HeaderErase: []string{"X-Secret"},
	}}, be)
	get(t, keepAliveClient(), "http://"+addr+"/", "X-Secret", "s", "X-Keep", "k")
	h := a.header()
	if h.Get("X-Forwarded-For") != "127.0.0.1" || h.Get("X-Lbx") != "on" || h.Get("X-Secret") != "" || h.Get("X-Keep") != "k" {
		t.Fatalf("member saw %v", h)
	}
}

func TestRedirectRewrite(t *testing.T) {
	m := netip.MustParseAddrPort("10.0.0.1:8080")
	for _, tc := range []struct{ mode, loc, want string }{
		{"none", "http://a/x", ""},
		{"all", "http://other:81/x", "http://other/x"},
		{"matching", "http://www.example.com:8080/x?q", "http://www.example.com/x?q"},
		{"matching", "http://other/x", ""},
		{"nodes", "http://10.0.0.1:8080/p", "http://www.example.com/p"},
		{"nodes", "http://10.0.0.2/p", ""},
		{"all", "/relative", ""},
	} {
		got, ok := rewriteRedirect(tc.mode, tc.loc, "www.example.com", m, false)
		if !ok {
			got = ""
		}
		if got != tc.want {
			t.Errorf("%s %q = %q, want %q", tc.mode, tc.loc, got, tc.want)
		}
	}
}

type routerFunc func(*http.Request, netip.AddrPort) Decision

func (f routerFunc) Route(r *http.Request, c netip.AddrPort) Decision { return f(r, c) }

func TestRouterHook(t *testing.T) {
	a, s := startMember(t, "app", nil), startMember(t, "static", nil)
	be := backend{"/Common/app": newPool(t, "/Common/app", a.addr), "/Common/static": newPool(t, "/Common/static", s.addr)}
	var seenClient atomic.Value
	r := routerFunc(func(req *http.Request, client netip.AddrPort) Decision {
		seenClient.Store(client)
		switch {
		case strings.HasSuffix(req.URL.Path, ".jpg"):
			return Decision{Pool: "/Common/static", SetHeaders: http.Header{"X-Route": {"static"}}}
		case req.URL.Path == "/old":
			return Decision{Reply: &Reply{Location: "/new"}}
		case req.URL.Path == "/reset":
			return Decision{Reset: true}
		}
		return Decision{}
	})
	p, addr := startProxy(t, &Config{Pool: "/Common/app", OneConnect: &OneConnect{}, Router: r}, be)
	c := keepAliveClient()
	if _, body := get(t, c, "http://"+addr+"/img/a.jpg"); serverOf(body) != "static" || s.header().Get("X-Route") != "static" {
		t.Fatalf("jpg went to %q (X-Route %q)", body, s.header().Get("X-Route"))
	}
	if _, body := get(t, c, "http://"+addr+"/page"); serverOf(body) != "app" {
		t.Fatalf("page went to %q", body)
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if resp, _ := get(t, c, "http://"+addr+"/old"); resp.StatusCode != 302 || resp.Header.Get("Location") != "/new" {
		t.Fatalf("redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, err := c.Get("http://" + addr + "/reset"); err == nil {
		t.Fatal("reset answered")
	}
	if cl, _ := seenClient.Load().(netip.AddrPort); cl.Addr() != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("router saw client %v", cl)
	}
	// net/http's client retries an idempotent request once on a reused
	// connection that was reset: one or two resets.
	if r := p.Counters().Resets.Load(); p.Counters().Replies.Load() != 1 || r < 1 || r > 2 {
		t.Fatalf("replies=%d resets=%d", p.Counters().Replies.Load(), p.Counters().Resets.Load())
	}
}

func TestNoMemberAnswers503AndConnCounts(t *testing.T) {
	a := startMember(t, "a", nil)
	pool := newPool(t, "/Common/p", a.addr)
	be := backend{"/Common/p": pool}
	p, addr := startProxy(t, &Config{Pool: "/Common/p"}, be)
	c := keepAliveClient()
	get(t, c, "http://"+addr+"/")
	if got := pool.Members[0].Stats.CurConns.Load(); got != 1 {
		t.Fatalf("member curconns = %d with a client connection open, want 1", got)
	}
	c.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	for pool.Members[0].Stats.CurConns.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("member curconns stays above 0 after the client closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	pool.Members[0].Health = new(pools.Health)
	pool.Members[0].Health.Set(pools.HealthDown, 1)
	if resp, _ := get(t, keepAliveClient(), "http://"+addr+"/"); resp.StatusCode != 503 {
		t.Fatalf("status %d with the only member down, want 503", resp.StatusCode)
	}
	if p.Counters().NoMember.Load() != 1 {
		t.Fatalf("no_member = %d", p.Counters().NoMember.Load())
	}
}
