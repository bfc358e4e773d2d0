package testbed

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Mode is how an emulated server behaves on one TCP port.
type Mode uint8

// The emulator modes. Each is selected per port by `lbx testbed serve
// --listen PORT:MODE[=ARG]`.
const (
	// ModeHTTP answers every request with the identity line.
	ModeHTTP Mode = iota + 1
	// ModeIIS serves HTTP like ModeHTTP but answers a peer's FIN, when no
	// request is pending, with RST,ACK instead of its own FIN: Microsoft
	// IIS 7.0's close, which failed Alteon's TCP health checks (a check
	// connects and closes without sending).
	ModeIIS
	// ModeSlow delays every HTTP answer by Listen.Delay.
	ModeSlow
	// ModeFlap opens the listener for Listen.Up, closes it for
	// Listen.Down (the kernel then answers SYN with RST), and repeats.
	ModeFlap
	// ModeStatus answers every request with Listen.Status.
	ModeStatus
	// ModeBlackhole drops every packet to the port without an answer:
	// SYNs time out at the client.
	ModeBlackhole
	// ModeDead documents a port nothing listens on: the kernel answers SYN
	// with RST (connection refused).
	ModeDead
	// ModeHTTPS serves HTTP like ModeHTTP over TLS, with a self-signed
	// ECDSA P-256 certificate made when the server starts (kept in memory
	// only), as a monitor's https check needs; it checks the service, not
	// the certificate.
	ModeHTTPS
)

var modeNames = [...]string{
	ModeHTTP:      "http",
	ModeIIS:       "iis",
	ModeSlow:      "slow",
	ModeFlap:      "flap",
	ModeStatus:    "status",
	ModeBlackhole: "blackhole",
	ModeDead:      "dead",
	ModeHTTPS:     "https",
}

func (m Mode) String() string {
	if int(m) < len(modeNames) && modeNames[m] != "" {
		return modeNames[m]
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// Listen is one port of an emulated server and how it behaves.
type Listen struct {
	Port   uint16
	Mode   Mode
	Delay  time.Duration // ModeSlow: added before every answer
	Up     time.Duration // ModeFlap: how long the listener stays open
	Down   time.Duration // ModeFlap: how long it stays closed
	Status int           // ModeStatus: the HTTP status of every answer
}

// ParseListen parses a --listen value: PORT:MODE or PORT:MODE=ARG, e.g.
// "80:iis", "83:slow=2s", "84:flap=3s/3s", "85:status=503", "82:blackhole",
// "81:dead", "443:https".
func ParseListen(s string) (Listen, error) {
	portStr, spec, ok := strings.Cut(s, ":")
	if !ok {
		return Listen{}, fmt.Errorf("listen %q: want PORT:MODE", s)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil || port == 0 {
		return Listen{}, fmt.Errorf("listen %q: port %q: want 1-65535", s, portStr)
	}
	l := Listen{Port: uint16(port)}
	name, arg, hasArg := strings.Cut(spec, "=")
	for m, n := range modeNames {
		if n != "" && n == name {
			l.Mode = Mode(m)
		}
	}
	needsArg := l.Mode == ModeSlow || l.Mode == ModeFlap || l.Mode == ModeStatus
	switch {
	case l.Mode == 0:
		return Listen{}, fmt.Errorf("listen %q: mode %q: want http, https, iis, slow=DUR, flap=UP/DOWN, status=CODE, blackhole or dead", s, name)
	case needsArg && !hasArg:
		return Listen{}, fmt.Errorf("listen %q: mode %s needs =ARG", s, name)
	case !needsArg && hasArg:
		return Listen{}, fmt.Errorf("listen %q: mode %s takes no argument", s, name)
	}
	switch l.Mode {
	case ModeSlow:
		if l.Delay, err = time.ParseDuration(arg); err != nil || l.Delay <= 0 {
			return Listen{}, fmt.Errorf("listen %q: slow delay %q: want a positive duration such as 2s", s, arg)
		}
	case ModeFlap:
		up, down, ok := strings.Cut(arg, "/")
		if ok {
			l.Up, err = time.ParseDuration(up)
			if err == nil {
				l.Down, err = time.ParseDuration(down)
			}
		}
		if !ok || err != nil || l.Up <= 0 || l.Down <= 0 {
			return Listen{}, fmt.Errorf("listen %q: flap %q: want UP/DOWN positive durations such as 3s/3s", s, arg)
		}
	case ModeStatus:
		if l.Status, err = strconv.Atoi(arg); err != nil || l.Status < 100 || l.Status > 599 {
			return Listen{}, fmt.Errorf("listen %q: status %q: want an HTTP status 100-599", s, arg)
		}
	}
	return l, nil
}

// String is the --listen form ParseListen reads back.
func (l Listen) String() string {
	s := fmt.Sprintf("%d:%s", l.Port, l.Mode)
	switch l.Mode {
	case ModeSlow:
		s += "=" + l.Delay.String()
	case ModeFlap:
		s += "=" + l.Up.String() + "/" + l.Down.String()
	case ModeStatus:
		s += "=" + strconv.Itoa(l.Status)
	}
	return s
}

// listensAtStart reports whether a client can connect right after the
// emulator has started (flap starts in its open phase).
func (l Listen) listensAtStart() bool {
	return l.Mode != ModeBlackhole && l.Mode != ModeDead
}

// emulator runs one server's listeners; every goroutine it starts is in wg
// and reports a fatal error on errc.
type emulator struct {
	name string
	log  *slog.Logger
	wg   sync.WaitGroup
	errc chan error
}

func (e *emulator) fail(err error) {
	select {
	case e.errc <- fmt.Errorf("server %s: %w", e.name, err):
	default: // one error is enough to stop the server
	}
}

// goWG runs fn in a goroutine counted in wg.
func (e *emulator) goWG(fn func()) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		fn()
	}()
}

// handler is the HTTP handler of a mode.
func (e *emulator) handler(l Listen) http.Handler {
	id := identityHandler(e.name)
	switch l.Mode {
	case ModeSlow:
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t := time.NewTimer(l.Delay)
			defer t.Stop()
			select {
			case <-t.C:
				id.ServeHTTP(w, r)
			case <-r.Context().Done():
			}
		})
	case ModeStatus:
		return statusHandler(e.name, l.Status)
	case ModeHTTPS:
		cert, err := selfSignedCert(e.name, time.Now())
		if err != nil {
			e.fail(fmt.Errorf("https port %d: %w", l.Port, err))
		}
		return tlsHandler{Handler: id, cert: cert}
	}
	return id
}

