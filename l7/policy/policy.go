package policy

import (
	"fmt"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"lbx/ctrlplane/config"
)

// Compiled is the policies of one virtual server, ready to evaluate.
type Compiled struct {
	policies []compiledPolicy
	headers  []string // canonical names of the headers the conditions read
}

// HeaderNames returns the canonical names of the request headers the
// conditions read (http-header names, User-Agent, Cookie): a Request
// built from another parser than net/http's needs only those in Header.
func (c *Compiled) HeaderNames() []string {
	if c == nil {
		return nil
	}
	return c.headers
}

func (c *Compiled) needHeader(name string) {
	for _, n := range c.headers {
		if n == name {
			return
		}
	}
	c.headers = append(c.headers, name)
}

type compiledPolicy struct {
	name     string
	strategy config.PolicyStrategy
	rules    []compiledRule
}

type compiledRule struct {
	name    string
	conds   []compiledCond
	actions []Action
}

type compiledCond struct {
	operand  config.Operand
	selector string
	name     string // canonical header name, or cookie name
	op       config.MatchOp
	not      bool
	fold     bool // compare ignoring case
	values   []string
	res      []*regexp.Regexp
	prefixes []netip.Prefix
}

// Forward is where a forward action sends the request: a pool, a member
// of it (Pool empty: any member with that address and port), or a node.
type Forward struct {
	Pool   string
	Member netip.AddrPort
	Node   netip.Addr
}

// Reply is an HTTP reply the appliance gives itself: a redirect.
type Reply struct {
	Code     int
	Location string
}

// Action is one action that fired. Kind says which fields are set.
type Action struct {
	Kind    config.ActionKind
	Forward Forward // ActionForwardPool, ActionForwardMember, ActionForwardNode
	Reply   Reply   // ActionRedirect
	Name    string  // header or cookie name (ApplyHeaders, SetCookies)
	Value   string  // header or cookie value
	Message string  // ActionLog
}

// RuleRef names a rule that matched.
type RuleRef struct {
	Policy, Rule string
}

// Decision is the outcome of evaluating a request: the actions to take, in
// order, and the rules that matched. At most one action chooses the
// target (forward, redirect or reset); none means the virtual's default
// pool.
type Decision struct {
	Actions []Action
	Matched []RuleRef
}

// Target returns the action that chooses where the request goes, if one
// fired.
func (d *Decision) Target() (Action, bool) {
	for _, a := range d.Actions {
		if a.Kind.Targets() {
			return a, true
		}
	}
	return Action{}, false
}

// Compile builds the evaluator of the named policies of c, in the order
// given (a virtual's Policies). c must have passed config.Validate; an
// error here names the policy, rule and condition.
func Compile(c *config.Config, names []string) (*Compiled, error) {
	out := &Compiled{}
	for _, name := range names {
		p := c.Policies[name]
		if p == nil {
			return nil, fmt.Errorf("ltm policy %s: %w", name, config.ErrNoSuchPolicy)
		}
		cp := compiledPolicy{name: p.Name, strategy: p.Strategy}
		for _, r := range p.Rules {
			cr := compiledRule{name: r.Name}
			for i := range r.Conditions {
				cc, err := compileCond(&r.Conditions[i])
				if err != nil {
					return nil, fmt.Errorf("ltm policy %s: rules %s conditions %d: %w", p.Name, r.Name, i, err)
				}
				cr.conds = append(cr.conds, cc)
				switch cc.operand {
				case config.OperandHTTPHeader:
					out.needHeader(cc.name)
				case config.OperandHTTPCookie:
					out.needHeader("Cookie")
				case config.OperandHTTPUserAgent:
					out.needHeader("User-Agent")
				}
			}
			for _, a := range r.Actions {
				cr.actions = append(cr.actions, compileAction(a))
			}
			cp.rules = append(cp.rules, cr)
		}
		out.policies = append(out.policies, cp)
	}
	return out, nil
}

