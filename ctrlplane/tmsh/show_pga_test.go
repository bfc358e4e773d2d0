package tmsh

import (
	"strings"
	"testing"
)

// show ltm pool says which priority groups take new connections now.
func TestShowPoolActiveGroups(t *testing.T) {
	conf := `ltm node /Common/198.18.2.11 { address 198.18.2.11 }
ltm node /Common/198.18.2.12 { address 198.18.2.12 }
ltm pool /Common/pga { min-active-members 2 members {
    /Common/198.18.2.11:80 { priority-group 10 } /Common/198.18.2.11:81 { priority-group 10 }
    /Common/198.18.2.12:80 { priority-group 5 } /Common/198.18.2.12:81 { priority-group 5 } } }
ltm virtual /Common/vs { destination /Common/198.18.1.100:80 ip-protocol tcp pool /Common/pga }
`
	s, _ := newTestStore(t, conf)
	for _, step := range []struct{ cmd, want string }{
		{"", "10\n"},
		{"modify ltm pool pga members modify { 198.18.2.11:81 { session user-disabled } }", "10, 5\n"},
		{"modify ltm pool pga members modify { 198.18.2.11:81 { session user-enabled } }", "10\n"},
	} {
		if step.cmd != "" {
			if _, err := s.Exec(step.cmd); err != nil {
				t.Fatal(err)
			}
		}
		out, err := s.Exec("show ltm pool pga")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "Min Active Members: 2\n") || !strings.Contains(out, "Active Priority Groups: "+step.want) {
			t.Errorf("after %q: want active groups %q:\n%s", step.cmd, step.want, out)
		}
	}
}
