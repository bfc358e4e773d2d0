package conf

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"lbx/ctrlplane/config"
)

// The `ltm policy` stanza: BIG-IP's local traffic policies.
//
//	ltm policy /Common/p {
//	    controls { forwarding }
//	    requires { http }
//	    rules {
//	        static {
//	            actions { 0 { forward select pool /Common/static } }
//	            conditions { 0 { http-uri path starts-with values { /static } } }
//	            ordinal 1
//	        }
//	    }
//	    strategy /Common/first-match
//	}
//
// A condition's and an action's block is a run of words, as bigip.conf
// prints them one a line.

var policyProps = []property[config.Policy]{
	{"controls", "{ forwarding … }: the features the policy controls", func(c *Cursor, p *config.Policy, _ PropMode) error {
		l, err := wordSet(c, "controls", "forwarding", "caching", "compression", "classification", "request-adaptation", "response-adaptation", "server-ssl", "persistence", "acceleration")
		p.Controls = l
		return err
	}},
	textProp("description", "free text", func(p *config.Policy) *string { return &p.Description }),
	{"requires", "{ http … }: the profiles the policy needs", func(c *Cursor, p *config.Policy, _ PropMode) error {
		l, err := wordSet(c, "requires", "http", "tcp", "client-ssl", "server-ssl", "ssl-persistence")
		p.Requires = l
		return err
	}},
	{"rules", "[add|delete|modify|replace-all-with] { RULE { conditions { … } actions { … } ordinal N } … } | none", parseRules},
	{"status", "published, draft or legacy (kept; lbx evaluates every policy)", func(c *Cursor, p *config.Policy, _ PropMode) error {
		i, err := wordValue(c, "status", "published", "draft", "legacy")
		if err == nil {
			p.Status = []string{"", "draft", "legacy"}[i]
		}
		return err
	}},
	{"strategy", "first-match, all-match or best-match (/Common/…)", func(c *Cursor, p *config.Policy, _ PropMode) error {
		t, err := c.Value("strategy")
		if err != nil {
			return err
		}
		s, ok := config.ParseStrategy(t.Text)
		if !ok {
			return LineErrorf(t.Line, "strategy %q: want %s", t.Text, orList(config.StrategyNames()))
		}
		p.Strategy = s
		return nil
	}},
}

// wordSet reads `{ WORD … } | none` of the given words, sorted.
func wordSet(c *Cursor, what string, words ...string) ([]string, error) {
	if t, ok := c.Peek(); ok && t.IsWord("none") {
		c.Next()
		return nil, nil
	}
	blk, err := c.Block(what)
	if err != nil {
		return nil, err
	}
	var out []string
	for !blk.Done() {
		t := blk.Next()
		if t.Kind != TokWord || !slices.Contains(words, t.Text) {
			return nil, LineErrorf(t.Line, "%s %q: want %s", what, t.Text, orList(words))
		}
		if !slices.Contains(out, t.Text) {
			out = append(out, t.Text)
		}
	}
	slices.Sort(out)
	return out, nil
}

