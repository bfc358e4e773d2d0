package ctrlplane

import (
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type echoExec struct{}

func (echoExec) Exec(line string) (string, error) {
	if strings.HasPrefix(line, "bad") {
		return "", errors.New("bad command: " + line)
	}
	return "exec:" + line, nil
}

func (echoExec) Push(text string) (string, error) { return "push:" + text, nil }

func TestControlSocketRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "lbx.sock")
	srv, err := Listen(path, echoExec{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	c := &Client{Path: path}
	if out, err := c.Exec("list ltm pool"); err != nil || out != "exec:list ltm pool" {
		t.Errorf("Exec = %q, %v", out, err)
	}
	if out, err := c.Push("a\nb\n"); err != nil || out != "push:a\nb\n" {
		t.Errorf("Push = %q, %v", out, err)
	}
	if _, err := c.Exec("bad thing"); err == nil || err.Error() != "bad command: bad thing" {
		t.Errorf("error = %v, want the executor's error verbatim", err)
	}
	// A second appliance must not steal a live socket.
	if _, err := Listen(path, echoExec{}, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "another appliance") {
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
	srv, err := Listen(path, echoExec{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	defer srv.Close()
}

func TestControlSocketBadRequest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lbx.sock")
	srv, err := Listen(path, echoExec{}, slog.New(slog.DiscardHandler))
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

// A named session keeps its transaction across requests; other clients do
// not see it until it is submitted.
func TestControlSocketSessions(t *testing.T) {
	s, _ := newTestStore(t, DefaultConfigText())
	path := filepath.Join(t.TempDir(), "lbx.sock")
	srv, err := Listen(path, s, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	defer srv.Close()
	op := &Client{Path: path, Session: "operator-1"}
	other := &Client{Path: path}
	for _, cmd := range []string{
		"create cli transaction",
		"create ltm pool /Common/sess_pool members add { 198.18.2.11:80 }",
	} {
		if _, err := op.Exec(cmd); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
	}
	if out, err := other.Exec("list ltm pool"); err != nil || strings.Contains(out, "sess_pool") {
		t.Fatalf("another client sees the open transaction: %v\n%s", err, out)
	}
	if _, err := op.Exec("submit cli transaction"); err != nil {
		t.Fatal(err)
	}
	if out, err := other.Exec("list ltm pool /Common/sess_pool"); err != nil || !strings.Contains(out, "sess_pool") {
		t.Fatalf("submitted pool not visible: %v\n%s", err, out)
	}
	// Without a session name each request stands alone.
	if _, err := other.Exec("create cli transaction"); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec("submit cli transaction"); err == nil || !strings.Contains(err.Error(), "no transaction is open") {
		t.Errorf("sessionless submit: %v", err)
	}
}
