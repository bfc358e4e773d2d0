package proxy

import (
	"bytes"
	"net"
	"net/http"
	"strings"
	"time"

	"lbx/pools"
)

// The fast path: a request parseRequest takes (no Router on the virtual)
// is forwarded from the client's buffer as it was read, with the http
// profile's edits made while it is written, and a member's answer the
// fast response parser takes is relayed the same way, all without
// allocating. Anything else in either direction goes through net/http as
// before: a request it declines is read by http.ReadRequest from the same
// buffered bytes; an answer it declines (1xx, HTTP/1.0, no length, a
// chunked answer to an HTTP/1.0 client, cookie persistence of method hash
// or rewrite, which edit the member's Set-Cookie) by http.ReadResponse.

// reqView is what choosing a member reads of a request, from either path.
type reqView struct {
	h    *http.Request // the net/http path
	body *bodyReader   // its body, nil for none
	f    *fastReq      // the fast path
}

// cookie returns the value of the request's cookie name.
func (r reqView) cookie(name string) (string, bool) {
	if r.h != nil {
		ck, err := r.h.Cookie(name)
		if err != nil {
			return "", false
		}
		return ck.Value, true
	}
	for _, h := range r.f.hdrs {
		if !foldEq(h.name, "Cookie") {
			continue
		}
		line := h.value
		for len(line) > 0 {
			var part []byte
			if i := bytes.IndexByte(line, ';'); i >= 0 {
				part, line = line[:i], line[i+1:]
			} else {
				part, line = line, nil
			}
			part = trimOWS(part)
			k, v, ok := bytes.Cut(part, []byte("="))
			if !ok || string(k) != name {
				continue
			}
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return string(v), true
		}
	}
	return "", false
}

// header returns the first value of a header by its canonical name.
func (r reqView) header(canon string) string {
	if r.h != nil {
		if vs := r.h.Header[canon]; len(vs) > 0 {
			return vs[0]
		}
		return ""
	}
	for _, h := range r.f.hdrs {
		if foldEq(h.name, canon) {
			return string(h.value)
		}
	}
	return ""
}

func (r reqView) host() string {
	if r.h != nil {
		return r.h.Host
	}
	return string(r.f.host)
}

func (r reqView) consumed(cc *clientConn) bool {
	if r.f != nil {
		return cc.fconsumed
	}
	return r.body != nil && r.body.consumed
}

func (r reqView) method(cc *clientConn) string {
	if r.f != nil {
		return cc.fmethod
	}
	return r.h.Method
}

// methodString returns the method without allocating for the common ones.
func methodString(b []byte) string {
	switch string(b) {
	case http.MethodGet:
		return http.MethodGet
	case http.MethodHead:
		return http.MethodHead
	case http.MethodPost:
		return http.MethodPost
	case http.MethodPut:
		return http.MethodPut
	case http.MethodDelete:
		return http.MethodDelete
	case http.MethodOptions:
		return http.MethodOptions
	case http.MethodPatch:
		return http.MethodPatch
	case http.MethodTrace:
		return http.MethodTrace
	}
	return string(b)
}

// readFast tries the fast path's parser on the next request: true when it
// took the request (in cc.fq, still in cc.br's buffer). beforeRead is
// called before it reads more than what is buffered.
func (cc *clientConn) readFast(maxHdr int, beforeRead func()) bool {
	if peekHeader(cc.br, cc.fq.parse, beforeRead) != parseOK || cc.fq.size > maxHdr {
		return false
	}
	cc.fmethod = methodString(cc.fq.method)
	cc.fconsumed, cc.fhead = false, false
	return true
}

