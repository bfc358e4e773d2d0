package config

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
)

// Policy is an `ltm policy`: BIG-IP's local traffic policy, an ordered
// list of rules, each a set of conditions on an HTTP request (all must
// hold) and the actions taken when they do. Virtual servers attach
// policies (Virtual.Policies); lbx/l7/policy compiles them and evaluates
// them per request. The strategy says which matching rules act.
type Policy struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Strategy    PolicyStrategy `json:"strategy"`
	Requires    []string       `json:"requires"` // "http", "tcp": as written, sorted
	Controls    []string       `json:"controls"` // "forwarding": as written, sorted
	Status      string         `json:"status"`   // "published" (default), "draft" or "legacy", as written; lbx evaluates every policy (REST's drafts, /Common/Drafts/P, are kept apart by ctrlplane/rest until published)
	Rules       []PolicyRule   `json:"rules"`    // sorted by ordinal, then name
	Extras
}

// NewPolicy returns a policy with BIG-IP's defaults.
func NewPolicy(name string) *Policy { return &Policy{Name: name} }

// Ref returns the Ref of a policy.
func (p *Policy) Ref() Ref { return Ref{Kind: KindPolicy, Name: p.Name} }

func (p *Policy) cloneObject() Object { return p.Clone() }

// Clone returns a deep copy.
func (p *Policy) Clone() *Policy {
	x := *p
	x.Requires = slices.Clone(p.Requires)
	x.Controls = slices.Clone(p.Controls)
	x.Rules = make([]PolicyRule, len(p.Rules))
	for i, r := range p.Rules {
		x.Rules[i] = r.Clone()
	}
	if p.Rules == nil {
		x.Rules = nil
	}
	x.Extras = p.Extras.Clone()
	return &x
}

// PolicyStrategy is which matching rules of a policy act.
type PolicyStrategy uint8

const (
	// StrategyFirstMatch (the default): the first matching rule, by
	// ordinal, acts.
	StrategyFirstMatch PolicyStrategy = iota
	// StrategyAllMatch: every matching rule acts, by ordinal; where two
	// choose the request's target (forward, redirect, reset), the first
	// one's choice stands.
	StrategyAllMatch
	// StrategyBestMatch: the most specific matching rule acts: the one
	// with the most conditions, then the longest matched values, then the
	// lowest ordinal.
	StrategyBestMatch
	strategyCount
)

var strategyNames = [strategyCount]string{"/Common/first-match", "/Common/all-match", "/Common/best-match"}

// String is the strategy's full name, as bigip.conf writes it.
func (s PolicyStrategy) String() string {
	if s < strategyCount {
		return strategyNames[s]
	}
	return "strategy-" + strconv.Itoa(int(s))
}

// MarshalText makes it its tmsh word in JSON.
func (s PolicyStrategy) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ParseStrategy reads a strategy's name, full ("/Common/best-match") or
// bare ("best-match").
func ParseStrategy(s string) (PolicyStrategy, bool) {
	if !strings.HasPrefix(s, "/") {
		s = "/" + CommonPartition + "/" + s
	}
	i := slices.Index(strategyNames[:], s)
	return PolicyStrategy(i), i >= 0
}

// StrategyNames lists the strategies' full names.
func StrategyNames() []string { return slices.Clone(strategyNames[:]) }

// PolicyRule is one rule of a policy.
type PolicyRule struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Ordinal     uint32            `json:"ordinal"`
	Conditions  []PolicyCondition `json:"conditions"` // all must hold; none: the rule always matches
	Actions     []PolicyAction    `json:"actions"`    // in order
}

// Clone returns a deep copy.
func (r PolicyRule) Clone() PolicyRule {
	x := r
	x.Conditions = slices.Clone(r.Conditions)
	for i := range x.Conditions {
		x.Conditions[i].Values = slices.Clone(r.Conditions[i].Values)
	}
	x.Actions = slices.Clone(r.Actions)
	return x
}

// Operand is what a condition looks at: BIG-IP's operand names.
type Operand uint8

const (
	OperandHTTPHost Operand = iota + 1
	OperandHTTPURI
	OperandHTTPHeader
	OperandHTTPCookie
	OperandHTTPUserAgent
	OperandHTTPMethod
	OperandTCP
	operandEnd
)

var operandNames = [operandEnd]string{"", "http-host", "http-uri", "http-header", "http-cookie", "http-user-agent", "http-method", "tcp"}

