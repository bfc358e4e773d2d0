package sshd

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh/knownhosts"

	"lbx/ctrlplane/config"
)

// tmuxTerm is an OpenSSH client running in a tmux pane of a tmux server
// of the test's own.
type tmuxTerm struct {
	t      *testing.T
	socket string // tmux -S
	target string
}

func (m *tmuxTerm) tmux(args ...string) string {
	m.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", m.socket}, args...)...).CombinedOutput()
	if err != nil {
		m.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// send types text and Enter.
func (m *tmuxTerm) send(text string) {
	m.t.Helper()
	m.tmux("send-keys", "-t", m.target, "-l", text)
	m.tmux("send-keys", "-t", m.target, "Enter")
}

// waitFor polls the pane (tmux has no event for new output) until it
// shows text n times, for at most 15 s.
func (m *tmuxTerm) waitFor(text string, n int) {
	m.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		screen := m.tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", m.target)
		if strings.Count(screen, text) >= n {
			return
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("waited 15s for %q (x%d); the pane shows:\n%s", text, n, screen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The real OpenSSH client, in tmux: a password login, a wrong password
// refused, a guest refused a modify with the role that may, an operator
// allowed to disable a member and refused to create a pool.
func TestOpenSSHClientInTmux(t *testing.T) {
	for _, bin := range []string{"ssh", "tmux"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed (.ci/run installs openssh-client and tmux)", bin)
		}
	}
	r := newRig(t, nil)
	dir := t.TempDir()
	addr := r.srv.Addr().String()
	host, port := "127.0.0.1", addr[strings.LastIndex(addr, ":")+1:]
	known := filepath.Join(dir, "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(addr)}, r.pub)
	if err := os.WriteFile(known, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := &tmuxTerm{t: t, socket: filepath.Join(dir, "tmux.sock")}
	t.Cleanup(func() { exec.Command("tmux", "-S", m.socket, "kill-server").Run() })
	sshCmd := func(user string) string {
		return fmt.Sprintf("ssh -F /dev/null -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o PubkeyAuthentication=no -o PreferredAuthentications=password -o NumberOfPasswordPrompts=2 -p %s %s@%s; echo ssh-exited-$?; sleep 60", known, port, user, host)
	}
	m.tmux("new-session", "-d", "-s", "guest", "-x", "200", "-y", "50", sshCmd("bob"))
	m.target = "guest"
	m.waitFor("password:", 1)
	m.send("wrong")
	m.waitFor("Permission denied", 1)
	m.waitFor("password:", 2)
	m.send("guest-pw")
	m.waitFor("bob@(lbx)(cfg-sync Standalone)(Active)(/Common)(tmos)# ", 1)
	m.send("modify ltm pool web members modify { 198.18.2.11:80 { session user-disabled } }")
	m.waitFor("01070822:1: Access Denied: User (bob) may not modify ltm pool /Common/web (role guest; operator or admin may)", 1)
	m.send("quit")
	m.waitFor("ssh-exited-0", 1)

	m.tmux("new-session", "-d", "-s", "operator", "-x", "200", "-y", "50", sshCmd("olga"))
	m.target = "operator"
	m.waitFor("password:", 1)
	m.send("op-pw")
	m.waitFor("(tmos)# ", 1)
	m.send("modify ltm pool web members modify { 198.18.2.11:80 { session user-disabled } }")
	m.send("create ltm pool q")
	m.waitFor("may not create ltm pool /Common/q (role operator; admin may)", 1)
	if got := r.st.Running().Pools["/Common/web"].Members[0].Session; got != config.SessionUserDisabled {
		t.Errorf("member session %v after the operator's disable", got)
	}
	m.send("quit")
	m.waitFor("ssh-exited-0", 1)
}