// parseRules reads the rules property: a block replaces them all; add,
// modify (replace the named rules), delete and replace-all-with edit them.
func parseRules(c *Cursor, p *config.Policy, _ PropMode) error {
	t, ok := c.Peek()
	if !ok {
		return LineErrorf(c.Line, "rules: missing value")
	}
	if t.IsWord("none") {
		c.Next()
		p.Rules = nil
		return nil
	}
	op := "replace-all-with"
	if t.Kind == TokWord {
		switch t.Text {
		case "add", "delete", "modify", "replace-all-with":
			op = t.Text
			c.Next()
		default:
			return LineErrorf(t.Line, "rules %q: want add, delete, modify, replace-all-with, none or {", t.Text)
		}
	}
	blk, err := c.Block("rules " + op)
	if err != nil {
		return err
	}
	rules := slices.Clone(p.Rules)
	if op == "replace-all-with" {
		rules = nil
	}
	next := uint32(0)
	for _, r := range rules {
		next = max(next, r.Ordinal+1)
	}
	seen := map[string]bool{}
	for !blk.Done() {
		nt := blk.Next()
		if nt.Kind != TokWord && nt.Kind != TokString {
			return LineErrorf(nt.Line, "rules: unexpected %s, want a rule name", nt.Describe())
		}
		name := nt.Text
		if err := config.CheckBaseName(name); err != nil {
			return LineErrorf(nt.Line, "rules %q: %w", name, err)
		}
		if seen[name] {
			return LineErrorf(nt.Line, "rules %s: listed twice", name)
		}
		seen[name] = true
		i := slices.IndexFunc(rules, func(r config.PolicyRule) bool { return r.Name == name })
		if op == "delete" {
			if i < 0 {
				return LineErrorf(nt.Line, "rules %s: no such rule", name)
			}
			rules = slices.Delete(rules, i, i+1)
			if blk.AtBlock() {
				if _, err := blk.Block("rules " + name); err != nil {
					return err
				}
			}
			continue
		}
		switch {
		case op == "add" && i >= 0:
			return LineErrorf(nt.Line, "rules %s: already exists", name)
		case op == "modify" && i < 0:
			return LineErrorf(nt.Line, "rules %s: no such rule", name)
		}
		r := config.PolicyRule{Name: name}
		if i >= 0 {
			r = rules[i].Clone()
		}
		ordinalSet := i >= 0
		if blk.AtBlock() {
			body, err := blk.Block("rules " + name)
			if err != nil {
				return err
			}
			if err := parseRule(body, &r, &ordinalSet); err != nil {
				return nestedErr("rules "+name, err)
			}
		}
		if !ordinalSet {
			r.Ordinal = next
		}
		next = max(next, r.Ordinal+1)
		if i >= 0 {
			rules[i] = r
		} else {
			rules = append(rules, r)
		}
	}
	slices.SortStableFunc(rules, func(a, b config.PolicyRule) int {
		if a.Ordinal != b.Ordinal {
			return int(int64(a.Ordinal) - int64(b.Ordinal))
		}
		return strings.Compare(a.Name, b.Name)
	})
	p.Rules = rules
	return nil
}

func parseRule(c *Cursor, r *config.PolicyRule, ordinalSet *bool) error {
	for !c.Done() {
		k := c.Next()
		switch {
		case k.IsWord("conditions"):
			list, err := indexedBlocks(c, "conditions", func(b *Cursor) (config.PolicyCondition, error) { return parseCondition(b) })
			if err != nil {
				return err
			}
			r.Conditions = list
		case k.IsWord("actions"):
			list, err := indexedBlocks(c, "actions", func(b *Cursor) (config.PolicyAction, error) { return parseAction(b) })
			if err != nil {
				return err
			}
			r.Actions = list
		case k.IsWord("ordinal"):
			n, err := uintValue(c, "ordinal", 0, 1<<31)
			if err != nil {
				return err
			}
			r.Ordinal, *ordinalSet = n, true
		case k.IsWord("description"):
			if err := textValue(c, "description", &r.Description); err != nil {
				return err
			}
		default:
			return LineErrorf(k.Line, "unexpected %s, want conditions, actions, ordinal or description", k.Describe())
		}
	}
	return nil
}

// indexedBlocks reads `{ 0 { … } 1 { … } } | none`: entries by their
// number, in number order.
func indexedBlocks[E any](c *Cursor, what string, read func(*Cursor) (E, error)) ([]E, error) {
	if t, ok := c.Peek(); ok && t.IsWord("none") {
		c.Next()
		return nil, nil
	}
	blk, err := c.Block(what)
	if err != nil {
		return nil, err
	}
	type entry struct {
		n uint64
		e E
	}
	var list []entry
	for !blk.Done() {
		t := blk.Next()
		n, err := strconv.ParseUint(t.Text, 10, 16)
		if t.Kind != TokWord || err != nil {
			return nil, LineErrorf(t.Line, "%s: %s: want an index (0, 1, …)", what, t.Describe())
		}
		if slices.ContainsFunc(list, func(x entry) bool { return x.n == n }) {
			return nil, LineErrorf(t.Line, "%s %d: listed twice", what, n)
		}
		body, err := blk.Block(what + " " + t.Text)
		if err != nil {
			return nil, err
		}
		e, err := read(body)
		if err != nil {
			return nil, nestedErr(what+" "+t.Text, err)
		}
		list = append(list, entry{n, e})
	}
	slices.SortFunc(list, func(a, b entry) int { return int(a.n) - int(b.n) })
	out := make([]E, len(list))
	for i, x := range list {
		out[i] = x.e
	}
	return out, nil
}

