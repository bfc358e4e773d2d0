package ctlsock

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"lbx/internal/spareproc"
)

// Dialect is one configuration language the socket speaks (tmsh, the
// Alteon /cfg menus). The server keeps a registry of them: a request names
// its dialect, or the first dialect that claims its text runs it, or the
// first registered (the default).
type Dialect interface {
	// Name is how requests name the dialect: "tmsh", "alteon".
	Name() string
	// Claims reports whether text is written in this dialect, for
	// requests that name none.
	Claims(text string) bool
	// NewSession starts a conversation whose state (an open transaction,
	// an open menu, pending changes) lives between requests.
	NewSession() Session
	// Push runs a script as a whole: all of it applies, or none.
	Push(text string) (string, error)
}

// Checker is a Dialect that can dry-run a push (Request.Check): the
// script is run, validated and compiled as a push is, and what it would
// change is printed; nothing is applied. Optional, so a dialect without
// it answers a checked push with an error.
type Checker interface {
	Check(text string) (string, error)
}

// JSONShower is a Dialect that answers read-only commands (show, list)
// as JSON for scripts (Request.Output "json"). Optional, as Checker.
type JSONShower interface {
	ShowJSON(text string) (string, error)
}

// Session is one client's conversation in a dialect. The server calls it
// from one request at a time.
type Session interface {
	// Exec runs text (one or more lines) in the session.
	Exec(text string) (string, error)
	// Prompt is the session's prompt after a request: the Alteon menu
	// open; "" for a dialect without one.
	Prompt() string
	// Dropped is a note for a session that ends with its request while it
	// still holds pending changes, which end with it; "" when none.
	Dropped() string
}

// Candidate is one word that may come next on a command line, with a
// one-line help: what an interactive shell completes and lists on `?`.
type Candidate struct {
	Word string `json:"word"`
	Help string `json:"help,omitempty"`
}

// Completer is a Dialect or Session that completes command lines from its
// command table. The server checks for it with a type assertion, so a
// dialect without completion still serves the other ops.
type Completer interface {
	// Complete returns what may come next after line: candidates for the
	// word being typed (the text after the last blank or menu separator),
	// or for the next word when line ends with a blank.
	Complete(line string) []Candidate
}

// Request is one message on the control socket: a client connects, writes
// one JSON request, reads one JSON Response, and the server closes.
type Request struct {
	Op   string `json:"op"` // "exec", "push" or "complete"
	Text string `json:"text"`
	// Session names a conversation that spans requests (an interactive
	// CLI): its open transaction lives on the server between them. Empty
	// means a session of its own for this request.
	Session string `json:"session,omitempty"`
	// Dialect names the registered dialect to run Text in ("tmsh",
	// "alteon"); empty lets the text choose (Dialect.Claims), falling back
	// to the first registered.
	Dialect string `json:"dialect,omitempty"`
	// Check makes a push a dry run (Checker): validated, compiled and
	// its diff printed, nothing applied.
	Check bool `json:"check,omitempty"`
	// Output "json" asks an exec of a show or list command for JSON
	// (JSONShower); empty is the dialect's text.
	Output string `json:"output,omitempty"`
	// User names the `auth user` the request runs as, with that user's
	// role; empty runs it as the peer, root (admin). Only a dialect that
	// is a UserDialect runs requests for a user.
	User string `json:"user,omitempty"`
}

// Response answers a Request. Error is empty on success.
type Response struct {
	Output string `json:"output,omitempty"`
	Error  string `json:"error,omitempty"`
	// Prompt is the session's prompt after the request (the Alteon menu
	// open), for dialects that have one.
	Prompt string `json:"prompt,omitempty"`
	// Pending reports that the session holds changes not applied, for a
	// shell that asks before leaving (sessions with a Pending method: the
	// Alteon dialect's).
	Pending bool `json:"pending,omitempty"`
	// Candidates answer op "complete".
	Candidates []Candidate `json:"candidates,omitempty"`
}

// pender is a Session that can tell whether it holds changes not applied.
type pender interface{ Pending() bool }

