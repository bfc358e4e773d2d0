package cli

import (
	"bytes"
	"io"
	"log/slog"
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

	"github.com/google/go-cmp/cmp"
)

// appliance serves an in-process appliance's control socket (a store on
// a fake dataplane, both dialects) and returns a client of one session.
func appliance(t *testing.T, conf string) *ctlsock.Client {
	t.Helper()
	dp := &ctrltest.Dataplane{}
	st := store.New(dp, ctrltest.Net, tmsh.Codec{}, "", nil)
	if err := st.LoadText(conf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "lbx.sock")
	srv, err := ctlsock.Listen(path, slog.New(slog.DiscardHandler), ctrlplane.Dialects(st, status.FromDataplane(dp, nil))...)
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	t.Cleanup(func() { srv.Close() })
	return &ctlsock.Client{Path: path, Session: "cli-test", Timeout: 10 * time.Second}
}

const shellConf = `
ltm node /Common/1 { address 198.18.2.11 }
ltm node /Common/2 { address 198.18.2.12 }
ltm pool web { members { 1:80 } }
ltm pool www2 { }
ltm pool api { }
`

func rest(cands [][]rune) []string {
	var out []string
	for _, c := range cands {
		out = append(out, string(c))
	}
	return out
}

// TAB asks the appliance: pool names, property values, abbreviations;
// and in the Alteon dialect, IDs in the session's open menu.
func TestShellCompletes(t *testing.T) {
	sh := &Shell{App: appliance(t, shellConf), Out: io.Discard, Err: io.Discard}
	for _, tt := range []struct {
		line string
		want []string
		n    int
	}{
		{"list ltm pool w", []string{"eb ", "ww2 "}, 1},
		{"modify ltm pool web load-balancing-mode round", []string{"-robin "}, 5},
		{"sh ltm po", []string{"ol "}, 2},
		{"/c/slb/real ", []string{"1", "2"}, 0},
		{"/c/s/", []string{"real", "group", "virt", "advhc", "layer7", "on", "off", "cur", "apply", "diff", "revert", "save", "help", "..", "up"}, 0},
	} {
		got, n := sh.Do([]rune(tt.line), len([]rune(tt.line)))
		if d := cmp.Diff(tt.want, rest(got)); d != "" || n != tt.n {
			t.Errorf("Do(%q): length %d, want %d; (-want +got):\n%s", tt.line, n, tt.n, d)
		}
	}
	// In the Alteon dialect, in the open menu of the session.
	sh.Line("/c/slb/group web")
	got, _ := sh.Do([]rune("add "), 4)
	if d := cmp.Diff([]string{"1", "2"}, rest(got)); d != "" {
		t.Errorf("add in group web (-want +got):\n%s", d)
	}
}

// `?` lists the candidates with their help, in either dialect, and runs
// nothing; `help` prints a command's syntax from the appliance's table.
func TestShellQuestionAndHelp(t *testing.T) {
	var out bytes.Buffer
	sh := &Shell{App: appliance(t, shellConf), Out: &out, Err: &out}
	sh.Line("create ltm ?")
	for _, w := range []string{"node ", "pool ", "virtual ", "monitor ", "create one of the pools"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("create ltm ?: no %q in\n%s", w, out.String())
		}
	}
	out.Reset()
	sh.Line("help create ltm pool")
	if !strings.Contains(out.String(), "create ltm pool NAME [PROPERTY …]") {
		t.Errorf("help create ltm pool:\n%s", out.String())
	}
	out.Reset()
	sh.Line("help")
	if !strings.Contains(out.String(), "list ") || !strings.Contains(out.String(), "print configuration") {
		t.Errorf("help:\n%s", out.String())
	}
	out.Reset()
	sh.Line("/c/slb/?")
	if !strings.Contains(out.String(), "real ") || !strings.Contains(out.String(), "<real server ID>: real server menu") {
		t.Errorf("/c/slb/?:\n%s", out.String())
	}
	if sh.Prompt() != Prompt {
		t.Errorf("`?` ran the line: prompt %q", sh.Prompt())
	}
}

// The listener takes a `?` out of the line, wherever the cursor is, and
// lists what may come there.
func TestQuestionListener(t *testing.T) {
	var out bytes.Buffer
	sh := &Shell{App: appliance(t, shellConf), Out: &out, Err: &out}
	l := sh.questionListener(func() io.Writer { return &out })
	line := []rune("list ltm pool w? all-properties")
	nl, pos, ok := l(line, len("list ltm pool w?"), '?')
	if !ok || string(nl) != "list ltm pool w all-properties" || pos != len("list ltm pool w") {
		t.Errorf("line %q pos %d ok %v", string(nl), pos, ok)
	}
	if !strings.Contains(out.String(), "web") || !strings.Contains(out.String(), "www2") || strings.Contains(out.String(), "api") {
		t.Errorf("listed:\n%s", out.String())
	}
	if _, _, ok := l([]rune(`modify ltm pool web description "why?`), 36, '?'); ok {
		t.Error("a ? inside quotes was taken")
	}
	if _, _, ok := l([]rune("list"), 4, 't'); ok {
		t.Error("another key was taken")
	}
}

// recording is the test appliance, recording the tmsh lines it is sent.
type recording struct {
	*ctlsock.Client
	execs []string
}

func (r *recording) Exec(line string) (string, error) {
	r.execs = append(r.execs, line)
	return r.Client.Exec(line)
}

// ExecState is the path the shell runs tmsh lines on (learning the
// prompt's state); the empty line it asks the state with is not a command.
func (r *recording) ExecState(line string) (string, string, error) {
	if line != "" {
		r.execs = append(r.execs, line)
	}
	return r.Client.ExecState(line)
}

// Typed into the interactive shell (not a terminal: readline's own line
// editing, no pty): TAB completes `po` to pool; after `w` two TABs list
// web and www2; `?` lists them too and keeps the line; `e` TAB completes
// web; the appliance runs the abbreviated `sh`.
func TestInteractiveCompletion(t *testing.T) {
	app := &recording{Client: appliance(t, shellConf)}
	var out bytes.Buffer
	typed := "sh ltm po\tw\t\t?e\t\nquit\n"
	sh := &Shell{App: app, In: io.NopCloser(strings.NewReader(typed)), Out: &out, Err: &out}
	done := make(chan error, 1)
	go func() { done <- sh.Interactive("") }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Interactive still running after 10 s")
	}
	if d := cmp.Diff([]string{"sh ltm pool web"}, app.execs); d != "" {
		t.Errorf("run (-want +got):\n%s\noutput:\n%s", d, out.String())
	}
	if !strings.Contains(out.String(), "www2") {
		t.Errorf("`?` listed no www2:\n%s", out.String())
	}
}
