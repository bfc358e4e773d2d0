package ctlsock

import (
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// completing is a dialect that completes: the dialect offers the words
// after the line's last blank; its sessions also say how many requests
// they have run, so a test sees that a named session is used.
type completing struct{ echo }

func (completing) Complete(line string) []Candidate {
	return []Candidate{{Word: "dialect", Help: "line " + strconv.Quote(line)}}
}

func (d completing) NewSession() Session { return &completingSession{echoSession{d: d.echo}} }

type completingSession struct{ echoSession }

func (s *completingSession) Complete(line string) []Candidate {
	return []Candidate{{Word: "session", Help: strconv.Itoa(s.n) + " " + line}}
}

// Op complete answers with the candidates of the dialect, or of the named
// session; a dialect that does not complete says so.
func TestControlSocketComplete(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lbx.sock")
	srv, err := Listen(path, slog.New(slog.DiscardHandler), completing{echo{name: "tmsh"}}, echo{name: "plain"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	defer srv.Close()
	c := &Client{Path: path}
	got, err := c.Complete("", "list ltm pool w")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]Candidate{{Word: "dialect", Help: `line "list ltm pool w"`}}, got); d != "" {
		t.Errorf("Complete (-want +got):\n%s", d)
	}
	cs := &Client{Path: path, Session: "s1"}
	if _, err := cs.Exec("one"); err != nil {
		t.Fatal(err)
	}
	got, err = cs.Complete("tmsh", "x ")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]Candidate{{Word: "session", Help: "1 x "}}, got); d != "" {
		t.Errorf("Complete in the session (-want +got):\n%s", d)
	}
	if _, err := c.Complete("plain", "x"); err == nil || !strings.Contains(err.Error(), "dialect plain does not complete") {
		t.Errorf("Complete in a dialect without it: %v", err)
	}
	// An answer without candidates carries no field: older clients read
	// it as before.
	b, _ := json.Marshal(Response{Output: "x"})
	if strings.Contains(string(b), "candidates") {
		t.Errorf("Response without candidates: %s", b)
	}
}
