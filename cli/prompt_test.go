package cli

import (
	"strings"
	"testing"
)

// The tmsh prompt shows the shell's user and the partition the appliance
// accepted a `cd` to: lbx's appliance has /Common only, so `cd /Other` is
// refused and the prompt stays; an appliance that accepts it moves the
// prompt.
func TestPromptFollowsCd(t *testing.T) {
	var out, errOut strings.Builder
	sh := &Shell{App: appliance(t, shellConf), User: "admin", Out: &out, Err: &errOut}
	want := "admin@(lbx)(cfg-sync Standalone)(Active)(/Common)(tmos)# "
	if got := sh.Prompt(); got != want {
		t.Errorf("prompt %q, want %q", got, want)
	}
	sh.Line("cd /Other")
	if !strings.Contains(errOut.String(), "partitions other than /Common are not implemented") {
		t.Errorf("cd /Other: error %q", errOut.String())
	}
	if got := sh.Prompt(); got != want {
		t.Errorf("prompt after a refused cd %q, want %q", got, want)
	}

	sh = &Shell{App: &recorder{}, User: "admin", Out: &out, Err: &errOut}
	for _, tc := range []struct{ line, part string }{
		{"cd /Other", "/Other"},
		{"cd", "/Common"},
		{"cd Other/", "/Other"},
		{"cd /", "/Common"},
		{"list ltm pool", "/Common"},
	} {
		sh.Line(tc.line)
		if want := "admin@(lbx)(cfg-sync Standalone)(Active)(" + tc.part + ")(tmos)# "; sh.Prompt() != want {
			t.Errorf("after %q the prompt is %q, want %q", tc.line, sh.Prompt(), want)
		}
	}
	if got := (&Shell{App: &recorder{}}).Prompt(); got != Prompt {
		t.Errorf("root's prompt %q, want %q", got, Prompt)
	}
}
