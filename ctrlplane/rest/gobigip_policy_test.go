package rest

import (
	"testing"

	bigip "github.com/f5devcentral/go-bigip"

	"lbx/ctrlplane/config"
)

// go-bigip's policy calls, as the Terraform provider makes them: the
// policy with its rules is created as a draft, published, read back rule
// by rule, drafted again (PATCH ?options=create-draft), changed whole
// (PATCH of the draft with every rule), published, and deleted.
func TestGoBigIPPolicy(t *testing.T) {
	f := newFixture(t)
	f.push("create ltm pool p1 members add { 198.18.2.13:80 }\ncreate ltm pool p2 members add { 198.18.2.14:80 }\n")
	b, err := bigip.NewTokenSession(&bigip.Config{Address: f.srv.URL, Username: "admin", Password: "admin-pw", CertVerifyDisable: true})
	if err != nil {
		t.Fatalf("token session: %v", err)
	}
	check := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	rule := func(prefix, pool string) bigip.PolicyRule {
		return bigip.PolicyRule{Name: "r_" + pool,
			Conditions: []bigip.PolicyRuleCondition{{HttpUri: true, Path: true, StartsWith: true, Values: []string{prefix}, Request: true}},
			Actions:    []bigip.PolicyRuleAction{{Forward: true, Select: true, Pool: "/Common/" + pool, Request: true}}}
	}
	p := &bigip.Policy{Name: "/Common/Drafts/gp", Strategy: "/Common/first-match", Controls: []string{"forwarding"}, Requires: []string{"http"},
		Rules: []bigip.PolicyRule{rule("/static/", "p1")}}
	check("create draft", b.CreatePolicy(p))
	if ok, err := b.CheckDraftPolicy("gp", "Common"); err != nil || !ok {
		t.Fatalf("draft not found: %v %v", ok, err)
	}
	check("publish", b.PublishPolicy("gp", "/Common/Drafts/gp"))
	got, err := b.GetPolicy("gp", "Common")
	check("get", err)
	if got == nil || len(got.Rules) != 1 || len(got.Rules[0].Conditions) != 1 || !got.Rules[0].Conditions[0].StartsWith ||
		got.Rules[0].Conditions[0].Values[0] != "/static/" || got.Rules[0].Actions[0].Pool != "/Common/p1" {
		t.Fatalf("read back %+v", got)
	}
	check("create draft of the published", b.CreatePolicyDraft("gp", "Common"))
	p = &bigip.Policy{Name: "gp", Strategy: "/Common/first-match", Description: "two rules",
		Rules: []bigip.PolicyRule{rule("/static/", "p1"), rule("/api/", "p2")}}
	check("update draft", b.UpdatePolicy("gp", "Common", p))
	check("publish again", b.PublishPolicy("gp", "/Common/Drafts/gp"))
	run := f.st.Running().Policies["/Common/gp"]
	if run == nil || run.Description != "two rules" || len(run.Rules) != 2 || run.Rules[1].Actions[0].Kind != config.ActionForwardPool || run.Rules[1].Actions[0].Pool != "/Common/p2" {
		t.Fatalf("running policy %+v", run)
	}
	check("delete", b.DeletePolicy("gp", "Common"))
	if f.st.Running().Policies["/Common/gp"] != nil {
		t.Fatal("policy still there")
	}
}