// handleFast forwards a request of the fast path and relays the answer;
// false closes the client connection.
func (cc *clientConn) handleFast(cfg *Config, keep bool) bool {
	p := cc.p
	r := &cc.fq
	minor, head := r.minor, cc.fmethod == http.MethodHead
	d := &cc.fdec
	*d = Decision{}
	if vr, ok := cfg.Router.(ViewRouter); ok {
		*d = vr.RouteView(RequestView{cc}, cc.client)
	}
	if d.Reset {
		p.ctr.Resets.Add(1)
		if tc, ok := cc.c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		return false
	}
	if d.Reply != nil {
		p.ctr.Replies.Add(1)
		hasBody := r.length > 0 || r.chunked
		_, _ = cc.br.Discard(r.size)
		cc.reply(cfg, d.Reply, keep && !hasBody)
		return !hasBody // an unread body would be read as the next request
	}
	var host string
	if cfg.HTTP.RedirectRewrite != "" && cfg.HTTP.RedirectRewrite != "none" {
		host = string(r.host)
		if d.Host != "" {
			host = d.Host
		}
	}
	poolName := d.Pool
	if poolName == "" {
		poolName = cfg.Pool
	}
	sc, chosen, cookie, resp, ok := cc.forward(cfg, reqView{f: r}, poolName, d.Member)
	if !ok {
		return false
	}
	if !cc.fhead {
		_, _ = cc.br.Discard(r.size)
		cc.fhead = true
	}
	if resp != nil {
		// An answer for net/http: the request as it needs it.
		req := &http.Request{Method: cc.fmethod, Host: host, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: minor, Header: http.Header{}}
		return cc.relay(cfg, req, resp, sc, chosen, poolName, cookie, d, keep, nil)
	}
	rs := &cc.fr
	p.ctr.Responses.Add(1)
	p.ctr.status(rs.status)
	serverClose := rs.closeTok
	body := rs.status != http.StatusNoContent && rs.status != http.StatusNotModified && !head
	cc.wdl.arm(cc.c, true, time.Now(), timeoutOr(cfg.HTTP.IdleTimeout, DefaultIdleTimeout))
	cc.cw.err = nil
	w := cc.bw
	_, _ = w.Write(rs.statusLine)
	_, _ = w.Write(crlf)
	for _, h := range rs.hdrs {
		if rs.hop(h.name) && !(rs.chunked && foldEq(h.name, "Trailer")) {
			continue
		}
		if host != "" && rs.status >= 300 && rs.status < 400 && foldEq(h.name, "Location") {
			if nl, ok := rewriteRedirect(cfg.HTTP.RedirectRewrite, string(h.value), host, chosen, cc.tls); ok {
				_, _ = w.WriteString("Location: ")
				_, _ = w.WriteString(nl)
				_, _ = w.Write(crlf)
				continue
			}
		}
		writeField(w, h)
	}
	if ck := cfg.Cookie; ck != nil && chosen.IsValid() && !ck.Passive && !cookie {
		c := &http.Cookie{Name: cookieName(cfg, poolName), Value: pools.EncodeCookie(chosen.Addr(), chosen.Port()), Path: "/"}
		if ck.Expire > 0 {
			c.Expires = time.Now().Add(ck.Expire).UTC()
			c.MaxAge = int(ck.Expire / time.Second)
		}
		_, _ = w.WriteString("Set-Cookie: ")
		_, _ = w.WriteString(c.String())
		_, _ = w.Write(crlf)
		p.ctr.CookiesInserted.Add(1)
	}
	for _, ck := range d.SetCookies {
		_, _ = w.WriteString("Set-Cookie: ")
		_, _ = w.WriteString(ck.String())
		_, _ = w.Write(crlf)
	}
	switch {
	case !keep:
		_, _ = w.WriteString("Connection: close\r\n")
	case minor == 0:
		_, _ = w.WriteString("Connection: keep-alive\r\n")
	}
	_, werr := w.Write(crlf)
	_, _ = sc.br.Discard(rs.size)
	readErr := false
	if werr == nil && body {
		if rs.chunked {
			readErr, werr = copyChunked(w, sc.br)
		} else {
			readErr, werr = copyN(w, sc.br, rs.length)
		}
	}
	// The member's side is done when its answer is read in full: its
	// connection goes back before the last bytes reach the client.
	if werr != nil || serverClose {
		if werr != nil && (readErr || cc.cw.err == nil) {
			p.ctr.ServerAborts.Add(1)
		}
		sc.close()
		if sc == cc.server {
			cc.server = nil
		}
	} else if cfg.OneConnect != nil {
		p.idle.put(sc, time.Now())
	}
	if werr == nil {
		werr = w.Flush()
	}
	return werr == nil && keep
}

func writeField(w interface {
	Write([]byte) (int, error)
	WriteString(string) (int, error)
}, h hdr) {
	_, _ = w.Write(h.name)
	_, _ = w.WriteString(": ")
	_, _ = w.Write(h.value)
	_, _ = w.Write(crlf)
}

