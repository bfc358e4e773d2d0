package ctrlplane

import (
	"strings"
	"testing"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/ctlsock"
)

// Requests for a user run with its `auth user` role, in both dialects;
// requests without one run as root (admin).
func TestControlSocketRoles(t *testing.T) {
	s, _ := newTestStore(t, DefaultConfigText())
	path := s.serve(t)
	root := &ctlsock.Client{Path: path}
	for _, cmd := range []string{
		"create auth user bob role guest password guest-pw",
		"create auth user olga role operator password op-pw",
		"create auth user nina role no-access password x",
		"create ltm pool web members add { 198.18.2.11:80 }",
	} {
		if _, err := root.Exec(cmd); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
	}
	bob := &ctlsock.Client{Path: path, User: "bob"}
	if _, err := bob.Exec("list ltm pool web"); err != nil {
		t.Errorf("guest list: %v", err)
	}
	const want = "01070822:1: Access Denied: User (bob) may not modify ltm pool /Common/web (role guest; operator or admin may)"
	if _, err := bob.Exec("modify ltm pool web members modify { 198.18.2.11:80 { session user-disabled } }"); err == nil || err.Error() != want {
		t.Errorf("guest modify: %v\nwant %s", err, want)
	}
	if _, err := bob.Push("create ltm pool q"); err == nil || !strings.Contains(err.Error(), "may not create ltm pool /Common/q (role guest; admin may)") {
		t.Errorf("guest push: %v", err)
	}
	olga := &ctlsock.Client{Path: path, User: "olga", Session: "o"}
	if _, err := olga.Exec("modify ltm pool web members modify { 198.18.2.11:80 { session user-disabled } }"); err != nil {
		t.Errorf("operator disables a member: %v", err)
	}
	if got := s.st.Running().Pools["/Common/web"].Members[0].Session; got != config.SessionUserDisabled {
		t.Errorf("member session %v", got)
	}
	if _, err := olga.Exec("create ltm pool q"); err == nil || !strings.Contains(err.Error(), "(role operator; admin may)") {
		t.Errorf("operator create: %v", err)
	}
	if _, _, err := olga.ExecAlteon("/c/slb/real 9/rip 198.18.2.19"); err == nil || !strings.Contains(err.Error(), "(role operator; admin may)") {
		t.Errorf("operator Alteon real: %v", err)
	}
	if _, err := (&ctlsock.Client{Path: path, User: "nina"}).Exec("list ltm pool"); err == nil || err.Error() != `user "nina": role no-access may not log in` {
		t.Errorf("no-access: %v", err)
	}
	if _, err := (&ctlsock.Client{Path: path, User: "zed"}).Exec("list ltm pool"); err == nil || err.Error() != `user "zed": no such auth user` {
		t.Errorf("unknown user: %v", err)
	}
}