// parseCondition reads OPERAND [request] [SELECTOR] [name NAME]
// [case-sensitive|case-insensitive] [not] OP [values { V … }], the words
// after the operand in any order, as BIG-IP takes them.
func parseCondition(c *Cursor) (config.PolicyCondition, error) {
	var cond config.PolicyCondition
	t, ok := c.Peek()
	if !ok {
		return cond, LineErrorf(c.Line, "missing operand")
	}
	c.Next()
	op, ok := config.ParseOperand(t.Text)
	if !ok || t.Kind != TokWord {
		return cond, LineErrorf(t.Line, "operand %q: want %s", t.Text, orList(operandWords()))
	}
	cond.Operand = op
	for !c.Done() {
		w := c.Next()
		if w.Kind != TokWord {
			return cond, LineErrorf(w.Line, "%s: unexpected %s", op, w.Describe())
		}
		switch {
		case w.Text == "request":
		case w.Text == "response":
			return cond, LineErrorf(w.Line, "%s response: response conditions are not implemented (request only)", op)
		case w.Text == "not":
			cond.Not = true
		case w.Text == "case-sensitive":
			cond.CaseSensitive = true
		case w.Text == "case-insensitive":
			cond.CaseSensitive = false
		case w.Text == "name" && op.NeedsName():
			v, err := c.Value(op.String() + " name")
			if err != nil {
				return cond, err
			}
			cond.Name = v.Text
		case w.Text == "values":
			vals, err := valueList(c, op.String()+" values")
			if err != nil {
				return cond, err
			}
			cond.Values = vals
		case slices.Contains(op.Selectors(), w.Text):
			cond.Selector = w.Text
			if w.Text == op.Selectors()[0] {
				cond.Selector = ""
			}
		default:
			m, ok := config.ParseMatchOp(w.Text)
			if !ok {
				return cond, LineErrorf(w.Line, "%s %q: want a selector (%s), name, not, case-sensitive, a comparison (equals, starts-with, ends-with, contains, matches, exists) or values", op, w.Text, strings.Join(op.Selectors(), ", "))
			}
			cond.Op = m
		}
	}
	if err := config.CheckCondition(&cond); err != nil {
		return cond, LineErrorf(t.Line, "%w", err)
	}
	return cond, nil
}

func operandWords() []string {
	var out []string
	for o := config.OperandHTTPHost; o.String() != "" && !strings.HasPrefix(o.String(), "operand-"); o++ {
		out = append(out, o.String())
	}
	return out
}

// valueList reads `{ V … }`: words or quoted strings.
func valueList(c *Cursor, what string) ([]string, error) {
	blk, err := c.Block(what)
	if err != nil {
		return nil, err
	}
	var out []string
	for !blk.Done() {
		t := blk.Next()
		if t.Kind != TokWord && t.Kind != TokString {
			return nil, LineErrorf(t.Line, "%s: unexpected %s", what, t.Describe())
		}
		out = append(out, t.Text)
	}
	return out, nil
}

