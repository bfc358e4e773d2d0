package rest

import (
	"fmt"
	"testing"
)

// Benchmarks of what automation does most, over TLS with keep-alive: a
// GET of one pool and a member PATCH (an apply), with a token.
func benchToken(b *testing.B, f *fixture) auth {
	ans := f.do(anon, "POST", "/mgmt/shared/authn/login", map[string]any{"username": "admin", "password": password("admin")})
	tok, _ := lookup(ans.body, "token.token").(string)
	if tok == "" {
		b.Fatalf("login: %s", ans.raw)
	}
	return auth{token: tok}
}

func BenchmarkGetPool(b *testing.B) {
	f := newFixture(b)
	f.push(setup)
	as := benchToken(b, f)
	for b.Loop() {
		if ans := f.do(as, "GET", "/mgmt/tm/ltm/pool/~Common~web", nil); ans.code != 200 {
			b.Fatal(ans.raw)
		}
	}
}

func BenchmarkPatchMember(b *testing.B) {
	f := newFixture(b)
	f.push(setup)
	as := benchToken(b, f)
	i := 0
	for b.Loop() {
		sess := []string{"user-enabled", "user-disabled"}[i%2]
		i++
		if ans := f.do(as, "PATCH", "/mgmt/tm/ltm/pool/web/members/~Common~n1:80", fmt.Sprintf(`{"session":%q}`, sess)); ans.code != 200 {
			b.Fatal(ans.raw)
		}
	}
}

func BenchmarkLogin(b *testing.B) {
	f := newFixture(b)
	for b.Loop() {
		benchToken(b, f)
	}
}
