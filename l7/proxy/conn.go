package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"lbx/pools"
)

// clientConn is one client connection and its server side.
type clientConn struct {
	p      *Proxy
	c      net.Conn
	lr     *limitReader
	br     *bufio.Reader
	bw     *bufio.Writer
	cw     *errWriter
	client netip.AddrPort
	tls    bool
	sel    pools.Scratch
	server *serverConn  // the dedicated server connection (no one-connect)
	wdl    lazyDeadline // write deadline of relayed answers
	rdl    lazyDeadline // read deadline: idle, request or body timeout
	// The fast path's request and answer (their header tables reused),
	// the request's method, whether its body was taken from the client
	// (it cannot be sent again) and its header discarded from br.
	fq        fastReq
	fr        fastResp
	fmethod   string
	fconsumed bool
	fhead     bool
	fdec      Decision // its router's decision
}

// limitReader caps what the header phase may read (the header size limit)
// and re-arms the idle timeout before each read of a body.
type limitReader struct {
	c    net.Conn
	rdl  *lazyDeadline
	ctr  *Counters
	n    int64
	idle time.Duration // >0: body phase, re-arm the deadline per read
	hit  bool
}

func (l *limitReader) Read(b []byte) (int, error) {
	if l.n <= 0 {
		l.hit = true
		return 0, errHeaderTooLarge
	}
	if int64(len(b)) > l.n {
		b = b[:l.n]
	}
	if l.idle > 0 {
		l.rdl.arm(l.c, false, time.Now(), l.idle)
	}
	n, err := l.c.Read(b)
	l.n -= int64(n)
	if n > 0 {
		l.ctr.ClientBytesIn.Add(uint64(n))
	}
	return n, err
}

// maxStaleRetries bounds the retries of one request after reused server
// connections that turn out closed, beyond DefaultReselectTries.
const maxStaleRetries = 8

var (
	errHeaderTooLarge = errors.New("request header too large")
	errNoMember       = errors.New("no usable pool member")
	errMemberSwitched = errors.New("member switched protocols")
)

