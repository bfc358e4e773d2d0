package policy

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"lbx/ctrlplane/config"
)

var client = netip.MustParseAddrPort("198.18.1.10:40000")

func req(t testing.TB, method, target string, hdr ...string) Request {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			r.Host = hdr[i+1]
			continue
		}
		r.Header.Add(hdr[i], hdr[i+1])
	}
	return FromHTTP(r, client)
}

func cond(op config.Operand, sel string, m config.MatchOp, vals ...string) config.PolicyCondition {
	return config.PolicyCondition{Operand: op, Selector: sel, Op: m, Values: vals}
}

// TestConditions is one table over every operand, selector and comparison.
func TestConditions(t *testing.T) {
	named := func(c config.PolicyCondition, name string) config.PolicyCondition { c.Name = name; return c }
	not := func(c config.PolicyCondition) config.PolicyCondition { c.Not = true; return c }
	cs := func(c config.PolicyCondition) config.PolicyCondition { c.CaseSensitive = true; return c }
	const (
		host = config.OperandHTTPHost
		uri  = config.OperandHTTPURI
		hdr  = config.OperandHTTPHeader
		ck   = config.OperandHTTPCookie
		ua   = config.OperandHTTPUserAgent
		meth = config.OperandHTTPMethod
		tcp  = config.OperandTCP
		eq   = config.OpEquals
		sw   = config.OpStartsWith
		ew   = config.OpEndsWith
		ct   = config.OpContains
		mt   = config.OpMatches
		ex   = config.OpExists
	)
	iphone := "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
	r := req(t, "GET", "http://shop.example.com:8080/static/img/Logo.JPG?size=big&v=2",
		"Host", "Shop.Example.com:8080", "X-Mobile", "yes", "Cookie", "theme=dark; ARRAffinity=abc123", "User-Agent", iphone)
	for _, tc := range []struct {
		name string
		c    config.PolicyCondition
		want bool
	}{
		{"host all equals ignores case", cond(host, "", eq, "shop.example.com:8080"), true},
		{"host host equals", cond(host, "host", eq, "other", "shop.example.com"), true},
		{"host host equals case-sensitive", cs(cond(host, "host", eq, "shop.example.com")), false},
		{"host port", cond(host, "port", eq, "8080"), true},
		{"host ends-with", cond(host, "host", ew, ".example.com"), true},
		{"host not ends-with", not(cond(host, "host", ew, ".example.com")), false},
		{"uri all starts-with", cond(uri, "", sw, "/static/"), true},
		{"uri all holds the query", cond(uri, "", ct, "size=big"), true},
		{"uri path excludes the query", cond(uri, "path", ct, "size"), false},
		{"uri path starts-with", cond(uri, "path", sw, "/STATIC"), true},
		{"uri path starts-with case-sensitive", cs(cond(uri, "path", sw, "/STATIC")), false},
		{"uri extension equals", cond(uri, "extension", eq, "css", "jpg"), true},
		{"uri extension is not a suffix", cond(uri, "extension", eq, "g"), false},
		{"uri query-string contains", cond(uri, "query-string", ct, "V=2"), true},
		{"uri path matches", cond(uri, "path", mt, `^/static/.*\.(jpg|png)$`), true},
		{"uri path matches case-sensitive", cs(cond(uri, "path", mt, `\.jpg$`)), false},
		{"uri path no match", cond(uri, "path", mt, `^/api/`), false},
		{"header equals", named(cond(hdr, "", eq, "YES"), "x-mobile"), true},
		{"header missing", named(cond(hdr, "", eq, "yes"), "X-Other"), false},
		{"header exists", named(cond(hdr, "", ex), "X-Mobile"), true},
		{"header not exists", not(named(cond(hdr, "", ex), "X-Mobile")), false},
		{"header not exists, absent", not(named(cond(hdr, "", ex), "X-Debug")), true},
		{"cookie equals", named(cond(ck, "", eq, "abc123"), "ARRAffinity"), true},
		{"cookie name is exact", named(cond(ck, "", eq, "abc123"), "ARR"), false},
		{"cookie exists", named(cond(ck, "", ex), "theme"), true},
		{"cookie starts-with", named(cond(ck, "", sw, "da"), "theme"), true},
		{"user agent contains", cond(ua, "", ct, "iphone"), true},
		{"browser-type", cond(ua, "browser-type", eq, "mobile-safari"), true},
		{"browser-type other", cond(ua, "browser-type", eq, "chrome", "firefox"), false},
		{"method", cond(meth, "", eq, "get"), true},
		{"method case-sensitive", cs(cond(meth, "", eq, "get")), false},
		{"tcp address in prefix", cond(tcp, "address", mt, "10.0.0.0/8", "198.18.1.0/24"), true},
		{"tcp address equals host", cond(tcp, "address", eq, "198.18.1.10"), true},
		{"tcp address other host", cond(tcp, "address", eq, "198.18.1.11"), false},
		{"not on a miss", not(cond(meth, "", eq, "POST")), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &config.Policy{Name: "/Common/p", Rules: []config.PolicyRule{{Name: "r", Conditions: []config.PolicyCondition{tc.c},
				Actions: []config.PolicyAction{{Kind: config.ActionReset}}}}}
			comp := compileOne(t, p)
			d := comp.Evaluate(&r)
			if got := len(d.Matched) == 1; got != tc.want {
				t.Fatalf("matched = %v, want %v (decision %+v)", got, tc.want, d)
			}
		})
	}
}