// tlsHandler is ModeHTTPS's handler: serveHTTP serves it over TLS with
// cert.
type tlsHandler struct {
	http.Handler
	cert tls.Certificate
}

// selfSignedCert makes a certificate for name signed by its own new ECDSA
// P-256 key, valid from an hour before now for a year, for TLS servers
// (key usage digital signature, extended key usage server auth).
func selfSignedCert(name string, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"lbx testbed"}},
		DNSNames:              []string{name},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// serveHTTP serves h on ln until ctx is done or stop is called; stop closes
// the listener and every connection at once (a flap's down phase). A
// tlsHandler is served over TLS.
func (e *emulator) serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, iis bool) (stop func()) {
	if th, ok := h.(tlsHandler); ok {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{th.cert}, NextProtos: []string{"http/1.1"}})
		h = th.Handler
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	if iis {
		ln = iisListener{ln}
		srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
			if ic, ok := c.(*iisConn); ok {
				return context.WithValue(ctx, iisConnKey{}, ic)
			}
			return ctx
		}
		srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if ic, ok := r.Context().Value(iisConnKey{}).(*iisConn); ok {
				ic.begin()
				defer ic.end()
			}
			h.ServeHTTP(w, r)
		})
	}
	done := make(chan struct{})
	var once sync.Once
	stop = func() { once.Do(func() { close(done); srv.Close() }) }
	e.goWG(func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			e.fail(fmt.Errorf("http %s: %w", ln.Addr(), err))
		}
	})
	e.goWG(func() {
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		stop()
	})
	return stop
}

// flap alternates the port between listening (up) and closed (down),
// starting with ln already open.
func (e *emulator) flap(ctx context.Context, addr string, ln net.Listener, l Listen) {
	h := e.handler(l)
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		stop := e.serveHTTP(ctx, ln, h, false)
		e.log.Info("flap", "port", l.Port, "state", "up", "for", l.Up)
		if !wait(l.Up) {
			stop()
			return
		}
		stop()
		e.log.Info("flap", "port", l.Port, "state", "down", "for", l.Down)
		if !wait(l.Down) {
			return
		}
		var err error
		if ln, err = net.Listen("tcp4", addr); err != nil {
			e.fail(fmt.Errorf("flap %s: %w", addr, err))
			return
		}
	}
}

// statusHandler answers every request with code and a body that names the
// server like the identity line does.
func statusHandler(name string, code int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		w.Header().Set("X-Server", name)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(code)
		fmt.Fprintf(w, "server=%s addr=%v peer=%s status=%d\n", name, local, r.RemoteAddr, code)
	})
}

// iisListener hands out connections that close the IIS 7.0 way.
type iisListener struct{ net.Listener }

func (l iisListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &iisConn{Conn: c}, nil
}

type iisConnKey struct{}

// iisConn notes whether the peer's FIN arrived while no request was being
// answered; if so Close resets the connection (SO_LINGER {on, 0}: Linux
// then sends RST,ACK and no FIN) instead of closing it normally. It embeds
// net.Conn, not *net.TCPConn, so net/http never half-closes it with a FIN
// of its own.
type iisConn struct {
	net.Conn
	mu      sync.Mutex
	busy    int  // requests being answered
	sawEOF  bool // the peer's FIN has been read
	abortOK bool // ... and no request was pending then
}

func (c *iisConn) begin() { c.mu.Lock(); c.busy++; c.mu.Unlock() }
func (c *iisConn) end()   { c.mu.Lock(); c.busy--; c.mu.Unlock() }

func (c *iisConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if errors.Is(err, io.EOF) {
		c.mu.Lock()
		if !c.sawEOF {
			c.sawEOF = true
			c.abortOK = c.busy == 0 && n == 0
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *iisConn) Close() error {
	c.mu.Lock()
	abort := c.abortOK
	c.mu.Unlock()
	tc, ok := c.Conn.(*net.TCPConn)
	if !abort || !ok {
		return c.Conn.Close()
	}
	// A reset discards what the peer has not yet acknowledged: let an
	// answer written just before reach it first (bounded).
	for i := 0; i < 100; i++ {
		if n, err := unackedBytes(tc); err != nil || n == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := tc.SetLinger(0); err != nil {
		return errors.Join(err, tc.Close())
	}
	return tc.Close()
}
