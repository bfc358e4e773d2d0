package rest

import (
	"strings"
	"testing"
	"time"

	"lbx/internal/loginlimit"
)

func TestBasicChallenge(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name string
		who  auth
		code int
		msg  string
	}{
		{"no credentials", anon, 401, "no user authentication header"},
		{"wrong password", auth{user: "admin", pw: "nope"}, 401, "Authentication failed."},
		{"no such user", auth{user: "mallory", pw: "x"}, 401, "Authentication failed."},
		{"no-access role", auth{user: "nobody"}, 401, "Authentication failed."},
		{"bad token", auth{token: "NOTATOKEN"}, 401, "invalid or has expired"},
		{"admin", asAdmin, 200, ""},
		{"guest reads", asGus, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ans := f.do(tc.who, "GET", "/mgmt/tm/sys", nil)
			if ans.code != tc.code {
				t.Fatalf("status %d, want %d: %s", ans.code, tc.code, ans.raw)
			}
			if msg, _ := ans.body["message"].(string); !strings.Contains(msg, tc.msg) {
				t.Errorf("message %q, want %q", msg, tc.msg)
			}
			challenge := ans.hdr.Get("WWW-Authenticate")
			if tc.code == 401 && tc.who.token == "" && !strings.HasPrefix(challenge, `Basic realm="`) {
				t.Errorf("WWW-Authenticate %q, want a Basic challenge", challenge)
			}
		})
	}
}

func TestTokens(t *testing.T) {
	f := newFixture(t)
	login := func(user, pw string) answer {
		return f.do(anon, "POST", "/mgmt/shared/authn/login", map[string]any{"username": user, "password": pw, "loginProviderName": "tmos"})
	}
	if ans := login("admin", "wrong"); ans.code != 401 || ans.body["message"] != "Authentication failed." {
		t.Fatalf("wrong password: %d %s", ans.code, ans.raw)
	}
	ans := login("admin", "admin-pw")
	if ans.code != 200 {
		t.Fatalf("login: %d %s", ans.code, ans.raw)
	}
	tok, _ := lookup(ans.body, "token.token").(string)
	if tok == "" || lookup(ans.body, "token.timeout") != float64(1200) {
		t.Fatalf("login answer: %s", ans.raw)
	}
	as := auth{token: tok}
	f.must(as, "GET", "/mgmt/tm/ltm/pool", nil, 200)
	// Independent tokens: a second login does not end the first.
	tok2, _ := lookup(login("admin", "admin-pw").body, "token.token").(string)
	if tok2 == "" || tok2 == tok {
		t.Fatalf("second token %q", tok2)
	}
	// G's PATCH must answer the timeout it asked for, as a number.
	p := f.must(as, "PATCH", "/mgmt/shared/authz/tokens/"+tok, map[string]any{"timeout": 3600}, 200)
	if p["timeout"] != float64(3600) {
		t.Fatalf("token PATCH answered timeout %v", p["timeout"])
	}
	f.must(as, "PATCH", "/mgmt/shared/authz/tokens/"+tok, map[string]any{"timeout": 0}, 400)
	f.must(as, "PATCH", "/mgmt/shared/authz/tokens/"+tok2, map[string]any{"timeout": 60}, 200)
	// Another user cannot touch the admin's token.
	f.must(asGus, "DELETE", "/mgmt/shared/authz/tokens/"+tok, nil, 404)
	// Expiry: tok2 lives 60 s, tok 3600 s.
	f.clk.Advance(61 * time.Second)
	if ans := f.do(auth{token: tok2}, "GET", "/mgmt/tm/sys", nil); ans.code != 401 {
		t.Fatalf("expired token: %d %s", ans.code, ans.raw)
	}
	f.must(as, "GET", "/mgmt/tm/sys", nil, 200)
	f.clk.Advance(3600 * time.Second)
	f.must(as, "GET", "/mgmt/tm/sys", nil, 401)
	// A's DELETE at exit, authenticated by the token it deletes.
	tok3, _ := lookup(login("olga", "olga-pw").body, "token.token").(string)
	f.must(auth{token: tok3}, "DELETE", "/mgmt/shared/authz/tokens/"+tok3, nil, 200)
	f.must(auth{token: tok3}, "GET", "/mgmt/tm/sys", nil, 401)
}

