package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httputil"
	"strings"
	"testing"
)

var h1RequestSeeds = []string{
	"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /a?b=c%20d HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n",
	"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
	"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc",
	"GET / HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n",
	"GET / HTTP/1.0\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nConnection: close, X-A\r\nX-A: 1\r\nKeep-Alive: 5\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n",
	"GET / HTTP/1.1\nHost: x\n\n",
	"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nz",
	"GET / HTTP/1.1\r\nHost: x\r\nCookie: a=1; BIGipServer~Common~p=\"1677787402.20480.0000\"\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX-Sp : v\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x",
}

// FuzzFastRequest is the fast path's request parser against net/http's
// ReadRequest: whatever it accepts, ReadRequest accepts too and reads the
// same way (method, target, version, Host, close, Content-Length, every
// header field and value); whatever it reports incomplete stays
// incomplete or declined with more bytes, never a different request.
func FuzzFastRequest(f *testing.F) {
	for _, s := range h1RequestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var r fastReq
		res := r.parse(in)
		if res != parseOK {
			return
		}
		if r.size > len(in) {
			t.Fatalf("size %d beyond the input's %d", r.size, len(in))
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(in[:r.size])))
		if err != nil {
			t.Fatalf("fast parser took %q, net/http refuses it: %v", in[:r.size], err)
		}
		if req.Method != string(r.method) || req.RequestURI != string(r.target) || req.ProtoMinor != r.minor || req.ProtoMajor != 1 {
			t.Fatalf("%q: net/http %s %s 1.%d, fast %s %s 1.%d", in, req.Method, req.RequestURI, req.ProtoMinor, r.method, r.target, r.minor)
		}
		if req.Host != string(r.host) {
			t.Fatalf("%q: Host %q, fast %q", in, req.Host, r.host)
		}
		if req.Close == r.keepAlive() {
			t.Fatalf("%q: net/http Close %v, fast keep-alive %v", in, req.Close, r.keepAlive())
		}
		want := max(r.length, 0)
		if r.chunked {
			want = -1
		}
		if req.ContentLength != want || r.chunked != (len(req.TransferEncoding) == 1) {
			t.Fatalf("%q: Content-Length %d %v, fast %d chunked %v", in, req.ContentLength, req.TransferEncoding, r.length, r.chunked)
		}
		h := req.Header
		if r.chunked {
			h = h.Clone()
			h["Transfer-Encoding"] = fieldValues(r.hdrs, "Transfer-Encoding") // net/http moves it out
		}
		compareHeaders(t, in, h, r.hdrs, "Host")
	})
}

// compareHeaders checks that a header table holds what net/http read:
// the same values per name, in order (Host aside for requests: net/http
// moves it out of the map).
func compareHeaders(t *testing.T, in []byte, h http.Header, hdrs []hdr, skip string) {
	t.Helper()
	got := http.Header{}
	for _, f := range hdrs {
		k := http.CanonicalHeaderKey(string(f.name))
		if k == skip {
			continue
		}
		got[k] = append(got[k], string(f.value))
	}
	if len(got) != len(h) {
		t.Fatalf("%q: %d header names, net/http %d (%v / %v)", in, len(got), len(h), got, h)
	}
	for k, vs := range h {
		g := got[k]
		if len(g) != len(vs) {
			t.Fatalf("%q: %s %q, net/http %q", in, k, g, vs)
		}
		for i := range vs {
			if g[i] != vs[i] {
				t.Fatalf("%q: %s %q, net/http %q", in, k, g, vs)
			}
		}
	}
}

// FuzzFastResponse is the fast path's answer parser against net/http's
// ReadResponse, as FuzzFastRequest, and its chunked relay against
// httputil's chunked reader: a chunked body it relays to the end is one
// net/http decodes, and what it wrote is what it consumed.
func FuzzFastResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n",
		"HTTP/1.1 302 Found\r\nLocation: http://10.0.0.1/x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nbody",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var r fastResp
		if r.parse(in) != parseOK {
			return
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(in[:r.size])), nil)
		if err != nil {
			t.Fatalf("fast parser took %q, net/http refuses it: %v", in[:r.size], err)
		}
		if resp.StatusCode != r.status || resp.ProtoMinor != 1 {
			t.Fatalf("%q: status %d, fast %d", in, resp.StatusCode, r.status)
		}
		if r.chunked != (len(resp.TransferEncoding) == 1) {
			t.Fatalf("%q: transfer-encoding %v, fast chunked %v", in, resp.TransferEncoding, r.chunked)
		}
		if !r.chunked && r.length >= 0 && resp.ContentLength != r.length && resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotModified {
			t.Fatalf("%q: Content-Length %d, fast %d", in, resp.ContentLength, r.length)
		}
		untilEOF := !r.chunked && r.length < 0 && r.status != http.StatusNoContent && r.status != http.StatusNotModified
		if resp.Close != (r.closeTok || untilEOF) { // the proxy leaves untilEOF answers to net/http
			t.Fatalf("%q: net/http Close %v, fast %v", in, resp.Close, r.closeTok)
		}
		h := resp.Header.Clone()
		if vs := fieldValues(r.hdrs, "Connection"); len(vs) > 0 {
			h["Connection"] = vs // net/http drops it when it says close
		}
		if r.chunked {
			h["Transfer-Encoding"] = fieldValues(r.hdrs, "Transfer-Encoding") // net/http moves it out
		}
		compareHeaders(t, in, h, r.hdrs, "")
		if !r.chunked {
			return
		}
		rest := in[r.size:]
		var out bytes.Buffer
		w := bufio.NewWriter(&out)
		br := bufio.NewReaderSize(bytes.NewReader(rest), 64)
		if _, err := copyChunked(w, br); err != nil {
			return
		}
		_ = w.Flush()
		if !bytes.HasPrefix(rest, out.Bytes()) {
			t.Fatalf("%q: relayed %q, not what it read", rest, out.Bytes())
		}
		body, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(out.Bytes())))
		if err != nil {
			t.Fatalf("relayed chunked body %q: net/http: %v", out.Bytes(), err)
		}
		// The whole answer as relayed, trailer included, reads back.
		whole := append(append([]byte(nil), in[:r.size]...), out.Bytes()...)
		resp2, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(whole)), nil)
		if err != nil {
			t.Fatalf("relayed %q: %v", whole, err)
		}
		body2, err := io.ReadAll(resp2.Body)
		if err != nil || !bytes.Equal(body, body2) {
			t.Fatalf("relayed %q: body %q, %v; chunked reader %q", whole, body2, err, body)
		}
		if !strings.HasSuffix(out.String(), "\r\n") {
			t.Fatalf("relayed %q does not end its trailer", out.Bytes())
		}
	})
}

func fieldValues(hdrs []hdr, name string) []string {
	var vs []string
	for _, f := range hdrs {
		if foldEq(f.name, name) {
			vs = append(vs, string(f.value))
		}
	}
	return vs
}
