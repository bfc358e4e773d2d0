package ctlsock

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// echo is a dialect that answers with what it was given; its sessions
// count their requests, so a test sees whether one was kept.
type echo struct{ name, prefix string }

func (d echo) Name() string                  { return d.name }
func (d echo) Claims(t string) bool          { return d.prefix != "" && strings.HasPrefix(t, d.prefix) }
func (d echo) NewSession() Session           { return &echoSession{d: d} }
func (d echo) Push(t string) (string, error) { return d.name + " push:" + t, nil }

type echoSession struct {
	d echo
	n int
}

func (s *echoSession) Exec(line string) (string, error) {
	s.n++
	if strings.HasPrefix(line, "bad") {
		return "", errors.New("bad command: " + line)
	}
	return fmt.Sprintf("%s exec %d:%s", s.d.name, s.n, line), nil
}

func (s *echoSession) Prompt() string {
	if s.d.prefix == "" {
		return ""
	}
	return s.d.name + "# "
}

func (s *echoSession) Dropped() string { return "" }

var echoExec = echo{name: "tmsh"}

func TestControlSocketRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "lbx.sock")
	srv, err := Listen(path, slog.New(slog.DiscardHandler), echoExec)
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	c := &Client{Path: path}
	if out, err := c.Exec("list ltm pool"); err != nil || out != "tmsh exec 1:list ltm pool" {
		t.Errorf("Exec = %q, %v", out, err)
	}
	if out, err := c.Push("a\nb\n"); err != nil || out != "tmsh push:a\nb\n" {
		t.Errorf("Push = %q, %v", out, err)
	}
	if _, err := c.Exec("bad thing"); err == nil || err.Error() != "bad command: bad thing" {
		t.Errorf("error = %v, want the executor's error verbatim", err)
	}
	// A second appliance must not steal a live socket.
	if _, err := Listen(path, slog.New(slog.DiscardHandler), echoExec); err == nil || !strings.Contains(err.Error(), "another appliance") {
		t.Errorf("second Listen: %v, want refusal", err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("socket file left after Close: %v", err)
	}
	if _, err := c.Exec("list"); !errors.Is(err, ErrNoAppliance) {
		t.Errorf("after Close: %v, want ErrNoAppliance", err)
	}
}

func TestControlSocketReplacesStaleFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lbx.sock")
	// A socket file nobody listens on, as a crash leaves it.
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	srv, err := Listen(path, slog.New(slog.DiscardHandler), echoExec)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	defer srv.Close()
}

func TestControlSocketBadRequest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lbx.sock")
	srv, err := Listen(path, slog.New(slog.DiscardHandler), echoExec)
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	defer srv.Close()
	c := &Client{Path: path}
	if _, err := c.do(Request{Op: "reboot"}); err == nil || !strings.Contains(err.Error(), `op "reboot"`) {
		t.Errorf("unknown op: %v", err)
	}
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte("{not json\n"))
	buf := make([]byte, 512)
	n, _ := conn.Read(buf)
	conn.Close()
	if !strings.Contains(string(buf[:n]), "control request") {
		t.Errorf("malformed request answer %q", buf[:n])
	}
}

// The registry: a request naming a dialect gets it, an unnamed one the
// first that claims its text, else the default; a named session is kept
// per dialect.
func TestControlSocketDialects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lbx.sock")
	srv, err := Listen(path, slog.New(slog.DiscardHandler), echo{name: "tmsh"}, echo{name: "alteon", prefix: "/"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	defer srv.Close()
	sess := &Client{Path: path, Session: "op"}
	one := &Client{Path: path}
	tests := []struct {
		name       string
		c          *Client
		req        Request
		out, prmpt string
		err        string
	}{
		{name: "default", c: one, req: Request{Op: "exec", Text: "list"}, out: "tmsh exec 1:list"},
		{name: "claimed", c: one, req: Request{Op: "exec", Text: "/c/slb"}, out: "alteon exec 1:/c/slb", prmpt: "alteon# "},
		{name: "named", c: one, req: Request{Op: "exec", Text: "info", Dialect: "alteon"}, out: "alteon exec 1:info", prmpt: "alteon# "},
		{name: "push claimed", c: one, req: Request{Op: "push", Text: "/c/slb/real 1"}, out: "alteon push:/c/slb/real 1"},
		{name: "unknown dialect", c: one, req: Request{Op: "exec", Text: "x", Dialect: "cisco"}, err: `control request: dialect "cisco": want tmsh or alteon`},
		{name: "session 1", c: sess, req: Request{Op: "exec", Text: "a", Session: "op"}, out: "tmsh exec 1:a"},
		{name: "session 2", c: sess, req: Request{Op: "exec", Text: "b", Session: "op"}, out: "tmsh exec 2:b"},
		{name: "session other dialect", c: sess, req: Request{Op: "exec", Text: "/x", Session: "op"}, out: "alteon exec 1:/x", prmpt: "alteon# "},
		{name: "session 3", c: sess, req: Request{Op: "exec", Text: "c", Session: "op"}, out: "tmsh exec 3:c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tt.c.roundTrip(tt.req)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || resp.Output != tt.out || resp.Prompt != tt.prmpt {
				t.Fatalf("got %q prompt %q err %v, want %q prompt %q", resp.Output, resp.Prompt, err, tt.out, tt.prmpt)
			}
		})
	}
	if _, err := Listen(filepath.Join(t.TempDir(), "x.sock"), slog.New(slog.DiscardHandler)); err == nil {
		t.Error("Listen with no dialect succeeded")
	}
}

// slowPush is a dialect whose push takes until release is closed (or
// after, when wait is set, that long), as a large apply does.
type slowPush struct {
	echo
	started chan struct{}
	release chan struct{}
	wait    time.Duration
}

func (d slowPush) Push(t string) (string, error) {
	close(d.started)
	if d.wait > 0 {
		<-time.After(d.wait)
	} else {
		<-d.release
	}
	return "applied", nil
}

func listenSlow(t *testing.T, d slowPush) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lbx.sock")
	srv, err := Listen(path, slog.New(slog.DiscardHandler), d)
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	t.Cleanup(func() { srv.Close() })
	return path
}

// TestPushWaitsForTheApply: a push is answered only once applied, which
// can take longer than a command's timeout (issue 12 item 4: the client
// gave up after 60 s and reported a failure for a push that then
// applied). By default Push waits as long as the appliance works.
func TestPushWaitsForTheApply(t *testing.T) {
	d := slowPush{echo: echoExec, started: make(chan struct{}), wait: 200 * time.Millisecond}
	c := &Client{Path: listenSlow(t, d), Timeout: 20 * time.Millisecond}
	out, err := c.Push("create ltm pool p\n")
	if err != nil || out != "applied" {
		t.Fatalf("Push = %q, %v; want the answer of the apply, which outlasts the client's Timeout", out, err)
	}
}

// TestPushTimeoutSaysItMayStillApply: a client that bounds its wait with
// PushTimeout and gives up says the push may still apply.
func TestPushTimeoutSaysItMayStillApply(t *testing.T) {
	d := slowPush{echo: echoExec, started: make(chan struct{}), release: make(chan struct{})}
	defer close(d.release) // before the server's Close, which waits for the handler
	c := &Client{Path: listenSlow(t, d), PushTimeout: 10 * time.Millisecond}
	_, err := c.Push("create ltm pool p\n")
	if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "may still apply the push") {
		t.Fatalf("Push = %v, want a deadline error saying the push may still apply", err)
	}
	select {
	case <-d.started:
	case <-time.After(10 * time.Second):
		t.Error("the push never reached the appliance")
	}
}
