package rest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"lbx/ctrlplane/rest/filexfer"
	"lbx/ctrlplane/rest/icpolicy"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/store"
	"lbx/ctrlplane/tmsh"
	"lbx/internal/clock"
	"lbx/internal/loginlimit"
	"lbx/internal/pemfile"
)

// Limits of what a request may be. A body over maxBody is refused with 413
// before any of it is parsed; a path over maxPath, or an object id over
// maxID, with 400.
const (
	maxBody = 1 << 20
	maxPath = 2048
	maxID   = 512
)

// Version is the BIG-IP version lbx reports (/mgmt/tm/sys selfLink,
// /mgmt/tm/cli/version): 14.0 or later makes Ansible's modules use the
// paths lbx serves.
const Version = "15.1.0"

// Config is what a Server is built from.
type Config struct {
	// Listen is ADDR:PORT of the HTTPS listener.
	Listen string
	// CertFile and KeyFile are a PEM pair; when both are empty a
	// self-signed ECDSA pair is made at StateDir/rest.crt and rest.key at
	// the first start and kept (StateDir empty: a new pair each start).
	CertFile, KeyFile, StateDir string
	// UploadDir holds the files POSTed to
	// /mgmt/shared/file-transfer/uploads (package filexfer); empty:
	// StateDir/uploads, and no uploads without a StateDir either.
	UploadDir string
	// Store is the configuration every change goes through.
	Store *store.Store
	// Status is where states and counters are read from.
	Status status.Sources
	// Tmsh runs /mgmt/tm/util/bash `tmsh -c` commands and sys config
	// save/load, as the requesting user.
	Tmsh *tmsh.Dialect
	// Metrics, when set, is served at /metrics.
	Metrics http.Handler
	// Clock times tokens, transactions and the login rate limit; nil:
	// the system clock.
	Clock clock.Clock
	// Logger receives logins (failed ones warned) and errors; nil discards.
	Logger *slog.Logger
}

// Server is the iControl REST server. Listen opens it, Serve starts it,
// Close stops it and waits for its goroutines.
type Server struct {
	cfg  Config
	log  *slog.Logger
	clk  clock.Clock
	lim  *loginlimit.Limiter
	auth *tokens
	txns *txnTable
	// drafts are the policy drafts (policy.go).
	drafts  icpolicy.Drafts
	uploads *filexfer.Dir
	ln      net.Listener
	hs      *http.Server
	wg      sync.WaitGroup
	close   sync.Once
}

// Listen builds the server and opens its TLS listener.
func Listen(cfg Config) (*Server, error) {
	s, err := NewServer(cfg)
	if err != nil {
		return nil, err
	}
	cert, err := pemfile.LoadOrCreate(cfg.CertFile, cfg.KeyFile, cfg.StateDir, "localhost", "127.0.0.1", "::1")
	if err != nil {
		return nil, fmt.Errorf("rest: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("rest listen %s: %w", cfg.Listen, err)
	}
	s.ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	s.hs = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// NewServer builds the server's handler without a listener (tests serve
// it with httptest, the appliance through Listen).
func NewServer(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Tmsh == nil {
		return nil, errors.New("rest: a store and the tmsh dialect must be given")
	}
	s := &Server{cfg: cfg, log: cfg.Logger, clk: cfg.Clock}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clk == nil {
		s.clk = clock.System{}
	}
	s.lim = loginlimit.New(s.clk)
	s.auth = newTokens(s.clk)
	s.txns = newTxnTable(s.clk)
	if cfg.UploadDir == "" && cfg.StateDir != "" {
		cfg.UploadDir = filepath.Join(cfg.StateDir, "uploads")
	}
	s.uploads = filexfer.New(cfg.UploadDir)
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve serves on its own goroutine until Close.
func (s *Server) Serve() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.hs.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("rest: serve", "err", err)
		}
	}()
}

// Close stops accepting, ends the connections (requests in flight get a
// few seconds) and waits for the serving goroutine.
func (s *Server) Close() error {
	var err error
	s.close.Do(func() {
		if s.hs == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err = s.hs.Shutdown(ctx); err != nil {
			err = errors.Join(err, s.hs.Close())
		}
		s.wg.Wait()
	})
	return err
}

// request is one API request as the handlers see it.
type request struct {
	method string
	segs   []string // the path after /mgmt/, decoded, no trailing empty segment
	path   string   // the decoded path, for messages
	query  url.Values
	body   []byte
	who    principal
	txnID  int64 // X-F5-REST-Coordination-Id; 0: none
	// contentRange is the Content-Range header (file uploads).
	contentRange string
}

// ServeHTTP answers one request: every answer is JSON (but /metrics).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	if r.URL.Path == "/metrics" && s.cfg.Metrics != nil {
		// Metrics name every pool and member: any user may read them
		// (a guest is enough, Prometheus's basic_auth), nobody else.
		if _, err := s.authenticate(r); err != nil {
			s.writeError(w, err)
			return
		}
		w.Header().Del("Content-Type")
		s.cfg.Metrics.ServeHTTP(w, r)
		return
	}
	req, err := s.parseRequest(w, r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	if !(len(req.segs) >= 3 && req.segs[0] == "shared" && req.segs[1] == "authn" && req.segs[2] == "login") {
		who, err := s.authenticate(r)
		if err != nil {
			s.writeError(w, err)
			return
		}
		req.who = who
	}
	req.who.addr = hostOf(r.RemoteAddr)
	code, body, err := s.route(req)
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, code, body)
}

// parseRequest checks the path (no dot segments, no encoded slashes, a
// bounded length) and reads the body within maxBody.
func (s *Server) parseRequest(w http.ResponseWriter, r *http.Request) (*request, error) {
	raw := r.URL.EscapedPath()
	if len(raw) > maxPath {
		return nil, errf(400, "The request path is longer than %d characters.", maxPath)
	}
	low := strings.ToLower(raw)
	for _, bad := range []string{"%2f", "%5c", "%00", "%2e"} {
		if strings.Contains(low, bad) {
			return nil, errf(400, "The request path %q has an encoded slash, dot or NUL: not allowed.", raw)
		}
	}
	if !strings.HasPrefix(raw, "/mgmt/") {
		return nil, errf(404, "Public URI path not registered: %s", raw)
	}
	parts := strings.Split(strings.TrimPrefix(raw, "/mgmt/"), "/")
	if len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1] // the trailing slash is optional
	}
	segs := make([]string, 0, len(parts))
	for _, p := range parts {
		seg, err := url.PathUnescape(p)
		if err != nil {
			return nil, errf(400, "The request path %q is not validly escaped.", raw)
		}
		switch {
		case seg == "" || seg == "." || seg == "..":
			return nil, errf(400, "The request path %q has an empty or dot segment: not allowed.", raw)
		case len(seg) > maxID:
			return nil, errf(400, "An id in the request path is longer than %d characters.", maxID)
		}
		segs = append(segs, seg)
	}
	req := &request{method: r.Method, segs: segs, path: "/mgmt/" + strings.Join(segs, "/"), query: r.URL.Query(), contentRange: r.Header.Get("Content-Range")}
	if id := r.Header.Get("X-F5-REST-Coordination-Id"); id != "" {
		var n int64
		if _, err := fmt.Sscan(id, &n); err != nil || n <= 0 {
			return nil, errf(400, "X-F5-REST-Coordination-Id %q: want a transaction id.", id)
		}
		req.txnID = n
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errf(413, "The request body is larger than %d bytes.", maxBody)
		}
		return nil, errf(400, "Reading the request body: %v", err)
	}
	req.body = body
	return req, nil
}

func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}
