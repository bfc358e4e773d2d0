package sshd

import (
	"bytes"
	"encoding/binary"
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

	"github.com/chzyer/readline"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"

	"lbx/cli"
	"lbx/ctrlplane/config"
	"lbx/ctrlplane/ctlsock"
	"lbx/internal/clock"
	"lbx/internal/loginlimit"
)

// Config is what the SSH server is built from.
type Config struct {
	// Listen is the management address, ADDR:PORT (port 0: any free one).
	Listen  string
	HostKey ssh.Signer
	// Users finds an `auth user` by name in the running configuration;
	// nil when there is none.
	Users func(name string) *config.User
	// Dialects are the appliance's, tmsh first (ctrlplane.Dialects); a
	// session runs in them as its user (ctlsock.UserDialect).
	Dialects []ctlsock.Dialect
	// KeysDir, when set, holds each user's public keys for key login:
	// KeysDir/USER in OpenSSH's authorized_keys format. The user must
	// still be an auth user of a role other than no-access.
	KeysDir string
	// UsersDir, when set, keeps each user's shell state across sessions:
	// UsersDir/USER/history (cli's history file: mode 0600, no line with
	// a secret) and UsersDir/USER/prefs (`cli preference`). Empty: a
	// session's history and preferences end with it.
	UsersDir string
	Logger   *slog.Logger // nil discards
	Clock    clock.Clock  // the rate limit's; nil: the system clock
}

// handshakeTimeout bounds a connection's login; maxAuthTries the
// attempts of one connection; maxConns the connections open at once
// (logged in or not): one more is closed at once.
const (
	handshakeTimeout = 30 * time.Second
	maxAuthTries     = 3
	maxConns         = 64
)

// Server serves SSH; Serve starts it, Close stops it.
type Server struct {
	cfg Config
	log *slog.Logger
	ln  net.Listener
	sc  *ssh.ServerConfig
	lim *loginlimit.Limiter

	maxConns int // maxConns; tests shrink it

	wg     sync.WaitGroup
	done   chan struct{} // closed by Close
	mu     sync.Mutex    // guards conns and closed
	conns  map[net.Conn]bool
	closed bool
}

var (
	errLoginFailed = errors.New("ssh: login failed")
	errRateLimited = errors.New("ssh: too many failed logins from this address; try again later")
)

// Listen opens the SSH listener.
func Listen(cfg Config) (*Server, error) {
	if cfg.HostKey == nil || cfg.Users == nil || len(cfg.Dialects) == 0 {
		return nil, errors.New("ssh: host key, users and dialects must be given")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("ssh listen %s: %w", cfg.Listen, err)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, ln: ln, lim: loginlimit.New(cfg.Clock), conns: map[net.Conn]bool{}, done: make(chan struct{}), maxConns: maxConns}
	s.sc = &ssh.ServerConfig{
		PasswordCallback:  s.password,
		PublicKeyCallback: s.publicKey,
		MaxAuthTries:      maxAuthTries,
		ServerVersion:     "SSH-2.0-lbx",
	}
	s.sc.AddHostKey(cfg.HostKey)
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts connections on its own goroutine until Close.
func (s *Server) Serve() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := s.ln.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				s.log.Error("ssh accept", "err", err)
				// Out of descriptors: let some close before trying again.
				t := time.NewTimer(100 * time.Millisecond)
				select {
				case <-t.C:
				case <-s.done:
					t.Stop()
					return
				}
				continue
			}
			s.mu.Lock()
			if s.closed {
				s.mu.Unlock()
				c.Close()
				return
			}
			if len(s.conns) >= s.maxConns {
				s.mu.Unlock()
				s.log.Warn("ssh connection refused: too many open", "addr", c.RemoteAddr().String(), "max", s.maxConns)
				c.Close()
				continue
			}
			s.conns[c] = true
			s.wg.Add(1)
			s.mu.Unlock()
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

// Close stops accepting, closes every connection (ending their shells)
// and waits for all of them.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	err := s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// dummyHash is checked for an unknown user, so that a login takes as
// long whether the user exists or not.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("lbx-no-such-user"), bcrypt.DefaultCost)
	return h
})