// parseAction reads one action's words: forward select pool P | member
// ADDR:PORT | node ADDR; forward reset; http-reply redirect location URL;
// http-header insert|replace name N value V; http-header remove name N;
// http-set-cookie insert name N value V; log write message M. request is
// accepted anywhere (the default event).
func parseAction(c *Cursor) (config.PolicyAction, error) {
	var a config.PolicyAction
	var words []Token
	vals := map[string]Token{}
	for !c.Done() {
		w := c.Next()
		if w.Kind != TokWord {
			return a, LineErrorf(w.Line, "unexpected %s, want an action word", w.Describe())
		}
		switch w.Text {
		case "request":
			continue
		case "response":
			return a, LineErrorf(w.Line, "response: response actions are not implemented (request only)")
		case "pool", "member", "node", "location", "name", "value", "message":
			v, err := c.Value(w.Text)
			if err != nil {
				return a, err
			}
			if _, dup := vals[w.Text]; dup {
				return a, LineErrorf(w.Line, "%s: given twice", w.Text)
			}
			vals[w.Text] = v
			continue
		}
		words = append(words, w)
	}
	if len(words) == 0 {
		return a, LineErrorf(c.Line, "missing action (want forward, http-reply, http-header, http-set-cookie or log)")
	}
	var verb []string
	for _, w := range words {
		verb = append(verb, w.Text)
	}
	line := words[0].Line
	kind := strings.Join(verb, " ")
	need := func(keys ...string) error {
		for k := range vals {
			if !slices.Contains(keys, k) {
				return LineErrorf(line, "%s: %s does not apply (want %s)", kind, k, strings.Join(keys, ", "))
			}
		}
		for _, k := range keys {
			if _, ok := vals[k]; !ok {
				return LineErrorf(line, "%s: %s: missing", kind, k)
			}
		}
		return nil
	}
	var err error
	switch kind {
	case "forward select":
		switch {
		case len(vals) != 1:
			return a, LineErrorf(line, "forward select: want one of pool, member or node")
		case vals["pool"].Text != "":
			a.Kind = config.ActionForwardPool
			a.Pool, err = config.FullName(vals["pool"].Text)
			if err != nil {
				return a, LineErrorf(line, "forward select pool %q: %w", vals["pool"].Text, err)
			}
		case vals["member"].Text != "":
			a.Kind = config.ActionForwardMember
			s := vals["member"].Text
			if strings.HasPrefix(s, "/") {
				s = config.BaseName(s)
			}
			a.Member, err = netip.ParseAddrPort(s)
			if err != nil {
				return a, LineErrorf(line, "forward select member %q: want ADDRESS:PORT", vals["member"].Text)
			}
		case vals["node"].Text != "":
			a.Kind = config.ActionForwardNode
			s := vals["node"].Text
			if strings.HasPrefix(s, "/") {
				s = config.BaseName(s)
			}
			a.Node, err = netip.ParseAddr(s)
			if err != nil {
				return a, LineErrorf(line, "forward select node %q: want an address", vals["node"].Text)
			}
		default:
			return a, LineErrorf(line, "forward select: want one of pool, member or node")
		}
		return a, nil
	case "forward reset":
		a.Kind = config.ActionReset
		err = need()
	case "http-reply redirect":
		a.Kind = config.ActionRedirect
		err = need("location")
	case "http-header insert", "http-header replace":
		a.Kind = config.ActionHeaderInsert
		if kind == "http-header replace" {
			a.Kind = config.ActionHeaderReplace
		}
		err = need("name", "value")
	case "http-header remove":
		a.Kind = config.ActionHeaderRemove
		err = need("name")
	case "http-set-cookie insert":
		a.Kind = config.ActionSetCookie
		err = need("name", "value")
	case "log write":
		a.Kind = config.ActionLog
		err = need("message")
	default:
		return a, LineErrorf(line, "action %q: want forward select, forward reset, http-reply redirect, http-header insert|replace|remove, http-set-cookie insert or log write", kind)
	}
	a.Location, a.Name, a.Value, a.Message = vals["location"].Text, vals["name"].Text, vals["value"].Text, vals["message"].Text
	return a, err
}

func printPolicy(b *strings.Builder, _ *config.Config, p *config.Policy, all bool) {
	b.WriteString("ltm policy " + p.Name + " {\n")
	wordSetOut(b, "controls", p.Controls, all)
	descProp(b, 1, p.Description, all)
	wordSetOut(b, "requires", p.Requires, all)
	switch {
	case len(p.Rules) > 0:
		Prop(b, 1, "rules", "{")
		for _, r := range p.Rules {
			printRule(b, &r, all)
		}
		Prop(b, 1, "}", "")
	case all:
		Prop(b, 1, "rules", "none")
	}
	if p.Status != "" {
		Prop(b, 1, "status", p.Status)
	} else if all {
		Prop(b, 1, "status", "published")
	}
	Prop(b, 1, "strategy", p.Strategy.String())
	extrasOut(b, 1, p.Extras)
	b.WriteString("}\n")
}

func wordSetOut(b *strings.Builder, name string, words []string, all bool) {
	switch {
	case len(words) > 0:
		Prop(b, 1, name, "{ "+strings.Join(words, " ")+" }")
	case all:
		Prop(b, 1, name, "none")
	}
}

