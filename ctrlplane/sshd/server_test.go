package sshd

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"

	"lbx/ctrlplane"
	"lbx/ctrlplane/config"
	"lbx/ctrlplane/ctrltest"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/store"
	"lbx/ctrlplane/tmsh"
	"lbx/internal/clock"
	"lbx/internal/loginlimit"
)

type rig struct {
	keys  string // KeysDir
	users string // UsersDir
	st    *store.Store
	srv   *Server
	pub   ssh.PublicKey
	logs  *ctrltest.LogBuffer
}

func newRig(t *testing.T, clk clock.Clock) *rig {
	t.Helper()
	dp := &ctrltest.Dataplane{}
	st := store.New(dp, ctrltest.Net, tmsh.Codec{}, "", nil)
	dialects := ctrlplane.Dialects(st, status.FromDataplane(dp, nil))
	root := tmsh.New(st, status.FromDataplane(dp, nil))
	// Hashes of the least cost keep the tests quick (under -race too).
	hash := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	for _, cmd := range []string{
		`create auth user bob role guest encrypted-password "` + hash("guest-pw") + `"`,
		`create auth user olga role operator encrypted-password "` + hash("op-pw") + `"`,
		"create ltm pool web members add { 198.18.2.11:80 }",
	} {
		if _, err := root.Exec(cmd); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
	}
	key, err := LoadOrCreateHostKey(filepath.Join(t.TempDir(), HostKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	logs := &ctrltest.LogBuffer{}
	keys, users := t.TempDir(), t.TempDir()
	srv, err := Listen(Config{
		KeysDir:  keys,
		UsersDir: users,
		Listen:   "127.0.0.1:0",
		HostKey:  key,
		Users:    func(n string) *config.User { return st.Running().Users[n] },
		Dialects: dialects,
		Logger:   slog.New(slog.NewTextHandler(logs, nil)),
		Clock:    clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	return &rig{keys: keys, users: users, st: st, srv: srv, pub: key.PublicKey(), logs: logs}
}

func (r *rig) dial(user, password string) (*ssh.Client, error) {
	return ssh.Dial("tcp", r.srv.Addr().String(), &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.Password(password)},
		HostKeyCallback: ssh.FixedHostKey(r.pub),
		Timeout:         10 * time.Second,
	})
}

func (r *rig) mustDial(t *testing.T, user, password string) *ssh.Client {
	t.Helper()
	c, err := r.dial(user, password)
	if err != nil {
		t.Fatalf("login as %s: %v", user, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// run runs one command over SSH (`ssh HOST CMD`).
func run(t *testing.T, c *ssh.Client, cmd string) (string, error) {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	return string(out), err
}

func TestSSHLoginAndRoles(t *testing.T) {
	r := newRig(t, nil)
	if _, err := r.dial("bob", "wrong"); err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
	if _, err := r.dial("zed", "guest-pw"); err == nil {
		t.Fatal("login as an unknown user succeeded")
	}
	if !strings.Contains(r.logs.String(), "ssh login failed") || !strings.Contains(r.logs.String(), "user=zed") {
		t.Errorf("failed logins not logged:\n%s", r.logs)
	}
	bob := r.mustDial(t, "bob", "guest-pw")
	if out, err := run(t, bob, "list ltm pool web"); err != nil || !strings.Contains(out, "ltm pool /Common/web") {
		t.Errorf("guest list: %v\n%s", err, out)
	}
	out, err := run(t, bob, "modify ltm pool web members modify { 198.18.2.11:80 { session user-disabled } }")
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 1 {
		t.Errorf("guest modify: %v, want exit status 1", err)
	}
	if want := "01070822:1: Access Denied: User (bob) may not modify ltm pool /Common/web (role guest; operator or admin may)"; !strings.Contains(out, want) {
		t.Errorf("guest modify said %q, want %q", out, want)
	}
	olga := r.mustDial(t, "olga", "op-pw")
	if out, err := run(t, olga, "modify ltm pool web members modify { 198.18.2.11:80 { session user-disabled } }"); err != nil {
		t.Fatalf("operator disables a member: %v\n%s", err, out)
	}
	if got := r.st.Running().Pools["/Common/web"].Members[0].Session; got != config.SessionUserDisabled {
		t.Errorf("member session %v after the operator's disable", got)
	}
	if out, err := run(t, olga, "create ltm pool q"); err == nil || !strings.Contains(out, "may not create ltm pool /Common/q (role operator; admin may)") {
		t.Errorf("operator create: %v\n%s", err, out)
	}
	if out, err := run(t, olga, "/c/slb/real 9/rip 198.18.2.19"); err == nil || !strings.Contains(out, "(role operator; admin may)") {
		t.Errorf("operator Alteon real: %v\n%s", err, out)
	}
}

// terminalOut collects what the server writes to a session, and waits for
// text to appear.
type terminalOut struct {
	mu   sync.Mutex
	b    strings.Builder
	more chan struct{}
}

func (o *terminalOut) Write(p []byte) (int, error) {
	o.mu.Lock()
	o.b.Write(p)
	o.mu.Unlock()
	select {
	case o.more <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (o *terminalOut) waitFor(t *testing.T, text string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		o.mu.Lock()
		got := o.b.String()
		o.mu.Unlock()
		if strings.Contains(got, text) {
			return
		}
		select {
		case <-o.more:
		case <-deadline:
			t.Fatalf("waited 10s for %q; the terminal shows:\n%s", text, got)
		}
	}
}

// The interactive shell over a pty: the prompt, a command's output with
// CR LF line ends, a refusal, and quit ending the session.
func TestSSHInteractiveShell(t *testing.T) {
	r := newRig(t, nil)
	c := r.mustDial(t, "bob", "guest-pw")
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.RequestPty("xterm", 40, 120, ssh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	in, err := s.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &terminalOut{more: make(chan struct{}, 1)}
	s.Stdout, s.Stderr = out, out
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, "bob@(lbx)(cfg-sync Standalone)(Active)(/Common)(tmos)# ")
	io.WriteString(in, "list ltm pool web\r")
	out.waitFor(t, "ltm pool /Common/web {\r\n")
	io.WriteString(in, "modify ltm pool web description x\r")
	out.waitFor(t, "Access Denied: User (bob) may not modify ltm pool /Common/web (role guest; operator or admin may)")
	io.WriteString(in, "quit\r")
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("session ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("quit did not end the session within 10s")
	}
}

// Failed logins block the address after three, with a doubling pause; a
// right password is refused while blocked, and accepted after.
func TestSSHLoginRateLimit(t *testing.T) {
	clk := clock.NewManual(time.Unix(1e9, 0))
	r := newRig(t, clk)
	for range loginlimit.FreeFailures + 1 {
		if _, err := r.dial("olga", "wrong"); err == nil {
			t.Fatal("wrong password accepted")
		}
	}
	if _, err := r.dial("olga", "op-pw"); err == nil {
		t.Fatal("login accepted while the address is blocked")
	}
	if !strings.Contains(r.logs.String(), "too many failed logins") {
		t.Errorf("blocked login not logged:\n%s", r.logs)
	}
	clk.Advance(loginlimit.FirstBlock)
	c := r.mustDial(t, "olga", "op-pw")
	c.Close()
	if d := r.srv.lim.Blocked("127.0.0.1"); d != 0 {
		t.Errorf("still blocked %v after a good login", d)
	}
}

// The host key is generated once, mode 0600, and read back the same.
func TestHostKeyKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lib", HostKeyFile)
	k1, err := LoadOrCreateHostKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("host key file: %v, mode %v", err, fi.Mode())
	}
	k2, err := LoadOrCreateHostKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1.PublicKey().Marshal(), k2.PublicKey().Marshal()) || k1.PublicKey().Type() != ssh.KeyAlgoED25519 {
		t.Fatal("host key changed across a restart, or is not ed25519")
	}
}

// A key listed in KeysDir/USER logs the user in; other keys do not, and
// refused keys do not count as failed logins.
func TestSSHPublicKeyLogin(t *testing.T) {
	r := newRig(t, nil)
	newKey := func() ssh.Signer {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ssh.NewSignerFromKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	olgaKey, other := newKey(), newKey()
	line := "# olga's laptop\n" + string(ssh.MarshalAuthorizedKey(other.PublicKey())) + string(ssh.MarshalAuthorizedKey(olgaKey.PublicKey()))
	if err := os.WriteFile(filepath.Join(r.keys, "olga"), []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	dial := func(user string, key ssh.Signer) (*ssh.Client, error) {
		return ssh.Dial("tcp", r.srv.Addr().String(), &ssh.ClientConfig{
			User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(key)},
			HostKeyCallback: ssh.FixedHostKey(r.pub), Timeout: 10 * time.Second,
		})
	}
	for range loginlimit.FreeFailures + 2 {
		if _, err := dial("olga", newKey()); err == nil {
			t.Fatal("a key not listed logged in")
		}
	}
	if _, err := dial("bob", olgaKey); err == nil {
		t.Fatal("olga's key logged in as bob")
	}
	c, err := dial("olga", olgaKey)
	if err != nil {
		t.Fatalf("olga's listed key: %v", err)
	}
	defer c.Close()
	if out, err := run(t, c, "create ltm pool q"); err == nil || !strings.Contains(out, "(role operator; admin may)") {
		t.Errorf("operator by key: %v\n%s", err, out)
	}
	if d := r.srv.lim.Blocked("127.0.0.1"); d != 0 {
		t.Errorf("refused keys blocked the address for %v", d)
	}
}

// Connections beyond the cap are closed at once; those within it get the
// server's banner.
func TestSSHConnectionCap(t *testing.T) {
	r := newRig(t, nil)
	r.srv.mu.Lock()
	r.srv.maxConns = 2
	r.srv.mu.Unlock()
	banner := func(c net.Conn) (string, error) {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		b := make([]byte, 64)
		n, err := c.Read(b)
		return string(b[:n]), err
	}
	for range 2 {
		c, err := net.Dial("tcp", r.srv.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if got, err := banner(c); err != nil || !strings.HasPrefix(got, "SSH-2.0-lbx") {
			t.Fatalf("banner %q, %v", got, err)
		}
	}
	c, err := net.Dial("tcp", r.srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := banner(c); !errors.Is(err, io.EOF) {
		t.Fatalf("third connection: %q, %v; want it closed", got, err)
	}
	if !strings.Contains(r.logs.String(), "too many open") {
		t.Errorf("refusal not logged:\n%s", r.logs)
	}
}