// Wrong passwords from one address are rate limited, for the login
// endpoint and Basic alike; the right password is refused while blocked,
// and accepted once the pause is over.
func TestLoginRateLimit(t *testing.T) {
	f := newFixture(t)
	for range loginlimit.FreeFailures + 1 {
		f.must(auth{user: "admin", pw: "bad"}, "GET", "/mgmt/tm/sys", nil, 401)
	}
	ans := f.do(anon, "POST", "/mgmt/shared/authn/login", map[string]any{"username": "admin", "password": "admin-pw"})
	if ans.code != 401 || !strings.Contains(ans.raw, "too many failed logins") {
		t.Fatalf("login while blocked: %d %s", ans.code, ans.raw)
	}
	if ans := f.do(asAdmin, "GET", "/mgmt/tm/sys", nil); ans.code != 401 || !strings.Contains(ans.raw, "too many failed logins") {
		t.Fatalf("basic while blocked: %d %s", ans.code, ans.raw)
	}
	f.clk.Advance(loginlimit.FirstBlock)
	f.must(asAdmin, "GET", "/mgmt/tm/sys", nil, 200)
	logs := f.logs.String()
	for _, want := range []string{`msg="rest login failed" user=admin addr=127.0.0.1`, `msg="rest login refused: too many failed logins" user=admin addr=127.0.0.1`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

// A guest changes nothing; an operator enables, disables and forces
// offline members and nodes, and nothing else.
func TestRoles(t *testing.T) {
	f := newFixture(t)
	f.push(setup)
	for _, tc := range []struct {
		name         string
		who          auth
		method, path string
		body         any
		code         int
	}{
		{"guest reads", asGus, "GET", "/mgmt/tm/ltm/pool/web", nil, 200},
		{"guest cannot disable a member", asGus, "PATCH", "/mgmt/tm/ltm/pool/web/members/~Common~n1:80", map[string]any{"session": "user-disabled"}, 401},
		{"guest cannot create a pool", asGus, "POST", "/mgmt/tm/ltm/pool", map[string]any{"name": "p2"}, 401},
		{"guest cannot save", asGus, "POST", "/mgmt/tm/util/bash", map[string]any{"command": "run", "utilCmdArgs": `-c "tmsh save sys config"`}, 401},
		{"guest cannot open a transaction's change", asGus, "DELETE", "/mgmt/tm/ltm/node/n1", nil, 401},
		{"operator cannot create a pool", asOlga, "POST", "/mgmt/tm/ltm/pool", map[string]any{"name": "p2"}, 401},
		{"operator cannot change a pool", asOlga, "PATCH", "/mgmt/tm/ltm/pool/web", map[string]any{"description": "x"}, 401},
		{"operator cannot change a member's ratio", asOlga, "PATCH", "/mgmt/tm/ltm/pool/web/members/~Common~n1:80", map[string]any{"ratio": 5}, 401},
		{"operator cannot delete a member", asOlga, "DELETE", "/mgmt/tm/ltm/pool/web/members/~Common~n1:80", nil, 401},
		{"operator forces a member offline", asOlga, "PATCH", "/mgmt/tm/ltm/pool/web/members/~Common~n1:80", map[string]any{"session": "user-disabled", "state": "user-down"}, 200},
		{"operator enables it", asOlga, "PUT", "/mgmt/tm/ltm/pool/web/members/~Common~n1:80", map[string]any{"session": "user-enabled", "state": "user-up", "fqdn": map[string]any{}}, 200},
		{"operator disables a node", asOlga, "PATCH", "/mgmt/tm/ltm/node/n1", map[string]any{"session": "user-disabled"}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.running()
			ans := f.do(tc.who, tc.method, tc.path, tc.body)
			if ans.code != tc.code {
				t.Fatalf("status %d, want %d: %s", ans.code, tc.code, ans.raw)
			}
			if tc.code == 401 {
				if !strings.Contains(ans.raw, "Access Denied") {
					t.Errorf("message: %s", ans.raw)
				}
				if f.running() != before {
					t.Errorf("a refused change changed the configuration")
				}
			}
		})
	}
	if got := f.running(); !strings.Contains(got, "session user-disabled") {
		t.Errorf("the operator's node disable is not in the running config:\n%s", got)
	}
}

// A Basic password checked good is remembered (so Basic requests do not
// each pay for bcrypt) only while it is the user's password.
func TestBasicPasswordChange(t *testing.T) {
	f := newFixture(t)
	f.must(asAdmin, "GET", "/mgmt/tm/sys", nil, 200)
	f.must(asAdmin, "GET", "/mgmt/tm/sys", nil, 200)
	f.push("modify auth user admin password new-admin-pw")
	f.must(asAdmin, "GET", "/mgmt/tm/sys", nil, 401)
	f.must(auth{user: "admin", pw: "new-admin-pw"}, "GET", "/mgmt/tm/sys", nil, 200)
	f.clk.Advance(2 * verifiedFor)
	f.must(auth{user: "admin", pw: "new-admin-pw"}, "GET", "/mgmt/tm/sys", nil, 200)
}
