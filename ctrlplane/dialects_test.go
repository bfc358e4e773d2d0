package ctrlplane

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"lbx/ctrlplane/ctlsock"
	"lbx/ctrlplane/status"
)

// A named session keeps its transaction across requests; other clients do
// not see it until it is submitted. An Alteon session keeps its menu and
// pending changes the same way, apart from the tmsh one of the same name.
func TestControlSocketSessions(t *testing.T) {
	s, _ := newTestStore(t, DefaultConfigText())
	path := filepath.Join(t.TempDir(), "lbx.sock")
	srv, err := ctlsock.Listen(path, slog.New(slog.DiscardHandler), Dialects(s.st, status.FromDataplane(s.dp, nil))...)
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	defer srv.Close()
	op := &ctlsock.Client{Path: path, Session: "operator-1"}
	other := &ctlsock.Client{Path: path}
	for _, cmd := range []string{
		"create cli transaction",
		"create ltm pool /Common/sess_pool members add { 198.18.2.11:80 }",
	} {
		if _, err := op.Exec(cmd); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
	}
	if out, err := other.Exec("list ltm pool"); err != nil || strings.Contains(out, "sess_pool") {
		t.Fatalf("another client sees the open transaction: %v\n%s", err, out)
	}
	if _, err := op.Exec("submit cli transaction"); err != nil {
		t.Fatal(err)
	}
	if out, err := other.Exec("list ltm pool /Common/sess_pool"); err != nil || !strings.Contains(out, "sess_pool") {
		t.Fatalf("submitted pool not visible: %v\n%s", err, out)
	}
	// Without a session name each request stands alone.
	if _, err := other.Exec("create cli transaction"); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec("submit cli transaction"); err == nil || !strings.Contains(err.Error(), "no transaction is open") {
		t.Errorf("sessionless submit: %v", err)
	}

	// Alteon: the menu stays open between requests of the session, and a
	// line starting with / goes to the Alteon dialect unasked.
	if _, prompt, err := op.ExecAlteon("/c/slb/real 9"); err != nil || prompt != ">> Real Server 9# " {
		t.Fatalf("enter real 9: prompt %q, %v", prompt, err)
	}
	if _, prompt, err := op.ExecAlteon("rip 198.18.2.19"); err != nil || prompt != ">> Real Server 9# " {
		t.Fatalf("rip in the open menu: prompt %q, %v", prompt, err)
	}
	if out, err := op.Exec("/c/slb/real 9/ena"); err != nil || out != "" {
		t.Fatalf("claimed Alteon line: %q, %v", out, err)
	}
	if out, err := other.Exec("list ltm node /Common/9"); err == nil {
		t.Fatalf("pending Alteon change visible before apply:\n%s", out)
	}
	if out, _, err := op.ExecAlteon("apply"); err != nil || !strings.Contains(out, "Apply complete") {
		t.Fatalf("apply: %q, %v", out, err)
	}
	if out, err := other.Exec("list ltm node /Common/9"); err != nil || !strings.Contains(out, "198.18.2.19") {
		t.Fatalf("applied real not visible: %v\n%s", err, out)
	}
	// A one-shot Alteon request with pending changes says they are dropped.
	if out, err := other.Exec("/c/slb/real 10/rip 198.18.2.20"); err != nil || !strings.Contains(out, "pending changes were dropped") {
		t.Errorf("one-shot Alteon change: %q, %v", out, err)
	}
}
