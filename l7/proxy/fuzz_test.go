package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// FuzzClientBytes sends arbitrary bytes as a client connection's input
// through a running proxy to a real member: whatever arrives, every answer
// is a well-formed HTTP/1.1 response and the proxy keeps serving.
func FuzzClientBytes(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
		"GET / HTTP/2.0\r\nHost: x\r\n\r\n",
		"CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nConnection: close, X-A\r\nX-A: 1\r\n\r\n",
		"\x00\x01\x02",
		"GET /" + strings.Repeat("a", 3000) + " HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	a := startMemberF(f)
	be := backend{"/Common/p": newPool(f, "/Common/p", a)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	p := New(&Config{Pool: "/Common/p", HTTP: HTTP{MaxHeaderSize: 2048, RequestTimeout: 2 * time.Second, IdleTimeout: 2 * time.Second}}, Options{Backend: be})
	go func() { _ = p.Serve(l) }()
	f.Cleanup(p.Close)
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Close() }()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(in); err != nil {
			return // the proxy closed early: fine
		}
		_ = c.(*net.TCPConn).CloseWrite()
		br := bufio.NewReader(c)
		for {
			if _, err := br.Peek(1); err != nil {
				break
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("malformed answer to %q: %v", in, err)
			}
			if resp.ProtoMajor != 1 || resp.StatusCode < 100 || resp.StatusCode > 599 {
				t.Fatalf("answer %s %d to %q", resp.Proto, resp.StatusCode, in)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
		}
	})
}

func startMemberF(f *testing.F) netip.AddrPort {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok\n")
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	f.Cleanup(func() { _ = srv.Close() })
	return l.Addr().(*net.TCPAddr).AddrPort()
}

// FuzzSetCookie feeds arbitrary Set-Cookie lines of a member's response to
// the cookie persistence helpers: rewrite (method rewrite) never loses or
// adds a line, leaves other cookies as they were, and the rewritten
// cookie then reads back (method hash) as the new value.
func FuzzSetCookie(f *testing.F) {
	for _, s := range []string{
		"BIGipServer~Common~p=placeholder; Path=/app",
		"JSESSIONID=abc",
		`JSESSIONID="quoted"; HttpOnly`,
		"a=1\nBIGipServer~Common~p=x",
		"=; ;=",
		" BIGipServer~Common~p =v;",
		"",
	} {
		f.Add(s)
	}
	const name, value = "BIGipServer~Common~p", "1677787402.36895.0000"
	f.Fuzz(func(t *testing.T, lines string) {
		in := strings.Split(lines, "\n")
		h := http.Header{"Set-Cookie": append([]string(nil), in...)}
		_, had := setCookieValue(h, name)
		done := rewriteSetCookie(h, name, value)
		if done != had {
			t.Fatalf("rewrite %v, but the cookie was found: %v (%q)", done, had, in)
		}
		out := h["Set-Cookie"]
		if len(out) != len(in) {
			t.Fatalf("%d lines became %d", len(in), len(out))
		}
		for i := range in {
			if n, _, _ := strings.Cut(in[i], "="); strings.TrimSpace(n) != name && out[i] != in[i] {
				t.Fatalf("another cookie changed: %q to %q", in[i], out[i])
			}
		}
		if v, ok := setCookieValue(h, name); done && (!ok || v != value) {
			t.Fatalf("after rewrite the cookie reads %q, %v", v, ok)
		}
	})
}
