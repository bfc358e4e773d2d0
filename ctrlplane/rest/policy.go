package rest

import (
	"net/http"
	"strconv"
	"strings"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/status"
)

// policy serves GET /mgmt/tm/ltm/policy[/ID[/rules]], read only (policies
// are created and changed with tmsh), in BIG-IP's shape: a condition or
// action is an object of flags named after its words (httpUri, path,
// startsWith) with its values.
func (s *Server) policy(req *request, segs []string) (op, error) {
	const coll = "ltm/policy"
	if req.method != http.MethodGet {
		return op{}, errf(400, "Policies over REST: %v (use tmsh).", config.ErrNotSupportedYet)
	}
	if len(segs) == 0 {
		return read(func(v *status.View) (any, error) {
			var items []map[string]any
			for _, p := range v.Config().PolicyList() {
				items = append(items, policyJSON(p, expand(req)))
			}
			return collection(req, coll, items)
		}), nil
	}
	if len(segs) > 2 || len(segs) == 2 && segs[1] != "rules" {
		return op{}, errf(404, "Public URI path not registered: %s", req.path)
	}
	name, err := objName(segs[0])
	if err != nil {
		return op{}, err
	}
	return read(func(v *status.View) (any, error) {
		p := v.Config().Policies[name]
		if p == nil {
			return nil, &config.NotFoundError{Ref: config.Ref{Kind: config.KindPolicy, Name: name}}
		}
		if len(segs) == 2 {
			return collection(req, coll+"/"+tilde(name)+"/rules", rulesJSON(p))
		}
		return policyJSON(p, expand(req)), nil
	}), nil
}

func policyJSON(p *config.Policy, exp bool) map[string]any {
	path := "ltm/policy/" + tilde(p.Name)
	o := envelope("tm:ltm:policy:policystate", path, p.Name)
	o["description"] = p.Description
	o["strategy"] = p.Strategy.String()
	o["requires"] = nonNil(p.Requires)
	o["controls"] = nonNil(p.Controls)
	st := p.Status
	if st == "" {
		st = "published"
	}
	o["status"] = st
	r := map[string]any{"link": link(path + "/rules"), "isSubcollection": true}
	if exp {
		r["items"] = rulesJSON(p)
	}
	o["rulesReference"] = r
	return o
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// camel turns tmsh words into REST's names: http-uri is httpUri.
func camel(word string) string {
	parts := strings.Split(word, "-")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

func rulesJSON(p *config.Policy) []map[string]any {
	items := []map[string]any{}
	for _, r := range p.Rules {
		base := "ltm/policy/" + tilde(p.Name) + "/rules/" + r.Name
		o := map[string]any{"kind": "tm:ltm:policy:rules:rulesstate", "name": r.Name, "fullPath": r.Name,
			"generation": 1, "selfLink": link(base), "ordinal": r.Ordinal, "description": r.Description}
		var conds []map[string]any
		for i, c := range r.Conditions {
			m := map[string]any{"name": strconv.Itoa(i), camel(c.Operand.String()): true, camel(c.EffectiveSelector()): true,
				camel(c.Op.String()): true, "request": true, "caseInsensitive": !c.CaseSensitive, "caseSensitive": c.CaseSensitive,
				"not": c.Not, "values": nonNil(c.Values)}
			if c.Name != "" {
				m["tmName"] = c.Name
			}
			conds = append(conds, m)
		}
		var acts []map[string]any
		for i, a := range r.Actions {
			m := map[string]any{"name": strconv.Itoa(i), "request": true}
			for _, w := range strings.Fields(a.Kind.String()) {
				m[camel(w)] = true
			}
			switch a.Kind {
			case config.ActionForwardPool:
				m["pool"] = a.Pool
			case config.ActionForwardMember:
				m["member"] = a.Member.String()
			case config.ActionForwardNode:
				m["node"] = a.Node.String()
			case config.ActionRedirect:
				m["location"] = a.Location
			case config.ActionHeaderInsert, config.ActionHeaderReplace, config.ActionSetCookie:
				m["tmName"], m["value"] = a.Name, a.Value
			case config.ActionHeaderRemove:
				m["tmName"] = a.Name
			case config.ActionLog:
				m["message"] = a.Message
			}
			acts = append(acts, m)
		}
		o["conditionsReference"] = map[string]any{"link": link(base + "/conditions"), "isSubcollection": true, "items": nonNilMaps(conds)}
		o["actionsReference"] = map[string]any{"link": link(base + "/actions"), "isSubcollection": true, "items": nonNilMaps(acts)}
		items = append(items, o)
	}
	return items
}

func nonNilMaps(m []map[string]any) []map[string]any {
	if m == nil {
		return []map[string]any{}
	}
	return m
}

// virtualPoliciesJSON is a virtual's policies subcollection.
func virtualPoliciesJSON(x *config.Virtual) []map[string]any {
	items := []map[string]any{}
	for _, p := range x.Policies {
		items = append(items, envelope("tm:ltm:virtual:policies:policiesstate", "ltm/virtual/"+tilde(x.Name)+"/policies/"+tilde(p), p))
	}
	return items
}