func compileOne(t testing.TB, ps ...*config.Policy) *Compiled {
	t.Helper()
	c := config.NewConfig()
	var names []string
	for _, p := range ps {
		c.Policies[p.Name] = p
		names = append(names, p.Name)
	}
	comp, err := Compile(c, names)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return comp
}

func fwd(pool string) config.PolicyAction {
	return config.PolicyAction{Kind: config.ActionForwardPool, Pool: pool}
}

// strategyPolicy has rules that overlap on /static/a.css from a phone.
func strategyPolicy(s config.PolicyStrategy) *config.Policy {
	return &config.Policy{Name: "/Common/p", Strategy: s, Rules: []config.PolicyRule{
		{Name: "static", Ordinal: 1, Conditions: []config.PolicyCondition{cond(config.OperandHTTPURI, "path", config.OpStartsWith, "/static")},
			Actions: []config.PolicyAction{fwd("/Common/static"), {Kind: config.ActionHeaderInsert, Name: "X-Rule", Value: "static"}}},
		{Name: "css-mobile", Ordinal: 2, Conditions: []config.PolicyCondition{
			cond(config.OperandHTTPURI, "extension", config.OpEquals, "css"),
			cond(config.OperandHTTPUserAgent, "", config.OpContains, "Mobile")},
			Actions: []config.PolicyAction{fwd("/Common/mobile"), {Kind: config.ActionLog, Message: "mobile css"}}},
		{Name: "static-long", Ordinal: 3, Conditions: []config.PolicyCondition{cond(config.OperandHTTPURI, "path", config.OpStartsWith, "/static/a")},
			Actions: []config.PolicyAction{fwd("/Common/static-a")}},
		{Name: "default", Ordinal: 4, Actions: []config.PolicyAction{fwd("/Common/app"), {Kind: config.ActionHeaderRemove, Name: "X-Debug"}}},
	}}
}

func TestStrategies(t *testing.T) {
	phoneCSS := req(t, "GET", "/static/a.css", "User-Agent", "Mobile Safari")
	deskCSS := req(t, "GET", "/static/a.css", "User-Agent", "Firefox")
	deskB := req(t, "GET", "/static/b.css", "User-Agent", "Firefox")
	other := req(t, "GET", "/cart", "User-Agent", "Firefox")
	for _, tc := range []struct {
		s       config.PolicyStrategy
		r       Request
		rules   []string
		target  string
		actions int
	}{
		{config.StrategyFirstMatch, phoneCSS, []string{"static"}, "/Common/static", 2},
		{config.StrategyFirstMatch, other, []string{"default"}, "/Common/app", 2},
		// all-match: every matching rule, in ordinal order; the first
		// target stands, later forwards are dropped, other actions kept.
		{config.StrategyAllMatch, phoneCSS, []string{"static", "css-mobile", "static-long", "default"}, "/Common/static", 4},
		{config.StrategyAllMatch, other, []string{"default"}, "/Common/app", 2},
		// best-match: most conditions first.
		{config.StrategyBestMatch, phoneCSS, []string{"css-mobile"}, "/Common/mobile", 2},
		// then the longest matched value: /static/a beats /static.
		{config.StrategyBestMatch, deskCSS, []string{"static-long"}, "/Common/static-a", 1},
		{config.StrategyBestMatch, deskB, []string{"static"}, "/Common/static", 2},
		// a rule without conditions matches everything, least specifically.
		{config.StrategyBestMatch, other, []string{"default"}, "/Common/app", 2},
	} {
		comp := compileOne(t, strategyPolicy(tc.s))
		d := comp.Evaluate(&tc.r)
		var got []string
		for _, m := range d.Matched {
			got = append(got, m.Rule)
		}
		tgt, ok := d.Target()
		if !slices.Equal(got, tc.rules) || !ok || tgt.Forward.Pool != tc.target || len(d.Actions) != tc.actions {
			t.Errorf("%s %s: matched %v target %+v actions %+v; want %v, %s, %d actions", tc.s, tc.r.URI, got, tgt, d.Actions, tc.rules, tc.target, tc.actions)
		}
	}
}

