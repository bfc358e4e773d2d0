package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"lbx/pools"
)

// BIG-IP's defaults for the http profile and the timeouts the proxy keeps.
const (
	DefaultMaxHeaderSize  = 32768 // http profile max-header-size
	DefaultIdleTimeout    = 300 * time.Second
	DefaultRequestTimeout = 30 * time.Second
	DefaultConnectTimeout = 4 * time.Second
	DefaultServerTimeout  = 300 * time.Second
	// DefaultReselectTries is how many other choices a failed member gets
	// replaced by for one request.
	DefaultReselectTries = 3
)

// HTTP is an http profile as the proxy applies it.
type HTTP struct {
	InsertXFF       bool     // insert-xforwarded-for enabled
	HeaderInsert    []string // "Name: value" lines added to each request
	HeaderErase     []string // header names removed from each request
	RedirectRewrite string   // none (""), all, matching or nodes
	ServerAgent     string   // Server header of the answers the proxy makes itself
	MaxHeaderSize   int      // request line and headers; 0: DefaultMaxHeaderSize
	MaxRequests     int      // requests per client connection; 0: no limit
	RequestTimeout  time.Duration
	IdleTimeout     time.Duration
}

// OneConnect is a one-connect profile: server-side connection reuse.
type OneConnect struct {
	// SourceMask is the prefix length client addresses must share to
	// share a server connection (source-mask 0.0.0.0 is 0: every client).
	SourceMask  int
	MaxReuse    int           // uses of one server connection; 0: no limit
	MaxSize     int           // idle connections kept; 0: no limit
	IdleTimeout time.Duration // an idle connection older is closed; 0: none
}

// Cookie is cookie persistence: method insert unless one of the flags.
type Cookie struct {
	Name    string        // "": pools.CookieName(pool)
	Expire  time.Duration // 0: a session cookie
	Passive bool          // honour the cookie only; the member sets it (method passive)
	Rewrite bool          // the member sets the cookie, the proxy writes its value (method rewrite)
	// Hash (method hash): the member sets cookie Name, whose value's hash
	// (pools.KeyHash) keys records in Persist (mode cookie-hash,
	// Consistent); a value without a record maps to a member by
	// rendezvous hashing.
	Hash    bool
	Persist *pools.Persist
}

// Universal is universal persistence on a request header: the hash of its
// value (Host: the host name, case folded) keys records in Persist.
type Universal struct {
	Header  string // canonical header name
	Persist *pools.Persist
}

// Config is one HTTP virtual server as the proxy runs it.
type Config struct {
	Virtual    string
	Port       uint16 // the virtual's port, for members of port 0
	Pool       string // the default pool; "" for none
	HTTP       HTTP
	OneConnect *OneConnect // nil: one server connection per client connection
	Cookie     *Cookie     // nil: no cookie persistence
	Universal  *Universal  // nil: no header persistence
	// Persist is the virtual's source-address (or fallback) persistence
	// for requests that carry no usable cookie; nil for none.
	Persist *pools.Persist
	// TLS terminates TLS on accepted connections when set (client-ssl).
	TLS *tls.Config
	// ServerTLS re-encrypts to members when set (server-ssl).
	ServerTLS *tls.Config
	Router    Router // nil: every request to Pool
	// CurConns and TotalConns, when set, count the virtual's client
	// connections (the dataplane's VirtualStats, for show ltm virtual).
	CurConns   *atomic.Int64
	TotalConns *atomic.Uint64
}

// Router is the per-request hook of local traffic policies: called once
// per request, before the member is chosen, with the parsed request and
// the client's address. It must be safe for concurrent use and must not
// read the request body.
type Router interface {
	Route(req *http.Request, client netip.AddrPort) Decision
}

// ViewRouter is a Router that also routes the requests the proxy's own
// parser read (the fast path), from a RequestView instead of an
// *http.Request. A virtual whose Router is not one takes net/http's path
// for every request.
type ViewRouter interface {
	Router
	RouteView(req RequestView, client netip.AddrPort) Decision
}

// RequestView is a request as the proxy's own parser read it. Its byte
// slices point into the client connection's buffer: valid during
// RouteView only, never to be kept or changed.
type RequestView struct{ cc *clientConn }

// Method is the request's method.
func (v RequestView) Method() string { return v.cc.fmethod }

// Target is the request target (origin form: path and query).
func (v RequestView) Target() []byte { return v.cc.fq.target }

// Host is the Host header's value.
func (v RequestView) Host() []byte { return v.cc.fq.host }

