package proxy

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

// The fast path over one client connection, against a real net/http
// member: chunked answers with a trailer, HEAD, 204, 304, an answer after
// a 1xx (left to net/http), a Content-Length body, a member that closes,
// hop-by-hop headers, and every request read by the proxy's own parser.
func TestFastPathOverOneConnection(t *testing.T) {
	a := startMember(t, "a", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.Header().Set("Trailer", "X-Sum")
			fmt.Fprint(w, "part1|")
			w.(http.Flusher).Flush()
			fmt.Fprint(w, strings.Repeat("z", 10000))
			w.Header().Set("X-Sum", "42")
		case "/204":
			w.WriteHeader(http.StatusNoContent)
		case "/304":
			w.WriteHeader(http.StatusNotModified)
		case "/early":
			w.Header().Set("Link", "</s.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			fmt.Fprint(w, "after hints")
		case "/close":
			w.Header().Set("Connection", "close")
			fmt.Fprint(w, "closing")
		default:
			body, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "path=%s body=%s", r.URL.Path, body)
		}
	})
	be := backend{"/Common/p": newPool(t, "/Common/p", a.addr)}
	p, addr := startProxy(t, &Config{Pool: "/Common/p"}, be)
	c, br := rawConn(t, addr)
	send := func(s string) {
		t.Helper()
		if _, err := c.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for range 2 {
		send("GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n")
		n++
		resp, body := readResp(t, br, "GET")
		if len(resp.TransferEncoding) != 1 || body != "part1|"+strings.Repeat("z", 10000) || resp.Trailer.Get("X-Sum") != "42" {
			t.Fatalf("chunked answer: te %v, %d bytes, trailer %v", resp.TransferEncoding, len(body), resp.Trailer)
		}
	}
	send("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n")
	n++
	if resp, body := readResp(t, br, "HEAD"); resp.StatusCode != 200 || body != "" {
		t.Fatalf("HEAD: %d %q", resp.StatusCode, body)
	}
	for _, st := range []int{204, 304} {
		send(fmt.Sprintf("GET /%d HTTP/1.1\r\nHost: x\r\n\r\n", st))
		n++
		if resp, body := readResp(t, br, "GET"); resp.StatusCode != st || body != "" {
			t.Fatalf("%d: got %d %q", st, resp.StatusCode, body)
		}
	}
	send("GET /early HTTP/1.1\r\nHost: x\r\n\r\n")
	n++
	if resp, body := readResp(t, br, "GET"); resp.StatusCode != 200 || body != "after hints" {
		t.Fatalf("after 103: %d %q", resp.StatusCode, body)
	}
	send("POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
	n++
	if _, body := readResp(t, br, "POST"); body != "path=/post body=hello" {
		t.Fatalf("POST: %q", body)
	}
	send("GET /close HTTP/1.1\r\nHost: x\r\n\r\n")
	n++
	if resp, body := readResp(t, br, "GET"); resp.Close || body != "closing" {
		t.Fatalf("member closing: client close %v, %q", resp.Close, body)
	}
	send("GET /hop HTTP/1.1\r\nHost: x\r\nConnection: X-A, keep-alive\r\nX-A: 1\r\nKeep-Alive: 5\r\nX-B: 2\r\n\r\n")
	n++
	if _, body := readResp(t, br, "GET"); body != "path=/hop body=" {
		t.Fatalf("after the member closed: %q", body)
	}
	h := a.header()
	if h.Get("X-A") != "" || h.Get("Keep-Alive") != "" || h.Get("X-B") != "2" {
		t.Fatalf("hop-by-hop headers reached the member: %v", h)
	}
	// An HTTP/1.0 client keeps its connection when it asks to.
	c10, br10 := rawConn(t, addr)
	for range 2 {
		if _, err := c10.Write([]byte("GET /ten HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		n++
		resp, body := readResp(t, br10, "GET")
		if resp.Close || resp.Header.Get("Connection") != "keep-alive" || body != "path=/ten body=" {
			t.Fatalf("HTTP/1.0 keep-alive: close %v, Connection %q, %q", resp.Close, resp.Header.Get("Connection"), body)
		}
	}
	if got := p.Counters().FastPath.Load(); got != uint64(n) {
		t.Fatalf("fast_path %d of %d requests", got, n)
	}
	if got := p.Counters().Responses.Load(); got != uint64(n) {
		t.Fatalf("responses %d, want %d", got, n)
	}
}

// redirect-rewrite on the fast path: a member's redirect to its own
// address becomes one to the Host the client asked for.
func TestFastPathRedirectRewrite(t *testing.T) {
	var self string
	a := startMember(t, "a", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+self+"/p", http.StatusFound)
	})
	self = a.addr.String()
	be := backend{"/Common/p": newPool(t, "/Common/p", a.addr)}
	p, addr := startProxy(t, &Config{Pool: "/Common/p", HTTP: HTTP{RedirectRewrite: "nodes"}}, be)
	c, br := rawConn(t, addr)
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, _ := readResp(t, br, "GET")
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != "http://www.example.com/p" {
		t.Fatalf("%d Location %q", resp.StatusCode, loc)
	}
	if p.Counters().FastPath.Load() != 1 {
		t.Fatal("not on the fast path")
	}
}

// A Connection header naming Host or Content-Length does not take them
// off the forwarded request: the member still gets the request's target
// and framing (here a POST body, then a second request on the same
// connection).
func TestFastPathConnectionTokensKeepFraming(t *testing.T) {
	a := startMember(t, "a", nil)
	be := backend{"/Common/p": newPool(t, "/Common/p", a.addr)}
	_, addr := startProxy(t, &Config{Pool: "/Common/p"}, be)
	c, br := rawConn(t, addr)
	if _, err := c.Write([]byte("POST /a HTTP/1.1\r\nHost: x\r\nConnection: Host, Content-Length, X-Gone\r\nX-Gone: 1\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if _, body := readResp(t, br, "POST"); body != "server=a path=/a body=3\n" {
		t.Fatalf("POST: %q", body)
	}
	if _, body := readResp(t, br, "GET"); body != "server=a path=/b body=0\n" {
		t.Fatalf("GET after it: %q", body)
	}
}

// viewRouterFunc is a ViewRouter deciding the same for either path.
type viewRouterFunc func() Decision

func (f viewRouterFunc) Route(*http.Request, netip.AddrPort) Decision   { return f() }
func (f viewRouterFunc) RouteView(RequestView, netip.AddrPort) Decision { return f() }

type plainRouterFunc func() Decision

func (f plainRouterFunc) Route(*http.Request, netip.AddrPort) Decision { return f() }

// A router's edits (headers set and removed, Host, cookies) together with
// the http profile's reach the member and the client the same on the
// fast path as on net/http's.
func TestFastPathRouterEditsAsNetHTTP(t *testing.T) {
	decide := func() Decision {
		return Decision{
			SetHeaders:    http.Header{"X-Set": {"a", "b"}, "X-Lbx": {"router"}, "Content-Length": {"99"}},
			RemoveHeaders: []string{"X-Drop", "X-Forwarded-For"},
			Host:          "h.example",
			SetCookies:    []*http.Cookie{{Name: "c", Value: "1", Path: "/"}},
		}
	}
	profile := HTTP{InsertXFF: true, HeaderInsert: []string{"X-Lbx: on", "X-Ins: 1"}, HeaderErase: []string{"X-Erase"}}
	run := func(r Router) (http.Header, string, []string, uint64) {
		a := startMember(t, "a", func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "host=%s body=%s", r.Host, body)
		})
		be := backend{"/Common/p": newPool(t, "/Common/p", a.addr)}
		p, addr := startProxy(t, &Config{Pool: "/Common/p", HTTP: profile, Router: r}, be)
		c, br := rawConn(t, addr)
		if _, err := c.Write([]byte("POST /x HTTP/1.1\r\nHost: orig\r\nX-Drop: 1\r\nX-Erase: 2\r\nX-Set: old\r\nX-Keep: k\r\nContent-Length: 2\r\n\r\nhi")); err != nil {
			t.Fatal(err)
		}
		resp, body := readResp(t, br, "POST")
		return a.header(), body, resp.Header["Set-Cookie"], p.Counters().FastPath.Load()
	}
	wantH, wantBody, wantCk, fast := run(plainRouterFunc(decide))
	if fast != 0 {
		t.Fatalf("a plain Router's request took the fast path")
	}
	gotH, gotBody, gotCk, fast := run(viewRouterFunc(decide))
	if fast != 1 {
		t.Fatalf("a ViewRouter's request did not take the fast path")
	}
	if gotBody != wantBody || gotBody != "host=h.example body=hi" {
		t.Fatalf("member answered %q on the fast path, %q on net/http's", gotBody, wantBody)
	}
	if fmt.Sprint(gotCk) != fmt.Sprint(wantCk) {
		t.Fatalf("Set-Cookie %q, net/http's path %q", gotCk, wantCk)
	}
	if gotH.Get("X-Drop") != "" || gotH.Get("X-Erase") != "" || gotH.Get("X-Forwarded-For") != "" || gotH.Get("X-Keep") != "k" {
		t.Fatalf("member saw %v", gotH)
	}
	if fmt.Sprint(gotH) != fmt.Sprint(wantH) {
		t.Fatalf("member saw\n%v on the fast path,\n%v on net/http's", gotH, wantH)
	}
}

