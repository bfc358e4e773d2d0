package ctlsock

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// userEcho runs requests for a user: its sessions say whose they are.
type userEcho struct{ echo }

func (d userEcho) NewSessionAs(user string) (Session, error) {
	if user == "nobody" {
		return nil, errors.New("no such user")
	}
	return &userSession{echoSession{d: d.echo}, user}, nil
}

func (d userEcho) PushAs(user, t string) (string, error) { return user + " push:" + t, nil }

type userSession struct {
	echoSession
	user string
}

func (s *userSession) Exec(line string) (string, error) {
	out, err := s.echoSession.Exec(line)
	return s.user + ": " + out, err
}

func TestPeerAllowed(t *testing.T) {
	for _, tc := range []struct {
		uid  uint32
		self int
		want bool
	}{
		{0, 0, true},       // root
		{0, 1000, true},    // root, appliance unprivileged
		{1000, 1000, true}, // the appliance's own uid
		{1000, 0, false},   // another local user
		{65534, 1000, false},
	} {
		if got := peerAllowed(tc.uid, tc.self); got != tc.want {
			t.Errorf("peerAllowed(%d, %d) = %v, want %v", tc.uid, tc.self, got, tc.want)
		}
	}
}

// The server reads the peer's uid with SO_PEERCRED: this test's own.
func TestPeerUIDIsTheClients(t *testing.T) {
	_, path := startServer(t, nil, echoExec)
	c := dialRaw(t, path)
	// The client side's peer is the server: the same process.
	uid, err := peerUID(c)
	if err != nil {
		t.Fatal(err)
	}
	if int(uid) != os.Geteuid() {
		t.Fatalf("peer uid %d, want %d", uid, os.Geteuid())
	}
}

// A request naming a user runs in that user's session (kept apart from
// root's of the same name) and push; a dialect without users refuses it.
func TestControlSocketUser(t *testing.T) {
	_, path := startServer(t, nil, userEcho{echo{name: "tmsh"}}, echo{name: "alteon", prefix: "/"})
	bob := &Client{Path: path, Session: "s1", User: "bob"}
	root := &Client{Path: path, Session: "s1"}
	if out, err := bob.Exec("list"); err != nil || out != "bob: tmsh exec 1:list" {
		t.Errorf("bob Exec = %q, %v", out, err)
	}
	if out, err := root.Exec("list"); err != nil || out != "tmsh exec 1:list" {
		t.Errorf("root Exec = %q, %v (want a session apart from bob's)", out, err)
	}
	if out, err := bob.Exec("list"); err != nil || out != "bob: tmsh exec 2:list" {
		t.Errorf("bob Exec = %q, %v", out, err)
	}
	if out, err := bob.Push("x"); err != nil || out != "bob push:x" {
		t.Errorf("bob Push = %q, %v", out, err)
	}
	if _, err := (&Client{Path: path, User: "nobody"}).Exec("list"); err == nil || err.Error() != "no such user" {
		t.Errorf("unknown user: %v", err)
	}
	if _, _, err := bob.ExecAlteon("/info"); err == nil || !strings.Contains(err.Error(), "dialect alteon does not run requests for a user") {
		t.Errorf("alteon for a user: %v", err)
	}
}

// A local user other than root is refused: the test binary, run again as
// uid 65534, connects to a socket it may open and is answered with the
// refusal.
func TestControlSocketRefusesOtherUsers(t *testing.T) {
	if path := os.Getenv("LBX_CTLSOCK_PEER_TEST"); path != "" {
		_, err := (&Client{Path: path}).Exec("list")
		fmt.Println("answer:", err)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a process as another uid")
	}
	dir, err := os.MkdirTemp("", "lbx-peer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "lbx.sock")
	srv, err := Listen(path, slog.New(slog.DiscardHandler), echoExec)
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	t.Cleanup(func() { srv.Close() })
	if err := os.Chmod(path, 0o666); err != nil { // let the other uid connect
		t.Fatal(err)
	}
	// The test binary may sit in a directory only root can read: copy it.
	bin := filepath.Join(dir, "peer.test")
	if err := copyFile(os.Args[0], bin); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestControlSocketRefusesOtherUsers$")
	cmd.Env = append(os.Environ(), "LBX_CTLSOCK_PEER_TEST="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if want := "answer: control socket: uid 65534 may not use the control socket (root only; log in over SSH as an auth user)"; !strings.Contains(string(out), want) {
		t.Fatalf("other uid's answer:\n%s\nwant %q", out, want)
	}
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
