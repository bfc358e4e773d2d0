package rest

import (
	"fmt"
	"strings"
	"testing"

	"lbx/ctrlplane/config"
)

// TestPolicyDraftFlow drives /mgmt/tm/ltm/policy with the requests
// Ansible's bigip_policy and bigip_policy_rule (f5_modules 1.25) send, in
// their order and with their bodies: a new policy is made as a draft,
// filled, and published; a rule is added through a draft of the
// published policy; nothing reaches the configuration before publish,
// and the virtual server that attaches the policy keeps it.
func TestPolicyDraftFlow(t *testing.T) {
	f := newFixture(t)
	f.push(`create ltm pool static_pool members add { 198.18.2.13:80 }
create ltm pool app_pool members add { 198.18.2.14:80 }
`)
	const draft, pub = "/mgmt/tm/ltm/policy/~Common~Drafts~arr_pol", "/mgmt/tm/ltm/policy/~Common~arr_pol"
	// bigip_policy: draft_exists, policy_exists, then create the draft.
	f.must(asAdmin, "GET", draft, nil, 404)
	f.must(asAdmin, "GET", pub, nil, 404)
	d := f.must(asAdmin, "POST", "/mgmt/tm/ltm/policy/", map[string]any{"name": "arr_pol", "partition": "Common", "subPath": "Drafts",
		"strategy": "/Common/first-match", "description": "ARR routing"}, 200)
	if d["fullPath"] != "/Common/Drafts/arr_pol" || d["status"] != "draft" {
		t.Fatalf("draft = %v", d)
	}
	f.must(asAdmin, "POST", "/mgmt/tm/ltm/policy/", map[string]any{"name": "arr_pol", "partition": "Common", "subPath": "Drafts"}, 409)
	// update_on_device: the rules by name, in order.
	f.must(asAdmin, "GET", draft+"/rules/default", nil, 404)
	f.must(asAdmin, "POST", draft+"/rules/", map[string]any{"name": "default", "ordinal": 0}, 200)
	if strings.Contains(f.running(), "arr_pol") {
		t.Fatalf("a draft reached the configuration:\n%s", f.running())
	}
	// bigip_policy_rule on the draft: conditions and actions as it builds
	// them (its http_header condition keeps its "type").
	r := f.must(asAdmin, "POST", draft+"/rules/", map[string]any{"name": "static", "ordinal": 1,
		"conditions": []any{
			map[string]any{"name": "0", "httpUri": true, "path": true, "startsWith": true, "values": []string{"/static/"}},
			map[string]any{"name": "1", "type": "http_header", "httpHeader": true, "equals": true, "tmName": "X-Tier", "values": []string{"static"}},
		},
		"actions": []any{map[string]any{"name": "0", "forward": true, "pool": "/Common/static_pool"}}}, 200)
	if r["name"] != "static" || r["ordinal"] != 1.0 {
		t.Fatalf("created rule = %v", r)
	}
	f.must(asAdmin, "PATCH", draft+"/rules/default", map[string]any{"ordinal": 2,
		"actions": []any{map[string]any{"name": "0", "forward": true, "pool": "/Common/app_pool", "request": true}}}, 200)
	f.must(asAdmin, "PATCH", draft, map[string]any{"strategy": "/Common/first-match", "description": "ARR routing, static first"}, 200)
	// publish.
	f.must(asAdmin, "POST", "/mgmt/tm/ltm/policy/", map[string]any{"name": "/Common/Drafts/arr_pol", "command": "publish"}, 200)
	f.must(asAdmin, "GET", draft, nil, 404)
	p := f.st.Running().Policies["/Common/arr_pol"]
	if p == nil || p.Description != "ARR routing, static first" || len(p.Rules) != 2 || p.Status != "" {
		t.Fatalf("published policy = %+v", p)
	}
	st, def := p.Rules[0], p.Rules[1]
	if st.Name != "static" || len(st.Conditions) != 2 || st.Conditions[0].Operand != config.OperandHTTPURI || st.Conditions[0].Selector != "path" ||
		st.Conditions[0].Op != config.OpStartsWith || st.Conditions[0].Values[0] != "/static/" ||
		st.Conditions[1].Operand != config.OperandHTTPHeader || st.Conditions[1].Name != "X-Tier" || st.Conditions[1].Op != config.OpEquals ||
		st.Actions[0].Kind != config.ActionForwardPool || st.Actions[0].Pool != "/Common/static_pool" ||
		def.Name != "default" || def.Ordinal != 2 || def.Actions[0].Pool != "/Common/app_pool" {
		t.Fatalf("published rules = %+v", p.Rules)
	}
	f.push("create ltm virtual arr_vs destination 198.18.1.151:80 pool app_pool profiles add { http } policies add { arr_pol }\n")

	// bigip_policy_rule on a published policy: createDraft, the rule, publish.
	f.must(asAdmin, "PATCH", pub, map[string]any{"createDraft": true}, 200)
	f.must(asAdmin, "PATCH", pub, map[string]any{"createDraft": true}, 409)
	f.must(asAdmin, "POST", draft+"/rules/", map[string]any{"name": "images", "ordinal": 0,
		"conditions": []any{map[string]any{"name": "0", "httpUri": true, "extension": true, "equals": true, "values": []string{"jpg", "css"}}},
		"actions": []any{
			map[string]any{"name": "0", "forward": true, "pool": "/Common/static_pool"},
			map[string]any{"name": "1", "insert": true, "httpHeader": true, "tmName": "X-Routed", "value": "images", "request": true},
		}}, 200)
	// Read back as the module does, with its subcollections.
	got := f.must(asAdmin, "GET", draft+"/rules/images?expandSubcollections=true", nil, 200)
	acts := got["actionsReference"].(map[string]any)["items"].([]any)
	if a := acts[1].(map[string]any); a["insert"] != true || a["httpHeader"] != true || a["tmName"] != "X-Routed" || a["value"] != "images" {
		t.Fatalf("read back actions = %v", acts)
	}
	if strings.Contains(f.running(), "X-Routed") {
		t.Fatal("a draft's rule reached the configuration before publish")
	}
	f.must(asAdmin, "POST", "/mgmt/tm/ltm/policy", map[string]any{"name": "/Common/Drafts/arr_pol", "command": "publish"}, 200)
	p = f.st.Running().Policies["/Common/arr_pol"]
	if a := p.Rules[0].Actions; p.Rules[0].Name != "images" || len(a) != 2 || a[1].Kind != config.ActionHeaderInsert || a[1].Name != "X-Routed" || a[1].Value != "images" {
		t.Fatalf("published rule = %+v", p.Rules[0])
	}
	if v := f.st.Running().Virtuals["/Common/arr_vs"]; len(v.Policies) != 1 || v.Policies[0] != "/Common/arr_pol" {
		t.Fatalf("the virtual lost its policy: %+v", v.Policies)
	}
	its := items(t, f.must(asAdmin, "GET", pub+"/rules", nil, 200))
	if len(its) != 3 || its[0]["name"] != "images" || its[1]["name"] != "static" || its[2]["name"] != "default" {
		t.Fatalf("rules in ordinal order = %v", its)
	}

	if its := items(t, f.must(asAdmin, "GET", pub+"/rules/images/actions", nil, 200)); len(its) != 2 || its[0]["pool"] != "/Common/static_pool" {
		t.Fatalf("actions subcollection = %v", its)
	}
	if its := items(t, f.must(asAdmin, "GET", pub+"/rules/default/conditions", nil, 200)); len(its) != 0 {
		t.Fatalf("conditions of a rule without any = %v", its)
	}
	// The published policy directly (pre-12.1 clients, go-bigip's PUT).
	f.must(asAdmin, "PATCH", pub+"/rules/images", map[string]any{"ordinal": 9}, 200)
	f.must(asAdmin, "DELETE", pub+"/rules/default", nil, 200)
	f.must(asAdmin, "PUT", pub, map[string]any{"strategy": "best-match"}, 200)
	p = f.st.Running().Policies["/Common/arr_pol"]
	if len(p.Rules) != 2 || p.Rules[1].Name != "images" || p.Rules[1].Ordinal != 9 || p.Strategy != config.StrategyBestMatch {
		t.Fatalf("direct edits not applied: %+v", p)
	}
	// Drafts are admin's; a guest reads them, an operator cannot make one.
	f.must(asGus, "GET", "/mgmt/tm/ltm/policy", nil, 200)
	f.must(asOlga, "PATCH", pub, map[string]any{"createDraft": true}, 401)
	// Deleting: the draft, then the policy once no virtual attaches it.
	f.must(asAdmin, "PATCH", pub, map[string]any{"createDraft": true}, 200)
	if its := items(t, f.must(asAdmin, "GET", "/mgmt/tm/ltm/policy", nil, 200)); len(its) != 2 {
		t.Fatalf("policy list with the draft = %v", its)
	}
	f.must(asAdmin, "DELETE", draft, nil, 200)
	f.must(asAdmin, "DELETE", pub, nil, 400) // in use by arr_vs
	f.push("modify ltm virtual arr_vs policies delete { arr_pol }\n")
	f.must(asAdmin, "DELETE", pub, nil, 200)
	f.must(asAdmin, "GET", pub, nil, 404)
}

