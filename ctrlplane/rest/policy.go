package rest

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/rest/icpolicy"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/store"
)

func notFoundPolicy(name string, draft bool) error {
	if draft {
		name = icpolicy.DraftPath(name)
	}
	return &config.NotFoundError{Ref: config.Ref{Kind: config.KindPolicy, Name: name}}
}

// policyName reads a policy's id: its published name and whether it
// names the draft.
func policyName(s string) (string, bool, error) {
	n, draft, err := icpolicy.Name(s)
	if err != nil {
		return "", false, errf(400, "Policy %q: %v", s, err)
	}
	return n, draft, nil
}

// ruleErr is an F5 error naming the property of the rule (or policy)
// that is wrong.
func ruleErr(item string, err error) error {
	if err == nil {
		return nil
	}
	var fe *icpolicy.FieldError
	switch {
	case errors.As(err, &fe) && fe.Err == icpolicy.ErrUnexpected:
		return errf(400, "Found unexpected json pair at configuration item /%s: %q.", item, fe.Field)
	case errors.As(err, &fe):
		return errf(400, "Invalid value for property %q of /%s: %v", fe.Field, item, fe.Err)
	case errors.Is(err, config.ErrExists), errors.Is(err, config.ErrNotFound):
		return err
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return err
	}
	return errf(400, "Invalid value at /%s: %v", item, err)
}

// policy serves /mgmt/tm/ltm/policy[/ID[/rules[/RULE[/conditions|actions]]]]
// in BIG-IP's shape: a condition or action is an object of flags named
// after its words (httpUri, path, startsWith) with its values. A policy
// is created, changed and deleted as BIG-IP 12.1+ clients do, through
// its draft (POST with subPath Drafts or PATCH {"createDraft": true},
// rules edited on /ltm/policy/~Common~Drafts~P, POST {"command":
// "publish"}), or directly on the published policy; either way it enters
// the configuration through the same validation and transactional apply
// as tmsh.
func (s *Server) policy(req *request, segs []string) (op, error) {
	const coll = "ltm/policy"
	if len(segs) == 0 {
		switch req.method {
		case http.MethodGet:
			return read(func(v *status.View) (any, error) {
				items := []map[string]any{}
				for _, p := range v.Config().PolicyList() {
					items = append(items, icpolicy.Policy(p, false, expand(req), link))
				}
				for _, p := range s.drafts.List() {
					items = append(items, icpolicy.Policy(p, true, expand(req), link))
				}
				return collection(req, coll, items)
			}), nil
		case http.MethodPost:
			return s.policyPost(req)
		}
		return op{}, errMethod(req)
	}
	if len(segs) > 4 || len(segs) >= 2 && segs[1] != "rules" || len(segs) == 4 && segs[3] != "conditions" && segs[3] != "actions" {
		return op{}, errf(404, "Public URI path not registered: %s", req.path)
	}
	name, draft, err := policyName(segs[0])
	if err != nil {
		return op{}, err
	}
	item := coll + "/" + segs[0]
	rule := ""
	if len(segs) >= 3 {
		rule = segs[2]
		item += "/rules/" + rule
		if err := config.CheckBaseName(rule); err != nil {
			return op{}, errf(400, "Rule %q: %v", rule, err)
		}
	}
	if req.method == http.MethodGet {
		return read(s.policyView(name, draft, segs, req)), nil
	}
	if len(segs) == 4 || len(segs) == 2 && req.method != http.MethodPost || len(segs) != 2 && req.method == http.MethodPost {
		return op{}, errMethod(req)
	}
	var b body
	if req.method != http.MethodDelete {
		if b, err = parseBody(req.body); err != nil {
			return op{}, err
		}
	}
	// The answer: the policy, or the rule created or changed.
	out := segs
	if len(segs) == 2 {
		n, _ := str(b["name"])
		out = []string{segs[0], "rules", n}
	}
	get := s.policyView(name, draft, out, req)
	if req.method == http.MethodDelete {
		get = func(*status.View) (any, error) { return nil, nil }
	}
	var edit func(p *config.Policy) error
	switch {
	case len(segs) == 1 && req.method == http.MethodDelete:
		if draft {
			return s.draftOp(req, name, nil, draftDelete, nil)
		}
		ref := config.Ref{Kind: config.KindPolicy, Name: name}
		return op{apply: func(t *store.Txn) error { return t.Delete(ref) }, result: func(*status.View) (any, error) { return nil, nil }}, nil
	case len(segs) == 1 && !draft && req.method == http.MethodPatch && req.query.Get("options") == "create-draft" && len(b) == 0:
		return s.createDraft(req, name) // go-bigip's CreatePolicyDraft
	case len(segs) == 1 && !draft && b["createDraft"] != nil:
		if on, err := boolOrWord(b["createDraft"]); err != nil || !on || len(b) != 1 {
			return op{}, errf(400, "Invalid value for property \"createDraft\" of /%s: want {\"createDraft\": true} alone", item)
		}
		return s.createDraft(req, name)
	case len(segs) == 1:
		edit = func(p *config.Policy) error { return ruleErr(item, icpolicy.DecodePolicy(p, b)) }
	case len(segs) == 2:
		edit = func(p *config.Policy) error { return ruleErr(item+"/rules", icpolicy.AddRule(p, b)) }
	case len(segs) == 3:
		edit = func(p *config.Policy) error {
			i := slices.IndexFunc(p.Rules, func(r config.PolicyRule) bool { return r.Name == rule })
			if i < 0 {
				return errf(404, "The requested rule (%s) of policy (%s) was not found.", rule, p.Name)
			}
			if req.method == http.MethodDelete {
				p.Rules = slices.Delete(p.Rules, i, i+1)
				return nil
			}
			if err := icpolicy.DecodeRule(&p.Rules[i], b); err != nil {
				return ruleErr(item, err)
			}
			icpolicy.SortRules(p)
			return nil
		}
	}
	if draft {
		return s.draftOp(req, name, edit, draftEdit, get)
	}
	ref := config.Ref{Kind: config.KindPolicy, Name: name}
	return op{apply: func(t *store.Txn) error {
		return t.Modify(ref, func(o config.Object) error { return edit(o.(*config.Policy)) })
	}, result: get}, nil
}

