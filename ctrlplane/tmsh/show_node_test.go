package tmsh

import (
	"regexp"
	"strings"
	"testing"
)

func TestShowNode(t *testing.T) {
	s, dp := newTestStore(t, baseConf+"ltm pool web2 { members { 10.0.0.2:8080 } }\nltm virtual vs2 { destination 198.18.1.101:80 pool web2 }\n")
	for _, v := range dp.Program().Virtuals {
		for _, m := range v.Pool.Members {
			m := dp.Member(v.Pool.Name, m.Name)
			m.Stats.CurConns.Store(2)
			m.Stats.TotalConns.Store(10)
		}
	}
	out, err := s.Exec("show ltm node /Common/10.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	// 10.0.0.2 is a member of web (port 80) and web2 (port 8080).
	for _, re := range []string{
		`Ltm::Node: /Common/10\.0\.0\.2 \(10\.0\.0\.2\)`,
		`State\s+: enabled`,
		`Pool Members\s+: 2\n`,
		`Current Connections\s+4\n`,
		`Total Connections\s+20\n`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("show ltm node: no match for %s in:\n%s", re, out)
		}
	}
	if _, err := s.Exec("modify ltm node /Common/10.0.0.1 state user-down"); err != nil {
		t.Fatal(err)
	}
	out, err = s.Exec("show ltm node")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "forced offline") || strings.Count(out, "Ltm::Node:") != 2 {
		t.Errorf("show ltm node (all):\n%s", out)
	}
	if _, err := s.Exec("show ltm node /Common/nope"); err == nil {
		t.Error("show of a missing node succeeded")
	}
}
