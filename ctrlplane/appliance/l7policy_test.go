package appliance

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"reflect"
	"testing"

	"lbx/ctrlplane/config"
	"lbx/l7/policy"
	"lbx/l7/proxy"
)

// FuzzPolicyRouteView: a policy decides the same on a request read by the
// proxy's own parser (RouteView) as on the same bytes read by net/http
// (Route), for every request both parsers take: conditions on every
// operand, header edits that read the request's values, cookies.
func FuzzPolicyRouteView(f *testing.F) {
	c := func(op config.Operand, sel, name string, m config.MatchOp, vals ...string) config.PolicyCondition {
		return config.PolicyCondition{Operand: op, Selector: sel, Name: name, Op: m, Values: vals}
	}
	rule := func(name string, conds []config.PolicyCondition, acts ...config.PolicyAction) config.PolicyRule {
		return config.PolicyRule{Name: name, Conditions: conds, Actions: acts}
	}
	pol := &config.Policy{Name: "/Common/p", Strategy: config.StrategyAllMatch, Rules: []config.PolicyRule{
		rule("static", []config.PolicyCondition{c(config.OperandHTTPURI, "extension", "", config.OpEquals, "jpg", "css")},
			config.PolicyAction{Kind: config.ActionForwardPool, Pool: "/Common/static"}),
		rule("path", []config.PolicyCondition{c(config.OperandHTTPURI, "path", "", config.OpStartsWith, "/a b/", "/api/")},
			config.PolicyAction{Kind: config.ActionHeaderInsert, Name: "X-Api", Value: "1"}),
		rule("query", []config.PolicyCondition{c(config.OperandHTTPURI, "query-string", "", config.OpContains, "debug")},
			config.PolicyAction{Kind: config.ActionHeaderReplace, Name: "X-Debug", Value: "on"}),
		rule("host", []config.PolicyCondition{c(config.OperandHTTPHost, "host", "", config.OpEndsWith, ".example.com")},
			config.PolicyAction{Kind: config.ActionSetCookie, Name: "site", Value: "ex"}),
		rule("hdr", []config.PolicyCondition{c(config.OperandHTTPHeader, "", "x-pin", config.OpMatches, "^[a-z]+$")},
			config.PolicyAction{Kind: config.ActionForwardNode, Node: netip.MustParseAddr("198.18.2.11")},
			config.PolicyAction{Kind: config.ActionHeaderInsert, Name: "X-Pin", Value: "seen"}),
		rule("cookie", []config.PolicyCondition{c(config.OperandHTTPCookie, "", "ARRAffinity", config.OpExists)},
			config.PolicyAction{Kind: config.ActionHeaderRemove, Name: "Cookie"}),
		rule("ua", []config.PolicyCondition{c(config.OperandHTTPUserAgent, "browser-type", "", config.OpEquals, "android")},
			config.PolicyAction{Kind: config.ActionRedirect, Location: "http://m.example.com/"}),
		rule("method", []config.PolicyCondition{c(config.OperandHTTPMethod, "", "", config.OpEquals, "DELETE")},
			config.PolicyAction{Kind: config.ActionReset}),
		rule("uri", []config.PolicyCondition{c(config.OperandHTTPURI, "", "", config.OpEquals, "/x?y=1")},
			config.PolicyAction{Kind: config.ActionHeaderReplace, Name: "Host", Value: "rewritten"}),
	}}
	pc, err := policy.Compile(&config.Config{Policies: map[string]*config.Policy{pol.Name: pol}}, []string{pol.Name})
	if err != nil {
		f.Fatal(err)
	}
	r := &policyRouter{virtual: "/Common/v", port: 80, pc: pc, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, s := range []string{
		"GET /img/a.jpg HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
		"GET /a%20b/c?debug=1 HTTP/1.1\r\nHost: x\r\nX-Debug: off\r\n\r\n",
		"GET /api/v1 HTTP/1.1\r\nHost: x\r\nX-Api: 0\r\nx-api: 2\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX-Pin: abc\r\nX-Pin: second\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nCookie: a=1; ARRAffinity=\"v\"\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: Mozilla/5.0 (Linux; Android 14) Mobile\r\n\r\n",
		"DELETE / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /x?y=1 HTTP/1.0\r\nHost: x:8080\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	client := netip.MustParseAddrPort("198.18.1.10:40000")
	f.Fuzz(func(t *testing.T, in []byte) {
		v, ok := proxy.ParseRequestView(in)
		if !ok {
			return
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(in)))
		if err != nil {
			t.Fatalf("the proxy's parser took %q, net/http refuses it: %v", in, err)
		}
		want, got := r.Route(req, client), r.RouteView(v, client)
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("%q:\nnet/http %+v\nview     %+v", in, want, got)
		}
	})
}

// What a policy costs per request on the fast path, in allocations: the
// Host and target strings copied out of the proxy's buffer and the
// evaluation's Actions and Matched slices (policy.Evaluate) — named, so
// that a new one is noticed.
func TestPolicyRouteViewAllocs(t *testing.T) {
	pol := &config.Policy{Name: "/Common/p", Rules: []config.PolicyRule{{
		Name:       "static",
		Conditions: []config.PolicyCondition{{Operand: config.OperandHTTPURI, Selector: "path", Op: config.OpStartsWith, Values: []string{"/static/"}}},
		Actions:    []config.PolicyAction{{Kind: config.ActionForwardPool, Pool: "/Common/static"}},
	}}}
	pc, err := policy.Compile(&config.Config{Policies: map[string]*config.Policy{pol.Name: pol}}, []string{pol.Name})
	if err != nil {
		t.Fatal(err)
	}
	r := &policyRouter{virtual: "/Common/v", port: 80, pc: pc, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	v, ok := proxy.ParseRequestView([]byte("GET /static/a.css HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: x\r\n\r\n"))
	if !ok {
		t.Fatal("not parsed")
	}
	client := netip.MustParseAddrPort("198.18.1.10:40000")
	var d proxy.Decision
	n := testing.AllocsPerRun(200, func() { d = r.RouteView(v, client) })
	if d.Pool != "/Common/static" {
		t.Fatalf("decision %+v", d)
	}
	const budget = 4 // Host, target, Actions, Matched
	t.Logf("allocations per routed request: %.0f", n)
	if n > budget {
		t.Fatalf("%.0f allocations per routed request, budget %d", n, budget)
	}
}