// policyPost creates a policy or its draft, or publishes a draft.
func (s *Server) policyPost(req *request) (op, error) {
	b, err := parseBody(req.body)
	if err != nil {
		return op{}, err
	}
	if c, ok := b["command"]; ok {
		if w, err := word(c, "publish"); err != nil {
			return op{}, errf(400, "Invalid value for property \"command\" of /ltm/policy: %v", err)
		} else if w == "publish" {
			return s.publish(req, b)
		}
	}
	raw, err := rawName(b)
	if err != nil {
		return op{}, err
	}
	if sp, ok := b["subPath"]; ok {
		w, err := word(sp, "Drafts", "")
		if err != nil {
			return op{}, errf(400, "Invalid value for property \"subPath\" of /ltm/policy: %v (lbx has folders for policy drafts only)", err)
		}
		if w == "Drafts" && strings.HasPrefix(raw, "/") {
			part, base, _ := strings.Cut(raw[1:], "/")
			raw = "/" + part + "/Drafts/" + base
		} else if w == "Drafts" {
			raw = icpolicy.DraftPrefix + raw
		}
	}
	name, draft, err := policyName(raw)
	if err != nil {
		return op{}, errf(400, "Invalid value for property \"name\" %q: %v", raw, err)
	}
	p := config.NewPolicy(name)
	if err := icpolicy.DecodePolicy(p, b); err != nil {
		return op{}, ruleErr("ltm/policy", err)
	}
	if draft {
		return s.draftOp(req, name, func(x *config.Policy) error { *x = *p; return nil }, draftCreate, s.policyView(name, true, []string{""}, req))
	}
	return op{apply: func(t *store.Txn) error { return t.Create(p) }, result: s.policyView(name, false, []string{""}, req)}, nil
}

// draftMode is what draftOp does.
type draftMode uint8

const (
	draftEdit   draftMode = iota // the draft must exist
	draftCreate                  // the draft must not exist
	draftDelete
)

