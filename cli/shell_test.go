package cli

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// recorder is an Appliance that records what the shell sends.
type recorder struct {
	execs, pushes []string
	fail          error
}

func (r *recorder) Exec(line string) (string, error) {
	r.execs = append(r.execs, line)
	return "out:" + line, r.fail
}

func (r *recorder) Push(text string) (string, error) {
	r.pushes = append(r.pushes, text)
	return "pushed", r.fail
}

func TestShellOneAndPush(t *testing.T) {
	rec := &recorder{}
	var out bytes.Buffer
	sh := &Shell{App: rec, Out: &out, Err: &out}
	if err := sh.One("list ltm pool"); err != nil {
		t.Fatal(err)
	}
	if err := sh.Push("create ltm node n address 198.18.2.20\n"); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"list ltm pool"}, rec.execs); d != "" {
		t.Errorf("execs (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"create ltm node n address 198.18.2.20\n"}, rec.pushes); d != "" {
		t.Errorf("pushes (-want +got):\n%s", d)
	}
	if got, want := out.String(), "out:list ltm pool\npushed\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
	rec.fail = errors.New("01020036:3: The requested Pool (/Common/x) was not found.")
	if err := sh.One("delete ltm pool x"); err == nil || err.Error() != rec.fail.Error() {
		t.Errorf("error = %v, want the appliance's error", err)
	}
}

// altRecorder also takes Alteon lines, answering with a menu prompt.
type altRecorder struct {
	recorder
	alteon []string
}

func (r *altRecorder) ExecAlteon(line string) (string, string, error) {
	r.alteon = append(r.alteon, line)
	return "alt:" + line, ">> Real Server 1# ", r.fail
}

// A "/" line switches the shell to the Alteon dialect, whose lines (bare
// ones too) go to the appliance's Alteon session until `tmsh`.
func TestShellSwitchesDialect(t *testing.T) {
	rec := &altRecorder{}
	var out bytes.Buffer
	sh := &Shell{App: rec, Out: &out, Err: &out}
	for _, l := range []string{"list ltm pool", "/c/slb/real 1", "rip 198.18.2.11", "?", "tmsh", "show ltm pool"} {
		if sh.Line(l) {
			t.Fatalf("%q ended the session", l)
		}
		if l == "rip 198.18.2.11" && sh.Prompt() != ">> Real Server 1# " {
			t.Errorf("prompt in the Alteon dialect: %q", sh.Prompt())
		}
	}
	if d := cmp.Diff([]string{"list ltm pool", "show ltm pool"}, rec.execs); d != "" {
		t.Errorf("tmsh lines (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"/c/slb/real 1", "rip 198.18.2.11", "help"}, rec.alteon); d != "" {
		t.Errorf("Alteon lines (-want +got):\n%s", d)
	}
	if sh.Prompt() != Prompt {
		t.Errorf("prompt after tmsh: %q", sh.Prompt())
	}
	if !sh.Line("exit") {
		t.Error("exit did not end the session")
	}
	// A shell started in the Alteon dialect on an appliance without it
	// falls back to tmsh.
	plain := &recorder{}
	sh = &Shell{App: plain, Out: &out, Err: &out, Alteon: true}
	sh.Line("list ltm pool")
	if d := cmp.Diff([]string{"list ltm pool"}, plain.execs); d != "" || sh.Alteon {
		t.Errorf("fallback: alteon %v, execs %v", sh.Alteon, plain.execs)
	}
}
