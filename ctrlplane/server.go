package ctrlplane

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Executor runs control commands; *Store is the production one.
type Executor interface {
	// Exec runs one command and applies it at once.
	Exec(line string) (string, error)
	// Push runs a script of commands and applies it as a whole.
	Push(text string) (string, error)
}

// Request is one message on the control socket: a client connects, writes
// one JSON request, reads one JSON Response, and the server closes.
type Request struct {
	Op   string `json:"op"` // "exec" or "push"
	Text string `json:"text"`
	// Session names a conversation that spans requests (an interactive
	// CLI): its open transaction lives on the server between them. Empty
	// means a session of its own for this request.
	Session string `json:"session,omitempty"`
	// Dialect "alteon" runs Text as Alteon /cfg lines (in the session's
	// open menu); empty is tmsh, where a line starting with "/" is Alteon
	// too.
	Dialect string `json:"dialect,omitempty"`
}

// Response answers a Request. Error is empty on success.
type Response struct {
	Output string `json:"output,omitempty"`
	Error  string `json:"error,omitempty"`
	// Prompt is the Alteon prompt of the session's open menu, after an
	// Alteon request.
	Prompt string `json:"prompt,omitempty"`
}

// maxRequest bounds one request; a pushed config bigger than this is refused.
const maxRequest = 16 << 20

// Server serves the control socket. Start it with Serve; Close stops the
// accept loop and waits for it and every connection handler to return.
type Server struct {
	ln     net.Listener
	exec   Executor
	logger *slog.Logger
	path   string

	wg        sync.WaitGroup
	closeOnce sync.Once
	mu        sync.Mutex // guards conns and sessions
	conns     map[net.Conn]struct{}
	sessions  map[string]*liveSession
}

// liveSession is a named session kept between requests.
type liveSession struct {
	ss       *ConfigSession
	lastUsed time.Time
}

// Sessions idle longer than sessionIdle are dropped with their open
// transaction; at most maxSessions are kept (the longest idle goes first).
const (
	sessionIdle = time.Hour
	maxSessions = 256
)

// SessionMaker is an Executor that can hold sessions (*Store is one).
type SessionMaker interface {
	NewSession() *ConfigSession
}

// sessionFor finds or starts the named session.
func (s *Server) sessionFor(name string, mk SessionMaker) *ConfigSession {
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
		ls = &liveSession{ss: mk.NewSession()}
		s.sessions[name] = ls
	}
	ls.lastUsed = now
	return ls.ss
}

// Listen creates the unix socket at path (its directory too), refusing to
// take over a socket another live appliance is serving. A stale socket file
// left by a crash is removed.
func Listen(path string, exec Executor, logger *slog.Logger) (*Server, error) {
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
	return &Server{ln: ln, exec: exec, logger: logger, path: path, conns: map[net.Conn]struct{}{}, sessions: map[string]*liveSession{}}, nil
}

// Serve accepts connections on its own goroutine until Close.
func (s *Server) Serve() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := s.ln.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					s.logger.Error("control socket accept", "err", err)
				}
				return
			}
			s.mu.Lock()
			s.conns[c] = struct{}{}
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.handle(c)
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
		}
	}()
}

func (s *Server) handle(c net.Conn) {
	var req Request
	dec := json.NewDecoder(io.LimitReader(c, maxRequest))
	var resp Response
	if err := dec.Decode(&req); err != nil {
		resp.Error = fmt.Sprintf("control request: %v", err)
	} else {
		var out string
		var err error
		switch req.Op {
		case "exec":
			mk, ok := s.exec.(SessionMaker)
			switch {
			case ok && req.Dialect == "alteon":
				var ss *ConfigSession
				if req.Session != "" {
					ss = s.sessionFor(req.Session, mk)
					out, err = ss.ExecAlteon(req.Text)
				} else {
					ss = mk.NewSession()
					out, err = ss.ExecAlteon(req.Text)
					out += ss.droppedNote()
				}
				resp.Prompt = ss.AlteonPrompt()
			case req.Dialect != "" && req.Dialect != "tmsh":
				err = fmt.Errorf("control request: dialect %q: want tmsh or alteon", req.Dialect)
			case ok && req.Session != "":
				out, err = s.sessionFor(req.Session, mk).Exec(req.Text)
			default:
				out, err = s.exec.Exec(req.Text)
			}
		case "push":
			out, err = s.exec.Push(req.Text)
		default:
			err = fmt.Errorf("control request: op %q: want exec or push", req.Op)
		}
		resp.Output = out
		if err != nil {
			resp.Error = err.Error()
		}
	}
	w := bufio.NewWriter(c)
	if err := json.NewEncoder(w).Encode(&resp); err == nil {
		w.Flush()
	}
}

// Close stops accepting, closes open connections, waits for every handler
// and removes the socket file.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
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

// Client talks to a running appliance over its control socket.
type Client struct {
	Path    string
	Timeout time.Duration // per request; 0 means 60s
	// Session, when set, keeps a server-side session (and its open
	// transaction) across this client's requests.
	Session string
}

// ErrNoAppliance means nothing listens on the control socket.
var ErrNoAppliance = errors.New("no appliance is running (control socket not reachable)")

// Exec runs one command on the appliance.
func (c *Client) Exec(line string) (string, error) {
	return c.do(Request{Op: "exec", Text: line, Session: c.Session})
}

// ExecAlteon runs Alteon dialect lines in the client's session and returns
// the prompt of the menu it leaves open.
func (c *Client) ExecAlteon(line string) (out, prompt string, err error) {
	resp, err := c.roundTrip(Request{Op: "exec", Text: line, Session: c.Session, Dialect: "alteon"})
	return resp.Output, resp.Prompt, err
}

// Push sends a script to be applied as a whole.
func (c *Client) Push(text string) (string, error) { return c.do(Request{Op: "push", Text: text}) }

func (c *Client) do(req Request) (string, error) {
	resp, err := c.roundTrip(req)
	return resp.Output, err
}

func (c *Client) roundTrip(req Request) (Response, error) {
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.Path)
	if err != nil {
		return Response{}, fmt.Errorf("%s: %w: %v", c.Path, ErrNoAppliance, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if err := json.NewEncoder(conn).Encode(&req); err != nil {
		return Response{}, fmt.Errorf("control socket %s: send: %w", c.Path, err)
	}
	var resp Response
	if err := json.NewDecoder(io.LimitReader(conn, maxRequest)).Decode(&resp); err != nil {
		return Response{}, fmt.Errorf("control socket %s: read answer: %w", c.Path, err)
	}
	if resp.Error != "" {
		return resp, errors.New(resp.Error)
	}
	return resp, nil
}

var _ Executor = (*Client)(nil)