// draftOp changes a draft at once (drafts are not configuration): admin
// only and outside transactions; the result is validated against the
// running configuration before it is kept; get renders the answer.
func (s *Server) draftOp(req *request, name string, edit func(p *config.Policy) error, mode draftMode, get func(v *status.View) (any, error)) (op, error) {
	if !req.who.Admin() {
		return op{}, &config.AccessDeniedError{User: req.who.User, Role: req.who.Role, Need: config.RoleAdmin, Action: req.method + " " + req.path}
	}
	if req.txnID != 0 {
		return op{}, errf(400, "Policy drafts (%s) change outside transactions: publish the draft inside one instead.", icpolicy.DraftPath(name))
	}
	err := s.drafts.Update(name, func(cur *config.Policy) (*config.Policy, error) {
		switch {
		case mode == draftCreate && cur != nil:
			return nil, &config.ExistsError{Ref: config.Ref{Kind: config.KindPolicy, Name: icpolicy.DraftPath(name)}}
		case mode == draftCreate:
			cur = config.NewPolicy(name)
		case cur == nil:
			return nil, notFoundPolicy(name, true)
		case mode == draftDelete:
			return nil, nil
		}
		if err := edit(cur); err != nil {
			return nil, err
		}
		cur.Name, cur.Status = name, "draft"
		return cur, config.ValidatePolicy(s.cfg.Store.Running(), cur, config.Ref{Kind: config.KindPolicy, Name: icpolicy.DraftPath(name)})
	})
	if err != nil {
		return op{}, err
	}
	if get == nil {
		get = func(*status.View) (any, error) { return nil, nil }
	}
	return op{done: true, result: get}, nil
}

// createDraft copies a published policy into its draft.
func (s *Server) createDraft(req *request, name string) (op, error) {
	p := s.cfg.Store.Running().Policies[name]
	if p == nil {
		return op{}, notFoundPolicy(name, false)
	}
	p = p.Clone()
	if _, err := s.draftOp(req, name, func(x *config.Policy) error { *x = *p; return nil }, draftCreate, nil); err != nil {
		return op{}, err
	}
	return op{done: true, result: s.policyView(name, false, []string{""}, req)}, nil
}

// publish makes a draft the published policy (created, or replacing the
// one of its name, which keeps the virtual servers that attach it) and
// deletes the draft once that is applied.
func (s *Server) publish(req *request, b body) (op, error) {
	raw, err := rawName(b)
	if err != nil {
		return op{}, err
	}
	name, draft, err := policyName(raw)
	if err != nil || !draft {
		return op{}, errf(400, "Invalid value for property \"name\" %q of the publish command: want /Common/Drafts/NAME", raw)
	}
	d := s.drafts.Get(name)
	if d == nil {
		return op{}, notFoundPolicy(name, true)
	}
	p := d.Clone()
	p.Status = ""
	return op{
		apply:     func(t *store.Txn) error { return t.Put(p) },
		committed: func() { s.drafts.Delete(name) },
		result:    s.policyView(name, false, []string{""}, req),
	}, nil
}

// policyView renders what segs names of the policy (or its draft): the
// policy, its rules, a rule, or a rule's conditions or actions.
func (s *Server) policyView(name string, draft bool, segs []string, req *request) func(v *status.View) (any, error) {
	return func(v *status.View) (any, error) {
		p := v.Config().Policies[name]
		if draft {
			p = s.drafts.Get(name)
		}
		if p == nil {
			return nil, notFoundPolicy(name, draft)
		}
		id := name
		if draft {
			id = icpolicy.DraftPath(name)
		}
		base := "ltm/policy/" + tilde(id)
		if len(segs) == 1 {
			return icpolicy.Policy(p, draft, expand(req), link), nil
		}
		if len(segs) == 2 {
			return collection(req, base+"/rules", icpolicy.Rules(p, base, link))
		}
		i := slices.IndexFunc(p.Rules, func(r config.PolicyRule) bool { return r.Name == segs[2] })
		if i < 0 {
			return nil, errf(404, "The requested rule (%s) of policy (%s) was not found.", segs[2], id)
		}
		r := icpolicy.Rule(&p.Rules[i], base, link)
		if len(segs) == 3 {
			return r, nil
		}
		ref := r[segs[3]+"Reference"].(map[string]any)
		its, _ := ref["items"].([]map[string]any)
		return collection(req, base+"/rules/"+segs[2]+"/"+segs[3], its)
	}
}

// virtualPoliciesJSON is a virtual's policies subcollection.
func virtualPoliciesJSON(x *config.Virtual) []map[string]any {
	items := []map[string]any{}
	for _, p := range x.Policies {
		items = append(items, envelope("tm:ltm:virtual:policies:policiesstate", "ltm/virtual/"+tilde(x.Name)+"/policies/"+tilde(p), p))
	}
	return items
}