// addrPortOf returns a connection's remote address.
func addrPortOf(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

// serveConn runs one client connection until it closes.
func (p *Proxy) serveConn(c net.Conn) {
	cfg := p.cfg.Load()
	if cfg.TotalConns != nil {
		cfg.TotalConns.Add(1)
	}
	if cur := cfg.CurConns; cur != nil {
		cur.Add(1)
		defer cur.Add(-1)
	}
	cc := &clientConn{p: p, c: c, client: addrPortOf(c.RemoteAddr())}
	if cfg.TLS != nil {
		tc := tls.Server(c, cfg.TLS)
		_ = c.SetDeadline(time.Now().Add(timeoutOr(cfg.HTTP.RequestTimeout, DefaultRequestTimeout)))
		if err := tc.HandshakeContext(context.Background()); err != nil {
			p.ctr.TLSHandshakeFails.Add(1)
			return
		}
		_ = c.SetDeadline(time.Time{})
		cc.c, cc.tls = tc, true
		defer func() { _ = tc.Close() }()
	}
	cc.lr = &limitReader{c: cc.c, rdl: &cc.rdl, ctr: &p.ctr}
	cc.br = bufio.NewReaderSize(cc.lr, 4096)
	cc.cw = &errWriter{c: cc.c, ctr: &p.ctr}
	cc.bw = bufio.NewWriterSize(cc.cw, 8192)
	defer func() { cc.server.close() }()
	for n := 0; ; n++ {
		cfg = p.cfg.Load()
		if !cc.one(cfg, n) {
			return
		}
	}
}

func timeoutOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// one reads and answers one request; false closes the connection.
func (cc *clientConn) one(cfg *Config, n int) bool {
	p := cc.p
	maxHdr := cfg.HTTP.MaxHeaderSize
	if maxHdr <= 0 {
		maxHdr = DefaultMaxHeaderSize
	}
	idle := timeoutOr(cfg.HTTP.IdleTimeout, DefaultIdleTimeout)
	cc.lr.idle = 0
	cc.lr.n = int64(maxHdr) + int64(cc.br.Size()) // what was read ahead counts against the next request
	// Deadlines are armed lazily (deadline.go): a request whose header
	// came whole with its first byte needs no request timeout.
	cc.rdl.arm(cc.c, false, time.Now(), idle)
	if _, err := cc.br.Peek(1); err != nil {
		return false // closed or idle: no request started
	}
	cfg = p.cfg.Load() // an apply while the connection was idle counts for this request
	reqTimeout := timeoutOr(cfg.HTTP.RequestTimeout, DefaultRequestTimeout)
	armReq := func() { cc.rdl.arm(cc.c, false, time.Now(), reqTimeout) }
	if _, vr := cfg.Router.(ViewRouter); (cfg.Router == nil || vr) && cc.readFast(maxHdr, armReq) {
		cc.lr.n = math.MaxInt64
		cc.lr.idle = idle
		p.ctr.Requests.Add(1)
		p.ctr.FastPath.Add(1)
		keep := cc.fq.keepAlive()
		if cfg.HTTP.MaxRequests > 0 && n+1 >= cfg.HTTP.MaxRequests {
			keep = false
		}
		return cc.handleFast(cfg, keep) && keep
	}
	armReq()
	req, err := http.ReadRequest(cc.br)
	if err != nil {
		var ne net.Error
		switch {
		case cc.lr.hit || errors.Is(err, errHeaderTooLarge):
			p.ctr.HeaderTooLarge.Add(1)
			cc.answer(cfg, http.StatusRequestHeaderFieldsTooLarge, nil, "request header too large\n")
		case errors.As(err, &ne) && ne.Timeout():
			p.ctr.Timeouts.Add(1)
			cc.answer(cfg, http.StatusRequestTimeout, nil, "request timeout\n")
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			p.ctr.BadRequests.Add(1) // a request cut short
		default:
			p.ctr.BadRequests.Add(1)
			cc.answer(cfg, http.StatusBadRequest, nil, "bad request\n")
		}
		return false
	}
	cc.lr.n = math.MaxInt64
	cc.lr.idle = idle
	p.ctr.Requests.Add(1)
	if why := badRequest(req); why != "" {
		p.ctr.BadRequests.Add(1)
		cc.answer(cfg, http.StatusBadRequest, nil, why+"\n")
		return false
	}
	keep := !req.Close && req.ProtoAtLeast(1, 1) || req.ProtoMajor == 1 && req.ProtoMinor == 0 && strings.EqualFold(req.Header.Get("Connection"), "keep-alive")
	if cfg.HTTP.MaxRequests > 0 && n+1 >= cfg.HTTP.MaxRequests {
		keep = false
	}
	return cc.handle(cfg, req, keep) && keep
}

// badRequest returns why a parsed request is refused, or "".
func badRequest(req *http.Request) string {
	if req.ProtoMajor != 1 {
		return "unsupported HTTP version"
	}
	if req.ProtoMinor >= 1 && req.Host == "" {
		return "missing Host header"
	}
	if len(req.Header["Host"]) > 1 {
		return "more than one Host header"
	}
	if req.Method == http.MethodConnect {
		return "CONNECT is not proxied"
	}
	return ""
}

// answer writes a response the proxy makes itself.
func (cc *clientConn) answer(cfg *Config, status int, h http.Header, body string) {
	resp := &http.Response{
		StatusCode: status, ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{},
		ContentLength: int64(len(body)), Body: io.NopCloser(strings.NewReader(body)),
	}
	for k, v := range h {
		resp.Header[k] = v
	}
	if resp.Header.Get("Content-Type") == "" && body != "" {
		resp.Header.Set("Content-Type", "text/plain; charset=utf-8")
	}
	if cfg.HTTP.ServerAgent != "" {
		resp.Header.Set("Server", cfg.HTTP.ServerAgent)
	}
	if status >= 400 {
		resp.Close = true
	}
	cc.p.ctr.status(status)
	cc.wdl.arm(cc.c, true, time.Now(), timeoutOr(cfg.HTTP.RequestTimeout, DefaultRequestTimeout))
	if resp.Write(cc.bw) == nil {
		_ = cc.bw.Flush()
	}
}

// hopHeaders are connection-level headers a proxy never forwards.
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Te", "Trailer", "Upgrade"}

func removeHop(h http.Header) {
	for _, f := range h.Values("Connection") {
		for _, name := range strings.Split(f, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, k := range hopHeaders {
		h.Del(k)
	}
}

// bodyReader wraps a request body: it sends 100 Continue before the first
// read when the client asked for it, and records whether any of the body
// was consumed (after which the request cannot be retried).
type bodyReader struct {
	r        io.ReadCloser
	cc       *clientConn
	cont     bool
	consumed bool
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.cont {
		b.cont = false
		if _, err := b.cc.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n"); err != nil {
			return 0, err
		}
		if err := b.cc.bw.Flush(); err != nil {
			return 0, err
		}
	}
	n, err := b.r.Read(p)
	if n > 0 {
		b.consumed = true
	}
	return n, err
}

func (b *bodyReader) Close() error { return nil } // drained by handle, not by Request.Write

// handle forwards one request and relays the answer; false closes the
// client connection.
func (cc *clientConn) handle(cfg *Config, req *http.Request, keep bool) bool {
	p := cc.p
	hasBody := req.Body != nil && req.Body != http.NoBody
	var body *bodyReader
	if hasBody {
		body = &bodyReader{r: req.Body, cc: cc}
		req.Body = body
	}
	if e := req.Header.Get("Expect"); e != "" {
		if !strings.EqualFold(e, "100-continue") {
			cc.answer(cfg, http.StatusExpectationFailed, nil, "unsupported Expect\n")
			return false
		}
		req.Header.Del("Expect")
		if body != nil && req.ProtoAtLeast(1, 1) {
			body.cont = true
		}
	}
	var d Decision
	if cfg.Router != nil {
		d = cfg.Router.Route(req, cc.client)
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
		cc.reply(cfg, d.Reply, keep && !hasBody)
		return !hasBody // an unread body would be read as the next request
	}
	editRequest(cfg, req, cc.client, &d)
	poolName := d.Pool
	if poolName == "" {
		poolName = cfg.Pool
	}
	sc, chosen, cookie, resp, ok := cc.forward(cfg, reqView{h: req, body: body}, poolName, d.Member)
	if !ok {
		return false
	}
	return cc.relay(cfg, req, resp, sc, chosen, poolName, cookie, &d, keep, body)
}

// forward sends a request to a member, chosen (and reselected on failure)
// as BIG-IP does, and reads the header of its answer: resp, or for a
// request of the fast path nil with the answer in cc.fr (or resp when that
// answer is one the fast path leaves to net/http). false: the client has
// been answered (503, 502) and its connection closes.
func (cc *clientConn) forward(cfg *Config, rv reqView, poolName string, pinned netip.AddrPort) (sc *serverConn, chosen netip.AddrPort, cookie bool, resp *http.Response, ok bool) {
	p := cc.p
	tries := DefaultReselectTries + 1
	stale := 0
	for try := 0; try < tries; try++ {
		var reused bool
		var err error
		sc, chosen, cookie, reused, err = cc.connect(cfg, rv, poolName, pinned)
		if err != nil {
			if errors.Is(err, errNoMember) {
				p.ctr.NoMember.Add(1)
				cc.answer(cfg, http.StatusServiceUnavailable, nil, "no pool member available\n")
				return nil, chosen, false, nil, false
			}
			p.ctr.ConnectFails.Add(1)
			if try+1 < tries {
				p.ctr.Reselects.Add(1)
				continue
			}
			p.ctr.BadGateway.Add(1)
			cc.answer(cfg, http.StatusBadGateway, nil, "pool member unreachable\n")
			return nil, chosen, false, nil, false
		}
		if reused {
			p.ctr.ServerReuses.Add(1)
		}
		sc.uses++
		start := time.Now()
		if rv.f != nil {
			resp, err = cc.exchangeFast(cfg, sc)
		} else {
			resp, err = cc.exchange(cfg, sc, rv.h)
		}
		if err == nil {
			if sc.stats != nil {
				sc.stats.ObserveRTT(int64(time.Since(start)))
			}
			return sc, chosen, cookie, resp, true
		}
		sc.close()
		if sc == cc.server {
			cc.server = nil
		}
		consumed := rv.consumed(cc)
		if reused && !consumed && stale < maxStaleRetries {
			// A reused connection the member had closed while it waited
			// (its keep-alive timeout): the request never reached it.
			// The connections idle for that member and source have
			// waited longer and are closed too, so they go, and the
			// retry does not count as one of the reselect tries.
			stale++
			try--
			if cfg.OneConnect != nil {
				p.idle.drop(sc.key)
			}
			p.ctr.Reselects.Add(1)
			continue
		}
		if !consumed && (reused || idempotent(rv.method(cc))) && try+1 < tries {
			p.ctr.Reselects.Add(1)
			continue
		}
		break
	}
	p.ctr.BadGateway.Add(1)
	cc.answer(cfg, http.StatusBadGateway, nil, "pool member failed\n")
	return nil, chosen, false, nil, false
}

// relay writes a member's answer read by net/http to the client; false
// closes the client connection.
func (cc *clientConn) relay(cfg *Config, req *http.Request, resp *http.Response, sc *serverConn, chosen netip.AddrPort, poolName string, cookie bool, d *Decision, keep bool, body *bodyReader) bool {
	p := cc.p
	p.ctr.Responses.Add(1)
	p.ctr.status(resp.StatusCode)
	editResponse(cfg, resp, req, cc, chosen, poolName, cookie, d)
	serverClose := resp.Close
	if !req.ProtoAtLeast(1, 1) && len(resp.TransferEncoding) > 0 {
		// An HTTP/1.0 client cannot read chunks: the body goes raw,
		// delimited by the end of the connection.
		resp.TransferEncoding = nil
		resp.ContentLength = -1
	}
	// A body delimited by the end of the connection ends both.
	untilEOF := resp.ContentLength < 0 && len(resp.TransferEncoding) == 0 && req.Method != http.MethodHead &&
		resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotModified
	if untilEOF {
		serverClose, keep = true, false
	}
	resp.Close = !keep
	cc.wdl.arm(cc.c, true, time.Now(), timeoutOr(cfg.HTTP.IdleTimeout, DefaultIdleTimeout))
	cc.cw.err = nil
	// The member's side is done when its response is read in full: its
	// connection goes back before the last bytes reach the client.
	werr := resp.Write(cc.bw)
	if werr != nil || serverClose {
		if werr != nil && cc.cw.err == nil {
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
		werr = cc.bw.Flush()
	}
	if werr != nil || !keep {
		return false
	}
	if body != nil {
		// What the member did not read of the body must not be read as
		// the next request; a body nobody asked for (100 Continue never
		// sent) or a long one closes the connection instead.
		if body.cont {
			return false
		}
		const maxDrain = 1 << 20
		n, err := io.Copy(io.Discard, io.LimitReader(body.r, maxDrain))
		if err != nil || n == maxDrain {
			return false
		}
	}
	return true
}

// errWriter records the first write error of the client connection, so
// that a failed relay tells the client's failure from the member's.
type errWriter struct {
	c   net.Conn
	ctr *Counters
	err error
}

func (w *errWriter) Write(b []byte) (int, error) {
	n, err := w.c.Write(b)
	if n > 0 {
		w.ctr.ClientBytesOut.Add(uint64(n))
	}
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}

func idempotent(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// exchange writes req to sc and reads the member's response header.
func (cc *clientConn) exchange(cfg *Config, sc *serverConn, req *http.Request) (*http.Response, error) {
	now := time.Now()
	sc.wdl.arm(sc.c, true, now, DefaultServerTimeout)
	if err := req.Write(sc.bw); err != nil {
		return nil, err
	}
	if err := sc.bw.Flush(); err != nil {
		return nil, err
	}
	sc.rdl.arm(sc.c, false, now, DefaultServerTimeout)
	for {
		resp, err := http.ReadResponse(sc.br, req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			if resp.StatusCode == http.StatusSwitchingProtocols {
				return nil, errMemberSwitched
			}
			return resp, nil
		}
		// 1xx: the proxy already answered Expect itself; drop them.
	}
}

// connect returns a server connection for req: the dedicated one while
// it serves the same pool (no one-connect), else one for a member chosen
// now — from the request's persistence cookie, the virtual's persistence
// or load balancing — reused from the one-connect pool or dialled.
func (cc *clientConn) connect(cfg *Config, rv reqView, poolName string, pinned netip.AddrPort) (sc *serverConn, member netip.AddrPort, cookie, reused bool, err error) {
	p := cc.p
	if cfg.OneConnect == nil && cc.server != nil {
		if cc.server.pool == poolName && (!pinned.IsValid() || pinned == cc.server.key.member) {
			return cc.server, cc.server.key.member, cc.hasCookie(cfg, rv, poolName, cc.server.key.member), true, nil
		}
		cc.server.close()
		cc.server = nil
	}
	m, dst, cookie, err := cc.choose(cfg, rv, poolName, pinned)
	if err != nil {
		return nil, netip.AddrPort{}, false, false, err
	}
	key := poolKey{member: dst}
	if oc := cfg.OneConnect; oc != nil {
		key.source, _ = cc.client.Addr().Unmap().Prefix(min(oc.SourceMask, cc.client.Addr().Unmap().BitLen()))
		if sc := p.idle.get(key, time.Now()); sc != nil {
			sc.pool = poolName
			return sc, dst, cookie, true, nil
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultConnectTimeout)
	defer cancel()
	c, err := p.opt.Dial(ctx, dst)
	if err != nil {
		return nil, dst, false, false, err
	}
	if cfg.ServerTLS != nil {
		tc := tls.Client(c, cfg.ServerTLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = c.Close()
			return nil, dst, false, false, err
		}
		c = tc
	}
	p.ctr.ServerConns.Add(1)
	sc = newServerConn(&countConn{Conn: c, ctr: &p.ctr}, key, poolName, m)
	if cfg.OneConnect == nil {
		cc.server = sc
	}
	return sc, dst, cookie, false, nil
}

// cookieName is the persistence cookie's name for a pool.
func cookieName(cfg *Config, pool string) string {
	return pools.CookieNameFor(cfg.Cookie.Name, pool)
}

// hasCookie reports whether req carries the persistence cookie for dst.
func (cc *clientConn) hasCookie(cfg *Config, rv reqView, pool string, dst netip.AddrPort) bool {
	if cfg.Cookie == nil {
		return false
	}
	v, ok := rv.cookie(cookieName(cfg, pool))
	if !ok {
		return false
	}
	a, port, err := pools.DecodeCookie(v)
	return err == nil && netip.AddrPortFrom(a.Unmap(), port) == dst
}

// choose picks the member for a request.
func (cc *clientConn) choose(cfg *Config, rv reqView, poolName string, pinned netip.AddrPort) (*pools.Member, netip.AddrPort, bool, error) {
	p := cc.p
	pool := p.opt.Backend.Pool(poolName)
	if pinned.IsValid() {
		if pool != nil {
			if m, ok := pool.CookieMember(pinned.Addr(), pinned.Port(), cfg.Port, true); ok {
				return m, pinned, false, nil
			}
		}
		return nil, pinned, false, nil // a node outside the pool
	}
	if pool == nil {
		return nil, netip.AddrPort{}, false, errNoMember
	}
	r := pools.Request{Client: cc.client.Addr().Unmap(), ClientPort: cc.client.Port(), Now: p.opt.Now()}
	if cfg.Cookie != nil {
		if ckv, ok := rv.cookie(cookieName(cfg, poolName)); ok {
			if cfg.Cookie.Hash {
				ps := *cfg.Cookie.Persist
				ps.Key, ps.KeyText = pools.KeyHash(ckv, false), pools.MakeKeyText(ckv)
				if m, ok := pool.Pick(&r, &ps, &cc.sel); ok {
					p.ctr.CookiesHonoured.Add(1)
					return m, memberDst(m, cfg.Port), true, nil
				}
				return nil, netip.AddrPort{}, false, errNoMember
			}
			if a, port, err := pools.DecodeCookie(ckv); err == nil {
				if m, ok := pool.CookieMember(a, port, cfg.Port, false); ok {
					p.ctr.CookiesHonoured.Add(1)
					return m, netip.AddrPortFrom(m.Addr.Unmap(), port), true, nil
				}
			}
		}
	}
	if u := cfg.Universal; u != nil {
		v, fold := "", false
		if u.Header == "Host" {
			v, fold = rv.host(), true
		} else {
			v = rv.header(u.Header)
		}
		if v != "" {
			ps := *u.Persist
			ps.Key, ps.KeyText = pools.KeyHash(v, fold), pools.MakeKeyText(v)
			if m, ok := pool.Pick(&r, &ps, &cc.sel); ok {
				p.ctr.HeaderPersisted.Add(1)
				return m, memberDst(m, cfg.Port), false, nil
			}
			return nil, netip.AddrPort{}, false, errNoMember
		}
	}
	ps := cfg.Persist
	if ps != nil && ps.Mode != pools.PersistSourceAddr {
		ps = nil
	}
	m, ok := pool.Pick(&r, ps, &cc.sel)
	if !ok {
		return nil, netip.AddrPort{}, false, errNoMember
	}
	return m, memberDst(m, cfg.Port), false, nil
}

// memberDst is where a member is reached: its address and port, the
// virtual's port for a member of port 0.
func memberDst(m *pools.Member, vport uint16) netip.AddrPort {
	port := m.Port
	if port == 0 {
		port = vport
	}
	return netip.AddrPortFrom(m.Addr.Unmap(), port)
}

// reply writes a router's answer.
func (cc *clientConn) reply(cfg *Config, r *Reply, keep bool) {
	status := r.Status
	h := http.Header{}
	for k, v := range r.Header {
		h[k] = v
	}
	if r.Location != "" {
		h.Set("Location", r.Location)
		if status == 0 {
			status = http.StatusFound
		}
	}
	if status == 0 {
		status = http.StatusOK
	}
	resp := &http.Response{
		StatusCode: status, ProtoMajor: 1, ProtoMinor: 1, Header: h,
		ContentLength: int64(len(r.Body)), Body: io.NopCloser(strings.NewReader(r.Body)), Close: !keep,
	}
	if cfg.HTTP.ServerAgent != "" {
		resp.Header.Set("Server", cfg.HTTP.ServerAgent)
	}
	cc.p.ctr.status(status)
	if resp.Write(cc.bw) == nil {
		_ = cc.bw.Flush()
	}
}

// editRequest applies the http profile's and the router's request edits.
func editRequest(cfg *Config, req *http.Request, client netip.AddrPort, d *Decision) {
	removeHop(req.Header)
	req.Close = false
	for _, name := range cfg.HTTP.HeaderErase {
		req.Header.Del(name)
	}
	for _, line := range cfg.HTTP.HeaderInsert {
		if k, v, ok := strings.Cut(line, ":"); ok {
			req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	if cfg.HTTP.InsertXFF {
		req.Header.Add("X-Forwarded-For", client.Addr().Unmap().String())
	}
	for k, v := range d.SetHeaders {
		req.Header[http.CanonicalHeaderKey(k)] = v
	}
	for _, k := range d.RemoveHeaders {
		req.Header.Del(k)
	}
	if d.Host != "" {
		req.Host = d.Host
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header["User-Agent"] = []string{""} // Request.Write adds Go's own otherwise
	}
}

// editResponse applies hop-by-hop removal, redirect-rewrite, the
// persistence cookie and the router's cookies.
func editResponse(cfg *Config, resp *http.Response, req *http.Request, cc *clientConn, member netip.AddrPort, pool string, cookie bool, d *Decision) {
	removeHop(resp.Header)
	if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode >= 300 && resp.StatusCode < 400 {
		if nl, ok := rewriteRedirect(cfg.HTTP.RedirectRewrite, loc, req.Host, member, cc.tls); ok {
			resp.Header.Set("Location", nl)
		}
	}
	if ck := cfg.Cookie; ck != nil && member.IsValid() {
		switch {
		case ck.Hash:
			if v, ok := setCookieValue(resp.Header, ck.Name); ok && v != "" {
				cc.p.opt.Backend.Pool(pool).Remember(ck.Persist, pools.KeyHash(v, false), pools.MakeKeyText(v), member.Addr(), member.Port(), cfg.Port, cc.p.opt.Now())
			}
		case ck.Rewrite:
			if rewriteSetCookie(resp.Header, cookieName(cfg, pool), pools.EncodeCookie(member.Addr(), member.Port())) {
				cc.p.ctr.CookiesInserted.Add(1)
			}
		case !ck.Passive && !cookie:
			c := &http.Cookie{Name: cookieName(cfg, pool), Value: pools.EncodeCookie(member.Addr(), member.Port()), Path: "/"}
			if ck.Expire > 0 {
				c.Expires = time.Now().Add(ck.Expire).UTC()
				c.MaxAge = int(ck.Expire / time.Second)
			}
			resp.Header.Add("Set-Cookie", c.String())
			cc.p.ctr.CookiesInserted.Add(1)
		}
	}
	for _, ck := range d.SetCookies {
		resp.Header.Add("Set-Cookie", ck.String())
	}
}

// rewriteRedirect applies the http profile's redirect-rewrite to a
// Location: "all" rewrites every absolute http or https redirect to the
// client's scheme; "matching" only those to the request's Host; "nodes"
// only those naming the member's address, whose host becomes the
// request's Host. It reports false when the Location stays.
func rewriteRedirect(mode, loc, host string, member netip.AddrPort, tlsOn bool) (string, bool) {
	if mode == "" || mode == "none" {
		return "", false
	}
	scheme, rest, ok := strings.Cut(loc, "://")
	if !ok || !strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") {
		return "", false
	}
	lhost, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		lhost, path = rest[:i], rest[i:]
	}
	want := "http"
	if tlsOn {
		want = "https"
	}
	hostOnly := func(h string) string {
		if hh, _, err := net.SplitHostPort(h); err == nil {
			return hh
		}
		return h
	}
	switch mode {
	case "all":
		return want + "://" + hostOnly(lhost) + path, true
	case "matching":
		if strings.EqualFold(hostOnly(lhost), hostOnly(host)) {
			return want + "://" + hostOnly(lhost) + path, true
		}
	case "nodes":
		if a, err := netip.ParseAddr(hostOnly(lhost)); err == nil && a.Unmap() == member.Addr() {
			return want + "://" + host + path, true
		}
	}
	return "", false
}

// setCookieValue returns the value of cookie name in a response's
// Set-Cookie headers (the last one that sets it).
func setCookieValue(h http.Header, name string) (string, bool) {
	v, found := "", false
	for _, line := range h["Set-Cookie"] {
		n, rest, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(n) != name {
			continue
		}
		val, _, _ := strings.Cut(rest, ";")
		v, found = strings.Trim(strings.TrimSpace(val), `"`), true
	}
	return v, found
}

// rewriteSetCookie replaces the value of cookie name in a response's
// Set-Cookie headers with value, keeping the member's attributes (cookie
// persistence, method rewrite); false when the member set no such cookie.
func rewriteSetCookie(h http.Header, name, value string) bool {
	done := false
	for i, line := range h["Set-Cookie"] {
		n, rest, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(n) != name {
			continue
		}
		attrs := ""
		if j := strings.IndexByte(rest, ';'); j >= 0 {
			attrs = rest[j:]
		}
		h["Set-Cookie"][i] = name + "=" + value + attrs
		done = true
	}
	return done
}
