package alteon

import (
	"strings"
	"testing"

	"lbx/ctrlplane/config"
)

const l7Setup = `/c/slb/real 1/ena/rip 198.18.2.11
/c/slb/real 2/ena/rip 198.18.2.12
/c/slb/real 3/ena/rip 198.18.2.13
/c/slb/group 1/add 1/add 2
/c/slb/group 2/add 3
/c/slb/virt 1/ena/vip 198.18.1.100
/c/slb/virt 1/service 80 http/group 1
/c/slb/layer7/slb
	addstr "/images/"
	addstr ".css"
/c/slb/virt 1/service 80/cntrules 10
	ena
	name "pictures"
	string 1
	group 2
/c/slb/virt 1/service 80/cntrules 20
	string 2
	group 2
apply`

// TestContentRules: Alteon's layer-7 strings and content rules are an ltm
// policy on the service's virtual, dumped back as Alteon lines that a new
// session reads to the same configuration.
func TestContentRules(t *testing.T) {
	s, _ := newTestStore(t, "")
	ss := s.NewSession()
	altExec(t, ss, l7Setup)
	run := s.Running()
	p := run.Policies["/Common/1_80_cntrules"]
	if p == nil || len(p.Rules) != 2 || p.Rules[0].Name != "10" || p.Rules[0].Description != "pictures" ||
		p.Rules[0].Conditions[0].Values[0] != "/images/" || p.Rules[1].Conditions[0].Values[0] != ".css" ||
		p.Rules[1].Actions[0].Pool != "/Common/2" {
		t.Fatalf("policy = %+v", p)
	}
	if got := run.Virtuals["/Common/1_80"].Policies; len(got) != 1 || got[0] != p.Name {
		t.Fatalf("virtual policies = %v", got)
	}
	dump := altExec(t, ss, "/c/dump")
	for _, want := range []string{"/c/slb/layer7/slb\n\taddstr \"/images/\"\n\taddstr \".css\"\n",
		"/c/slb/virt 1/service 80 http/cntrules 10\n\tena\n\tname \"pictures\"\n\tstring 1\n\tgroup 2\n",
		"/c/slb/virt 1/service 80 http/cntrules 20\n\tena\n\tstring 2\n\tgroup 2\n"} {
		if !strings.Contains(dump, want) {
			t.Errorf("dump lacks %q:\n%s", want, dump)
		}
	}
	// The dump, pushed into another appliance, makes the same policy.
	s2, _ := newTestStore(t, "")
	if out, err := s2.Push(dump); err != nil {
		t.Fatalf("push dump: %v\n%s", err, out)
	}
	if got := s2.Running().Policies["/Common/1_80_cntrules"]; got == nil || got.Rules[0].Conditions[0].Values[0] != "/images/" || got.Rules[1].Conditions[0].Values[0] != ".css" {
		t.Fatalf("pushed dump policy = %+v", got)
	}
	if again := altExec(t, s2.NewSession(), "/c/dump"); again != dump {
		t.Errorf("dump of the pushed dump differs:\n%s\nwant\n%s", again, dump)
	}
	// tmsh sees the same objects.
	out, err := s.Exec("list ltm policy 1_80_cntrules")
	if err != nil || !strings.Contains(out, "values { /images/ }") {
		t.Fatalf("list ltm policy: %v\n%s", err, out)
	}
	// Errors name the rule; del removes a rule, the last one the policy.
	for cmd, want := range map[string]string{
		"/c/slb/virt 1/service 80/cntrules 10/string 9": "virt 1 service 80 cntrules 10: string: string \"9\": no such string",
		"/c/slb/virt 1/service 80/cntrules 10/group 7":  "virt 1 service 80 cntrules 10: group: group 7 does not exist",
		"/c/slb/virt 1/service 80/cntrules 10/dis":      "lbx keeps no disabled content rules",
		"/c/slb/virt 1/service 81/cntrules 1/group 1":   "virt 1 has no service 81",
		"/c/slb/virt 1/service 80/cntrules 0":           "cntrules \"0\": want a number from 1 to 65535",
		"/c/slb/layer7/slb/remstr 1":                    "is used by /Common/1_80_cntrules rule 10",
	} {
		if _, err := ss.Exec(cmd); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", cmd, err, want)
		}
	}
	altExec(t, ss, "/c/slb/virt 1/service 80/cntrules 10/del\n/c/slb/virt 1/service 80/cntrules 20\n\tstring any\napply")
	if p := s.Running().Policies["/Common/1_80_cntrules"]; p == nil || len(p.Rules) != 1 || len(p.Rules[0].Conditions) != 0 {
		t.Fatalf("after del and string any: %+v", p)
	}
	altExec(t, ss, "/c/slb/virt 1/service 80/cntrules 20/del\napply")
	if c := s.Running(); c.Policies["/Common/1_80_cntrules"] != nil || len(c.Virtuals["/Common/1_80"].Policies) != 0 {
		t.Fatalf("the last rule's del left the policy: %+v", c.Policies)
	}
	// Deleting the service deletes its content rules.
	altExec(t, ss, "/c/slb/virt 1/service 80/cntrules 5/group 2\napply\n/c/slb/virt 1/service 80/del\napply")
	if c := s.Running(); len(c.Policies) != 0 || c.Virtuals["/Common/1_80"] != nil {
		t.Fatalf("service del left %v", c.Policies)
	}
}

// TestContentRulesFromTmsh: a policy made in tmsh shows as a note.
func TestContentRulesFromTmsh(t *testing.T) {
	s, _ := newTestStore(t, "")
	ss := s.NewSession()
	altExec(t, ss, l7Setup)
	if _, err := s.Exec("create ltm policy other rules { r { conditions { 0 { http-method equals values { POST } } } actions { 0 { forward reset } } } }\nmodify ltm virtual 1_80 policies add { other }"); err != nil {
		t.Fatal(err)
	}
	dump := altExec(t, s.NewSession(), "/c/dump")
	if !strings.Contains(dump, "/* lbx: ltm policy /Common/other (set in tmsh) */") {
		t.Errorf("dump lacks the tmsh policy's note:\n%s", dump)
	}
	if s.Running().Policies["/Common/other"].Strategy != config.StrategyFirstMatch {
		t.Fatal("strategy")
	}
}
