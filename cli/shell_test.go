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

func TestGrammarCompletesEveryVerb(t *testing.T) {
	items := completer(grammar)
	if len(items) != len(grammar) {
		t.Fatalf("%d completion items for %d verbs", len(items), len(grammar))
	}
	for i, w := range grammar {
		if got := string(items[i].GetName()); got != w.name+" " {
			t.Errorf("item %d = %q, want %q", i, got, w.name+" ")
		}
	}
}
