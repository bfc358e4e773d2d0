package testbed

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ServerOptions describe one emulated server process (`lbx testbed serve`).
type ServerOptions struct {
	Name string // the identity every response carries
	HTTP string // HTTP listen address, e.g. ":80"; empty for none
	UDP  string // UDP echo listen address, e.g. ":7"; empty for none
	// Listen are further TCP ports, each with its own Mode.
	Listen []Listen
}

// Args are the flags of `lbx testbed serve` that run o.
func (o ServerOptions) Args() []string {
	args := []string{"--name", o.Name, "--http=" + o.HTTP, "--udp=" + o.UDP}
	for _, l := range o.Listen {
		args = append(args, "--listen", l.String())
	}
	return args
}

// ReadyAddr is an address inside the server's namespace that accepts TCP
// connections once the server is up, or "" if none does.
func (o ServerOptions) ReadyAddr() string {
	if o.HTTP != "" {
		host, port, err := net.SplitHostPort(o.HTTP)
		if err == nil && (host == "" || host == "0.0.0.0") {
			return net.JoinHostPort("127.0.0.1", port)
		}
		return o.HTTP
	}
	for _, l := range o.Listen {
		if l.listensAtStart() {
			return fmt.Sprintf("127.0.0.1:%d", l.Port)
		}
	}
	return ""
}

// Serve runs an emulated server until ctx is done: an HTTP server whose
// every response names the server and the peer it saw (so tests can tell
// SNAT from no SNAT), a UDP echo that prefixes the server name, and a port
// per o.Listen in its mode. Every port is bound before Serve logs that the
// server is up; a port that cannot be bound is an error.
func Serve(ctx context.Context, o ServerOptions, logger *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e := &emulator{name: o.Name, log: logger, errc: make(chan error, 1)}
	defer e.wg.Wait() // after cancel: every goroutine ends with ctx
	type port struct {
		addr string
		l    Listen
	}
	var ports []port
	if o.HTTP != "" {
		ports = append(ports, port{o.HTTP, Listen{Mode: ModeHTTP}})
	}
	seen := map[uint16]bool{}
	for _, l := range o.Listen {
		if seen[l.Port] {
			return fmt.Errorf("server %s: port %d listed twice", o.Name, l.Port)
		}
		seen[l.Port] = true
		ports = append(ports, port{fmt.Sprintf(":%d", l.Port), l})
	}
	// Bind everything first, so a bad port fails the start and nothing
	// is served half-way.
	var closers []io.Closer
	closeAll := func() {
		for _, c := range closers {
			c.Close()
		}
	}
	lns := make([]net.Listener, len(ports))
	for i, p := range ports {
		var err error
		switch p.l.Mode {
		case ModeDead:
			continue
		case ModeBlackhole:
			var pc net.PacketConn
			lns[i], pc, err = listenBlackhole(p.addr)
			if err == nil {
				closers = append(closers, lns[i], pc)
			}
		default:
			lns[i], err = net.Listen("tcp4", p.addr)
			if err == nil {
				closers = append(closers, lns[i])
			}
		}
		if err != nil {
			closeAll()
			return fmt.Errorf("server %s: %s %s: %w", o.Name, p.l.Mode, p.addr, err)
		}
	}
	var pc net.PacketConn
	if o.UDP != "" {
		var err error
		if pc, err = net.ListenPacket("udp4", o.UDP); err != nil {
			closeAll()
			return fmt.Errorf("server %s: udp: %w", o.Name, err)
		}
	}
	for i, p := range ports {
		switch p.l.Mode {
		case ModeDead:
			logger.Info("port dead: nothing listens, the kernel refuses", "port", p.l.Port)
		case ModeBlackhole:
			logger.Info("port blackhole: every packet dropped", "port", p.l.Port)
		case ModeFlap:
			e.goWG(func() { e.flap(ctx, p.addr, lns[i], p.l) })
		default:
			e.serveHTTP(ctx, lns[i], e.handler(p.l), p.l.Mode == ModeIIS)
		}
	}
	// Blackhole sockets have no server of their own to close them.
	defer closeAll()
	if pc != nil {
		e.goWG(func() {
			<-ctx.Done()
			pc.Close()
		})
		e.goWG(func() {
			buf := make([]byte, 65536)
			for {
				n, peer, err := pc.ReadFrom(buf)
				if err != nil {
					if ctx.Err() == nil {
						e.fail(fmt.Errorf("udp: %w", err))
					}
					return
				}
				reply := fmt.Appendf(nil, "%s %s", o.Name, buf[:n])
				if _, err := pc.WriteTo(reply, peer); err != nil {
					logger.Warn("udp echo", "peer", peer, "err", err)
				}
			}
		})
	}
	specs := make([]string, len(o.Listen))
	for i, l := range o.Listen {
		specs[i] = l.String()
	}
	logger.Info("emulated server up", "name", o.Name, "http", o.HTTP, "udp", o.UDP, "listen", strings.Join(specs, " "))
	var err error
	select {
	case <-ctx.Done():
	case err = <-e.errc:
	}
	cancel()
	return err
}