func compileCond(c *config.PolicyCondition) (compiledCond, error) {
	if err := config.CheckCondition(c); err != nil {
		return compiledCond{}, err
	}
	cc := compiledCond{operand: c.Operand, selector: c.EffectiveSelector(), op: c.Op, not: c.Not, fold: !c.CaseSensitive, name: c.Name}
	if c.Operand == config.OperandHTTPHeader {
		cc.name = http.CanonicalHeaderKey(c.Name)
	}
	switch {
	case c.Operand == config.OperandTCP:
		for _, v := range c.Values {
			p, err := config.ParseAddrPrefix(v)
			if err != nil {
				return cc, err
			}
			cc.prefixes = append(cc.prefixes, p)
		}
	case c.Op == config.OpMatches:
		for _, v := range c.Values {
			expr := v
			if cc.fold {
				expr = "(?i)" + v
			}
			re, err := regexp.Compile(expr)
			if err != nil {
				return cc, fmt.Errorf("values %q: %w", v, err)
			}
			cc.res = append(cc.res, re)
		}
	default:
		cc.values = append(cc.values, c.Values...)
	}
	return cc, nil
}

func compileAction(a config.PolicyAction) Action {
	out := Action{Kind: a.Kind, Name: a.Name, Value: a.Value, Message: a.Message}
	switch a.Kind {
	case config.ActionForwardPool:
		out.Forward.Pool = a.Pool
	case config.ActionForwardMember:
		out.Forward.Member = a.Member
	case config.ActionForwardNode:
		out.Forward.Node = a.Node
	case config.ActionRedirect:
		out.Reply = Reply{Code: http.StatusFound, Location: a.Location}
	}
	return out
}

// Evaluate runs the policies on req.
func (c *Compiled) Evaluate(req *Request) Decision {
	var d Decision
	c.EvaluateInto(req, &d)
	return d
}

// EvaluateInto runs the policies on req into d, reusing its slices.
func (c *Compiled) EvaluateInto(req *Request, d *Decision) {
	d.Actions, d.Matched = d.Actions[:0], d.Matched[:0]
	if c == nil {
		return
	}
	targeted := false
	take := func(p *compiledPolicy, r *compiledRule) {
		d.Matched = append(d.Matched, RuleRef{Policy: p.name, Rule: r.name})
		for _, a := range r.actions {
			if a.Kind.Targets() {
				if targeted {
					continue
				}
				targeted = true
			}
			d.Actions = append(d.Actions, a)
		}
	}
	for i := range c.policies {
		p := &c.policies[i]
		switch p.strategy {
		case config.StrategyAllMatch:
			for j := range p.rules {
				if ok, _ := p.rules[j].match(req); ok {
					take(p, &p.rules[j])
				}
			}
		case config.StrategyBestMatch:
			best, bestConds, bestLen := -1, 0, 0
			for j := range p.rules {
				ok, n := p.rules[j].match(req)
				if !ok {
					continue
				}
				nc := len(p.rules[j].conds)
				if best < 0 || nc > bestConds || nc == bestConds && n > bestLen {
					best, bestConds, bestLen = j, nc, n
				}
			}
			if best >= 0 {
				take(p, &p.rules[best])
			}
		default:
			for j := range p.rules {
				if ok, _ := p.rules[j].match(req); ok {
					take(p, &p.rules[j])
					break
				}
			}
		}
	}
}

// match reports whether every condition holds, and the total length of
// the values they matched (best-match's measure of specificity).
func (r *compiledRule) match(req *Request) (bool, int) {
	total := 0
	for i := range r.conds {
		ok, n := r.conds[i].eval(req)
		if !ok {
			return false, 0
		}
		total += n
	}
	return true, total
}

// eval reports whether the condition holds and the length of the value
// that matched (0 for regular expressions, exists and negations).
func (c *compiledCond) eval(req *Request) (bool, int) {
	ok, n := c.test(req)
	if c.not {
		return !ok, 0
	}
	return ok, n
}

