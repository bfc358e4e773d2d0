package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// `modify cli preference` and `list cli preference` are the shell's: they
// change and print the user's preferences, kept in a 0600 file, and never
// reach the appliance; abbreviations are taken as tmsh takes them.
func TestShellPreferences(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".lbx_prefs")
	rec := &recorder{}
	var out, errOut strings.Builder
	sh := &Shell{App: rec, Out: &out, Err: &errOut, PrefsFile: path}
	sh.Line("list cli preference")
	want := "cli preference {\n    default-dialect tmsh\n    pager enabled\n}\n"
	if out.String() != want {
		t.Errorf("list cli preference:\n%s\nwant:\n%s", out.String(), want)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("listing wrote the file (%v)", err)
	}
	sh.Line("mod cli pref pager dis default-dialect alteon")
	if errOut.Len() > 0 {
		t.Fatalf("modify: %s", errOut.String())
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("preferences mode %v, want 0600", st.Mode().Perm())
	}
	got, err := LoadPrefs(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(Prefs{Pager: false, DefaultDialect: "alteon"}, got); d != "" {
		t.Errorf("saved preferences (-want +got):\n%s", d)
	}
	out.Reset()
	sh.Line("list cli preference")
	if want := "cli preference {\n    default-dialect alteon\n    pager disabled\n}\n"; out.String() != want {
		t.Errorf("list cli preference after modify:\n%s\nwant:\n%s", out.String(), want)
	}
	for _, tc := range []struct{ line, err string }{
		{"modify cli preference pager", "want PROPERTY VALUE"},
		{"modify cli preference pager maybe", `pager "maybe": want one of enabled, disabled`},
		{"modify cli preference default-dialect cisco", `default-dialect "cisco": want one of tmsh, alteon`},
		{"modify cli preference colour red", `cli preference property "colour"`},
		{"list cli preference pager", "unexpected"},
	} {
		errOut.Reset()
		sh.Line(tc.line)
		if !strings.Contains(errOut.String(), tc.err) {
			t.Errorf("%s: error %q, want it to contain %q", tc.line, errOut.String(), tc.err)
		}
	}
	if got, _ := LoadPrefs(path); got.Pager || got.DefaultDialect != "alteon" {
		t.Errorf("a refused modify changed the file: %+v", got)
	}
	// What is not the shell's goes to the appliance: other cli
	// commands, and a verb as ambiguous as on the appliance.
	sh.Line("create cli transaction")
	sh.Line("l cli preference")
	if d := cmp.Diff([]string{"create cli transaction", "l cli preference"}, rec.execs); d != "" {
		t.Errorf("sent to the appliance (-want +got):\n%s", d)
	}
}

// A missing file is the defaults; unknown lines of a newer lbx are
// skipped.
func TestLoadPrefs(t *testing.T) {
	dir := t.TempDir()
	if got, err := LoadPrefs(filepath.Join(dir, "none")); err != nil || got != DefaultPrefs() {
		t.Errorf("missing file: %+v, %v; want the defaults", got, err)
	}
	path := filepath.Join(dir, "prefs")
	os.WriteFile(path, []byte("colour red\npager disabled\ndefault-dialect klingon\n"), 0o600)
	if got, err := LoadPrefs(path); err != nil || got != (Prefs{Pager: false, DefaultDialect: "tmsh"}) {
		t.Errorf("LoadPrefs = %+v, %v", got, err)
	}
}