// password checks a login against the `auth user` of that name, within
// the rate limit of the client's address.
func (s *Server) password(meta ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
	addr := hostOf(meta.RemoteAddr())
	if d := s.lim.Blocked(addr); d > 0 {
		s.log.Warn("ssh login refused: too many failed logins", "user", meta.User(), "addr", addr, "retry_in", d.Round(time.Millisecond))
		return nil, errRateLimited
	}
	u := s.cfg.Users(meta.User())
	ok := false
	if u == nil {
		bcrypt.CompareHashAndPassword(dummyHash(), pw)
	} else {
		ok = u.Role != config.RoleNoAccess && u.CheckPassword(string(pw))
	}
	if !ok {
		pause := s.lim.Failed(addr)
		s.log.Warn("ssh login failed", "user", meta.User(), "addr", addr, "blocked_for", pause)
		return nil, errLoginFailed
	}
	s.lim.Succeeded(addr)
	s.log.Info("ssh login", "user", meta.User(), "addr", addr)
	return &ssh.Permissions{Extensions: map[string]string{"user": meta.User()}}, nil
}

// publicKey accepts a key listed in the user's file in KeysDir. A key
// refused is no failed login (clients offer every key they have before a
// password), but a blocked address is refused keys too.
func (s *Server) publicKey(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	addr := hostOf(meta.RemoteAddr())
	if d := s.lim.Blocked(addr); d > 0 {
		return nil, errRateLimited
	}
	name := meta.User()
	u := s.cfg.Users(name)
	if s.cfg.KeysDir == "" || u == nil || u.Role == config.RoleNoAccess || !validUserFile(name) {
		return nil, errLoginFailed
	}
	b, err := os.ReadFile(filepath.Join(s.cfg.KeysDir, name))
	if err != nil {
		return nil, errLoginFailed
	}
	want := key.Marshal()
	for len(b) > 0 {
		k, _, _, rest, err := ssh.ParseAuthorizedKey(b)
		if err != nil {
			break
		}
		if bytes.Equal(k.Marshal(), want) {
			s.lim.Succeeded(addr)
			s.log.Info("ssh login", "user", name, "addr", addr, "key", ssh.FingerprintSHA256(key))
			return &ssh.Permissions{Extensions: map[string]string{"user": name}}, nil
		}
		b = rest
	}
	return nil, errLoginFailed
}

// validUserFile reports whether a user name is safe as a file name.
func validUserFile(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}

func hostOf(a net.Addr) string {
	if h, _, err := net.SplitHostPort(a.String()); err == nil {
		return h
	}
	return a.String()
}

func (s *Server) handle(c net.Conn) {
	c.SetDeadline(time.Now().Add(handshakeTimeout))
	sconn, chans, reqs, err := ssh.NewServerConn(c, s.sc)
	if err != nil {
		s.log.Debug("ssh handshake", "addr", c.RemoteAddr().String(), "err", err)
		return
	}
	defer sconn.Close()
	c.SetDeadline(time.Time{})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ssh.DiscardRequests(reqs)
	}()
	user := sconn.Permissions.Extensions["user"]
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only session channels")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.session(user, ch, creqs)
		}()
	}
}

// terminal is a session's pty: its size, and what readline asked to be
// told when the width changes.
type terminal struct {
	width, height atomic.Int32
	onChange      atomic.Pointer[func()]
}

func (t *terminal) setSize(w, h uint32) {
	if h > 0 && h <= 1<<15 {
		t.height.Store(int32(h))
	}
	if w == 0 || w > 1<<15 {
		return
	}
	t.width.Store(int32(w))
	if f := t.onChange.Load(); f != nil {
		(*f)()
	}
}

// session serves one session channel: a pty (optional), then a shell or
// one command.
func (s *Server) session(user string, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	var term *terminal
	for req := range reqs {
		switch req.Type {
		case "pty-req":
			term = &terminal{}
			term.width.Store(80)
			term.setSize(ptySize(req.Payload))
			req.Reply(true, nil)
		case "shell", "exec":
			app, err := ctlsock.NewUserApp(s.cfg.Dialects, user)
			if err != nil {
				req.Reply(false, nil)
				fmt.Fprintf(ch.Stderr(), "%v\r\n", err)
				return
			}
			req.Reply(true, nil)
			s.wg.Add(1)
			go func() { // window changes; the rest is refused
				defer s.wg.Done()
				for r := range reqs {
					if r.Type == "window-change" && term != nil && len(r.Payload) >= 8 {
						term.setSize(binary.BigEndian.Uint32(r.Payload), binary.BigEndian.Uint32(r.Payload[4:]))
					}
					if r.WantReply {
						r.Reply(false, nil)
					}
				}
			}()
			status := uint32(0)
			if req.Type == "shell" {
				s.shell(app, ch, term)
			} else {
				status = s.exec(app, ch, term, execCommand(req.Payload))
			}
			ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
			return
		default:
			if req.WantReply {
				req.Reply(false, nil)
			}
		}
	}
}

