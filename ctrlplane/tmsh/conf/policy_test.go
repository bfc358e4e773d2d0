package conf

import (
	"errors"
	"strings"
	"testing"

	"lbx/ctrlplane/config"

	"github.com/google/go-cmp/cmp"
)

const policyConf = `ltm pool /Common/static {
    members { /Common/198.18.2.11:80 { address 198.18.2.11 } }
}
ltm pool /Common/app {
    members { /Common/198.18.2.12:80 { address 198.18.2.12 } }
}
ltm policy /Common/arr {
    controls { forwarding }
    requires { http }
    rules {
        static {
            actions {
                0 {
                    forward
                    select
                    pool /Common/static
                }
                1 {
                    http-header
                    insert
                    name X-Tier
                    value static
                }
            }
            conditions {
                0 {
                    http-uri
                    extension
                    equals
                    values { jpg css js }
                }
            }
            ordinal 1
        }
        mobile {
            actions { 0 { forward select pool /Common/app } 1 { log write message "mobile client" } }
            conditions {
                0 { http-user-agent browser-type equals values { mobile-safari android } }
                1 { http-header name X-Debug not exists }
                2 { http-host host case-sensitive starts-with values { m. } }
                3 { http-uri path matches values { "^/api/v[0-9]+/" } }
                4 { tcp address matches values { 198.18.1.0/24 10.0.0.1 } }
            }
            description "phones and tablets"
            ordinal 2
        }
        old {
            actions { 0 { http-reply redirect location "http://www.example.com/new" } }
            conditions { 0 { http-uri query-string contains values { legacy=1 } } }
            ordinal 3
        }
        bad-cookie {
            actions { 0 { forward reset } }
            conditions { 0 { http-cookie name ARRAffinity ends-with values { deadbeef } } 1 { http-method equals values { TRACE } } }
            ordinal 4
        }
    }
    strategy /Common/best-match
}
ltm virtual /Common/vs {
    destination 198.18.1.100:80
    ip-protocol tcp
    policies { /Common/arr { } }
    pool /Common/app
    profiles { /Common/http { } /Common/tcp { } }
}
`

func TestPolicyRoundTrip(t *testing.T) {
	c := mustParse(t, policyConf)
	p := c.Policies["/Common/arr"]
	if p == nil {
		t.Fatal("no policy /Common/arr")
	}
	if p.Strategy != config.StrategyBestMatch || len(p.Rules) != 4 || p.Rules[0].Name != "static" || p.Rules[3].Name != "bad-cookie" {
		t.Fatalf("policy = %+v", p)
	}
	m := p.Rules[1]
	if len(m.Conditions) != 5 || !m.Conditions[1].Not || m.Conditions[1].Op != config.OpExists || !m.Conditions[2].CaseSensitive ||
		m.Conditions[0].Selector != "browser-type" || m.Description != "phones and tablets" {
		t.Fatalf("rule mobile = %+v", m)
	}
	if a := p.Rules[0].Actions; len(a) != 2 || a[0].Kind != config.ActionForwardPool || a[0].Pool != "/Common/static" || a[1].Name != "X-Tier" {
		t.Fatalf("actions = %+v", a)
	}
	if got := c.Virtuals["/Common/vs"].Policies; len(got) != 1 || got[0] != "/Common/arr" {
		t.Fatalf("virtual policies = %v", got)
	}
	if err := config.Validate(c, config.Env{}); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	text := Text(c)
	again := mustParse(t, text)
	if diff := cmp.Diff(c, again, cmpOpts...); diff != "" {
		t.Fatalf("round trip differs (-first +again):\n%s\n%s", diff, text)
	}
	if Text(again) != text {
		t.Fatalf("print is not stable:\n%s", text)
	}
	for _, want := range []string{"ltm policy /Common/arr {", "                    http-uri\n                    extension\n                    equals\n                    values { jpg css js }",
		"strategy /Common/best-match", "policies {\n        /Common/arr { }", `message "mobile client"`} {
		if !strings.Contains(text, want) {
			t.Errorf("printed config lacks %q:\n%s", want, text)
		}
	}
	all := Format(c, true)
	if again := mustParse(t, all); cmp.Diff(c, again, cmpOpts...) != "" {
		t.Fatalf("all-properties does not read back:\n%s", all)
	}
}

func TestPolicyOrdinalsDefault(t *testing.T) {
	c := mustParse(t, `ltm policy /Common/p {
    rules {
        z { actions { 0 { forward reset } } }
        a { actions { 0 { forward reset } } }
    }
}`)
	r := c.Policies["/Common/p"].Rules
	if len(r) != 2 || r[0].Name != "z" || r[0].Ordinal != 0 || r[1].Name != "a" || r[1].Ordinal != 1 {
		t.Fatalf("rules = %+v, want z (0) then a (1), as written", r)
	}
	if c.Policies["/Common/p"].Strategy != config.StrategyFirstMatch {
		t.Fatal("default strategy is not first-match")
	}
}