// NumFields is the number of header fields, Host included.
func (v RequestView) NumFields() int { return len(v.cc.fq.hdrs) }

// Field returns header field i: its name as sent and its value.
func (v RequestView) Field(i int) (name, value []byte) {
	h := v.cc.fq.hdrs[i]
	return h.name, h.value
}

// ParseRequestView reads a request's line and header (b holds at least
// the whole header) with the proxy's own parser, as the fast path does,
// for a ViewRouter's tests; false when the parser declines it.
func ParseRequestView(b []byte) (RequestView, bool) {
	cc := &clientConn{}
	if cc.fq.parse(b) != parseOK {
		return RequestView{}, false
	}
	cc.fmethod = methodString(cc.fq.method)
	return RequestView{cc}, true
}

// Decision is what a Router chose. The zero value sends the request to
// the virtual's pool unchanged.
type Decision struct {
	Pool   string         // "": the virtual's pool
	Member netip.AddrPort // valid: this member (of Pool, or a node outside it)
	Reply  *Reply         // answer the request from the appliance
	Reset  bool           // close the client connection at once
	// SetHeaders replace (or add) request headers, RemoveHeaders remove
	// them, after the http profile's edits.
	SetHeaders    http.Header
	RemoveHeaders []string
	// Host, when set, replaces the request's Host header.
	Host string
	// SetCookies are added to the response.
	SetCookies []*http.Cookie
}

// Reply is an answer the appliance makes itself (a policy's http-reply or
// redirect).
type Reply struct {
	Status   int // 0: 302 with Location, else 200
	Location string
	Header   http.Header
	Body     string
}

// Backend gives the proxy the runtime pools: the same *pools.Pool values
// the layer-4 path selects from, so member state, connection counts and
// persistence are shared. Pool returns nil for an unknown name.
type Backend interface {
	Pool(name string) *pools.Pool
}

// Dialer opens a server-side connection to a member.
type Dialer func(ctx context.Context, dst netip.AddrPort) (net.Conn, error)

// Options are what a Proxy is built with besides its Config.
type Options struct {
	Backend Backend
	Dial    Dialer // nil: a net.Dialer
	// Now is the monotonic clock of pools.Request.Now (the dataplane's
	// Engine.Mono); nil: time since the proxy started.
	Now    func() int64
	Logger *slog.Logger
}

// Proxy is one HTTP virtual server's full proxy.
type Proxy struct {
	opt  Options
	cfg  atomic.Pointer[Config]
	ctr  Counters
	idle *connPool

	mu        sync.Mutex
	closed    bool
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	wg        sync.WaitGroup
	stop      chan struct{}
	start     time.Time
}

// Counters are a proxy's counts since it started.
type Counters struct {
	ClientConns       atomic.Uint64 // client connections accepted
	TLSHandshakeFails atomic.Uint64
	Requests          atomic.Uint64 // requests read
	FastPath          atomic.Uint64 // of them, read and forwarded by the proxy's own HTTP/1.1 code
	Responses         atomic.Uint64 // member responses relayed
	BadRequests       atomic.Uint64 // malformed requests, answered 400
	HeaderTooLarge    atomic.Uint64 // answered 431
	Timeouts          atomic.Uint64 // client request timeouts
	NoMember          atomic.Uint64 // no usable member, answered 503
	BadGateway        atomic.Uint64 // member failed mid-request, answered 502
	Reselects         atomic.Uint64 // a failed member replaced by another choice
	ServerAborts      atomic.Uint64 // member failed after its answer started: client closed
	ServerConns       atomic.Uint64 // server-side connections opened
	ServerReuses      atomic.Uint64 // requests sent over a reused server connection
	ConnectFails      atomic.Uint64
	CookiesInserted   atomic.Uint64
	CookiesHonoured   atomic.Uint64
	HeaderPersisted   atomic.Uint64 // requests placed by universal (header) persistence
	Replies           atomic.Uint64 // router answers
	Resets            atomic.Uint64 // router resets
	// Status counts the responses sent to clients by class (Status[2]:
	// 2xx), the member's and those the proxy makes itself.
	Status [6]atomic.Uint64
	// Bytes of HTTP (after TLS) read from and written to clients and
	// members.
	ClientBytesIn, ClientBytesOut atomic.Uint64
	ServerBytesIn, ServerBytesOut atomic.Uint64
}

// status counts one response sent to a client.
func (c *Counters) status(code int) {
	if k := code / 100; k >= 1 && k <= 5 {
		c.Status[k].Add(1)
	}
}

