package icpolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"lbx/ctrlplane/config"
)

// Object is one JSON object of a request, its properties undecoded.
type Object = map[string]json.RawMessage

// FieldError is a property of a rule that is wrong: Field is its name
// ("conditions", "actions", "ordinal"), Err says what and where in it.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// ErrUnexpected is a property lbx does not know, refused as BIG-IP does.
var ErrUnexpected = errors.New("unexpected property")

// Camel turns tmsh words into REST's names: http-uri is httpUri.
func Camel(word string) string {
	parts := strings.Split(word, "-")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// kebab turns a REST name into its tmsh word: httpUri is http-uri.
func kebab(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'A' && c <= 'Z' {
			b.WriteByte('-')
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Rules renders p's rules in BIG-IP's shape; base is the policy's path
// under /mgmt/tm (ltm/policy/~Common~P) and link makes a selfLink of a
// path.
func Rules(p *config.Policy, base string, link func(string) string) []map[string]any {
	items := []map[string]any{}
	for i := range p.Rules {
		items = append(items, Rule(&p.Rules[i], base, link))
	}
	return items
}

// Rule renders one rule with its conditions and actions inline.
func Rule(r *config.PolicyRule, base string, link func(string) string) map[string]any {
	self := base + "/rules/" + r.Name
	o := map[string]any{"kind": "tm:ltm:policy:rules:rulesstate", "name": r.Name, "fullPath": r.Name,
		"generation": 1, "selfLink": link(self), "ordinal": r.Ordinal, "description": r.Description}
	conds := []map[string]any{}
	for i, c := range r.Conditions {
		m := map[string]any{"name": strconv.Itoa(i), Camel(c.Operand.String()): true, Camel(c.EffectiveSelector()): true,
			Camel(c.Op.String()): true, "request": true, "caseInsensitive": !c.CaseSensitive, "caseSensitive": c.CaseSensitive,
			"not": c.Not, "values": nonNil(c.Values)}
		if c.Name != "" {
			m["tmName"] = c.Name
		}
		conds = append(conds, m)
	}
	acts := []map[string]any{}
	for i, a := range r.Actions {
		m := map[string]any{"name": strconv.Itoa(i), "request": true}
		for _, w := range strings.Fields(a.Kind.String()) {
			m[Camel(w)] = true
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
		case config.ActionHeaderInsert, config.ActionHeaderReplace:
			m["tmName"], m["value"] = a.Name, a.Value
		case config.ActionSetCookie:
			m["tmName"], m["value"] = a.Name, a.Value
			delete(m, "request")
			m["response"] = true
		case config.ActionHeaderRemove:
			m["tmName"] = a.Name
		case config.ActionLog:
			m["message"] = a.Message
		}
		acts = append(acts, m)
	}
	// As BIG-IP, an empty subcollection has no items: Ansible's
	// bigip_policy_rule reads that as all_traffic (no conditions).
	o["conditionsReference"] = subcollection(link(self+"/conditions"), conds)
	o["actionsReference"] = subcollection(link(self+"/actions"), acts)
	return o
}

func subcollection(link string, items []map[string]any) map[string]any {
	m := map[string]any{"link": link, "isSubcollection": true}
	if len(items) > 0 {
		m["items"] = items
	}
	return m
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// readOnly are the envelope's properties a client sends back unchanged
// (and Ansible's "type", which its http_header condition leaves in).
var readOnly = []string{"kind", "generation", "selfLink", "fullPath", "name", "partition", "type", "poolReference", "index"}

// sortedKeys is m's keys in order, so the first error is always the same.
func sortedKeys(m Object) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func str(v json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", errors.New("want a string")
	}
	return s, nil
}

// flag reads a true/false flag (or "true"/"false").
func flag(v json.RawMessage) (bool, error) {
	switch strings.Trim(string(bytes.TrimSpace(v)), `"`) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errors.New("want true or false")
}

// events are the event flags BIG-IP has; lbx's conditions and actions run
// on the request only (set-cookie on its response).
var events = []string{"request", "response", "client-accepted", "proxy-connect", "proxy-request", "proxy-response",
	"server-connected", "ssl-client-hello", "ssl-client-serverhello-send", "ssl-server-handshake", "ssl-server-hello", "ws-request", "ws-response"}

// DecodeCondition reads one condition object.
func DecodeCondition(m Object) (config.PolicyCondition, error) {
	var c config.PolicyCondition
	var selectors, ops []string
	for _, k := range sortedKeys(m) {
		v := m[k]
		var err error
		switch k {
		case "values":
			if string(bytes.TrimSpace(v)) != "null" {
				if err := json.Unmarshal(v, &c.Values); err != nil {
					return c, fmt.Errorf("values: want a list of strings")
				}
			}
			continue
		case "tmName":
			if c.Name, err = str(v); err != nil {
				return c, fmt.Errorf("tmName: %w", err)
			}
			continue
		case "caseInsensitive":
			continue // the default; caseSensitive says otherwise
		}
		if slices.Contains(readOnly, k) {
			continue
		}
		on, err := flag(v)
		if err != nil {
			return c, fmt.Errorf("%s: %w", k, err)
		}
		word := kebab(k)
		switch {
		case word == "not":
			c.Not = on
		case word == "case-sensitive":
			c.CaseSensitive = on
		case !on:
		case word == "request":
		case slices.Contains(events, word):
			return c, fmt.Errorf("%s: %w (lbx's conditions look at the request)", k, config.ErrNotSupportedYet)
		default:
			if o, ok := config.ParseOperand(word); ok {
				if c.Operand != 0 {
					return c, fmt.Errorf("%s: a condition has one operand (it has %s)", k, Camel(c.Operand.String()))
				}
				c.Operand = o
			} else if op, ok := config.ParseMatchOp(word); ok {
				ops = append(ops, k)
				c.Op = op
			} else if isSelector(word) {
				selectors = append(selectors, k)
				c.Selector = word
			} else {
				return c, fmt.Errorf("%q: %w of a condition", k, ErrUnexpected)
			}
		}
	}
	if c.Operand == 0 {
		return c, fmt.Errorf("no operand (want one of httpHost, httpUri, httpHeader, httpCookie, httpUserAgent, httpMethod, tcp set to true)")
	}
	if len(ops) > 1 {
		return c, fmt.Errorf("%s: a condition has one comparison", strings.Join(ops, ", "))
	}
	if len(selectors) > 1 {
		return c, fmt.Errorf("%s: a condition has one selector", strings.Join(selectors, ", "))
	}
	if sels := c.Operand.Selectors(); c.Selector != "" && len(sels) > 0 && c.Selector == sels[0] {
		c.Selector = ""
	}
	if err := config.CheckCondition(&c); err != nil {
		return c, err
	}
	return c, nil
}

// isSelector reports whether word is a selector of some operand.
func isSelector(word string) bool {
	for o := config.OperandHTTPHost; o <= config.OperandTCP; o++ {
		if slices.Contains(o.Selectors(), word) {
			return true
		}
	}
	return false
}

// actionValues are an action's string properties.
var actionValues = []string{"pool", "member", "node", "location", "tmName", "value", "message"}

// DecodeAction reads one action object: forward (select) pool|member|node,
// forward reset (or shutdown connection), (httpReply) redirect location,
// httpHeader insert|replace|remove, httpSetCookie insert, log (write).
func DecodeAction(m Object) (config.PolicyAction, error) {
	var a config.PolicyAction
	vals := map[string]string{}
	var words []string
	response := false
	for _, k := range sortedKeys(m) {
		v := m[k]
		if slices.Contains(actionValues, k) {
			s, err := str(v)
			if err != nil {
				return a, fmt.Errorf("%s: %w", k, err)
			}
			if s != "" {
				vals[k] = s
			}
			continue
		}
		if slices.Contains(readOnly, k) {
			continue
		}
		on, err := flag(v)
		if err != nil {
			return a, fmt.Errorf("%s: %w", k, err)
		}
		word := kebab(k)
		switch {
		case !on, word == "request", word == "select", word == "write", word == "http-reply":
		case word == "response":
			response = true
		case slices.Contains(events, word):
			return a, fmt.Errorf("%s: %w (lbx's actions run on the request)", k, config.ErrNotSupportedYet)
		case slices.Contains([]string{"forward", "reset", "shutdown", "connection", "redirect", "http-header",
			"insert", "replace", "remove", "http-set-cookie", "log"}, word):
			words = append(words, word)
		default:
			return a, fmt.Errorf("%q: %w of an action", k, ErrUnexpected)
		}
	}
	has := func(ws ...string) bool {
		for _, w := range ws {
			if !slices.Contains(words, w) {
				return false
			}
		}
		return len(words) == len(ws)
	}
	need := func(keys ...string) error {
		for k := range vals {
			if !slices.Contains(keys, k) {
				return fmt.Errorf("%s: does not apply to %s", k, strings.Join(words, " "))
			}
		}
		for _, k := range keys {
			if vals[k] == "" {
				return fmt.Errorf("%s: %w", k, config.ErrMissing)
			}
		}
		return nil
	}
	var err error
	switch {
	case has("forward") && len(vals) == 1 && vals["pool"] != "":
		a.Kind = config.ActionForwardPool
		if a.Pool, err = config.FullName(vals["pool"]); err != nil {
			return a, fmt.Errorf("pool %q: %w", vals["pool"], err)
		}
	case has("forward") && len(vals) == 1 && vals["member"] != "":
		a.Kind = config.ActionForwardMember
		if a.Member, err = netip.ParseAddrPort(baseName(vals["member"])); err != nil {
			return a, fmt.Errorf("member %q: want ADDRESS:PORT", vals["member"])
		}
	case has("forward") && len(vals) == 1 && vals["node"] != "":
		a.Kind = config.ActionForwardNode
		if a.Node, err = netip.ParseAddr(baseName(vals["node"])); err != nil {
			return a, fmt.Errorf("node %q: want an address", vals["node"])
		}
	case has("forward"):
		return a, errors.New("forward: want one of pool, member or node")
	case has("forward", "reset"), has("shutdown", "connection"), has("reset"):
		a.Kind, err = config.ActionReset, need()
	case has("redirect"):
		a.Kind, err = config.ActionRedirect, need("location")
	case has("http-header", "insert"), has("http-header", "replace"):
		a.Kind = config.ActionHeaderInsert
		if slices.Contains(words, "replace") {
			a.Kind = config.ActionHeaderReplace
		}
		err = need("tmName", "value")
	case has("http-header", "remove"):
		a.Kind, err = config.ActionHeaderRemove, need("tmName")
	case has("http-set-cookie", "insert"):
		a.Kind, err = config.ActionSetCookie, need("tmName", "value")
	case has("log"):
		a.Kind, err = config.ActionLog, need("message")
	default:
		return a, fmt.Errorf("actions %q: want forward (select) pool|member|node, forward reset, shutdown connection, httpReply redirect, httpHeader insert|replace|remove, httpSetCookie insert or log write", strings.Join(words, " "))
	}
	if err != nil {
		return a, err
	}
	if response && a.Kind != config.ActionSetCookie {
		return a, fmt.Errorf("response: %w (lbx's %s runs on the request)", config.ErrNotSupportedYet, a.Kind)
	}
	a.Location, a.Name, a.Value, a.Message = vals["location"], vals["tmName"], vals["value"], vals["message"]
	return a, nil
}

func baseName(s string) string {
	if strings.HasPrefix(s, "/") {
		return config.BaseName(s)
	}
	return s
}

// list reads a list of objects given inline ([…]) or as a subcollection
// reference ({"items": […]}).
func list(v json.RawMessage) ([]Object, error) {
	if t := bytes.TrimSpace(v); string(t) == "null" {
		return nil, nil
	} else if len(t) > 0 && t[0] == '{' {
		var ref struct {
			Items []Object `json:"items"`
		}
		if err := json.Unmarshal(t, &ref); err != nil {
			return nil, errors.New(`want a list of objects or {"items": [...]}`)
		}
		return ref.Items, nil
	}
	var out []Object
	if err := json.Unmarshal(v, &out); err != nil {
		return nil, errors.New("want a list of objects")
	}
	return out, nil
}

// ruleField reads the properties of a rule a client may set; the
// envelope's are ignored (the caller reads the name).
var ruleFields = map[string]func(r *config.PolicyRule, v json.RawMessage) error{
	"ordinal": func(r *config.PolicyRule, v json.RawMessage) error {
		n, err := strconv.ParseUint(strings.Trim(string(bytes.TrimSpace(v)), `"`), 10, 32)
		if err != nil {
			return fmt.Errorf("%s: want a whole number 0-4294967295", v)
		}
		r.Ordinal = uint32(n)
		return nil
	},
	"description": func(r *config.PolicyRule, v json.RawMessage) (err error) {
		if string(bytes.TrimSpace(v)) == "null" {
			r.Description = ""
			return nil
		}
		r.Description, err = str(v)
		return err
	},
	"conditions": func(r *config.PolicyRule, v json.RawMessage) error {
		objs, err := list(v)
		if err != nil {
			return err
		}
		conds := make([]config.PolicyCondition, 0, len(objs))
		for i, o := range objs {
			c, err := DecodeCondition(o)
			if err != nil {
				return fmt.Errorf("%d: %w", i, err)
			}
			conds = append(conds, c)
		}
		r.Conditions = conds
		return nil
	},
	"actions": func(r *config.PolicyRule, v json.RawMessage) error {
		objs, err := list(v)
		if err != nil {
			return err
		}
		acts := make([]config.PolicyAction, 0, len(objs))
		for i, o := range objs {
			a, err := DecodeAction(o)
			if err != nil {
				return fmt.Errorf("%d: %w", i, err)
			}
			acts = append(acts, a)
		}
		r.Actions = acts
		return nil
	},
}

// DecodeRule sets the properties of b on r: ordinal, description,
// conditions and actions (a list, or the read-back's conditionsReference
// and actionsReference with their items), each replaced whole when given.
// A property it does not know is a *FieldError wrapping ErrUnexpected.
func DecodeRule(r *config.PolicyRule, b Object) error {
	for _, k := range sortedKeys(b) {
		field := strings.TrimSuffix(k, "Reference")
		set := ruleFields[field]
		if set == nil || field != k && field != "conditions" && field != "actions" {
			if slices.Contains(readOnly, k) {
				continue
			}
			return &FieldError{Field: k, Err: ErrUnexpected}
		}
		if err := set(r, b[k]); err != nil {
			return &FieldError{Field: k, Err: err}
		}
	}
	return nil
}