func TestPolicyParseErrors(t *testing.T) {
	wrap := func(cond string) string {
		return "ltm policy /Common/p {\n    rules {\n        r {\n            conditions { 0 { " + cond + " } }\n        }\n    }\n}\n"
	}
	act := func(a string) string {
		return "ltm policy /Common/p {\n    rules {\n        r {\n            actions { 0 { " + a + " } }\n        }\n    }\n}\n"
	}
	for _, tc := range []struct{ text, want string }{
		{wrap("http-uri path matches values { \"([a-z\" }"), `line 4: ltm policy /Common/p: rules r: conditions 0: http-uri matches values "([a-z": not a valid regular expression: missing closing ]`},
		{wrap("http-uri path equals"), "http-uri equals: values: missing"},
		{wrap("http-header equals values { a }"), "line 4: ltm policy /Common/p: rules r: conditions 0: http-header: name: missing"},
		{wrap("http-bogus equals values { a }"), `operand "http-bogus": want http-host`},
		{wrap("http-uri path frobs values { a }"), `http-uri "frobs": want a selector (all, path, extension, query-string)`},
		{wrap("http-host exists"), "http-host exists: only http-header and http-cookie take exists"},
		{wrap("http-header name \"X Y\" exists"), `http-header: name "X Y": not an HTTP token`},
		{wrap("tcp address equals values { 10.0.0.300 }"), "tcp address values 10.0.0.300: want ADDRESS or ADDRESS/PREFIX"},
		{wrap("http-uri response path equals values { a }"), "response conditions are not implemented"},
		{act("forward select pool /Common/x member 1.2.3.4:80"), "forward select: want one of pool, member or node"},
		{act("forward select member 1.2.3.4"), `forward select member "1.2.3.4": want ADDRESS:PORT`},
		{act("http-reply redirect"), "http-reply redirect: location: missing"},
		{act("http-header insert name X"), "value"},
		{act("launch missiles"), `action "launch missiles": want forward select`},
		{"ltm policy /Common/p {\n    strategy /Common/worst-match\n}\n", `strategy "/Common/worst-match": want /Common/first-match, /Common/all-match or /Common/best-match`},
		{"ltm policy /Common/p {\n    rules { r { } r { } }\n}\n", "rules r: listed twice"},
		{"ltm policy /Common/p {\n    requires { smtp }\n}\n", `requires "smtp": want http`},
	} {
		_, err := ParseConfig(tc.text)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseConfig(%q) = %v, want an error containing %q", tc.text, err, tc.want)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	c := mustParse(t, `ltm policy /Common/p {
    rules {
        r {
            actions { 0 { forward select pool /Common/nope } 1 { forward reset } }
        }
    }
}
ltm virtual /Common/vs {
    destination 198.18.1.100:80
    policies { /Common/p /Common/missing }
}
`)
	err := config.Validate(c, config.Env{})
	for _, want := range []string{
		"ltm policy /Common/p: rules r actions 0: forward select pool /Common/nope: no such pool",
		"ltm policy /Common/p: rules r actions: 2 actions choose the target",
		"ltm virtual /Common/vs: policies /Common/missing: no such policy",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want %q", err, want)
		}
	}
	if !errors.Is(err, config.ErrNoSuchPolicy) || !errors.Is(err, config.ErrNoSuchPool) {
		t.Errorf("Validate = %v, want ErrNoSuchPolicy and ErrNoSuchPool through it", err)
	}
}

func TestPolicyInUse(t *testing.T) {
	c := mustParse(t, policyConf)
	err := c.Delete(config.Ref{Kind: config.KindPolicy, Name: "/Common/arr"})
	var iu *config.InUseError
	if !errors.As(err, &iu) || iu.By.Name != "/Common/vs" || !strings.Contains(err.Error(), "in use by a Virtual Server (/Common/vs)") {
		t.Fatalf("Delete policy = %v, want in use by /Common/vs", err)
	}
	err = c.Delete(config.Ref{Kind: config.KindPool, Name: "/Common/static"})
	if !errors.As(err, &iu) || iu.By.Kind != config.KindPolicy || !strings.Contains(err.Error(), "in use by a Policy (/Common/arr)") {
		t.Fatalf("Delete pool = %v, want in use by policy /Common/arr", err)
	}
	if c.Policies["/Common/arr"] == nil || c.Pools["/Common/static"] == nil {
		t.Fatal("a refused delete removed something")
	}
}

// FuzzParsePolicy: any ltm policy that parses prints back to itself.
func FuzzParsePolicy(f *testing.F) {
	f.Add(policyConf)
	for _, s := range []string{
		"ltm policy p { rules { r { conditions { 0 { http-header name X-Y case-sensitive not contains values { \"a b\" none \"\" } } } } } }",
		"ltm policy p { strategy all-match rules { a { ordinal 7 } b { actions { 0 { http-set-cookie insert name c value \"\" } } } } }",
		"ltm policy p { rules { r { actions { 0 { forward select member /Common/10.0.0.1:80 } 1 { log request write message \"x\\\"y\" } } } } }",
		"ltm policy p { rules { r { conditions { 0 { tcp address equals values { 10.0.0.0/8 ::1 } } 1 { http-uri request query-string matches values { \"^a=[0-9]+$\" } } } } } status draft }",
		"ltm policy p { requires none controls none rules replace-all-with { r { description \"d\" } } }",
	} {
		f.Add(s)
	}
	f.Fuzz(checkParsePrint)
}
