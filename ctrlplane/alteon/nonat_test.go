package alteon

import (
	"strings"
	"testing"

	"lbx/ctrlplane/tmsh"
)

// nonat ena is direct server return: tmsh's translate-address disabled,
// printed by the dump and read back from it.
func TestAlteonNonat(t *testing.T) {
	s, _ := newTestStore(t, "")
	ss := s.NewSession()
	altExec(t, ss, `/c/slb/real 1/ena/rip 198.18.2.11
/c/slb/group 1/add 1
/c/slb/virt 1/ena/vip 198.18.1.100/service 80 http/group 1/nonat ena
apply`)
	v := s.Running().Virtuals["/Common/1_80"]
	if v == nil {
		t.Fatalf("no virtual /Common/1_80 in the running config:\n%s", tmsh.Text(s.Running()))
	}
	if v.TranslateAddress {
		t.Error("nonat ena left translate-address enabled")
	}
	dump := altExec(t, ss, "/c/dump")
	if !strings.Contains(dump, "/c/slb/virt 1/service 80 http\n\tgroup 1\n\tnonat ena\n") {
		t.Errorf("dump lacks nonat ena:\n%s", dump)
	}
	s2, _ := newTestStore(t, "")
	if out, err := s2.Push(dump); err != nil {
		t.Fatalf("push of the dump: %v\n%s", err, out)
	}
	if a, b := tmsh.Text(s.Running()), tmsh.Text(s2.Running()); a != b {
		t.Errorf("configs differ after a dump round trip:\n%s\n---\n%s", a, b)
	}
	altExec(t, ss, "/c/slb/virt 1/service 80/nonat dis\napply")
	if !s.Running().Virtuals["/Common/1_80"].TranslateAddress {
		t.Error("nonat dis left translate-address disabled")
	}
}
