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
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/tmsh"
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

// openSSHInTmux is an OpenSSH client's command line for user against
// r, in a tmux server of the test's own; it needs ssh and tmux (CI
// installs both).
func openSSHInTmux(t *testing.T, r *rig) (m *tmuxTerm, sshCmd func(user string) string) {
	t.Helper()
	for _, bin := range []string{"ssh", "tmux"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not installed (.ci/run installs openssh-client and tmux)", bin)
			}
			t.Skipf("%s not installed (.ci/run installs openssh-client and tmux)", bin)
		}
	}
	dir := t.TempDir()
	addr := r.srv.Addr().String()
	host, port := "127.0.0.1", addr[strings.LastIndex(addr, ":")+1:]
	known := filepath.Join(dir, "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(addr)}, r.pub)
	if err := os.WriteFile(known, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m = &tmuxTerm{t: t, socket: filepath.Join(dir, "tmux.sock")}
	t.Cleanup(func() { exec.Command("tmux", "-S", m.socket, "kill-server").Run() })
	return m, func(user string) string {
		return fmt.Sprintf("ssh -F /dev/null -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o PubkeyAuthentication=no -o PreferredAuthentications=password -o NumberOfPasswordPrompts=2 -p %s %s@%s; echo ssh-exited-$?; sleep 60", known, port, user, host)
	}
}

// lastLine is the pane's last line that is not blank.
func (m *tmuxTerm) lastLine() string {
	m.t.Helper()
	lines := strings.Split(strings.TrimRight(m.tmux("capture-pane", "-p", "-t", m.target), "\n "), "\n")
	return lines[len(lines)-1]
}

// waitLast polls the pane until its last line is want, for at most 15 s.
func (m *tmuxTerm) waitLast(want string) {
	m.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		last := m.lastLine()
		if last == want {
			return
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("the pane's last line is %q, not %q, after 15 s:\n%s", last, want, m.tmux("capture-pane", "-p", "-t", m.target))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Over SSH with the real OpenSSH client, each user's history outlives
// the session: in a second session Up recalls the first's commands, but
// not another user's, nor a line with a password; the files are the
// user's, mode 0600. Long output is paged to the pty's height, and the
// user's pager preference outlives the session too.
func TestOpenSSHHistoryPerUserInTmux(t *testing.T) {
	r := newRig(t, nil)
	root := tmsh.New(r.st, status.Sources{})
	var pools strings.Builder
	for i := range 60 {
		fmt.Fprintf(&pools, "create ltm pool p%02d\n", i)
	}
	if _, err := root.Exec(pools.String()); err != nil {
		t.Fatal(err)
	}
	m, sshCmd := openSSHInTmux(t, r)
	login := func(session, user, pw, prompt string) {
		t.Helper()
		m.tmux("new-session", "-d", "-s", session, "-x", "200", "-y", "40", sshCmd(user))
		m.target = session
		m.waitFor("password:", 1)
		m.send(pw)
		m.waitLast(prompt)
	}
	olgaPrompt := "olga@(lbx)(cfg-sync Standalone)(Active)(/Common)(tmos)#"
	login("first", "olga", "op-pw", olgaPrompt)
	m.send("show ltm pool web")
	m.waitFor("Ltm::Pool: /Common/web", 1)
	m.send("modify auth user olga password Sekrit1")
	m.waitFor("may not modify auth user", 1)
	m.send("list ltm pool one-line")
	m.waitLast("---(less 63%)---") // 39 rows of 61 lines
	m.tmux("send-keys", "-t", m.target, "q")
	m.waitLast(olgaPrompt)
	m.send("modify cli preference pager disabled")
	m.send("quit")
	m.waitFor("ssh-exited-0", 1)

	login("second", "olga", "op-pw", olgaPrompt)
	m.tmux("send-keys", "-t", m.target, "Up")
	m.waitLast(olgaPrompt + " quit")
	m.tmux("send-keys", "-t", m.target, "Up", "Up", "Up")
	m.waitLast(olgaPrompt + " show ltm pool web") // the password line was never kept
	m.tmux("send-keys", "-t", m.target, "C-u")
	m.send("list ltm pool one-line")
	m.waitFor("ltm pool /Common/web {", 1)
	m.waitLast(olgaPrompt) // not paged: the preference was kept
	m.send("quit")
	m.waitFor("ssh-exited-0", 1)

	bobPrompt := "bob@(lbx)(cfg-sync Standalone)(Active)(/Common)(tmos)#"
	login("other", "bob", "guest-pw", bobPrompt)
	// Up recalls nothing of olga's: the text typed after it is alone on
	// the line.
	m.tmux("send-keys", "-t", m.target, "Up")
	m.tmux("send-keys", "-t", m.target, "-l", "zz")
	m.waitLast(bobPrompt + " zz")
	m.tmux("send-keys", "-t", m.target, "C-u")
	m.send("quit")
	m.waitFor("ssh-exited-0", 1)

	hist := filepath.Join(r.users, "olga", "history")
	b, err := os.ReadFile(hist)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "Sekrit1") || !strings.Contains(string(b), "show ltm pool web\n") {
		t.Errorf("olga's history:\n%s", b)
	}
	for path, mode := range map[string]os.FileMode{
		filepath.Join(r.users, "olga"): 0o700, hist: 0o600, filepath.Join(r.users, "olga", "prefs"): 0o600,
	} {
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s: %v, %v; want mode %v", path, st, err, mode)
		}
	}
}

// The real OpenSSH client, in tmux: a password login, a wrong password
// refused, a guest refused a modify with the role that may, an operator
// allowed to disable a member and refused to create a pool.
func TestOpenSSHClientInTmux(t *testing.T) {
	r := newRig(t, nil)
	m, sshCmd := openSSHInTmux(t, r)
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
