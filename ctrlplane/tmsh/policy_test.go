package tmsh

import (
	"strings"
	"testing"

	"lbx/ctrlplane/compile"
)

// TestPolicyCommands creates, attaches, edits, lists and deletes an ltm
// policy through the commands, with the errors BIG-IP gives.
func TestPolicyCommands(t *testing.T) {
	s, _ := newTestStore(t, baseConf)
	steps := []struct{ cmd, want, wantErr string }{
		{cmd: "create ltm pool static members add { 10.0.0.3:80 }"},
		{cmd: `create ltm policy arr strategy first-match requires { http } controls { forwarding } rules { static { conditions { 0 { http-uri path starts-with values { /static/ } } } actions { 0 { forward select pool static } } } }`},
		{cmd: "list ltm policy arr", want: "ltm policy /Common/arr {\n    controls { forwarding }\n    requires { http }\n    rules {\n        static {\n            actions {\n                0 {\n                    forward\n                    select\n                    pool /Common/static\n                }\n            }\n            conditions {\n                0 {\n                    http-uri\n                    path\n                    starts-with\n                    values { /static/ }\n                }\n            }\n            ordinal 0\n        }\n    }\n    strategy /Common/first-match\n}\n"},
		{cmd: `modify ltm policy arr rules add { img { conditions { 0 { http-uri extension equals values { jpg png } } } actions { 0 { forward select pool static } } } }`},
		{cmd: `modify ltm policy arr rules add { img { } }`, wantErr: "ltm policy /Common/arr: rules img: already exists"},
		{cmd: `modify ltm policy arr rules add { bad { conditions { 0 { http-uri path matches values { "a(" } } } } }`, wantErr: "matches values \"a(\": not a valid regular expression: missing closing )"},
		{cmd: `modify ltm policy arr rules add { nopool { actions { 0 { forward select pool nope } } } }`, wantErr: "ltm policy /Common/arr: rules nopool actions 0: forward select pool /Common/nope: no such pool"},
		{cmd: "modify ltm virtual vs policies add { arr }"},
		{cmd: "modify ltm virtual vs policies add { ghost }", wantErr: "ltm virtual /Common/vs: policies /Common/ghost: no such policy"},
		{cmd: "delete ltm policy arr", wantErr: "01070265:3: The Policy (/Common/arr) cannot be deleted because it is in use by a Virtual Server (/Common/vs)."},
		{cmd: "delete ltm pool static", wantErr: "01070265:3: The Pool (/Common/static) cannot be deleted because it is in use by a Policy (/Common/arr)."},
		{cmd: "modify ltm policy arr rules delete { static }"},
		{cmd: "modify ltm policy arr strategy best-match"},
		{cmd: "modify ltm virtual vs policies none"},
		{cmd: "delete ltm policy arr"},
		{cmd: "list ltm policy", want: ""},
	}
	for _, st := range steps {
		out, err := s.Exec(st.cmd)
		switch {
		case st.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), st.wantErr) {
				t.Fatalf("Exec(%q) = %v, want an error containing %q", st.cmd, err, st.wantErr)
			}
		case err != nil:
			t.Fatalf("Exec(%q): %v", st.cmd, err)
		case st.want != "" && out != st.want:
			t.Fatalf("Exec(%q) =\n%s\nwant\n%s", st.cmd, out, st.want)
		}
	}
}

// Policies act on an HTTP virtual (one with an http profile); on a
// layer-4 virtual they are kept with a warning.
func TestPolicyCompileWarning(t *testing.T) {
	c := mustParse(t, baseConf+`ltm policy p { rules { r { actions { 0 { forward select pool web } } } } }
ltm virtual vs2 { destination 198.18.1.101:80 pool web policies { p } profiles { tcp } }
ltm virtual vs3 { destination 198.18.1.102:80 pool web policies { p } profiles { tcp http } }
`)
	_, warnings, err := compile.CompileWithWarnings(c, testNet)
	if err != nil {
		t.Fatalf("CompileWithWarnings: %v", err)
	}
	want := "ltm virtual /Common/vs2: policies /Common/p: not implemented yet, the policies are kept but act only on a virtual with an http profile"
	found := false
	for _, w := range warnings {
		found = found || strings.HasPrefix(w, want)
		if strings.Contains(w, "/Common/vs3: policies") {
			t.Errorf("HTTP virtual warned about its policies: %q", w)
		}
	}
	if !found {
		t.Fatalf("warnings %q lack %q", warnings, want)
	}
}
