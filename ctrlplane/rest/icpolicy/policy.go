package icpolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"lbx/ctrlplane/config"
)

// DraftPrefix is the folder policy drafts live in on BIG-IP.
const DraftPrefix = "/" + config.CommonPartition + "/Drafts/"

// DraftPath is a draft's full path: /Common/P → /Common/Drafts/P.
func DraftPath(name string) string { return DraftPrefix + config.BaseName(name) }

// Name reads a policy's id or full path (~Common~P, Common~P, P,
// ~Common~Drafts~P, /Common/Drafts/P): its published name and whether it
// names the draft.
func Name(s string) (string, bool, error) {
	path := strings.ReplaceAll(s, "~", "/")
	if strings.HasPrefix(path, config.CommonPartition+"/") {
		path = "/" + path // go-bigip's Common~P
	}
	draft := strings.HasPrefix(path, DraftPrefix)
	n, err := config.FullName(strings.TrimPrefix(path, DraftPrefix))
	return n, draft, err
}

// Drafts are policy drafts by their published policy's name: the
// working copies BIG-IP's publish flow edits, kept apart from the
// configuration. Safe for concurrent use; the zero value is empty.
type Drafts struct {
	mu sync.Mutex
	m  map[string]*config.Policy
}

// Get returns a copy of the draft of name, or nil.
func (d *Drafts) Get(name string) *config.Policy {
	d.mu.Lock()
	defer d.mu.Unlock()
	if p := d.m[name]; p != nil {
		return p.Clone()
	}
	return nil
}

// List returns copies of the drafts by name.
func (d *Drafts) List() []*config.Policy {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*config.Policy, 0, len(d.m))
	for _, p := range d.m {
		out = append(out, p.Clone())
	}
	slices.SortFunc(out, func(a, b *config.Policy) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Update runs f on the draft of name (nil when there is none) under the
// table's lock; f returns the draft to keep (nil deletes it).
func (d *Drafts) Update(name string, f func(cur *config.Policy) (*config.Policy, error)) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var cur *config.Policy
	if p := d.m[name]; p != nil {
		cur = p.Clone()
	}
	next, err := f(cur)
	if err != nil {
		return err
	}
	if next == nil {
		delete(d.m, name)
		return nil
	}
	if d.m == nil {
		d.m = map[string]*config.Policy{}
	}
	d.m[name] = next
	return nil
}

// Delete drops the draft of name.
func (d *Drafts) Delete(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.m, name)
}

// Policy renders p (draft: as its draft) in BIG-IP's shape; exp puts the
// rules inline.
func Policy(p *config.Policy, draft, exp bool, link func(string) string) map[string]any {
	full := p.Name
	if draft {
		full = DraftPath(p.Name)
	}
	path := "ltm/policy/" + strings.ReplaceAll(full, "/", "~")
	st := p.Status
	if st == "" {
		st = "published"
	}
	o := map[string]any{"kind": "tm:ltm:policy:policystate", "name": config.BaseName(full), "partition": config.CommonPartition,
		"fullPath": full, "generation": 1, "selfLink": link(path), "description": p.Description, "strategy": p.Strategy.String(),
		"requires": nonNil(p.Requires), "controls": nonNil(p.Controls), "status": st}
	if draft {
		o["status"], o["subPath"] = "draft", "Drafts"
	}
	r := map[string]any{"link": link(path + "/rules"), "isSubcollection": true}
	if exp {
		r["items"] = Rules(p, path, link)
	}
	o["rulesReference"] = r
	return o
}

// policyReadOnly are a policy's properties a client sends back unchanged.
var policyReadOnly = []string{"name", "partition", "fullPath", "kind", "generation", "selfLink",
	"status", "subPath", "strategyReference", "lastModified", "references", "publishedCopy"}

func words(v json.RawMessage, allowed ...string) ([]string, error) {
	var l []string
	if t := string(bytes.TrimSpace(v)); t != "null" && t != `""` {
		if err := json.Unmarshal(v, &l); err != nil {
			return nil, errors.New("want a list of strings")
		}
	}
	for _, w := range l {
		if !slices.Contains(allowed, w) {
			return nil, fmt.Errorf("%q: want %s", w, strings.Join(allowed, ", "))
		}
	}
	slices.Sort(l)
	return slices.Compact(l), nil
}

// DecodePolicy sets the properties of b on p: description, strategy,
// requires, controls, legacy (false only) and rules (or rulesReference
// with items), which replaces every rule. It fails with a *FieldError.
func DecodePolicy(p *config.Policy, b Object) error {
	for _, k := range sortedKeys(b) {
		v := b[k]
		var err error
		switch k {
		case "description":
			p.Description, err = str(v)
			if string(bytes.TrimSpace(v)) == "null" {
				p.Description, err = "", nil
			}
		case "strategy":
			var s string
			if s, err = str(v); err == nil {
				var ok bool
				if p.Strategy, ok = config.ParseStrategy(s); !ok {
					err = fmt.Errorf("%q: want %s", s, strings.Join(config.StrategyNames(), ", "))
				}
			}
		case "requires":
			p.Requires, err = words(v, "http", "tcp", "client-ssl", "server-ssl", "ssl-persistence")
		case "controls":
			p.Controls, err = words(v, "forwarding", "caching", "compression", "classification", "request-adaptation",
				"response-adaptation", "server-ssl", "persistence", "acceleration")
		case "legacy":
			if on, ferr := flag(v); ferr != nil || on {
				err = fmt.Errorf("%s: %w (lbx's policies are not legacy ones)", v, config.ErrNotSupportedYet)
			}
		case "rules", "rulesReference":
			err = setRules(p, v)
		default:
			if !slices.Contains(policyReadOnly, k) {
				return &FieldError{Field: k, Err: ErrUnexpected}
			}
		}
		if err != nil {
			return &FieldError{Field: k, Err: err}
		}
	}
	return nil
}

// setRules replaces every rule with the list (or {"items": […]}) given.
func setRules(p *config.Policy, v json.RawMessage) error {
	objs, err := list(v)
	if err != nil {
		return err
	}
	p.Rules = nil
	for i, o := range objs {
		if err := AddRule(p, o); err != nil {
			return fmt.Errorf("%d: %w", i, err)
		}
	}
	return nil
}

// AddRule adds the rule of a POST body to p (its ordinal after the last
// when not given), in ordinal order.
func AddRule(p *config.Policy, b Object) error {
	var name string
	var err error
	if b["name"] == nil {
		err = errors.New("the property is required")
	} else if name, err = str(b["name"]); err == nil {
		err = config.CheckBaseName(name)
	}
	if err != nil {
		return &FieldError{Field: "name", Err: err}
	}
	if slices.ContainsFunc(p.Rules, func(r config.PolicyRule) bool { return r.Name == name }) {
		return &config.ExistsError{Ref: config.Ref{Kind: config.KindPolicy, Name: p.Name + " rules " + name}}
	}
	r := config.PolicyRule{Name: name}
	for _, x := range p.Rules {
		r.Ordinal = max(r.Ordinal, x.Ordinal+1)
	}
	if err := DecodeRule(&r, b); err != nil {
		return err
	}
	p.Rules = append(p.Rules, r)
	SortRules(p)
	return nil
}

// SortRules orders p's rules by ordinal, then name, as tmsh keeps them.
func SortRules(p *config.Policy) {
	slices.SortStableFunc(p.Rules, func(a, b config.PolicyRule) int {
		if a.Ordinal != b.Ordinal {
			return int(int64(a.Ordinal) - int64(b.Ordinal))
		}
		return strings.Compare(a.Name, b.Name)
	})
}
