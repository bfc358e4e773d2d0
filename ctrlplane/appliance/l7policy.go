package appliance

import (
	"log/slog"
	"net/http"
	"net/netip"

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

// Route evaluates the policies on one request.
func (r *policyRouter) Route(req *http.Request, client netip.AddrPort) proxy.Decision {
	q := policy.FromHTTP(req, client)
	d := r.pc.Evaluate(&q)
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
			r.editHeader(&out, req, a)
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
func (r *policyRouter) editHeader(out *proxy.Decision, req *http.Request, a policy.Action) {
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
			cur = req.Header[name]
		}
		out.SetHeaders[name] = append(append([]string(nil), cur...), a.Value)
	case config.ActionHeaderReplace:
		out.SetHeaders[name] = []string{a.Value}
	case config.ActionHeaderRemove:
		delete(out.SetHeaders, name)
		out.RemoveHeaders = append(out.RemoveHeaders, name)
	}
}
