package tmsh

import (
	"strings"
	"testing"
)

const completeConf = `
ltm pool web { members { 10.0.0.1:80 10.0.0.2:80 } }
ltm pool www2 { }
ltm pool api { }
ltm virtual vs { destination 198.18.1.100:80 pool web source-address-translation { type automap } profiles { fastL4 } }
`

// Any unambiguous prefix of a verb, module or kind is accepted; an
// ambiguous one is refused with the words it fits.
func TestAbbreviations(t *testing.T) {
	s, _ := newTestStore(t, completeConf)
	full, err := s.Exec("show ltm pool web")
	if err != nil {
		t.Fatal(err)
	}
	short, err := s.Exec("sh ltm po web")
	if err != nil {
		t.Fatalf("sh ltm po web: %v", err)
	}
	if short != full {
		t.Errorf("sh ltm po web:\n%s\nwant as show ltm pool web:\n%s", short, full)
	}
	if _, err := s.Exec("cr ltm poo p2 load-balancing-mode round-robin"); err != nil {
		t.Fatalf("cr ltm poo: %v", err)
	}
	if _, err := s.Exec("mod ltm mon h m1 interval 5"); err == nil || !strings.Contains(err.Error(), `"h" is ambiguous: http, https`) {
		t.Errorf("mod ltm mon h: %v, want ambiguous http, https", err)
	}
	if out, err := s.Exec("li ltm pool p2"); err != nil || !strings.Contains(out, "ltm pool /Common/p2") {
		t.Errorf("li ltm pool p2: %q, %v", out, err)
	}
	for line, want := range map[string]string{
		"l ltm pool":    `"l" is ambiguous: list, load`,
		"list ltm p":    `"p" is ambiguous: persistence, profile, pool, policy`,
		"cr ltm po p3":  `"po" is ambiguous: pool, policy`,
		"s ltm pool":    `"s" is ambiguous: show, submit, save`,
		"sh ltm mon":    `"mon" is ambiguous`,
		"list l pool":   "", // l: only ltm among list's modules
		"show ltm pool": "",
	} {
		_, err := s.Exec(line)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", line, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v, want %q", line, err, want)
		}
	}
}

func TestSyntax(t *testing.T) {
	got := Syntax("create ltm pool")
	if !strings.Contains(got, "create ltm pool NAME [PROPERTY …]") {
		t.Errorf("Syntax(create ltm pool) = %q", got)
	}
	if got := Syntax("cr ltm vi"); !strings.Contains(got, "create ltm virtual NAME destination ADDR:PORT") {
		t.Errorf("Syntax(cr ltm vi) = %q", got)
	}
	s, _ := newTestStore(t, "")
	if out, err := s.Exec("help modify ltm pool"); err != nil || !strings.Contains(out, "modify ltm pool NAME PROPERTY …") {
		t.Errorf("help modify ltm pool: %q, %v", out, err)
	}
	if _, err := s.Exec("help frob"); err == nil || !strings.Contains(err.Error(), "help frob: no such command") {
		t.Errorf("help frob: %v", err)
	}
}
