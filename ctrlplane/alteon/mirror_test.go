package alteon

import (
	"strings"
	"testing"

	"lbx/ctrlplane/tmsh"
)

// mirror ena on a virt is tmsh's mirror enabled on each of its services,
// set before or after the services exist, printed by the dump and read
// back from it; a bad word is refused naming the virt.
func TestAlteonMirror(t *testing.T) {
	s, _ := newTestStore(t, "")
	ss := s.NewSession()
	altExec(t, ss, `/c/slb/real 1/ena/rip 198.18.2.11
/c/slb/group 1/add 1
/c/slb/virt 1/ena/vip 198.18.1.100/mirror ena/service 80 http/group 1
/c/slb/virt 1/service 443/group 1
apply`)
	for _, name := range []string{"/Common/1_80", "/Common/1_443"} {
		v := s.Running().Virtuals[name]
		if v == nil || !v.Mirror {
			t.Fatalf("%s: not mirrored after mirror ena:\n%s", name, tmsh.Text(s.Running()))
		}
	}
	if txt := tmsh.Text(s.Running()); !strings.Contains(txt, "    mirror enabled\n") {
		t.Errorf("tmsh text lacks mirror enabled:\n%s", txt)
	}
	dump := altExec(t, ss, "/c/dump")
	if !strings.Contains(dump, "\tvip 198.18.1.100\n\tmirror ena\n") {
		t.Errorf("dump lacks mirror ena:\n%s", dump)
	}
	s2, _ := newTestStore(t, "")
	if out, err := s2.Push(dump); err != nil {
		t.Fatalf("push of the dump: %v\n%s", err, out)
	}
	if a, b := tmsh.Text(s.Running()), tmsh.Text(s2.Running()); a != b {
		t.Errorf("configs differ after a dump round trip:\n%s\n---\n%s", a, b)
	}
	if _, err := ss.Exec("/c/slb/virt 1/mirror yes"); err == nil || !strings.Contains(err.Error(), `virt 1: mirror: "yes": want ena or dis`) {
		t.Errorf("mirror yes: %v, want it refused naming virt 1", err)
	}
	altExec(t, ss, "/c/slb/virt 1/mirror dis\napply")
	if s.Running().Virtuals["/Common/1_80"].Mirror || s.Running().Virtuals["/Common/1_443"].Mirror {
		t.Error("mirror dis left a service mirrored")
	}
}
