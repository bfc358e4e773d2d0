package alteon

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const completeConf = `
ltm node /Common/1 { address 10.0.0.1 }
ltm node /Common/2 { address 10.0.0.2 }
ltm node /Common/12 { address 10.0.0.12 }
ltm pool /Common/g1 { members { /Common/1:80 /Common/2:80 } }
ltm virtual /Common/v1_80 { destination 198.18.1.100:80 pool g1 source-address-translation { type automap } profiles { fastL4 } }
ltm monitor tcp /Common/hc1 { defaults-from tcp }
`

func altWords(cs []Candidate) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Word)
	}
	return out
}

// Complete offers the open menu's entries and the IDs of existing objects
// where an entry takes one.
func TestAlteonComplete(t *testing.T) {
	s, _ := newTestStore(t, completeConf)
	for _, tt := range []struct {
		line string
		want []string
		has  bool // want is a subset
	}{
		{line: "/c/slb/real ", want: []string{"1", "12", "2"}},
		{line: "/c/slb/real 1", want: []string{"1", "12"}},
		{line: "/c/s/r ", want: []string{"1", "12", "2"}},
		{line: "/c/slb/group ", want: []string{"g1"}},
		{line: "/c/slb/virt ", want: []string{"v1"}},
		{line: "/c/slb/advhc/health ", want: []string{"hc1"}},
		{line: "/c/slb/advhc/health hc9 ", want: []string{"ICMP", "TCP", "TCPHALFOPEN", "HTTP", "HTTPS", "UDP"}},
		{line: "/c/slb/group g1/add ", want: []string{"1", "12", "2"}},
		{line: "/c/slb/group g1/health ", want: []string{"hc1", "none"}},
		{line: "/c/slb/", want: []string{"real", "group", "virt", "advhc", "layer7", "on", "off", "cur", "apply", "diff", "revert", "save", "help", "..", "up"}},
		{line: "/c/slb/r", want: []string{"real", "revert"}},
		{line: "/", want: []string{"cfg", "info", "stats"}, has: true},
		{line: "/info/slb/trace ", want: []string{"g1"}},
		{line: "/info/slb/trace g1 ", want: []string{"1", "12", "2"}},
		{line: "/c/slb/real 1/rip 10.0.0.1 ", want: nil},
		{line: "/c/nope/", want: nil},
	} {
		got := altWords(s.Complete(tt.line))
		if tt.has {
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("Complete(%q) = %v, want %q among them", tt.line, got, w)
				}
			}
			continue
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("Complete(%q) (-want +got):\n%s", tt.line, d)
		}
	}
}

// A session completes in its open menu and sees its pending changes;
// completing enters no menu and stages nothing.
func TestAlteonCompleteSession(t *testing.T) {
	s, _ := newTestStore(t, completeConf)
	ss := s.NewSession()
	altExec(t, ss, "/c/slb/real 7/rip 10.0.0.7/ena")
	altExec(t, ss, "/c/slb")
	if d := cmp.Diff([]string{"1", "12", "2", "7"}, altWords(ss.Complete("real "))); d != "" {
		t.Errorf("real IDs in the session (-want +got):\n%s", d)
	}
	if got := altWords(ss.Complete("r")); !slices.Equal(got, []string{"real", "revert"}) {
		t.Errorf("Complete(r) in /c/slb = %v", got)
	}
	for _, c := range ss.Complete("") {
		if c.Help == "" {
			t.Errorf("%q has no help", c.Word)
		}
	}
	ss.Complete("/c/slb/advhc/health hc9 TCP/")
	ss.Complete("/c/slb/virt 9/")
	if got := ss.Prompt(); got != ">> Layer 4# " {
		t.Errorf("prompt after completing: %q", got)
	}
	out := altExec(t, ss, "diff")
	if strings.Contains(out, "hc9") || strings.Contains(out, "virt 9") {
		t.Errorf("completing staged changes:\n%s", out)
	}
}

// `/c/s/r 1` is /cfg/slb/real 1: an entry of the menu wins over the
// global save and revert.
func TestAlteonAbbreviations(t *testing.T) {
	s, _ := newTestStore(t, completeConf)
	ss := s.NewSession()
	altExec(t, ss, "/c/s/r 1")
	if got := ss.Prompt(); got != ">> Real Server 1# " {
		t.Errorf("/c/s/r 1: prompt %q", got)
	}
	altExec(t, ss, "/c/s/g g1")
	if got := ss.Prompt(); got != ">> Real Server Group g1# " {
		t.Errorf("/c/s/g g1: prompt %q", got)
	}
	// Where no entry of the menu fits, the globals do.
	if out := altExec(t, ss, "rev"); !strings.Contains(out, "No pending changes") {
		t.Errorf("rev: %q", out)
	}
}

// Complete never panics, whatever was typed.
func FuzzAlteonComplete(f *testing.F) {
	for _, s := range []string{"", "/", "/c/slb/real ", "/c/s/r 1/", "..//up/", "/c/slb/advhc/health x TCP/", "\"/c", "/info/slb/trace g1 ", "/c/slb/virt 1/service 80/pip/"} {
		f.Add(s)
	}
	s, _ := newTestStore(f, completeConf)
	ss := s.NewSession()
	f.Fuzz(func(t *testing.T, line string) {
		for _, c := range ss.Complete(line) {
			if c.Word == "" {
				t.Fatalf("Complete(%q): an empty candidate", line)
			}
		}
		if ss.Prompt() != ">> Main# " {
			t.Fatalf("Complete(%q) moved the session to %q", line, ss.Prompt())
		}
	})
}
