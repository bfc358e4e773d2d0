package ctrlplane

import (
	"errors"
	"strings"
	"testing"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/ctlsock"
)

// A named session keeps its transaction across requests; other clients do
// not see it until it is submitted. An Alteon session keeps its menu and
// pending changes the same way, apart from the tmsh one of the same name.
func TestControlSocketSessions(t *testing.T) {
	s, _ := newTestStore(t, DefaultConfigText())
	path := s.serve(t)
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

// The same mistake through tmsh, the Alteon menus and the typed API (what
// REST will call) is the same typed error, each worded in its own way.
func TestSameMistakeSameError(t *testing.T) {
	s, _ := newTestStore(t, "")
	if _, err := s.alt.Push("/c/slb/real 1/ena/rip 198.18.2.11\n/c/slb/group 1/add 1\n/c/slb/virt 1/ena/vip 198.18.1.100/service 80/group 1\n"); err != nil {
		t.Fatal(err)
	}
	pool := config.Ref{Kind: config.KindPool, Name: "/Common/1"}
	_, tmshErr := s.Exec("delete ltm pool 1")
	_, altErr := s.alt.NewSession().Exec("/c/slb/group 1/del")
	typedErr := s.st.Begin().Delete(pool)
	for _, tt := range []struct {
		how  string
		err  error
		text string
	}{
		{"tmsh", tmshErr, "01070265:3: The Pool (/Common/1) cannot be deleted because it is in use by a Virtual Server (/Common/1_80)."},
		{"alteon", altErr, "group 1 is used by virt 1 service 80"},
		{"typed", typedErr, "01070265:3: The Pool (/Common/1) cannot be deleted because it is in use by a Virtual Server (/Common/1_80)."},
	} {
		var iu *config.InUseError
		if !errors.As(tt.err, &iu) || iu.Ref != pool || iu.By.Name != "/Common/1_80" || !errors.Is(tt.err, config.ErrInUse) {
			t.Errorf("%s: %#v is not an InUseError of %v", tt.how, tt.err, pool)
		}
		if tt.err == nil || tt.err.Error() != tt.text {
			t.Errorf("%s: %v, want %q", tt.how, tt.err, tt.text)
		}
	}
	// A bad reference found at apply: a ValidationError in both dialects.
	_, tmshErr = s.Exec("modify ltm virtual 1_80 pool nope")
	ss := s.alt.NewSession()
	if _, err := ss.Exec("/c/slb/real 5/ena"); err != nil {
		t.Fatal(err)
	}
	_, altErr = ss.Exec("apply")
	for _, tt := range []struct {
		how, text string
		err       error
		obj       config.Ref
	}{
		{"tmsh", "ltm virtual /Common/1_80: pool /Common/nope: no such pool", tmshErr, config.Ref{Kind: config.KindVirtual, Name: "/Common/1_80"}},
		{"alteon", "real 5: address: missing", altErr, config.Ref{Kind: config.KindNode, Name: "/Common/5"}},
	} {
		var ve *config.ValidationError
		if !errors.As(tt.err, &ve) || ve.Obj != tt.obj || tt.err.Error() != tt.text {
			t.Errorf("%s: %v (%#v), want a ValidationError about %v worded %q", tt.how, tt.err, ve, tt.obj, tt.text)
		}
	}
}
