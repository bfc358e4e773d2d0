package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lbx/cli"
	"lbx/ctrlplane"
	"lbx/ctrlplane/ctlsock"
	"lbx/ctrlplane/ctrltest"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/store"
	"lbx/ctrlplane/tmsh"
)

// tmuxShell runs `lbx cli` in a tmux pane of a tmux server of its own,
// against an in-process appliance loaded with conf.
type tmuxShell struct {
	t      *testing.T
	server string // tmux -L name
	home   string // HOME of the shell: its history and preferences
	bin    string // the lbx built
	sock   string // the appliance's control socket
	st     *store.Store
}

func startTmuxShell(t *testing.T, conf string, cliArgs ...string) *tmuxShell {
	t.Helper()
	ts := newTmuxShell(t, conf)
	ts.launch("(tmos)#", cliArgs...)
	return ts
}

// startTmuxShellPrompt is startTmuxShell for a shell that starts at prompt
// (">> Main#" with --dialect alteon).
func startTmuxShellPrompt(t *testing.T, conf, prompt string, cliArgs ...string) *tmuxShell {
	t.Helper()
	ts := newTmuxShell(t, conf)
	ts.launch(prompt, cliArgs...)
	return ts
}

// newTmuxShell builds lbx and serves the appliance; launch starts a
// shell.
func newTmuxShell(t *testing.T, conf string) *tmuxShell {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux is not installed (.ci/run installs it)")
		}
		t.Skip("tmux is not installed")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "lbx")
	if out, err := exec.Command("go", "build", "-o", bin, "lbx/cmd/lbx").CombinedOutput(); err != nil {
		t.Fatalf("build lbx: %v\n%s", err, out)
	}
	dp := &ctrltest.Dataplane{}
	st := store.New(dp, ctrltest.Net, tmsh.Codec{}, "", nil)
	if err := st.LoadText(conf); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "lbx.sock")
	srv, err := ctlsock.Listen(sock, slog.New(slog.DiscardHandler), ctrlplane.Dialects(st, status.FromDataplane(dp, nil))...)
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	t.Cleanup(func() { srv.Close() })
	ts := &tmuxShell{t: t, server: fmt.Sprintf("lbx-test-%d-%d", os.Getpid(), time.Now().UnixNano()), home: dir, bin: bin, sock: sock, st: st}
	t.Cleanup(func() { exec.Command("tmux", "-L", ts.server, "kill-server").Run() })
	// The server outlives the shell's session, so a restarted shell
	// (launch again) never meets a server still exiting.
	ts.tmux("start-server", ";", "set-option", "-s", "exit-empty", "off")
	return ts
}

// launch starts `lbx cli ARGS` in a new pane (the one before has ended)
// and waits for its prompt, want.
func (ts *tmuxShell) launch(want string, cliArgs ...string) {
	ts.t.Helper()
	cmd := fmt.Sprintf("env HOME=%s %s --socket %s cli %s", ts.home, ts.bin, ts.sock, strings.Join(cliArgs, " "))
	ts.tmux("new-session", "-d", "-x", "160", "-y", "50", "-s", "cli", cmd)
	ts.wait(want)
}

// ended waits (at most 10 s) for the shell to leave: its pane, and with
// it the tmux session, goes.
func (ts *tmuxShell) ended() {
	ts.t.Helper()
	if !poll(func() bool { return exec.Command("tmux", "-L", ts.server, "has-session", "-t", "cli").Run() != nil }) {
		ts.t.Fatalf("the shell is still running after 10 s:\n%s", ts.tmux("capture-pane", "-p", "-t", "cli"))
	}
}