// ptySize reads the width and height in characters of a pty-req.
func ptySize(p []byte) (w, h uint32) {
	var r struct {
		Term          string
		Columns, Rows uint32
		Width, Height uint32
		Modes         string
	}
	if ssh.Unmarshal(p, &r) != nil {
		return 0, 0
	}
	return r.Columns, r.Rows
}

func execCommand(p []byte) string {
	var r struct{ Command string }
	if ssh.Unmarshal(p, &r) != nil {
		return ""
	}
	return r.Command
}

// shell runs the interactive CLI on the channel until quit or the end of
// input.
func (s *Server) shell(app *ctlsock.UserApp, ch ssh.Channel, term *terminal) {
	var out io.Writer = ch
	if term != nil {
		out = crlf{ch} // the client's terminal is raw: no line discipline
	}
	hist, prefsFile := s.userFiles(app.User())
	prefs, err := cli.LoadPrefs(prefsFile)
	if err != nil {
		s.log.Warn("ssh shell: preferences", "user", app.User(), "err", err)
	}
	sh := &cli.Shell{App: app, User: app.User(), In: io.NopCloser(ch), Out: out, Err: out,
		Alteon: prefs.DefaultDialect == "alteon", PrefsFile: prefsFile,
		Height: func() int {
			if term == nil {
				return 0 // no pty: never paged
			}
			return int(term.height.Load())
		},
		Terminal: func(c *readline.Config) {
			c.FuncIsTerminal = func() bool { return term != nil }
			c.FuncMakeRaw = func() error { return nil }
			c.FuncExitRaw = func() error { return nil }
			c.FuncGetWidth = func() int {
				if term == nil {
					return 80
				}
				return int(term.width.Load())
			}
			c.FuncOnWidthChanged = func(f func()) {
				if term != nil {
					term.onChange.Store(&f)
				}
			}
		}}
	if err := sh.Interactive(hist); err != nil {
		s.log.Warn("ssh shell", "user", app.User(), "err", err)
	}
}

// userFiles are the user's history and preferences files in UsersDir
// (its directory created, mode 0700); "" when the server keeps none.
func (s *Server) userFiles(user string) (history, prefs string) {
	if s.cfg.UsersDir == "" || !validUserFile(user) {
		return "", ""
	}
	dir := filepath.Join(s.cfg.UsersDir, user)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		s.log.Warn("ssh shell: user state not kept", "user", user, "err", err)
		return "", ""
	}
	return filepath.Join(dir, "history"), filepath.Join(dir, "prefs")
}

// exec runs one command (`ssh HOST 'list ltm pool'`; a line starting with
// "/" is Alteon) and returns its exit status.
func (s *Server) exec(app *ctlsock.UserApp, ch ssh.Channel, term *terminal, cmd string) uint32 {
	var out, errw io.Writer = ch, ch.Stderr()
	if term != nil {
		out, errw = crlf{ch}, crlf{ch.Stderr()}
	}
	var text string
	var err error
	if strings.HasPrefix(strings.TrimSpace(cmd), "/") {
		text, _, err = app.ExecAlteon(cmd)
	} else {
		text, err = app.Exec(cmd)
	}
	io.WriteString(out, text)
	if err != nil {
		fmt.Fprintln(errw, err)
		return 1
	}
	return 0
}

// crlf writes "\r\n" for every "\n": what a terminal in raw mode needs.
type crlf struct{ w io.Writer }

func (c crlf) Write(p []byte) (int, error) {
	if _, err := c.w.Write([]byte(strings.ReplaceAll(string(p), "\n", "\r\n"))); err != nil {
		return 0, err
	}
	return len(p), nil
}
