package alteon

import (
	"errors"
	"strings"
	"testing"

	"lbx/ctrlplane/config"
)

func TestAlteonRoles(t *testing.T) {
	const setup = "/c/slb/real 1/ena/rip 10.0.0.1\n/c/slb/group 1/add 1\n/c/slb/virt 1/vip 10.0.1.1/service 80/group 1\napply\n"
	guest := config.Access{User: "bob", Role: config.RoleGuest}
	op := config.Access{User: "olga", Role: config.RoleOperator}
	tests := []struct {
		name    string
		access  config.Access
		lines   string
		wantErr string // "" allowed
		applied bool   // the running config changed
	}{
		{"guest reads", guest, "/info/slb/real 1", "", false},
		{"guest walks the menus", guest, "/c/slb/virt 1\n/c/slb/real 1\ncur\ndiff", "", false},
		{"guest refused real dis", guest, "/c/slb/real 1/dis",
			"01070822:1: Access Denied: User (bob) may not run /c/slb/real 1/dis (role guest; operator or admin may)", false},
		{"guest refused rip", guest, "/c/slb/real 1/rip 10.0.0.9",
			"01070822:1: Access Denied: User (bob) may not run /c/slb/real 1/rip 10.0.0.9 (role guest; admin may)", false},
		{"guest refused oper", guest, "/oper/slb/dis 1",
			"01070822:1: Access Denied: User (bob) may not run /oper/slb/dis 1 (role guest; operator or admin may)", false},
		{"guest refused apply", guest, "apply",
			"01070822:1: Access Denied: User (bob) may not apply (role guest; operator or admin may)", false},
		{"operator disables real and applies", op, "/c/slb/real 1/dis\napply", "", true},
		{"operator disables a real in a group", op, "/c/slb/group 1/dis 1\napply", "", true},
		{"operator refused new real", op, "/c/slb/real 2/rip 10.0.0.2",
			"01070822:1: Access Denied: User (olga) may not run /c/slb/real 2/rip 10.0.0.2 (role operator; admin may): " + config.OperatorWhy, false},
		{"operator refused a virt draft", op, "/c/slb/virt 9/vip 10.0.1.9",
			"01070822:1: Access Denied: User (olga) may not run /c/slb/virt 9/vip 10.0.1.9 (role operator; admin may)", false},
		{"operator refused save", op, "save",
			"01070822:1: Access Denied: User (olga) may not save (role operator; admin may)", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestStore(t, "")
			altExec(t, s.NewSession(), setup)
			v := s.Version()
			ss := s.NewSessionAs(tc.access)
			_, err := ss.Exec(tc.lines)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("Exec(%q) as %s: %v", tc.lines, tc.access.Role, err)
			}
			if tc.wantErr != "" {
				var ad *config.AccessDeniedError
				if !errors.As(err, &ad) || !strings.HasSuffix(err.Error(), tc.wantErr) {
					t.Fatalf("Exec(%q) as %s:\n got %v\nwant %s", tc.lines, tc.access.Role, err, tc.wantErr)
				}
				// The refused line staged nothing.
				if out := altExec(t, ss, "diff"); strings.Contains(out, "/c/") {
					t.Errorf("diff after a refused line:\n%s", out)
				}
			}
			if got := s.Version() != v; got != tc.applied {
				t.Errorf("running config changed = %v, want %v", got, tc.applied)
			}
		})
	}
}

func TestAlteonPushAs(t *testing.T) {
	s, _ := newTestStore(t, "")
	altExec(t, s.NewSession(), "/c/slb/real 1/ena/rip 10.0.0.1\napply\n")
	v := s.Version()
	if _, err := s.PushAs(config.Access{User: "bob", Role: config.RoleGuest}, "/c/slb/real 1/dis\n"); err == nil || !strings.Contains(err.Error(), "(role guest; operator or admin may)") {
		t.Fatalf("guest push: %v", err)
	}
	if s.Version() != v {
		t.Fatal("a guest's push changed the running config")
	}
	if _, err := s.PushAs(config.Access{User: "olga", Role: config.RoleOperator}, "/c/slb/real 1/dis\n/c/slb/real 2/rip 10.0.0.2\n"); err == nil || !strings.Contains(err.Error(), "(role operator; admin may)") {
		t.Fatalf("operator push with a new real: %v", err)
	}
	if s.Version() != v {
		t.Fatal("a refused operator push changed the running config")
	}
	if _, err := s.PushAs(config.Access{User: "olga", Role: config.RoleOperator}, "/c/slb/real 1/dis\n"); err != nil {
		t.Fatal(err)
	}
	if got := s.Running().Nodes["/Common/1"]; got == nil || got.Session != config.SessionUserDisabled {
		t.Fatalf("real 1 after the operator's push: %+v", got)
	}
}