// A chunked request body on the fast path: relayed chunk by chunk with
// its trailer, twice over one connection; a malformed one ends in a 502
// and the connection closes (its body was consumed: no retry).
func TestFastPathChunkedRequest(t *testing.T) {
	a := startMember(t, "a", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "body=%s trailer=%s", body, r.Trailer.Get("X-T"))
	})
	be := backend{"/Common/p": newPool(t, "/Common/p", a.addr)}
	p, addr := startProxy(t, &Config{Pool: "/Common/p"}, be)
	c, br := rawConn(t, addr)
	for range 2 {
		if _, err := c.Write([]byte("POST / HTTP/1.1\r\nHost: x\r\nTrailer: X-T\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n!\r\n0\r\nX-T: v\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		if _, body := readResp(t, br, "POST"); body != "body=hello! trailer=v" {
			t.Fatalf("member answered %q", body)
		}
	}
	if _, err := c.Write([]byte("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if resp, _ := readResp(t, br, "POST"); resp.StatusCode != http.StatusBadGateway || !resp.Close {
		t.Fatalf("malformed chunks: %d close %v, want 502 and close", resp.StatusCode, resp.Close)
	}
	if got := p.Counters().FastPath.Load(); got != 3 {
		t.Fatalf("fast_path %d of 3", got)
	}
}
