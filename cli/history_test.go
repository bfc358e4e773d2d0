package cli

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Issue 12 item 10: ~/.lbx_history was mode 0644 and kept
// `create auth user … password …` in clear. The shell runs such a line but
// never records it, and the file is 0600, also when an older lbx left it
// 0644 with a password in it.
func TestInteractiveHistory(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".lbx_history")
	old := "list ltm pool\ncreate auth user old password Hunter2\nmodify auth user old encrypted-password $2a$10$abc\nshow ltm virtual\n"
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	typed := []string{
		"list ltm node",
		"create auth user admin2 password S3cret! role admin",
		"modify auth user admin2 encrypted-password $2a$10$xyz",
		"  show sys dataplane  ",
		"MODIFY AUTH USER admin2 PASSWORD Other",
		"quit",
	}
	rec := &recorder{}
	var out bytes.Buffer
	sh := &Shell{App: rec, In: io.NopCloser(strings.NewReader(strings.Join(typed, "\n") + "\n")), Out: &out, Err: &out}
	done := make(chan error, 1)
	go func() { done <- sh.Interactive(path) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Interactive still running after 10 s")
	}
	if d := cmp.Diff(trimAll(typed[:5]), trimAll(rec.execs)); d != "" {
		t.Errorf("commands run (-want +got):\n%s", d)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("history mode %v, want 0600", st.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	want := "list ltm pool\nshow ltm virtual\nlist ltm node\nshow sys dataplane\nquit\n"
	if string(data) != want {
		t.Errorf("history file:\n%s\nwant:\n%s", data, want)
	}
	for _, secret := range []string{"Hunter2", "S3cret!", "$2a$", "Other"} {
		if strings.Contains(string(data), secret) {
			t.Errorf("history file holds %q", secret)
		}
	}
}

func trimAll(ss []string) []string {
	var out []string
	for _, s := range ss {
		out = append(out, strings.TrimSpace(s))
	}
	return out
}

// A new history file is created 0600 whatever the umask.
func TestOpenHistoryNewFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h")
	h, lines, err := openHistory(path)
	if err != nil {
		t.Fatal(err)
	}
	defer h.close()
	if len(lines) != 0 {
		t.Errorf("new history has lines %q", lines)
	}
	if !h.record("list ltm pool") || h.record("create auth user u password p") {
		t.Error("record kept a password line or dropped a plain one")
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
}

// A line giving a key inline (its PEM's BEGIN line, or a passphrase) is
// a secret line too.
func TestHistorySecretKeyLines(t *testing.T) {
	for _, line := range []string{
		`create sys file ssl-key k content "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----"`,
		`create sys file ssl-key k content "-----BEGIN PRIVATE KEY-----\n…"`,
		`modify sys file ssl-key k passphrase s3cret`,
	} {
		if !hasSecret(line) {
			t.Errorf("hasSecret(%q) = false", line)
		}
	}
	if hasSecret("list sys file ssl-key") {
		t.Error("a listing is not a secret line")
	}
}
