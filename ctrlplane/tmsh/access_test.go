package tmsh

import (
	"errors"
	"strings"
	"testing"

	"lbx/ctrlplane/config"
)

const accessConf = `ltm node /Common/10.0.0.1 {
    address 10.0.0.1
}
ltm pool /Common/p {
    members {
        /Common/10.0.0.1:80 {
            address 10.0.0.1
        }
    }
}
`

func TestRoles(t *testing.T) {
	guest := config.Access{User: "bob", Role: config.RoleGuest}
	op := config.Access{User: "olga", Role: config.RoleOperator}
	admin := config.Access{User: "ann", Role: config.RoleAdmin}
	tests := []struct {
		name    string
		access  config.Access
		cmd     string
		wantErr string // "" allowed; else the refusal's text
		changed bool   // allowed and changes the running config
	}{
		{"guest lists", guest, "list ltm pool p", "", false},
		{"guest shows", guest, "show ltm pool p", "", false},
		{"guest refused modify", guest, "modify ltm pool p description x",
			"01070822:1: Access Denied: User (bob) may not modify ltm pool /Common/p (role guest; operator or admin may)", false},
		{"guest refused member disable", guest, "modify ltm pool p members modify { 10.0.0.1:80 { session user-disabled } }",
			"01070822:1: Access Denied: User (bob) may not modify ltm pool /Common/p (role guest; operator or admin may)", false},
		{"guest refused create", guest, "create ltm pool q",
			"01070822:1: Access Denied: User (bob) may not create ltm pool /Common/q (role guest; admin may)", false},
		{"guest refused stanza", guest, "ltm pool /Common/q { }",
			"01070822:1: Access Denied: User (bob) may not create ltm pool /Common/q (role guest; admin may)", false},
		{"guest refused save", guest, "save sys config",
			"01070822:1: Access Denied: User (bob) may not save sys config (role guest; admin may)", false},
		{"operator disables member", op, "modify ltm pool p members modify { 10.0.0.1:80 { session user-disabled } }", "", true},
		{"operator forces member offline", op, "modify ltm pool p members modify { 10.0.0.1:80 { state user-down } }", "", true},
		{"operator disables node", op, "modify ltm node 10.0.0.1 session user-disabled", "", true},
		{"operator refused create", op, "create ltm pool q",
			"01070822:1: Access Denied: User (olga) may not create ltm pool /Common/q (role operator; admin may)", false},
		{"operator refused other property", op, "modify ltm pool p description x",
			"01070822:1: Access Denied: User (olga) may not modify ltm pool /Common/p (role operator; admin may): " + config.OperatorWhy, false},
		{"operator refused member add", op, "modify ltm pool p members add { 10.0.0.2:80 }",
			"01070822:1: Access Denied: User (olga) may not modify ltm pool /Common/p (role operator; admin may): " + config.OperatorWhy, false},
		{"operator refused transaction", op, "create cli transaction",
			"01070822:1: Access Denied: User (olga) may not create cli transaction (role operator; admin may)", false},
		{"operator refused virtual", op, "modify ltm virtual vs disabled",
			"01070822:1: Access Denied: User (olga) may not modify ltm virtual /Common/vs (role operator; admin may)", false},
		{"admin creates", admin, "create ltm pool q", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestStore(t, accessConf)
			v := s.Store().Version()
			out, err := s.NewSessionAs(tc.access).Exec(tc.cmd)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Exec(%q) as %s: %v", tc.cmd, tc.access.Role, err)
				}
				if strings.HasPrefix(tc.cmd, "list") && !strings.Contains(out, "/Common/p") {
					t.Errorf("list printed %q", out)
				}
			} else {
				var ad *config.AccessDeniedError
				if !errors.As(err, &ad) || err.Error() != tc.wantErr {
					t.Fatalf("Exec(%q) as %s:\n got %v\nwant %s", tc.cmd, tc.access.Role, err, tc.wantErr)
				}
			}
			if got := s.Store().Version() != v; got != tc.changed {
				t.Errorf("running config changed = %v, want %v", got, tc.changed)
			}
		})
	}
}

func TestOperatorPushChecksEveryStatement(t *testing.T) {
	s, _ := newTestStore(t, accessConf)
	op := config.Access{User: "olga", Role: config.RoleOperator}
	v := s.Store().Version()
	_, err := s.PushAs(op, "modify ltm pool p members modify { 10.0.0.1:80 { session user-disabled } }\ncreate ltm pool q\n")
	if err == nil || !strings.Contains(err.Error(), "may not create ltm pool /Common/q (role operator; admin may)") {
		t.Fatalf("PushAs: %v", err)
	}
	if s.Store().Version() != v {
		t.Fatal("a refused push changed the running config")
	}
	if _, err := s.PushAs(op, "modify ltm pool p members modify { 10.0.0.1:80 { session user-disabled } }\n"); err != nil {
		t.Fatal(err)
	}
	if got := s.Store().Running().Pools["/Common/p"].Members[0].Session; got != config.SessionUserDisabled {
		t.Fatalf("member session %v after an operator's push", got)
	}
}