// identityHandler answers every request with one line:
//
//	server=server1 addr=198.18.2.11:80 peer=198.18.2.2:40123
//
// except GET /drip?n=N&ms=M, a slow transfer (see drip). The X-Forwarded-For
// a proxy in front added comes back as the header X-Seen-XFF;
// ?set-cookie=NAME=VALUE sets that cookie (a member's own cookie).
func identityHandler(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/drip" {
			drip(name, w, r)
			return
		}
		local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		if ck := r.URL.Query().Get("set-cookie"); ck != "" {
			w.Header().Add("Set-Cookie", ck) // a member's own cookie, for cookie persistence
		}
		w.Header().Set("X-Server", name)
		w.Header().Set("Content-Type", "text/plain")
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			w.Header().Set("X-Seen-XFF", strings.Join(xff, ", "))
		}
		fmt.Fprintf(w, "server=%s addr=%v peer=%s\n", name, local, r.RemoteAddr)
	})
}

// Bounds of /drip: a transfer lasts at most dripMaxN × dripMaxMS.
const (
	dripMaxN  = 100000
	dripMaxMS = 10000
)

// drip answers GET /drip?n=N&ms=M with N lines "server=NAME i=K\n", K from
// 1 to N, each flushed at once, with a pause of M milliseconds between two
// lines: a transfer held open for at least (N-1)×M ms, for tests of what
// happens to a live connection. It
// stops when the request's context ends (the client went away, the server
// stops). N must be 1..100000 and M 0..10000; otherwise 400.
func drip(name string, w http.ResponseWriter, r *http.Request) {
	n, errN := strconv.Atoi(r.URL.Query().Get("n"))
	ms, errM := strconv.Atoi(r.URL.Query().Get("ms"))
	if errN != nil || errM != nil || n < 1 || n > dripMaxN || ms < 0 || ms > dripMaxMS {
		http.Error(w, fmt.Sprintf("server=%s drip: want n=1..%d and ms=0..%d", name, dripMaxN, dripMaxMS), http.StatusBadRequest)
		return
	}
	w.Header().Set("X-Server", name)
	w.Header().Set("Content-Type", "text/plain")
	rc := http.NewResponseController(w)
	pause := time.NewTimer(0)
	defer pause.Stop()
	for i := 1; i <= n; i++ {
		if i > 1 && ms > 0 {
			pause.Reset(time.Duration(ms) * time.Millisecond)
			select {
			case <-pause.C:
			case <-r.Context().Done():
				return
			}
		}
		if r.Context().Err() != nil {
			return
		}
		if _, err := fmt.Fprintf(w, "server=%s i=%d\n", name, i); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// waitListening waits until addr accepts TCP connections inside ns.
func waitListening(ns, addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		err := withNS(ns, func() error {
			c, err := net.DialTimeout("tcp4", addr, 500*time.Millisecond)
			if err == nil {
				c.Close()
			}
			return err
		})
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening after %s: %w", addr, limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
