package appliance

import (
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"lbx/ctrlplane/config"
	"lbx/l7/policy"
	"lbx/l7/proxy"
)

// policyRouter runs an HTTP virtual's local traffic policies (package
// l7/policy) as its proxy's per-request Router: the target action picks
// the pool, member or node, or answers (redirect) or resets; the header
// actions become the request's edits, in order; set-cookie actions
// become the response's cookies; log actions are logged.
type policyRouter struct {
	virtual string
	port    uint16
	pc      *policy.Compiled
	log     *slog.Logger
}

// Route evaluates the policies on one request read by net/http.
func (r *policyRouter) Route(req *http.Request, client netip.AddrPort) proxy.Decision {
	q := policy.FromHTTP(req, client)
	return r.decide(&q, func(name string) []string { return req.Header[name] }, client)
}

// RouteView evaluates the policies on one request read by the proxy's own
// parser: the policy's Request gets the strings it compares (the Host,
// the target, and only the headers the conditions read), copied out of
// the proxy's buffer.
func (r *policyRouter) RouteView(v proxy.RequestView, client netip.AddrPort) proxy.Decision {
	q := policy.Request{Method: v.Method(), Host: string(v.Host()), URI: string(v.Target()), Client: client}
	q.Path, q.Query, _ = strings.Cut(q.URI, "?")
	if strings.IndexByte(q.Path, '%') >= 0 {
		// as net/http's URL.Path: decoded (the proxy checked the escapes)
		if p, err := url.PathUnescape(q.Path); err == nil {
			q.Path = p
		}
	}
	if names := r.pc.HeaderNames(); len(names) > 0 {
		q.Header = http.Header{}
		for _, n := range names {
			if vs := viewValues(v, n); len(vs) > 0 {
				q.Header[n] = vs
			}
		}
	}
	return r.decide(&q, func(name string) []string { return viewValues(v, name) }, client)
}

// viewValues returns a header's values, in order, by its canonical name.
func viewValues(v proxy.RequestView, canon string) []string {
	var vs []string
	for i := range v.NumFields() {
		if name, value := v.Field(i); strings.EqualFold(string(name), canon) {
			vs = append(vs, string(value))
		}
	}
	return vs
}

// decide evaluates the policies on q and turns the outcome into the
// proxy's decision; values returns a request header's current values.
func (r *policyRouter) decide(q *policy.Request, values func(string) []string, client netip.AddrPort) proxy.Decision {
	d := r.pc.Evaluate(q)
	var out proxy.Decision
	if t, ok := d.Target(); ok {
		switch t.Kind {
		case config.ActionForwardPool:
			out.Pool = t.Forward.Pool
		case config.ActionForwardMember:
			out.Pool, out.Member = t.Forward.Pool, t.Forward.Member
		case config.ActionForwardNode:
			// A node is reached on the virtual's port, as BIG-IP's
			// forward select node does for a port-specific virtual.
			out.Member = netip.AddrPortFrom(t.Forward.Node, r.port)
		case config.ActionReset:
			out.Reset = true
		case config.ActionRedirect:
			out.Reply = &proxy.Reply{Status: t.Reply.Code, Location: t.Reply.Location}
		}
	}
	for _, a := range d.Actions {
		switch a.Kind {
		case config.ActionHeaderInsert, config.ActionHeaderReplace, config.ActionHeaderRemove:
			r.editHeader(&out, values, a)
		case config.ActionLog:
			r.log.Info("ltm policy log", "virtual", r.virtual, "client", client.String(), "message", a.Message)
		}
	}
	out.SetCookies = d.SetCookies()
	return out
}

// editHeader turns one header action into the decision's edits: the
// proxy sets each SetHeaders entry as the header's whole value, so an
// insert carries the values the header already has. Host goes to the
// request's Host, where net/http keeps it.
func (r *policyRouter) editHeader(out *proxy.Decision, values func(string) []string, a policy.Action) {
	name := http.CanonicalHeaderKey(a.Name)
	if name == "Host" {
		if a.Kind != config.ActionHeaderRemove {
			out.Host = a.Value
		}
		return
	}
	if out.SetHeaders == nil {
		out.SetHeaders = http.Header{}
	}
	switch a.Kind {
	case config.ActionHeaderInsert:
		cur, ok := out.SetHeaders[name]
		if !ok {
			cur = values(name)
		}
		out.SetHeaders[name] = append(append([]string(nil), cur...), a.Value)
	case config.ActionHeaderReplace:
		out.SetHeaders[name] = []string{a.Value}
	case config.ActionHeaderRemove:
		delete(out.SetHeaders, name)
		out.RemoveHeaders = append(out.RemoveHeaders, name)
	}
}
