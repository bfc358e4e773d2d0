package tmsh

import (
	"strings"
	"testing"
)

// mirror enabled on a virtual server (BIG-IP's property) is kept, listed,
// compiled into the program's virtual, and refused with the object and
// property named when the word is wrong.
func TestVirtualMirror(t *testing.T) {
	s, dp := newTestStore(t, DefaultConfigText())
	ss := s.NewSession()
	mustExec(t, ss, "modify ltm virtual /Common/vs_http mirror enabled")
	if out := mustExec(t, ss, "list ltm virtual /Common/vs_http"); !strings.Contains(out, "    mirror enabled\n") {
		t.Errorf("list lacks mirror enabled:\n%s", out)
	}
	if out := mustExec(t, ss, "list ltm virtual /Common/vs_http all-properties"); !strings.Contains(out, "    mirror enabled\n") {
		t.Errorf("all-properties lacks mirror enabled:\n%s", out)
	}
	prog := dp.Installs[len(dp.Installs)-1]
	found := false
	for _, v := range prog.Virtuals {
		if v.Name == "/Common/vs_http" {
			found = true
			if !v.Mirror {
				t.Error("the installed program's /Common/vs_http is not mirrored")
			}
		} else if v.Mirror {
			t.Errorf("%s mirrored without mirror enabled", v.Name)
		}
	}
	if !found {
		t.Fatal("no /Common/vs_http in the installed program")
	}
	n := len(dp.Installs)
	_, err := ss.Exec("modify ltm virtual /Common/vs_http mirror yes")
	if err == nil || !strings.Contains(err.Error(), "mirror") || !strings.Contains(err.Error(), "enabled") {
		t.Errorf("mirror yes: %v, want it refused naming mirror and its words", err)
	}
	if len(dp.Installs) != n || !s.Running().Virtuals["/Common/vs_http"].Mirror {
		t.Error("a refused modify changed the running configuration")
	}
	mustExec(t, ss, "modify ltm virtual /Common/vs_http mirror disabled")
	if out := mustExec(t, ss, "list ltm virtual /Common/vs_http all-properties"); !strings.Contains(out, "    mirror disabled\n") {
		t.Errorf("all-properties lacks mirror disabled:\n%s", out)
	}
}
