package policy

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"lbx/ctrlplane/config"
)

// FuzzConditions compiles a condition from fuzzed words and values and
// evaluates it on a fuzzed request: a condition CheckCondition accepts
// compiles, evaluation never panics, `not` inverts it, and the
// comparisons agree with the standard library's.
func FuzzConditions(f *testing.F) {
	f.Add(uint8(2), "path", uint8(5), "^/static/.*", false, "/static/a.css", "Host", "x.example.com", "a=1; b=2")
	f.Add(uint8(1), "host", uint8(3), ".example.COM", false, "/", "www.example.com:80", "", "")
	f.Add(uint8(3), "", uint8(4), "Mobi", true, "/x?y", "User-Agent", "iPhone Mobile Safari", "")
	f.Add(uint8(4), "", uint8(1), "abc", false, "/", "ARRAffinity", "abc", "ARRAffinity=abc")
	f.Add(uint8(7), "address", uint8(5), "198.18.1.0/24", false, "/", "", "", "")
	f.Add(uint8(2), "query-string", uint8(5), "(?i)^a=[0-9]+$", false, "/p?a=12", "", "", "")
	f.Add(uint8(2), "path", uint8(5), "\\p{Greek}+|(a*)*b{1000}", false, "/αβγ", "", "", "")
	f.Fuzz(func(t *testing.T, operand uint8, selector string, op uint8, value string, cs bool, target, hname, hvalue, cookie string) {
		c := config.PolicyCondition{Operand: config.Operand(operand % 8), Selector: selector, Op: config.MatchOp(op % 7), CaseSensitive: cs, Values: []string{value}}
		if c.Operand.NeedsName() {
			c.Name = hname
			if c.Op == config.OpExists {
				c.Values = nil
			}
		}
		if config.CheckCondition(&c) != nil {
			return
		}
		if c.Operand.NeedsName() && (c.Name == "" || strings.ContainsAny(c.Name, "\r\n")) {
			return
		}
		p := &config.Policy{Name: "/Common/p", Rules: []config.PolicyRule{{Name: "r", Conditions: []config.PolicyCondition{c}}}}
		comp := compileOne(t, p)
		n := c
		n.Not = true
		notComp := compileOne(t, &config.Policy{Name: "/Common/p", Rules: []config.PolicyRule{{Name: "r", Conditions: []config.PolicyCondition{n}}}})
		r := Request{Method: "GET", Host: hvalue, URI: target, Header: http.Header{}, Client: client}
		r.Path, r.Query, _ = strings.Cut(target, "?")
		r.Header[http.CanonicalHeaderKey(hname)] = []string{hvalue}
		r.Header["Cookie"] = []string{cookie}
		r.Header["User-Agent"] = []string{hvalue}
		got := len(comp.Evaluate(&r).Matched) == 1
		if inv := len(notComp.Evaluate(&r).Matched) == 1; inv == got {
			t.Fatalf("%+v and its not both %v", c, got)
		}
		if c.Operand != config.OperandHTTPMethod {
			return
		}
		// The method is a plain subject: check against the library.
		subj, v := r.Method, value
		if !cs {
			subj, v = strings.ToLower(subj), strings.ToLower(v)
		}
		var want bool
		switch c.Op {
		case config.OpEquals:
			want = subj == v
		case config.OpStartsWith:
			want = strings.HasPrefix(subj, v)
		case config.OpEndsWith:
			want = strings.HasSuffix(subj, v)
		case config.OpContains:
			want = strings.Contains(subj, v)
		case config.OpMatches:
			expr := value
			if !cs {
				expr = "(?i)" + expr
			}
			want = regexp.MustCompile(expr).MatchString(r.Method)
		default:
			return
		}
		// Unicode case folding (EqualFold) and ToLower differ for a few
		// runes (the Kelvin sign folds to k); compare on ASCII values.
		ascii := !strings.ContainsFunc(value, func(r rune) bool { return r >= 0x80 })
		if want != got && ascii {
			t.Fatalf("%+v on method %q: got %v, want %v", c, r.Method, got, want)
		}
	})
}