func (ts *tmuxShell) tmux(args ...string) string {
	ts.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", ts.server}, args...)...).CombinedOutput()
	if err != nil {
		ts.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// keys types keys into the pane (tmux key names: Tab, Enter, C-u).
func (ts *tmuxShell) keys(keys ...string) {
	ts.t.Helper()
	ts.tmux(append([]string{"send-keys", "-t", "cli"}, keys...)...)
}

// wait returns the pane once it shows want, polling the screen (tmux has
// no event for it) for at most 10 s.
func (ts *tmuxShell) wait(want string) string {
	ts.t.Helper()
	var pane string
	if !poll(func() bool { pane = ts.tmux("capture-pane", "-p", "-t", "cli"); return strings.Contains(pane, want) }) {
		ts.t.Fatalf("the pane does not show %q after 10 s:\n%s", want, pane)
	}
	return pane
}

// `lbx cli` in a terminal: TAB completes a pool name and a property
// value, `?` after `create ltm` lists the object kinds and keeps the
// line, `sh ltm po` runs as show ltm pool.
func TestCLIInTmux(t *testing.T) {
	ts := startTmuxShell(t, "ltm pool web_pool { }\nltm pool api_pool { }\n")
	ts.keys("list ltm pool w", "Tab")
	ts.wait("list ltm pool web_pool") // capture-pane drops the trailing blank
	ts.keys("Enter")
	ts.wait("ltm pool /Common/web_pool {")
	ts.keys("modify ltm pool web_pool load-balancing-mode least-connections-m", "Tab")
	ts.wait("load-balancing-mode least-connections-member")
	ts.keys("Enter", "list ltm pool web_pool", "Enter")
	ts.wait("\n    load-balancing-mode least-connections-member")
	ts.keys("create ltm ?")
	pane := ts.wait("snatpool")
	// The line is given back after the list, without the `?`.
	if i := strings.LastIndex(pane, "snatpool"); !strings.Contains(pane[i:], "(tmos)# create ltm") {
		t.Errorf("the line is not back after the list:\n%s", pane)
	}
	for _, w := range []string{"virtual", "monitor", "create one of the pools"} {
		if !strings.Contains(pane, w) {
			t.Errorf("create ltm ? lists no %q:\n%s", w, pane)
		}
	}
	ts.keys("C-u", "sh ltm po api_pool", "Enter")
	ts.wait("Ltm::Pool: /Common/api_pool")
	ts.keys("/c/slb/real 1/rip 198.18.2.11", "Enter")
	ts.wait(">> Real Server 1#")
	ts.keys("/c/s/g", "Tab")
	ts.wait("/c/s/group")
}

// lastLine is the pane's last line that is not blank.
func (ts *tmuxShell) lastLine() string {
	ts.t.Helper()
	lines := strings.Split(strings.TrimRight(ts.tmux("capture-pane", "-p", "-t", "cli"), "\n "), "\n")
	return lines[len(lines)-1]
}

// waitLast waits (at most 10 s) for the pane's last line to be want.
func (ts *tmuxShell) waitLast(want string) {
	ts.t.Helper()
	var last string
	if !poll(func() bool { last = ts.lastLine(); return last == want }) {
		ts.t.Fatalf("the pane's last line is %q, not %q, after 10 s:\n%s", last, want, ts.tmux("capture-pane", "-p", "-t", "cli"))
	}
}

// History survives the shell: a command typed, the shell left and
// started again with the same HOME, Up brings the command back.
func TestCLIHistoryAfterRestartInTmux(t *testing.T) {
	ts := startTmuxShell(t, "ltm pool web_pool { }\n")
	ts.keys("list ltm pool web_pool", "Enter")
	ts.wait("ltm pool /Common/web_pool {")
	ts.keys("quit", "Enter")
	ts.ended()
	ts.launch("(tmos)#")
	ts.keys("Up")
	ts.waitLast("root@(lbx)(cfg-sync Standalone)(Active)(/Common)(tmos)# quit")
	ts.keys("Up")
	ts.waitLast("root@(lbx)(cfg-sync Standalone)(Active)(/Common)(tmos)# list ltm pool web_pool")
	ts.keys("Enter")
	ts.wait("ltm pool /Common/web_pool {")
}

// An Alteon session: a real staged, shown by diff, reverted, staged
// again and applied; staged once more, leaving asks first, and applying
// at the question applies it.
func TestCLIAlteonSessionInTmux(t *testing.T) {
	ts := newTmuxShell(t, "")
	ts.launch(">> Main#", "--dialect", "alteon")
	ts.keys("/c/slb/real 1/rip 198.18.2.11", "Enter")
	ts.wait(">> Real Server 1#")
	ts.keys("ena", "Enter", "diff", "Enter")
	ts.wait("rip 198.18.2.11")
	ts.keys("revert", "Enter")
	ts.wait("Pending changes reverted.")
	ts.keys("diff", "Enter")
	ts.wait("No pending changes.")
	if len(ts.st.Running().Nodes) != 0 {
		t.Fatalf("nodes before any apply: %v", ts.st.Running().Nodes)
	}
	ts.keys("/c/slb/real 1/rip 198.18.2.11/ena", "Enter", "apply", "Enter")
	waitFor(t, "real 1 applied", func() bool { return ts.st.Running().Nodes["/Common/1"] != nil })
	ts.keys("/c/slb/real 2/rip 198.18.2.12/ena", "Enter")
	ts.wait(">> Real Server 2#")
	ts.keys("exit", "Enter")
	ts.waitLast(strings.TrimSpace(cli.LeaveQuestion))
	if ts.st.Running().Nodes["/Common/2"] != nil {
		t.Fatal("real 2 applied before the answer")
	}
	ts.keys("a", "Enter")
	ts.ended()
	if n := ts.st.Running().Nodes["/Common/2"]; n == nil || n.Address.String() != "198.18.2.12" {
		t.Errorf("real 2 after answering apply: %+v", n)
	}
}

// waitFor polls cond (the store has no event for a test) for at most
// 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !poll(cond) {
		t.Fatalf("no %s after 10 s", what)
	}
}