// The server's defences against a client that holds connections open (a
// process out of file descriptors stops accepting): at most maxConns
// connections are open at once; past that a new one takes the place of the
// one that has waited longest for its request, or when all are running a
// request, is answered "busy". The requests being read or run hold at most
// maxInflight bytes together. A request must arrive within readTimeout of
// the connection, and the answer be taken within writeTimeout of being
// ready. Accept errors (EMFILE and
// the like) are retried after a pause that doubles from acceptBackoffMin
// to acceptBackoffMax.
const (
	maxConns         = 64
	maxInflight      = 2 * MaxMessage
	readTimeout      = 10 * time.Second
	writeTimeout     = 10 * time.Second
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// Server serves the control socket. Start it with Serve; Close stops the
// accept loop and waits for it and every connection handler to return.
type Server struct {
	ln       net.Listener
	dialects []Dialect // the first is the default
	logger   *slog.Logger
	path     string

	// The limits above, fields so that tests can shrink them.
	maxConns                  int
	maxMessage                int
	maxInflight               int64
	readTimeout, writeTimeout time.Duration
	backoffMin, backoffMax    time.Duration

	inflight  atomic.Int64  // bytes of requests being read or run
	done      chan struct{} // closed by Close: ends an accept backoff
	wg        sync.WaitGroup
	closeOnce sync.Once
	mu        sync.Mutex // guards conns and sessions
	conns     map[net.Conn]*connState
	sessions  map[string]*liveSession
}

// liveSession is a named session of one dialect kept between requests.
type liveSession struct {
	ss       Session
	lastUsed time.Time
}

// Sessions idle longer than sessionIdle are dropped with their open
// transaction; at most maxSessions are kept (the longest idle goes first).
const (
	sessionIdle = time.Hour
	maxSessions = 256
)

// sessionFor finds or starts the named session of dialect d for user
// ("": root).
func (s *Server) sessionFor(name, user string, d Dialect) (Session, error) {
	name = d.Name() + "\x00" + user + "\x00" + name
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	var oldest string
	for n, ls := range s.sessions {
		if now.Sub(ls.lastUsed) > sessionIdle {
			delete(s.sessions, n)
			continue
		}
		if oldest == "" || ls.lastUsed.Before(s.sessions[oldest].lastUsed) {
			oldest = n
		}
	}
	ls, ok := s.sessions[name]
	if !ok {
		if len(s.sessions) >= maxSessions {
			delete(s.sessions, oldest)
		}
		ss, err := newSession(d, user)
		if err != nil {
			return nil, err
		}
		ls = &liveSession{ss: ss}
		s.sessions[name] = ls
	}
	ls.lastUsed = now
	return ls.ss, nil
}

// newSession starts a session of d for user ("": root).
func newSession(d Dialect, user string) (Session, error) {
	if user == "" {
		return d.NewSession(), nil
	}
	ud, ok := d.(UserDialect)
	if !ok {
		return nil, fmt.Errorf("control request: dialect %s does not run requests for a user", d.Name())
	}
	return ud.NewSessionAs(user)
}

// Listen creates the unix socket at path (its directory too), refusing to
// take over a socket another live appliance is serving. A stale socket file
// left by a crash is removed. dialects is the registry, the default first.
func Listen(path string, logger *slog.Logger, dialects ...Dialect) (*Server, error) {
	if len(dialects) == 0 {
		return nil, fmt.Errorf("control socket %s: no dialect registered", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s: another appliance is serving it", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("control socket %s: remove stale socket: %w", path, err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return newServer(ln, path, logger, dialects), nil
}

func newServer(ln net.Listener, path string, logger *slog.Logger, dialects []Dialect) *Server {
	return &Server{
		ln: ln, dialects: dialects, logger: logger, path: path,
		maxConns: maxConns, maxMessage: MaxMessage, maxInflight: maxInflight,
		readTimeout: readTimeout, writeTimeout: writeTimeout,
		backoffMin: acceptBackoffMin, backoffMax: acceptBackoffMax,
		done:  make(chan struct{}),
		conns: map[net.Conn]*connState{}, sessions: map[string]*liveSession{},
	}
}

// Serve accepts connections on its own goroutine until Close. An accept
// error other than the listener's closing (the process out of file
// descriptors) is logged and retried after a pause, never the end of the
// loop.
func (s *Server) Serve() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		var delay time.Duration
		var seq uint64
		for {
			c, err := s.ln.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				delay = min(max(2*delay, s.backoffMin), s.backoffMax)
				s.logger.Error("control socket accept", "err", err, "retry_in", delay)
				t := time.NewTimer(delay)
				select {
				case <-t.C:
				case <-s.done:
					t.Stop()
					return
				}
				continue
			}
			delay = 0
			s.mu.Lock()
			busy := len(s.conns) >= s.maxConns && !s.evictIdleLocked()
			seq++
			st := &connState{reading: true, seq: seq}
			if !busy {
				s.conns[c] = st
			}
			s.mu.Unlock()
			if busy {
				s.refuse(c)
				continue
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.handle(c, st)
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
		}
	}()
}

// connState is where a connection is: reading its request (idle, or a
// slow client) or running it.
type connState struct {
	reading, evicted bool   // guarded by Server.mu
	seq              uint64 // the order of accepting
}

// evictIdleLocked makes room for a new connection by closing the one that
// has waited longest for its request, so that clients holding connections
// open cannot keep out one that sends its request. Connections running a
// request are never closed; it reports false when all of them are.
func (s *Server) evictIdleLocked() bool {
	var victim net.Conn
	var oldest uint64
	for c, st := range s.conns {
		if st.reading && (victim == nil || st.seq < oldest) {
			victim, oldest = c, st.seq
		}
	}
	if victim == nil {
		return false
	}
	// Its handler ends on the closed connection, and runs nothing even
	// if the request had just been read.
	s.conns[victim].evicted = true
	delete(s.conns, victim)
	victim.Close()
	return true
}

// refuse answers a connection beyond the cap with an error and closes it.
// The answer fits the empty buffer of a new socket, so this does not
// block the accept loop; the deadline makes sure.
func (s *Server) refuse(c net.Conn) {
	resp := Response{Error: fmt.Sprintf("control socket busy: %d connections are open, the most it serves at once; try again", s.maxConns)}
	c.SetWriteDeadline(time.Now().Add(time.Second))
	writeMessage(c, &resp, s.maxMessage)
	c.Close()
}

func (s *Server) handle(c net.Conn, st *connState) {
	c.SetReadDeadline(time.Now().Add(s.readTimeout))
	br := &budgetReader{r: c, s: s}
	defer func() { s.inflight.Add(-br.n) }()
	req, err := decodeRequest(br, int64(s.maxMessage))
	if err == nil && len(req.Text) >= bigRequest {
		// A script of thousands of lines must not keep the dataplane's
		// receive goroutines waiting: it runs beside them (a second P
		// when lbx has one) and below them (a nice thread, which ends
		// with this connection's goroutine). Small requests skip both:
		// a thread per command would cost the socket's request rate
		// (an apply takes the second P in the store anyway).
		defer spareproc.Hold()()
		spareproc.Background() // a kernel refusing leaves the thread as it was: nothing to do about it
	}
	s.mu.Lock()
	st.reading = false
	evicted := st.evicted
	s.mu.Unlock()
	if evicted {
		return
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("control request: none arrived within %v of connecting", s.readTimeout)
	}
	if err == nil {
		err = checkPeer(c)
	}
	var resp Response
	if err != nil {
		resp.Error = err.Error()
	} else {
		resp = s.run(req)
	}
	c.SetWriteDeadline(time.Now().Add(s.writeTimeout))
	var tl *tooLargeError
	if err := writeMessage(c, &resp, s.maxMessage); errors.As(err, &tl) {
		writeMessage(c, &Response{Error: fmt.Sprintf("control socket: answer of %v; ask for less at a time (list one object, or a few)", tl)}, s.maxMessage)
	}
}

// bigRequest is the size of a request's text from which it is run as
// background work (spareproc): 64 KiB, about 700 lines of tmsh.
const bigRequest = 64 << 10

// budgetReader counts what a request reads against the server's budget
// of bytes in flight (maxInflight), so that many large requests at once
// cannot take the memory that one may: past it the request is refused.
// The handler gives the bytes back when it has answered.
type budgetReader struct {
	r io.Reader
	s *Server
	n int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.s.inflight.Add(int64(n)) > b.s.maxInflight {
		return n, fmt.Errorf("control socket busy: more than %s of requests are being read or run at once; try again", size(b.s.maxInflight))
	}
	return n, err
}

// run runs one request in its dialect.
func (s *Server) run(req Request) Response {
	var resp Response
	var out string
	var err error
	d, derr := s.dialect(req.Dialect, req.Text)
	switch {
	case derr != nil:
		err = derr
	case req.Op == "exec" && req.Output != "":
		out, err = showJSON(d, req)
	case req.Op == "exec" && req.Session != "":
		var ss Session
		if ss, err = s.sessionFor(req.Session, req.User, d); err == nil {
			out, err = ss.Exec(req.Text)
			resp.Prompt = ss.Prompt()
			if p, ok := ss.(pender); ok {
				resp.Pending = p.Pending()
			}
		}
	case req.Op == "exec":
		var ss Session
		if ss, err = newSession(d, req.User); err == nil {
			out, err = ss.Exec(req.Text)
			out += ss.Dropped()
			resp.Prompt = ss.Prompt()
		}
	case req.Op == "push" && req.Check:
		c, ok := d.(Checker)
		if !ok {
			err = fmt.Errorf("push --check: the %s dialect has no dry run", d.Name())
			break
		}
		if req.User != "" {
			err = fmt.Errorf("push --check: runs as root only, not as user %s", req.User)
			break
		}
		out, err = c.Check(req.Text)
	case req.Op == "push" && req.User != "":
		ud, ok := d.(UserDialect)
		if !ok {
			err = fmt.Errorf("control request: dialect %s does not run requests for a user", d.Name())
			break
		}
		out, err = ud.PushAs(req.User, req.Text)
	case req.Op == "push":
		out, err = d.Push(req.Text)
	case req.Op == "complete":
		// A named session completes in its state (an Alteon session's open
		// menu, a tmsh transaction's candidate).
		var c any = d
		if req.Session != "" {
			var ss Session
			if ss, err = s.sessionFor(req.Session, req.User, d); err != nil {
				break
			}
			c = ss
		}
		if cp, ok := c.(Completer); ok {
			resp.Candidates = cp.Complete(req.Text)
		} else {
			err = fmt.Errorf("control request: dialect %s does not complete", d.Name())
		}
	default:
		err = fmt.Errorf("control request: op %q: want exec, push or complete", req.Op)
	}
	resp.Output = out
	if err != nil {
		resp.Error = err.Error()
	}
	return resp
}

// showJSON runs a read-only command of d for JSON output.
func showJSON(d Dialect, req Request) (string, error) {
	if req.Output != "json" {
		return "", fmt.Errorf("control request: output %q: want json (or none, for text)", req.Output)
	}
	j, ok := d.(JSONShower)
	if !ok {
		return "", fmt.Errorf("-o json: the %s dialect prints only text", d.Name())
	}
	return j.ShowJSON(req.Text)
}

// dialect picks the dialect of a request: the one it names, else the first
// that claims its text, else the default.
func (s *Server) dialect(name, text string) (Dialect, error) {
	if name != "" {
		var names []string
		for _, d := range s.dialects {
			if d.Name() == name {
				return d, nil
			}
			names = append(names, d.Name())
		}
		return nil, fmt.Errorf("control request: dialect %q: want %s", name, strings.Join(names, " or "))
	}
	for _, d := range s.dialects {
		if d.Claims(text) {
			return d, nil
		}
	}
	return s.dialects[0], nil
}

// Close stops accepting, closes open connections, waits for every handler
// and removes the socket file.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.done)
		err = s.ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
		if rmErr := os.Remove(s.path); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
			err = errors.Join(err, rmErr)
		}
	})
	return err
}
