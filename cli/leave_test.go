package cli

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// pendingApp is an appliance with an Alteon session that holds pending
// changes: a /c line makes one, apply and revert end it.
type pendingApp struct {
	recorder
	alteon   []string
	pending  bool
	applyErr error
}

func (a *pendingApp) ExecAlteon(line string) (string, string, error) {
	a.alteon = append(a.alteon, line)
	switch {
	case strings.HasPrefix(line, "/c"):
		a.pending = true
	case line == "apply" && a.applyErr != nil:
		return "", ">> Main# ", a.applyErr
	case line == "apply", line == "revert":
		a.pending = false
	}
	return "", ">> Main# ", nil
}

func (a *pendingApp) AlteonPending() (bool, error) { return a.pending, nil }

// Leaving an Alteon session with changes not applied asks first: apply,
// revert or quit anyway; an answer it does not know asks again; the end
// of input (not a terminal) quits with a warning; a failed apply stays in
// the shell.
func TestInteractiveAsksBeforeLeaving(t *testing.T) {
	tests := []struct {
		name     string
		typed    []string
		applyErr error
		asked    int      // times the question is printed
		alteon   []string // lines the appliance's Alteon session got
		pending  bool     // left pending at the end
		warn     string   // in the error output
	}{
		{name: "apply", typed: []string{"/c/slb/real 1", "exit", "a"}, asked: 1, alteon: []string{"/c/slb/real 1", "apply"}},
		{name: "revert", typed: []string{"/c/slb/real 1", "quit", "revert"}, asked: 1, alteon: []string{"/c/slb/real 1", "revert"}},
		{name: "quit anyway", typed: []string{"/c/slb/real 1", "exit", "q"}, asked: 1, alteon: []string{"/c/slb/real 1"}, pending: true},
		{name: "unknown answer asks again", typed: []string{"/c/slb/real 1", "exit", "maybe", "", "r"}, asked: 3, alteon: []string{"/c/slb/real 1", "revert"}},
		{name: "nothing pending", typed: []string{"/info/slb/real", "exit"}, asked: 0, alteon: []string{"/info/slb/real"}},
		{name: "applied before leaving", typed: []string{"/c/slb/real 1", "apply", "exit"}, asked: 0, alteon: []string{"/c/slb/real 1", "apply"}},
		{name: "end of input quits with a warning", typed: []string{"/c/slb/real 1"}, asked: 0, alteon: []string{"/c/slb/real 1"}, pending: true, warn: "unapplied changes dropped"},
		{name: "end of input at the question quits", typed: []string{"/c/slb/real 1", "exit"}, asked: 1, alteon: []string{"/c/slb/real 1"}, pending: true},
		{name: "failed apply stays", typed: []string{"/c/slb/real 1", "exit", "a", "/c/slb/real 1/del", "exit", "q"}, applyErr: errors.New("apply: refused"),
			asked: 2, alteon: []string{"/c/slb/real 1", "apply", "/c/slb/real 1/del"}, pending: true},
		{name: "tmsh only never asks", typed: []string{"list ltm pool", "exit"}, asked: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			app := &pendingApp{applyErr: tc.applyErr}
			var out, errOut bytes.Buffer
			sh := &Shell{App: app, In: io.NopCloser(strings.NewReader(strings.Join(tc.typed, "\n") + "\n")), Out: &out, Err: &errOut}
			done := make(chan error, 1)
			go func() { done <- sh.Interactive("") }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Interactive: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Interactive still running after 10 s")
			}
			if got := strings.Count(out.String(), LeaveQuestion); got != tc.asked {
				t.Errorf("asked %d times, want %d; output:\n%s", got, tc.asked, out.String())
			}
			if d := cmp.Diff(tc.alteon, app.alteon); d != "" {
				t.Errorf("Alteon lines (-want +got):\n%s", d)
			}
			if app.pending != tc.pending {
				t.Errorf("pending at the end %v, want %v", app.pending, tc.pending)
			}
			if !strings.Contains(errOut.String(), tc.warn) {
				t.Errorf("error output %q lacks %q", errOut.String(), tc.warn)
			}
			if tc.applyErr != nil && !strings.Contains(errOut.String(), tc.applyErr.Error()) {
				t.Errorf("the failed apply was not reported: %q", errOut.String())
			}
		})
	}
}
