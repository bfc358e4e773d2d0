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
}

func startTmuxShell(t *testing.T, conf string, cliArgs ...string) *tmuxShell {
	t.Helper()
	return startTmuxShellPrompt(t, conf, "(tmos)#", cliArgs...)
}

// startTmuxShellPrompt is startTmuxShell for a shell that starts at prompt
// (">> Main#" with --dialect alteon).
func startTmuxShellPrompt(t *testing.T, conf, prompt string, cliArgs ...string) *tmuxShell {
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
	ts := &tmuxShell{t: t, server: fmt.Sprintf("lbx-test-%d-%d", os.Getpid(), time.Now().UnixNano())}
	cmd := fmt.Sprintf("env HOME=%s %s --socket %s cli %s", dir, bin, sock, strings.Join(cliArgs, " "))
	ts.tmux("new-session", "-d", "-x", "160", "-y", "50", "-s", "cli", cmd)
	t.Cleanup(func() { exec.Command("tmux", "-L", ts.server, "kill-server").Run() })
	ts.wait(prompt)
	return ts
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
	deadline := time.Now().Add(10 * time.Second)
	for {
		pane := ts.tmux("capture-pane", "-p", "-t", "cli")
		if strings.Contains(pane, want) {
			return pane
		}
		if time.Now().After(deadline) {
			ts.t.Fatalf("the pane does not show %q after 10 s:\n%s", want, pane)
		}
		time.Sleep(50 * time.Millisecond)
	}
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