// exchangeFast writes the fast path's request to sc, with the http
// profile's edits, and reads the header of the member's answer: into
// cc.fr (nil response), or by net/http when the fast parser declines it.
func (cc *clientConn) exchangeFast(cfg *Config, sc *serverConn) (*http.Response, error) {
	r := &cc.fq
	now := time.Now()
	sc.wdl.arm(sc.c, true, now, DefaultServerTimeout)
	w := sc.bw
	_, _ = w.Write(r.method)
	_, _ = w.WriteString(" ")
	_, _ = w.Write(r.target)
	_, _ = w.WriteString(" HTTP/1.1\r\n")
	d := &cc.fdec
	for _, h := range r.hdrs {
		if framing(h.name) {
			if d.Host != "" && foldEq(h.name, "Host") {
				_, _ = w.WriteString("Host: ")
				_, _ = w.WriteString(d.Host)
				_, _ = w.Write(crlf)
				continue
			}
		} else if r.hop(h.name) && !(r.chunked && foldEq(h.name, "Trailer")) || erased(cfg.HTTP.HeaderErase, h.name) || editsName(d, h.name) {
			continue
		}
		writeField(w, h)
	}
	// The profile's inserts, then the router's (which replace them, as
	// editRequest does on the net/http path).
	for _, line := range cfg.HTTP.HeaderInsert {
		if k, v, ok := strings.Cut(line, ":"); ok {
			k = strings.TrimSpace(k)
			if framing(k) || foldEq(k, "Trailer") || editsName(d, k) {
				continue
			}
			_, _ = w.WriteString(k)
			_, _ = w.WriteString(": ")
			_, _ = w.WriteString(strings.TrimSpace(v))
			_, _ = w.Write(crlf)
		}
	}
	if cfg.HTTP.InsertXFF && !editsName(d, "X-Forwarded-For") {
		_, _ = w.WriteString("X-Forwarded-For: ")
		_, _ = w.Write(cc.client.Addr().Unmap().AppendTo(w.AvailableBuffer()))
		_, _ = w.Write(crlf)
	}
	for k, vs := range d.SetHeaders {
		if framing(k) || foldEq(k, "Trailer") || removed(d.RemoveHeaders, k) {
			continue
		}
		for _, v := range vs {
			_, _ = w.WriteString(k)
			_, _ = w.WriteString(": ")
			_, _ = w.WriteString(v)
			_, _ = w.Write(crlf)
		}
	}
	if _, err := w.Write(crlf); err != nil {
		return nil, err
	}
	if r.length > 0 || r.chunked {
		// The body goes as it comes (chunks relayed as they are, their
		// framing checked); from here on the request cannot be sent
		// again.
		cc.fconsumed = true
		if !cc.fhead {
			_, _ = cc.br.Discard(r.size)
			cc.fhead = true
		}
		var err error
		if r.chunked {
			_, err = copyChunked(w, cc.br)
		} else {
			_, err = copyN(w, cc.br, r.length)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	sc.rdl.arm(sc.c, false, now, DefaultServerTimeout)
	res := peekHeader(sc.br, cc.fr.parse, nil)
	if res == parseOK && cc.fr.chunked && r.minor == 0 {
		res = parseDecline // an HTTP/1.0 client cannot read chunks
	}
	if res == parseOK && cfg.Cookie != nil && (cfg.Cookie.Hash || cfg.Cookie.Rewrite) {
		res = parseDecline // those edit the member's Set-Cookie
	}
	if res == parseOK && cc.fr.length < 0 && !cc.fr.chunked && cc.fmethod != http.MethodHead &&
		cc.fr.status != http.StatusNoContent && cc.fr.status != http.StatusNotModified {
		res = parseDecline // delimited by the end of the connection
	}
	if res == parseOK {
		return nil, nil
	}
	req := &http.Request{Method: cc.fmethod}
	for {
		resp, err := http.ReadResponse(sc.br, req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusSwitchingProtocols {
			return nil, errMemberSwitched
		}
		if resp.StatusCode >= 200 {
			return resp, nil
		}
	}
}

// erased reports whether the http profile's header-erase names a header.
func erased(names []string, name []byte) bool {
	for _, n := range names {
		if foldEq(name, n) {
			return true
		}
	}
	return false
}

// framing reports the fields no edit removes or replaces: the target and
// the framing of the message (net/http writes them from its own fields
// whatever the header says). The Trailer declaration of a chunked
// message is kept too, as net/http writes it from the trailer it read.
func framing[T string | []byte](name T) bool {
	return foldEq(name, "Host") || foldEq(name, "Content-Length") || foldEq(name, "Transfer-Encoding")
}

// editsName reports whether the router's decision sets or removes a header.
func editsName[T string | []byte](d *Decision, name T) bool {
	if len(d.SetHeaders) == 0 && len(d.RemoveHeaders) == 0 {
		return false
	}
	for k := range d.SetHeaders {
		if foldEq(name, k) {
			return true
		}
	}
	return removed(d.RemoveHeaders, name)
}

func removed[T string | []byte](names []string, name T) bool {
	for _, n := range names {
		if foldEq(name, n) {
			return true
		}
	}
	return false
}