// printNumbered prints a rule's actions or conditions as bigip.conf
// numbers them ("0 { … }"), or "none" in the all-properties form.
func printNumbered(b *strings.Builder, what string, items [][]string, all bool) {
	if len(items) == 0 {
		if all {
			Prop(b, 3, what, "none")
		}
		return
	}
	Prop(b, 3, what, "{")
	for i, lines := range items {
		Prop(b, 4, strconv.Itoa(i), "{")
		for _, line := range lines {
			Prop(b, 5, line, "")
		}
		Prop(b, 4, "}", "")
	}
	Prop(b, 3, "}", "")
}

func printRule(b *strings.Builder, r *config.PolicyRule, all bool) {
	Prop(b, 2, quote(r.Name), "{")
	actions := make([][]string, len(r.Actions))
	for i := range r.Actions {
		actions[i] = actionLines(&r.Actions[i])
	}
	printNumbered(b, "actions", actions, all)
	conds := make([][]string, len(r.Conditions))
	for i := range r.Conditions {
		conds[i] = conditionLines(&r.Conditions[i])
	}
	printNumbered(b, "conditions", conds, all)
	textPropOut(b, 3, "description", r.Description, all)
	Prop(b, 3, "ordinal", u32(r.Ordinal))
	Prop(b, 2, "}", "")
}

// conditionLines are a condition's words, one a line as bigip.conf has
// them.
func conditionLines(c *config.PolicyCondition) []string {
	out := []string{c.Operand.String()}
	if c.Selector != "" {
		out = append(out, c.Selector)
	}
	if c.Name != "" {
		out = append(out, "name "+quote(c.Name))
	}
	if c.CaseSensitive {
		out = append(out, "case-sensitive")
	}
	if c.Not {
		out = append(out, "not")
	}
	out = append(out, c.Op.String())
	if len(c.Values) > 0 {
		q := make([]string, len(c.Values))
		for i, v := range c.Values {
			q[i] = quote(v)
		}
		out = append(out, "values { "+strings.Join(q, " ")+" }")
	}
	return out
}

// actionLines are an action's words, one a line.
func actionLines(a *config.PolicyAction) []string {
	out := strings.Fields(a.Kind.String())
	switch a.Kind {
	case config.ActionForwardPool:
		out[2] = "pool " + a.Pool
	case config.ActionForwardMember:
		out[2] = "member " + a.Member.String()
	case config.ActionForwardNode:
		out[2] = "node " + a.Node.String()
	case config.ActionRedirect:
		out = append(out, "location "+quote(a.Location))
	case config.ActionHeaderInsert, config.ActionHeaderReplace, config.ActionSetCookie:
		out = append(out, "name "+quote(a.Name), "value "+quote(a.Value))
	case config.ActionHeaderRemove:
		out = append(out, "name "+quote(a.Name))
	case config.ActionLog:
		out = append(out, "message "+quote(a.Message))
	}
	return out
}

// parsePolicies reads a virtual's policies { P … }.
func parsePolicies(c *Cursor, v *config.Virtual, _ PropMode) error {
	type ref struct{ Name string }
	var cur []ref
	for _, n := range v.Policies {
		cur = append(cur, ref{n})
	}
	list, err := editList(c, "policies", cur, func(r *ref) *string { return &r.Name },
		func(body *Cursor, _ *ref) error {
			if !body.Done() {
				t := body.Next()
				return LineErrorf(t.Line, "unexpected %s: a policy reference has no properties", t.Describe())
			}
			return nil
		})
	if err != nil {
		return err
	}
	v.Policies = nil
	for _, r := range list {
		v.Policies = append(v.Policies, r.Name)
	}
	return nil
}

func policiesOut(b *strings.Builder, v *config.Virtual, all bool) {
	switch {
	case len(v.Policies) > 0:
		Prop(b, 1, "policies", "{")
		for _, p := range v.Policies {
			Prop(b, 2, p, "{ }")
		}
		Prop(b, 1, "}", "")
	case all:
		Prop(b, 1, "policies", "none")
	}
}

// PolicyKind is `ltm policy`.
var PolicyKind = newKind(kindSpec[config.Policy]{
	module: "ltm", kind: "policy", ckind: config.KindPolicy, title: "Policy", plural: "policies", createArgs: "[strategy S] rules { RULE { conditions { … } actions { … } } … }",
	props:   policyProps,
	objects: func(c *config.Config) map[string]*config.Policy { return c.Policies },
	newObj:  config.NewPolicy,
	print:   printPolicy,
})
