package icpolicy

import (
	"encoding/json"
	"reflect"
	"testing"

	"lbx/ctrlplane/config"
)

func link(p string) string { return "https://localhost/mgmt/tm/" + p }

// FuzzDecodeRule: any body either fails with an error or gives a rule
// whose conditions pass the model's checks and that renders back into a
// body decoding to the same rule.
func FuzzDecodeRule(f *testing.F) {
	for _, s := range []string{
		`{"name":"r","ordinal":3,"conditions":[{"name":"0","httpUri":true,"path":true,"startsWith":true,"values":["/static/"]}],"actions":[{"name":"0","forward":true,"pool":"/Common/p"}]}`,
		`{"conditions":[{"type":"http_header","httpHeader":true,"equals":true,"tmName":"X-A","values":["a"],"not":true,"caseSensitive":true}]}`,
		`{"conditions":[{"tcp":true,"address":true,"matches":true,"values":["10.0.0.0/8"]}],"actions":[{"shutdown":true,"connection":true,"request":true}]}`,
		`{"actions":[{"httpReply":true,"redirect":true,"location":"https://x/"},{"httpSetCookie":true,"insert":true,"tmName":"c","value":"v","response":true}]}`,
		`{"actions":[{"log":true,"write":true,"message":"m"},{"httpHeader":true,"remove":true,"tmName":"X"}],"conditionsReference":{"items":[]}}`,
		`{"actions":[{"forward":true,"select":true,"member":"/Common/10.0.0.1:80"},{"forward":true,"node":"10.0.0.2"}]}`,
		`{"conditions":[{"httpUserAgent":true,"browserType":true,"contains":true,"values":["Firefox"]}],"description":"d"}`,
		`{"conditions":[{"httpUri":true,"httpHost":true}]}`, `{"frob":1}`, `{"ordinal":"x"}`, `{"conditions":{"items":[{"httpMethod":true,"equals":true,"values":["GET"]}]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var obj Object
		if json.Unmarshal(b, &obj) != nil {
			return
		}
		var r config.PolicyRule
		if err := DecodeRule(&r, obj); err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		for i := range r.Conditions {
			if err := config.CheckCondition(&r.Conditions[i]); err != nil {
				t.Fatalf("decoded condition %d fails the model's check: %v", i, err)
			}
		}
		out, err := json.Marshal(Rule(&r, "ltm/policy/~Common~p", link))
		if err != nil {
			t.Fatal(err)
		}
		var back Object
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatal(err)
		}
		r2 := config.PolicyRule{Name: r.Name}
		if err := DecodeRule(&r2, back); err != nil {
			t.Fatalf("rendered rule does not decode: %v\n%s", err, out)
		}
		norm := func(r *config.PolicyRule) {
			if len(r.Conditions) == 0 {
				r.Conditions = nil
			}
			if len(r.Actions) == 0 {
				r.Actions = nil
			}
			for i := range r.Conditions {
				if len(r.Conditions[i].Values) == 0 {
					r.Conditions[i].Values = nil
				}
			}
		}
		norm(&r)
		norm(&r2)
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip:\n%+v\n%+v\n%s", r, r2, out)
		}
	})
}

// TestName reads policy ids and paths, published and draft.
func TestName(t *testing.T) {
	for in, want := range map[string]struct {
		name  string
		draft bool
	}{
		"~Common~p": {"/Common/p", false}, "p": {"/Common/p", false}, "~Common~Drafts~p": {"/Common/p", true}, "/Common/Drafts/p": {"/Common/p", true}, "Common~p": {"/Common/p", false}, "Common~Drafts~p": {"/Common/p", true},
	} {
		n, d, err := Name(in)
		if err != nil || n != want.name || d != want.draft {
			t.Errorf("Name(%q) = %q %v %v", in, n, d, err)
		}
	}
	if _, _, err := Name("~Other~p"); err == nil {
		t.Error("another partition accepted")
	}
}