// Stats returns the counters by name, for show and the metrics.
func (p *Proxy) Stats() map[string]uint64 {
	c := &p.ctr
	return map[string]uint64{
		"client_conns": c.ClientConns.Load(), "tls_handshake_fails": c.TLSHandshakeFails.Load(),
		"requests": c.Requests.Load(), "fast_path": c.FastPath.Load(), "responses": c.Responses.Load(),
		"bad_requests": c.BadRequests.Load(), "header_too_large": c.HeaderTooLarge.Load(),
		"timeouts": c.Timeouts.Load(), "no_member": c.NoMember.Load(), "bad_gateway": c.BadGateway.Load(),
		"reselects": c.Reselects.Load(), "server_aborts": c.ServerAborts.Load(),
		"server_conns": c.ServerConns.Load(), "server_reuses": c.ServerReuses.Load(),
		"connect_fails": c.ConnectFails.Load(), "cookies_inserted": c.CookiesInserted.Load(),
		"cookies_honoured": c.CookiesHonoured.Load(), "header_persisted": c.HeaderPersisted.Load(), "replies": c.Replies.Load(), "resets": c.Resets.Load(),
		"resp_1xx": c.Status[1].Load(), "resp_2xx": c.Status[2].Load(), "resp_3xx": c.Status[3].Load(), "resp_4xx": c.Status[4].Load(), "resp_5xx": c.Status[5].Load(),
		"client_bytes_in": c.ClientBytesIn.Load(), "client_bytes_out": c.ClientBytesOut.Load(),
		"server_bytes_in": c.ServerBytesIn.Load(), "server_bytes_out": c.ServerBytesOut.Load(),
	}
}

// Counters returns the live counters.
func (p *Proxy) Counters() *Counters { return &p.ctr }

// ErrClosed is returned by Serve after Close.
var ErrClosed = errors.New("proxy closed")

// New returns a proxy running cfg. It starts the goroutine that expires
// idle server connections; Close stops it.
func New(cfg *Config, opt Options) *Proxy {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	p := &Proxy{
		opt: opt, listeners: map[net.Listener]struct{}{}, conns: map[net.Conn]struct{}{},
		stop: make(chan struct{}), start: time.Now(),
	}
	if p.opt.Now == nil {
		p.opt.Now = func() int64 { return int64(time.Since(p.start)) + 1 }
	}
	if p.opt.Dial == nil {
		d := &net.Dialer{}
		p.opt.Dial = func(ctx context.Context, dst netip.AddrPort) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", dst.String())
		}
	}
	p.idle = newConnPool(&p.ctr)
	p.SetConfig(cfg)
	p.wg.Go(p.expire)
	return p
}

// SetConfig makes cfg the configuration of the requests read from now on.
// Idle server connections are kept when the one-connect profile stays.
func (p *Proxy) SetConfig(cfg *Config) {
	c := *cfg
	old := p.cfg.Swap(&c)
	if old != nil && (old.OneConnect == nil) != (c.OneConnect == nil) || c.OneConnect == nil {
		p.idle.closeAll()
	}
	if c.OneConnect != nil {
		p.idle.setLimits(*c.OneConnect)
	}
}

// Config returns the running configuration.
func (p *Proxy) Config() *Config { return p.cfg.Load() }

// expire closes idle server connections past the one-connect idle timeout.
func (p *Proxy) expire() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.idle.expire(time.Now())
		}
	}
}

// Serve accepts connections on l until l fails or the proxy is closed; it
// closes l on return.
func (p *Proxy) Serve(l net.Listener) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = l.Close()
		return ErrClosed
	}
	p.listeners[l] = struct{}{}
	p.wg.Add(1)
	p.mu.Unlock()
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		delete(p.listeners, l)
		p.mu.Unlock()
		_ = l.Close()
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			p.mu.Lock()
			closed := p.closed
			p.mu.Unlock()
			if closed {
				return ErrClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		if !p.track(c) {
			_ = c.Close()
			return ErrClosed
		}
		p.ctr.ClientConns.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.untrack(c)
			p.serveConn(c)
		}()
	}
}

// track registers a client connection (and a WaitGroup count for its
// goroutine); false after Close.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	p.wg.Add(1)
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	_ = c.Close()
}

// Close stops the listeners, closes every client and server connection and
// waits for the proxy's goroutines.
func (p *Proxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.stop)
	for l := range p.listeners {
		_ = l.Close()
	}
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	p.idle.closeAll()
}