func (c *compiledCond) test(req *Request) (bool, int) {
	var subject string
	switch c.operand {
	case config.OperandTCP:
		a := req.Client.Addr().Unmap()
		for _, p := range c.prefixes {
			if p.Contains(a) {
				return true, p.Bits()
			}
		}
		return false, 0
	case config.OperandHTTPHost:
		switch c.selector {
		case "host":
			subject = req.HostName()
		case "port":
			subject = req.HostPort()
			if subject == "" {
				subject = "80"
			}
		default:
			subject = req.Host
		}
	case config.OperandHTTPURI:
		switch c.selector {
		case "path":
			subject = req.Path
		case "extension":
			subject = req.Extension()
		case "query-string":
			subject = req.Query
		default:
			subject = req.URI
		}
	case config.OperandHTTPHeader:
		v, ok := req.Header[c.name]
		if c.op == config.OpExists {
			return ok, 0
		}
		if !ok || len(v) == 0 {
			return false, 0
		}
		subject = v[0]
	case config.OperandHTTPCookie:
		v, ok := req.Cookie(c.name)
		if c.op == config.OpExists {
			return ok, 0
		}
		if !ok {
			return false, 0
		}
		subject = v
	case config.OperandHTTPUserAgent:
		subject = req.UserAgent()
		if c.selector == "browser-type" {
			subject = BrowserType(subject)
		}
	case config.OperandHTTPMethod:
		subject = req.Method
	}
	if c.op == config.OpMatches {
		for _, re := range c.res {
			if re.MatchString(subject) {
				return true, 0
			}
		}
		return false, 0
	}
	for _, v := range c.values {
		if compare(c.op, subject, v, c.fold) {
			return true, len(v)
		}
	}
	return false, 0
}

// compare applies op to subject and v, ignoring case when fold.
func compare(op config.MatchOp, subject, v string, fold bool) bool {
	eq := func(a, b string) bool {
		if fold {
			return strings.EqualFold(a, b)
		}
		return a == b
	}
	switch op {
	case config.OpEquals:
		return eq(subject, v)
	case config.OpStartsWith:
		return len(subject) >= len(v) && eq(subject[:len(v)], v)
	case config.OpEndsWith:
		return len(subject) >= len(v) && eq(subject[len(subject)-len(v):], v)
	case config.OpContains:
		if !fold {
			return strings.Contains(subject, v)
		}
		for i := 0; i+len(v) <= len(subject); i++ {
			if strings.EqualFold(subject[i:i+len(v)], v) {
				return true
			}
		}
	}
	return false
}

// String describes the compiled policies, for logs.
func (c *Compiled) String() string {
	var b strings.Builder
	for i, p := range c.policies {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.name + " (" + p.strategy.String() + ", " + strconv.Itoa(len(p.rules)) + " rules)")
	}
	return b.String()
}

// ApplyHeaders carries out the decision's header actions on the request's
// headers h, in order: insert adds a value, replace sets the header's only
// value (adding it when absent, as BIG-IP does), remove deletes it. Go's
// net/http keeps the Host header in Request.Host, not in Header: a proxy
// built on it moves h's Host there.
func (d *Decision) ApplyHeaders(h http.Header) {
	for _, a := range d.Actions {
		switch a.Kind {
		case config.ActionHeaderInsert:
			h.Add(a.Name, a.Value)
		case config.ActionHeaderReplace:
			h.Set(a.Name, a.Value)
		case config.ActionHeaderRemove:
			h.Del(a.Name)
		}
	}
}

// SetCookies are the cookies the decision sets on the client: the proxy
// adds each as a Set-Cookie header of the response.
func (d *Decision) SetCookies() []*http.Cookie {
	var out []*http.Cookie
	for _, a := range d.Actions {
		if a.Kind == config.ActionSetCookie {
			out = append(out, &http.Cookie{Name: a.Name, Value: a.Value, Path: "/"})
		}
	}
	return out
}