func TestBestMatchTieGoesToOrdinal(t *testing.T) {
	p := &config.Policy{Name: "/Common/p", Strategy: config.StrategyBestMatch, Rules: []config.PolicyRule{
		{Name: "first", Ordinal: 1, Conditions: []config.PolicyCondition{cond(config.OperandHTTPMethod, "", config.OpEquals, "GET")}, Actions: []config.PolicyAction{fwd("/Common/a")}},
		{Name: "second", Ordinal: 2, Conditions: []config.PolicyCondition{cond(config.OperandHTTPURI, "path", config.OpStartsWith, "/x")}, Actions: []config.PolicyAction{fwd("/Common/b")}},
	}}
	r := req(t, "GET", "/x")
	d := compileOne(t, p).Evaluate(&r)
	if len(d.Matched) != 1 || d.Matched[0].Rule != "first" {
		t.Fatalf("matched %v, want first (equal conditions and lengths: lowest ordinal)", d.Matched)
	}
}

func TestActionsAndPolicies(t *testing.T) {
	redirect := &config.Policy{Name: "/Common/a-redirect", Rules: []config.PolicyRule{{Name: "old",
		Conditions: []config.PolicyCondition{cond(config.OperandHTTPHost, "host", config.OpEquals, "old.example.com")},
		Actions: []config.PolicyAction{{Kind: config.ActionRedirect, Location: "http://new.example.com/"},
			{Kind: config.ActionSetCookie, Name: "moved", Value: "1"}}}}}
	route := &config.Policy{Name: "/Common/b-route", Rules: []config.PolicyRule{
		{Name: "member", Conditions: []config.PolicyCondition{cond(config.OperandHTTPURI, "path", config.OpStartsWith, "/m")},
			Actions: []config.PolicyAction{{Kind: config.ActionForwardMember, Member: netip.MustParseAddrPort("198.18.2.11:80")}}},
		{Name: "node", Conditions: []config.PolicyCondition{cond(config.OperandHTTPURI, "path", config.OpStartsWith, "/n")},
			Actions: []config.PolicyAction{{Kind: config.ActionForwardNode, Node: netip.MustParseAddr("198.18.2.12")},
				{Kind: config.ActionHeaderReplace, Name: "Host", Value: "n.internal"}}},
		{Name: "reset", Conditions: []config.PolicyCondition{cond(config.OperandHTTPMethod, "", config.OpEquals, "TRACE")},
			Actions: []config.PolicyAction{{Kind: config.ActionReset}}},
	}}
	comp := compileOne(t, redirect, route)
	r := req(t, "GET", "/m", "Host", "old.example.com")
	d := comp.Evaluate(&r)
	tgt, _ := d.Target()
	if tgt.Kind != config.ActionRedirect || tgt.Reply.Code != 302 || tgt.Reply.Location != "http://new.example.com/" ||
		len(d.Matched) != 2 || len(d.Actions) != 2 || d.Actions[1].Kind != config.ActionSetCookie {
		t.Fatalf("redirect: %+v; want the redirect to stand over the second policy's forward", d)
	}
	r = req(t, "GET", "/m")
	if d = comp.Evaluate(&r); len(d.Actions) != 1 || d.Actions[0].Forward.Member != netip.MustParseAddrPort("198.18.2.11:80") {
		t.Fatalf("member: %+v", d)
	}
	r = req(t, "GET", "/n")
	if d = comp.Evaluate(&r); len(d.Actions) != 2 || d.Actions[0].Forward.Node != netip.MustParseAddr("198.18.2.12") || d.Actions[1].Value != "n.internal" {
		t.Fatalf("node: %+v", d)
	}
	r = req(t, "TRACE", "/x")
	if d = comp.Evaluate(&r); len(d.Actions) != 1 || d.Actions[0].Kind != config.ActionReset {
		t.Fatalf("reset: %+v", d)
	}
	r = req(t, "GET", "/other")
	if d = comp.Evaluate(&r); len(d.Actions) != 0 || len(d.Matched) != 0 {
		t.Fatalf("no match: %+v", d)
	}
	if _, ok := d.Target(); ok {
		t.Fatal("Target on an empty decision")
	}
	var nilComp *Compiled
	if d := nilComp.Evaluate(&r); len(d.Actions) != 0 {
		t.Fatal("nil Compiled decided something")
	}
}