// poll calls cond every 50 ms until it holds, for at most 10 s, and
// reports whether it did: the pane and the store have no event to wait
// on.
func poll(cond func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// A list longer than the terminal is paged with tmsh's bottom line; space
// shows the next page, q gives the prompt back; with the pager disabled
// (kept in ~/.lbx_prefs) the same list is not paged. default-dialect
// alteon starts the next shell in Alteon, --dialect tmsh overrides it.
func TestCLIPagerAndPreferencesInTmux(t *testing.T) {
	var conf strings.Builder
	for i := range 120 {
		fmt.Fprintf(&conf, "ltm pool p%03d { }\n", i)
	}
	ts := startTmuxShell(t, conf.String())
	prompt := "root@(lbx)(cfg-sync Standalone)(Active)(/Common)(tmos)#"
	ts.keys("list ltm pool one-line", "Enter")
	ts.waitLast("---(less 40%)---") // 49 of 120 lines (the pane is 50 high)
	if pane := ts.tmux("capture-pane", "-p", "-t", "cli"); strings.Contains(pane, "p049 {") {
		t.Errorf("the first page goes past its 49 lines:\n%s", pane)
	}
	ts.keys("Space")
	ts.waitLast("---(less 81%)---")
	ts.wait("ltm pool /Common/p097 {")
	ts.keys("q")
	ts.waitLast(prompt)
	if pane := ts.tmux("capture-pane", "-p", "-t", "cli"); strings.Contains(pane, "p098 {") || strings.Contains(pane, "---(less") {
		t.Errorf("q did not drop the rest:\n%s", pane)
	}

	ts.keys("modify cli preference pager disabled", "Enter", "list cli preference", "Enter")
	ts.wait("    pager disabled")
	ts.keys("list ltm pool one-line", "Enter")
	ts.wait("ltm pool /Common/p119 {")
	ts.waitLast(prompt)
	if pane := ts.tmux("capture-pane", "-p", "-t", "cli"); strings.Contains(pane, "---(less") {
		t.Errorf("paged with the pager disabled:\n%s", pane)
	}
	prefs := filepath.Join(ts.home, ".lbx_prefs")
	if st, err := os.Stat(prefs); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, %v; want mode 0600", prefs, st, err)
	}

	ts.keys("mod cli pref default-dialect alteon", "Enter", "quit", "Enter")
	ts.ended()
	ts.launch(">> Main#")
	ts.keys("list cli preference", "Enter")
	ts.wait("    default-dialect alteon")
	ts.keys("exit", "Enter")
	ts.ended()
	ts.launch(prompt, "--dialect", "tmsh")
	ts.keys("list ltm pool one-line", "Enter")
	ts.wait("ltm pool /Common/p119 {") // still not paged in a new shell
	ts.waitLast(prompt)
}
