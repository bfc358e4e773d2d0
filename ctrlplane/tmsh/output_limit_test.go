package tmsh

import (
	"fmt"
	"lbx/ctrlplane/tmsh/conf"
	"strings"
	"testing"
)

// A few bytes of `list;list;…` cannot make gigabytes of output: past
// the output limit a text stops with an error; a push so stopped applies
// nothing. The limit is shrunk to 1 MiB (from MaxOutput) to keep it quick.
func TestOutputLimit(t *testing.T) {
	var b strings.Builder
	for p := range 100 {
		fmt.Fprintf(&b, "ltm pool /Common/p%d {\n    members {\n", p)
		for m := range 25 {
			fmt.Fprintf(&b, "        /Common/10.0.%d.%d:80 {\n            address 10.0.%d.%d\n        }\n", p%250, m, p%250, m)
		}
		b.WriteString("    }\n}\n")
	}
	s, _ := newTestStore(t, b.String())
	s.maxOutput = 1 << 20
	one, err := s.Exec("list ltm pool")
	if err != nil {
		t.Fatal(err)
	}
	n := s.maxOutput/len(one) + 2 // enough to pass the limit
	list := strings.Repeat("list ltm pool\n", n)
	if out, err := s.NewSession().Exec(list); err == nil || out != "" || !strings.Contains(err.Error(), "the output passed the limit of 1 MiB for one request: stopped after this command") {
		t.Fatalf("exec of %d lists: %d bytes, %v", n, len(out), err)
	}
	if out, err := s.Push(list + "create ltm pool /Common/after\n"); err == nil || out != "" || !strings.Contains(err.Error(), "limit of 1 MiB") {
		t.Fatalf("push of %d lists: %d bytes, %v", n, len(out), err)
	}
	if strings.Contains(conf.Text(s.Running()), "/Common/after") {
		t.Error("a push stopped at the output limit applied")
	}
}