func TestCompileErrors(t *testing.T) {
	c := config.NewConfig()
	if _, err := Compile(c, []string{"/Common/none"}); err == nil || !strings.Contains(err.Error(), "ltm policy /Common/none: no such policy") {
		t.Fatalf("Compile missing = %v", err)
	}
	c.Policies["/Common/p"] = &config.Policy{Name: "/Common/p", Rules: []config.PolicyRule{{Name: "r",
		Conditions: []config.PolicyCondition{cond(config.OperandHTTPURI, "path", config.OpMatches, "(")}}}}
	if _, err := Compile(c, []string{"/Common/p"}); err == nil || !strings.Contains(err.Error(), "ltm policy /Common/p: rules r conditions 0: http-uri matches values \"(\": not a valid regular expression") {
		t.Fatalf("Compile bad regexp = %v", err)
	}
}

func TestFromHTTPAndBrowser(t *testing.T) {
	r := httptest.NewRequest("POST", "/a/b.tar.gz?x=1", nil)
	r.Host = "[2001:db8::1]:8443"
	q := FromHTTP(r, client)
	if q.Path != "/a/b.tar.gz" || q.Query != "x=1" || q.URI != "/a/b.tar.gz?x=1" || q.Extension() != "gz" || q.HostName() != "2001:db8::1" || q.HostPort() != "8443" {
		t.Fatalf("FromHTTP = %+v ext %q host %q port %q", q, q.Extension(), q.HostName(), q.HostPort())
	}
	q = FromHTTP(&http.Request{Method: "GET", RequestURI: "/dir.d/file?q"}, client)
	if q.Path != "/dir.d/file" || q.Extension() != "" {
		t.Fatalf("no URL: %+v ext %q", q, q.Extension())
	}
	for ua, want := range map[string]string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36":           "chrome",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0": "edge",
		"Mozilla/5.0 (Windows NT 6.1; Trident/7.0; rv:11.0) like Gecko":                                                         "ie",
		"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0":                                                "firefox",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15":    "safari",
		"Mozilla/5.0 (Linux; Android 10; K; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0 Mobile Safari":  "android",
		"curl/8.5.0": "",
	} {
		if got := BrowserType(ua); got != want {
			t.Errorf("BrowserType(%q) = %q, want %q", ua, got, want)
		}
	}
}

func TestEvaluateAllocatesNothing(t *testing.T) {
	comp := compileOne(t, strategyPolicy(config.StrategyAllMatch))
	r := req(t, "GET", "/static/a.css", "User-Agent", "Mobile Safari", "Cookie", "a=b")
	var d Decision
	comp.EvaluateInto(&r, &d)
	if n := testing.AllocsPerRun(100, func() { comp.EvaluateInto(&r, &d) }); n != 0 {
		t.Fatalf("EvaluateInto allocates %v times per request", n)
	}
}

func TestApplyHeadersAndCookies(t *testing.T) {
	d := Decision{Actions: []Action{
		{Kind: config.ActionHeaderInsert, Name: "X-Tier", Value: "a"},
		{Kind: config.ActionHeaderInsert, Name: "x-tier", Value: "b"},
		{Kind: config.ActionHeaderReplace, Name: "Host", Value: "backend.internal"},
		{Kind: config.ActionHeaderRemove, Name: "X-Debug"},
		{Kind: config.ActionSetCookie, Name: "site", Value: "v2"},
		{Kind: config.ActionForwardPool, Forward: Forward{Pool: "/Common/p"}},
	}}
	h := http.Header{"Host": {"a", "b"}, "X-Debug": {"1"}, "Accept": {"*/*"}}
	d.ApplyHeaders(h)
	if got := h.Values("X-Tier"); !slices.Equal(got, []string{"a", "b"}) || h.Get("Host") != "backend.internal" || len(h["Host"]) != 1 ||
		h.Get("X-Debug") != "" || h.Get("Accept") != "*/*" {
		t.Fatalf("headers = %v", h)
	}
	c := d.SetCookies()
	if len(c) != 1 || c[0].String() != "site=v2; Path=/" {
		t.Fatalf("cookies = %v", c)
	}
}

// BenchmarkEvaluate: the imported-ARR-sized policy (four rules, regexp and
// string conditions) on one request.
func BenchmarkEvaluate(b *testing.B) {
	for _, s := range []config.PolicyStrategy{config.StrategyFirstMatch, config.StrategyAllMatch, config.StrategyBestMatch} {
		b.Run(strings.TrimPrefix(s.String(), "/Common/"), func(b *testing.B) {
			p := strategyPolicy(s)
			p.Rules = append([]config.PolicyRule{{Name: "re", Conditions: []config.PolicyCondition{cond(config.OperandHTTPUserAgent, "", config.OpMatches, "iPhone|Android")},
				Actions: []config.PolicyAction{fwd("/Common/m")}}}, p.Rules...)
			comp := compileOne(b, p)
			r := req(b, "GET", "/static/a.css", "User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0", "Cookie", "a=b")
			var d Decision
			b.ReportAllocs()
			for b.Loop() {
				comp.EvaluateInto(&r, &d)
			}
		})
	}
}