// TestPolicyWriteErrors: each bad request gets F5's error JSON naming the
// property, and changes neither the draft nor the configuration.
func TestPolicyWriteErrors(t *testing.T) {
	f := newFixture(t)
	f.push(`create ltm pool p1 members add { 198.18.2.13:80 }
create ltm policy live rules { r { conditions { 0 { http-host equals values { a.example } } } actions { 0 { forward select pool p1 } } } }
`)
	const draft = "/mgmt/tm/ltm/policy/~Common~Drafts~d"
	f.must(asAdmin, "POST", "/mgmt/tm/ltm/policy", map[string]any{"name": "/Common/Drafts/d"}, 200)
	before, beforeDraft := f.running(), f.do(asAdmin, "GET", draft+"?expandSubcollections=true", nil).raw
	rule := func(cond, act map[string]any) map[string]any {
		b := map[string]any{"name": "x"}
		if cond != nil {
			b["conditions"] = []any{cond}
		}
		if act != nil {
			b["actions"] = []any{act}
		}
		return b
	}
	fwd := map[string]any{"forward": true, "pool": "/Common/p1"}
	for _, tc := range []struct {
		name, method, path string
		body               any
		code               int
		msg                string
	}{
		{"bad regexp", "POST", draft + "/rules", rule(map[string]any{"httpUri": true, "matches": true, "values": []string{"(("}}, fwd), 400,
			`Invalid value for property "conditions" of /ltm/policy/~Common~Drafts~d/rules: 0: http-uri matches values "((": not a valid regular expression`},
		{"two operands", "POST", draft + "/rules", rule(map[string]any{"httpUri": true, "httpHost": true, "equals": true, "values": []string{"a"}}, fwd), 400, "a condition has one operand"},
		{"no operand", "POST", draft + "/rules", rule(map[string]any{"equals": true, "values": []string{"a"}}, fwd), 400, "no operand"},
		{"selector of another operand", "POST", draft + "/rules", rule(map[string]any{"httpHost": true, "path": true, "equals": true, "values": []string{"a"}}, fwd), 400, "not a selector of http-host"},
		{"response condition", "POST", draft + "/rules", rule(map[string]any{"httpHeader": true, "response": true, "tmName": "A", "exists": true}, fwd), 400, "not supported yet"},
		{"unknown condition flag", "POST", draft + "/rules", rule(map[string]any{"sslExtension": true, "equals": true}, fwd), 400, `"sslExtension": unexpected property of a condition`},
		{"flag not a bool", "POST", draft + "/rules", rule(map[string]any{"httpUri": "yes", "equals": true}, fwd), 400, "httpUri: want true or false"},
		{"no such pool", "POST", draft + "/rules", rule(nil, map[string]any{"forward": true, "pool": "/Common/nope"}), 400, "ltm policy /Common/Drafts/d: rules x actions 0: forward select pool /Common/nope: no such pool"},
		{"forward without target", "POST", draft + "/rules", rule(nil, map[string]any{"forward": true}), 400, "forward: want one of pool, member or node"},
		{"two targets", "POST", draft + "/rules", map[string]any{"name": "x", "actions": []any{fwd, map[string]any{"httpReply": true, "redirect": true, "location": "http://a/"}}}, 400, "a rule may have one"},
		{"header value with a line break", "POST", draft + "/rules", rule(nil, map[string]any{"httpHeader": true, "insert": true, "tmName": "A", "value": "x\r\ny"}), 400, "holds a line break"},
		{"unknown rule property", "POST", draft + "/rules", map[string]any{"name": "x", "frob": 1}, 400, `Found unexpected json pair at configuration item /ltm/policy/~Common~Drafts~d/rules: "frob".`},
		{"rule without name", "POST", draft + "/rules", map[string]any{"ordinal": 1}, 400, `"name"`},
		{"unknown policy property", "PATCH", draft, map[string]any{"frob": 1}, 400, `Found unexpected json pair at configuration item /ltm/policy/~Common~Drafts~d: "frob".`},
		{"bad strategy", "PATCH", draft, map[string]any{"strategy": "worst-match"}, 400, `Invalid value for property "strategy"`},
		{"bad requires", "PATCH", draft, map[string]any{"requires": []string{"smtp"}}, 400, `"smtp": want http`},
		{"publish a missing draft", "POST", "/mgmt/tm/ltm/policy", map[string]any{"name": "/Common/Drafts/nope", "command": "publish"}, 404, "/Common/Drafts/nope"},
		{"publish a published name", "POST", "/mgmt/tm/ltm/policy", map[string]any{"name": "/Common/live", "command": "publish"}, 400, "want /Common/Drafts/NAME"},
		{"another command", "POST", "/mgmt/tm/ltm/policy", map[string]any{"name": "/Common/Drafts/d", "command": "frob"}, 400, `"command"`},
		{"other folder", "POST", "/mgmt/tm/ltm/policy", map[string]any{"name": "x", "subPath": "Other"}, 400, "folders for policy drafts only"},
		{"rule of a missing draft", "POST", "/mgmt/tm/ltm/policy/~Common~Drafts~nope/rules", map[string]any{"name": "x"}, 404, "/Common/Drafts/nope"},
		{"missing rule", "PATCH", draft + "/rules/nope", map[string]any{"ordinal": 1}, 404, "rule (nope)"},
		{"bad condition on the published policy", "PATCH", "/mgmt/tm/ltm/policy/live/rules/r", map[string]any{"conditions": []any{map[string]any{"tcp": true, "address": true, "equals": true, "values": []string{"not-an-ip"}}}}, 400, "tcp address values not-an-ip"},
		{"draft in a transaction", "PATCH", draft, map[string]any{"description": "x"}, 400, "outside transactions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ans answer
			if tc.name == "draft in a transaction" {
				tx := f.must(asAdmin, "POST", "/mgmt/tm/transaction", map[string]any{}, 200)
				ans = f.do(asAdmin, tc.method, tc.path, tc.body, "X-F5-REST-Coordination-Id", fmt.Sprint(int64(tx["transId"].(float64))))
			} else {
				ans = f.do(asAdmin, tc.method, tc.path, tc.body)
			}
			if msg, _ := ans.body["message"].(string); ans.code != tc.code || !strings.Contains(msg, tc.msg) {
				t.Fatalf("%s %s: %d %s, want %d with %q", tc.method, tc.path, ans.code, ans.raw, tc.code, tc.msg)
			}
			if ans.body["code"] != float64(tc.code) {
				t.Errorf("error body %v: want code %d", ans.body, tc.code)
			}
		})
	}
	if f.running() != before {
		t.Errorf("configuration changed:\n%s", f.running())
	}
	if got := f.do(asAdmin, "GET", draft+"?expandSubcollections=true", nil).raw; got != beforeDraft {
		t.Errorf("draft changed:\n%s\nwas\n%s", got, beforeDraft)
	}
}