func (o Operand) String() string {
	if o < operandEnd {
		return operandNames[o]
	}
	return "operand-" + strconv.Itoa(int(o))
}

// MarshalText makes it its tmsh word in JSON.
func (o Operand) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// ParseOperand returns the operand of a tmsh word.
func ParseOperand(s string) (Operand, bool) {
	i := slices.Index(operandNames[:], s)
	return Operand(i), i > 0
}

// Selectors lists the selectors an operand takes, the default first.
// http-header and http-cookie also need a name.
func (o Operand) Selectors() []string {
	switch o {
	case OperandHTTPHost:
		return []string{"all", "host", "port"}
	case OperandHTTPURI:
		return []string{"all", "path", "extension", "query-string"}
	case OperandHTTPHeader, OperandHTTPCookie, OperandHTTPMethod:
		return []string{"all"}
	case OperandHTTPUserAgent:
		return []string{"all", "browser-type"}
	case OperandTCP:
		return []string{"address", "port"}
	}
	return nil
}

// NeedsName reports whether the operand takes `name NAME` (a header or a
// cookie).
func (o Operand) NeedsName() bool { return o == OperandHTTPHeader || o == OperandHTTPCookie }

// MatchOp is a condition's comparison.
type MatchOp uint8

const (
	OpEquals MatchOp = iota + 1
	OpStartsWith
	OpEndsWith
	OpContains
	OpMatches // a regular expression (RE2 syntax); for tcp address, within a prefix
	OpExists  // the header or cookie is present
	matchOpEnd
)

var matchOpNames = [matchOpEnd]string{"", "equals", "starts-with", "ends-with", "contains", "matches", "exists"}

func (m MatchOp) String() string {
	if m < matchOpEnd {
		return matchOpNames[m]
	}
	return "op-" + strconv.Itoa(int(m))
}

// MarshalText makes it its tmsh word in JSON.
func (m MatchOp) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// ParseMatchOp returns the comparison of a tmsh word.
func ParseMatchOp(s string) (MatchOp, bool) {
	i := slices.Index(matchOpNames[:], s)
	return MatchOp(i), i > 0
}

// PolicyCondition is one condition of a rule: `http-uri path starts-with
// values { /static }`. Comparisons ignore case unless CaseSensitive, as on
// BIG-IP; a condition holds when any of Values compares true (Not
// inverts the whole).
type PolicyCondition struct {
	Operand       Operand  `json:"operand"`
	Selector      string   `json:"selector"` // one of Operand.Selectors(); "" is the default
	Name          string   `json:"name"`     // the header's or cookie's name
	Op            MatchOp  `json:"op"`
	Not           bool     `json:"not"`
	CaseSensitive bool     `json:"case_sensitive"`
	Values        []string `json:"values"`
}

// EffectiveSelector is the selector, or the operand's default.
func (c *PolicyCondition) EffectiveSelector() string {
	if c.Selector != "" {
		return c.Selector
	}
	if s := c.Operand.Selectors(); len(s) > 0 {
		return s[0]
	}
	return ""
}

// ActionKind is what an action does.
type ActionKind uint8

const (
	ActionForwardPool   ActionKind = iota + 1 // forward select pool P
	ActionForwardMember                       // forward select member ADDR:PORT
	ActionForwardNode                         // forward select node ADDR
	ActionReset                               // forward reset
	ActionRedirect                            // http-reply redirect location URL
	ActionHeaderInsert                        // http-header insert name N value V
	ActionHeaderReplace                       // http-header replace name N value V
	ActionHeaderRemove                        // http-header remove name N
	ActionSetCookie                           // http-set-cookie insert name N value V
	ActionLog                                 // log write message M
	actionEnd
)

var actionNames = [actionEnd]string{"", "forward select pool", "forward select member", "forward select node", "forward reset",
	"http-reply redirect", "http-header insert", "http-header replace", "http-header remove", "http-set-cookie insert", "log write"}

func (k ActionKind) String() string {
	if k < actionEnd {
		return actionNames[k]
	}
	return "action-" + strconv.Itoa(int(k))
}

