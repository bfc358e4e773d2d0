package rest

import (
	"testing"
)

// TestPolicyREST: /mgmt/tm/ltm/policy lists the policies read only, in
// BIG-IP's shape, and a virtual's policies subcollection names them.
func TestPolicyREST(t *testing.T) {
	f := newFixture(t)
	f.push(`create ltm pool rest_static members add { 198.18.2.13:80 }
create ltm policy rest_pol strategy best-match requires { http } controls { forwarding } rules { static { conditions { 0 { http-uri path starts-with values { /static/ } } 1 { http-header name X-Cdn not exists } } actions { 0 { forward select pool rest_static } 1 { http-header insert name X-Tier value static } } } }
create ltm virtual rest_vs destination 198.18.1.150:80 pool rest_static policies add { rest_pol }
`)
	body := f.must(asAdmin, "GET", "/mgmt/tm/ltm/policy", nil, 200)
	its := items(t, body)
	if len(its) != 1 || its[0]["fullPath"] != "/Common/rest_pol" || its[0]["strategy"] != "/Common/best-match" || its[0]["status"] != "published" {
		t.Fatalf("policies = %v", its)
	}
	p := f.must(asAdmin, "GET", "/mgmt/tm/ltm/policy/~Common~rest_pol?expandSubcollections=true", nil, 200)
	rules := p["rulesReference"].(map[string]any)["items"].([]any)
	r := rules[0].(map[string]any)
	conds := r["conditionsReference"].(map[string]any)["items"].([]any)
	c0, c1 := conds[0].(map[string]any), conds[1].(map[string]any)
	acts := r["actionsReference"].(map[string]any)["items"].([]any)
	a0, a1 := acts[0].(map[string]any), acts[1].(map[string]any)
	if r["name"] != "static" || c0["httpUri"] != true || c0["path"] != true || c0["startsWith"] != true || c0["values"].([]any)[0] != "/static/" ||
		c1["httpHeader"] != true || c1["tmName"] != "X-Cdn" || c1["not"] != true || c1["exists"] != true ||
		a0["forward"] != true || a0["select"] != true || a0["pool"] != "/Common/rest_static" || a1["httpHeader"] != true || a1["insert"] != true || a1["value"] != "static" {
		t.Fatalf("rule = %v", r)
	}
	rs := f.must(asAdmin, "GET", "/mgmt/tm/ltm/policy/rest_pol/rules", nil, 200)
	if len(items(t, rs)) != 1 {
		t.Fatalf("rules = %v", rs)
	}
	vp := f.must(asAdmin, "GET", "/mgmt/tm/ltm/virtual/~Common~rest_vs/policies", nil, 200)
	if its := items(t, vp); len(its) != 1 || its[0]["fullPath"] != "/Common/rest_pol" {
		t.Fatalf("virtual policies = %v", vp)
	}
	f.must(asAdmin, "GET", "/mgmt/tm/ltm/policy/~Common~nope", nil, 404)
	f.must(asAdmin, "GET", "/mgmt/tm/ltm/policy/rest_pol/bogus", nil, 404)
	f.must(asAdmin, "DELETE", "/mgmt/tm/ltm/policy/rest_pol", nil, 400)
}