// MarshalText makes it its tmsh words in JSON.
func (k ActionKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Targets reports whether the action chooses where the request goes
// (forward, reset, redirect): a request has one target.
func (k ActionKind) Targets() bool { return k >= ActionForwardPool && k <= ActionRedirect }

// PolicyAction is one action of a rule. Which fields are used depends on
// Kind.
type PolicyAction struct {
	Kind     ActionKind     `json:"kind"`
	Pool     string         `json:"pool,omitempty"`     // full pool name
	Member   netip.AddrPort `json:"member,omitzero"`    // forward select member
	Node     netip.Addr     `json:"node,omitzero"`      // forward select node
	Location string         `json:"location,omitempty"` // redirect
	Name     string         `json:"name,omitempty"`     // header or cookie name
	Value    string         `json:"value,omitempty"`    // header or cookie value
	Message  string         `json:"message,omitempty"`  // log
}

// PolicyList returns the policies sorted by name.
func (c *Config) PolicyList() []*Policy { return SortedValues(c.Policies) }

// Errors of policy validation, for errors.Is.
var (
	ErrNoSuchPolicy = errors.New("no such policy")
	ErrBadRegexp    = errors.New("not a valid regular expression")
)

// validatePolicies checks each policy's rules: operands, selectors and
// comparisons that go together, values present, regular expressions that
// compile, addresses that parse, pools that exist, and actions complete.
func validatePolicies(c *Config, add func(Ref, string, error)) {
	for _, p := range c.PolicyList() {
		checkPolicy(c, p, p.Ref(), add)
	}
}

// ValidatePolicy checks one policy, which need not be in c (a draft
// kept apart), against c's pools, as an apply would: nil, or errors.Join
// of *ValidationError about obj.
func ValidatePolicy(c *Config, p *Policy, obj Ref) error {
	var errs []error
	checkPolicy(c, p, obj, func(obj Ref, prop string, err error) { errs = append(errs, Invalid(obj, prop, err)) })
	return errors.Join(errs...)
}

func checkPolicy(c *Config, p *Policy, obj Ref, add func(Ref, string, error)) {
	if p.Strategy >= strategyCount {
		add(obj, "strategy", fmt.Errorf("want one of %s", strings.Join(strategyNames[:], ", ")))
	}
	seen := map[string]bool{}
	for _, r := range p.Rules {
		rp := "rules " + r.Name
		if seen[r.Name] {
			add(obj, rp, errors.New("listed twice"))
		}
		seen[r.Name] = true
		for i, cond := range r.Conditions {
			if err := CheckCondition(&cond); err != nil {
				add(obj, rp+" conditions "+strconv.Itoa(i), err)
			}
		}
		targets := 0
		for i, a := range r.Actions {
			ap := rp + " actions " + strconv.Itoa(i)
			if a.Kind.Targets() {
				targets++
			}
			if err := checkAction(c, &a); err != nil {
				add(obj, ap, err)
			}
		}
		if targets > 1 {
			add(obj, rp+" actions", fmt.Errorf("%d actions choose the target (forward, reset, redirect); a rule may have one", targets))
		}
	}
}

// CheckCondition checks one condition on its own; the dialects call it
// where they read one, so the error names the condition's line.
func CheckCondition(c *PolicyCondition) error {
	if c.Operand == 0 || c.Operand >= operandEnd {
		return fmt.Errorf("operand: want one of %s", strings.Join(operandNames[1:], ", "))
	}
	if c.Selector != "" && !slices.Contains(c.Operand.Selectors(), c.Selector) {
		return fmt.Errorf("%s %s: not a selector of %s (want %s)", c.Operand, c.Selector, c.Operand, strings.Join(c.Operand.Selectors(), ", "))
	}
	if c.Operand.NeedsName() && c.Name == "" {
		return fmt.Errorf("%s: name: %w", c.Operand, ErrMissing)
	}
	if c.Operand.NeedsName() && !validToken(c.Name) {
		return fmt.Errorf("%s: name %q: not an HTTP token", c.Operand, c.Name)
	}
	if !c.Operand.NeedsName() && c.Name != "" {
		return fmt.Errorf("%s: name %s: only http-header and http-cookie take a name", c.Operand, c.Name)
	}
	if c.Op == 0 || c.Op >= matchOpEnd {
		return fmt.Errorf("%s: want a comparison (%s)", c.Operand, strings.Join(matchOpNames[1:], ", "))
	}
	if c.Op == OpExists {
		if !c.Operand.NeedsName() {
			return fmt.Errorf("%s exists: only http-header and http-cookie take exists", c.Operand)
		}
		if len(c.Values) > 0 {
			return fmt.Errorf("%s exists: takes no values", c.Operand)
		}
		return nil
	}
	if len(c.Values) == 0 {
		return fmt.Errorf("%s %s: values: %w", c.Operand, c.Op, ErrMissing)
	}
	sel := c.EffectiveSelector()
	for _, v := range c.Values {
		switch {
		case c.Operand == OperandTCP && sel == "address":
			if _, err := ParseAddrPrefix(v); err != nil {
				return fmt.Errorf("tcp address values %s: %w", v, err)
			}
			if c.Op != OpEquals && c.Op != OpMatches {
				return fmt.Errorf("tcp address %s: want equals or matches", c.Op)
			}
		case c.Operand == OperandTCP || c.Operand == OperandHTTPHost && sel == "port":
			if n, err := strconv.ParseUint(v, 10, 16); err != nil || n == 0 {
				return fmt.Errorf("%s port values %q: want a port from 1 to 65535", c.Operand, v)
			}
			if c.Op != OpEquals {
				return fmt.Errorf("%s port %s: want equals", c.Operand, c.Op)
			}
		case c.Op == OpMatches:
			if _, err := regexp.Compile(v); err != nil {
				return fmt.Errorf("%s matches values %q: %w: %v", c.Operand, v, ErrBadRegexp, regexpReason(err))
			}
		}
	}
	return nil
}

// regexpReason is the regexp package's reason without its prefix.
func regexpReason(err error) string {
	var re *syntax.Error
	if errors.As(err, &re) {
		return re.Code.String()
	}
	return err.Error()
}

// ParseAddrPrefix reads an address (a host prefix) or ADDRESS/PREFIX.
func ParseAddrPrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, errors.New("want ADDRESS or ADDRESS/PREFIX")
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, errors.New("want ADDRESS or ADDRESS/PREFIX")
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func checkAction(c *Config, a *PolicyAction) error {
	switch a.Kind {
	case ActionForwardPool:
		if a.Pool == "" {
			return fmt.Errorf("forward select pool: %w", ErrMissing)
		}
		if c.Pools[a.Pool] == nil {
			return fmt.Errorf("forward select pool %s: %w", a.Pool, ErrNoSuchPool)
		}
	case ActionForwardMember:
		if !a.Member.Addr().IsValid() || a.Member.Port() == 0 {
			return fmt.Errorf("forward select member: want ADDRESS:PORT")
		}
	case ActionForwardNode:
		if !a.Node.IsValid() {
			return fmt.Errorf("forward select node: want an address")
		}
	case ActionReset:
	case ActionRedirect:
		if a.Location == "" {
			return fmt.Errorf("http-reply redirect location: %w", ErrMissing)
		}
		if strings.ContainsAny(a.Location, "\r\n\x00") {
			return fmt.Errorf("http-reply redirect location: holds a line break or NUL")
		}
	case ActionHeaderInsert, ActionHeaderReplace, ActionSetCookie:
		if a.Name == "" {
			return fmt.Errorf("%s name: %w", a.Kind, ErrMissing)
		}
		if !validToken(a.Name) {
			return fmt.Errorf("%s name %q: not an HTTP token", a.Kind, a.Name)
		}
		if strings.ContainsAny(a.Value, "\r\n\x00") {
			return fmt.Errorf("%s value: holds a line break or NUL", a.Kind)
		}
	case ActionHeaderRemove:
		if a.Name == "" {
			return fmt.Errorf("%s name: %w", a.Kind, ErrMissing)
		}
	case ActionLog:
		if a.Message == "" {
			return fmt.Errorf("log write message: %w", ErrMissing)
		}
	default:
		return fmt.Errorf("action: want one of %s", strings.Join(actionNames[1:], ", "))
	}
	return nil
}

// validToken reports whether s is an HTTP token (RFC 9110 tchar).
func validToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return false
		}
	}
	return s != ""
}

// validateVirtualPolicies checks a virtual's policies exist.
func validateVirtualPolicies(c *Config, v *Virtual, add func(Ref, string, error)) {
	obj := Ref{Kind: KindVirtual, Name: v.Name}
	for _, name := range v.Policies {
		if c.Policies[name] == nil {
			add(obj, "policies "+name, ErrNoSuchPolicy)
		}
	}
}

// UsesPool reports whether a rule of the policy forwards to pool name.
func (p *Policy) UsesPool(name string) bool {
	for _, r := range p.Rules {
		for _, a := range r.Actions {
			if a.Kind == ActionForwardPool && a.Pool == name {
				return true
			}
		}
	}
	return false
}
