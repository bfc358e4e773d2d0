package alteon

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"lbx/ctrlplane/config"
)

// Layer-7 content rules, Alteon's URL load balancing, over ltm policies:
//
//	/c/slb/layer7/slb/addstr STRING          the session's string table: IDs 1, 2, … in the order added
//	/c/slb/virt ID/service PORT/cntrules N   rule N of policy /Common/ID_PORT_cntrules on the service's virtual
//	        string SID                       condition http-uri path contains STRING
//	        group G                          action forward select pool /Common/G
//	        name TEXT                        the rule's description
//
// The policy is first-match by rule number. A rule without a string
// matches every request; without a group it forwards nowhere (the
// service's own group takes the request). A dump prints the strings the
// rules use with addstr, numbered from 1 in dump order, so a dump pushed
// in a new session sets the same rules.

// cntPolicyName is the policy holding a service's content rules.
func cntPolicyName(virt string, port uint16) string { return serviceName(virt, port) + "_cntrules" }

// strID returns the ID of s in the session's table, adding it.
func (st *altState) strID(s string) int {
	if i := slices.Index(st.strings, s); i >= 0 {
		return i + 1
	}
	st.strings = append(st.strings, s)
	return len(st.strings)
}

var l7SLBCmds = []altCmd{
	{name: "addstr", args: "<string>", help: "add a URL string for content rules (its ID is the next number)", min: 1, max: 1,
		run: func(a *altCtx, _ altFrame, args []string) (string, error) {
			if args[0] == "" || strings.ContainsAny(args[0], "\r\n") {
				return "", errors.New("addstr: want a non-empty string on one line")
			}
			return fmt.Sprintf("String %d: %q\n", a.st.strID(args[0]), args[0]), nil
		}},
	{name: "remstr", args: "<string ID>", help: "remove a string no content rule uses", min: 1, max: 1,
		run: func(a *altCtx, _ altFrame, args []string) (string, error) {
			s, err := a.st.str(args[0])
			if err != nil {
				return "", err
			}
			for _, p := range a.x.Config().PolicyList() {
				for _, r := range p.Rules {
					for _, c := range r.Conditions {
						if slices.Contains(c.Values, s) {
							return "", fmt.Errorf("remstr %s: string %q is used by %s rule %s", args[0], s, p.Name, r.Name)
						}
					}
				}
			}
			a.st.strings[slices.Index(a.st.strings, s)] = "" // IDs stay
			return "", nil
		}},
	{name: "cur", help: "display the string table of this session and the strings content rules use",
		run: func(a *altCtx, _ altFrame, _ []string) (string, error) {
			var b strings.Builder
			for i, s := range a.st.strings {
				if s != "" {
					fmt.Fprintf(&b, "%d: %q\n", i+1, s)
				}
			}
			for _, s := range usedStrings(a.x.Config()) {
				if !slices.Contains(a.st.strings, s) {
					fmt.Fprintf(&b, "-: %q (used by a content rule; addstr gives it an ID here)\n", s)
				}
			}
			if b.Len() == 0 {
				return "(no strings)\n", nil
			}
			return b.String(), nil
		}},
}

// str returns the string of an ID of the session's table.
func (st *altState) str(id string) (string, error) {
	n, err := strconv.Atoi(id)
	if err != nil || n < 1 || n > len(st.strings) || st.strings[n-1] == "" {
		return "", fmt.Errorf("string %q: no such string (addstr under /c/slb/layer7/slb adds one; IDs 1 to %d)", id, len(st.strings))
	}
	return st.strings[n-1], nil
}

func enterCntRule(_ *altCtx, f altFrame, args []string) (altFrame, error) {
	n, err := strconv.ParseUint(args[0], 10, 16)
	if err != nil || n == 0 {
		return altFrame{}, fmt.Errorf("virt %s service %d: cntrules %q: want a number from 1 to 65535", f.id, f.port, args[0])
	}
	return altFrame{kind: altCntRule, id: f.id, port: f.port, rule: strconv.FormatUint(n, 10)}, nil
}

// cntRuleSetter edits rule f.rule of the service's content rules policy,
// making the policy (and attaching it) or the rule when needed.
func cntRuleSetter(name, args, help string, n int, set func(a *altCtx, r *config.PolicyRule, args []string) error) altCmd {
	return altCmd{name: name, args: args, help: help, min: n, max: n, run: func(a *altCtx, f altFrame, args []string) (string, error) {
		v, err := a.service(f, false)
		if err != nil {
			return "", err
		}
		pname := cntPolicyName(f.id, f.port)
		p := a.x.Config().Policies[pname]
		if p == nil {
			p = config.NewPolicy(pname)
			p.Requires, p.Controls = []string{"http"}, []string{"forwarding"}
			p.Description = "Alteon content rules of virt " + f.id + " service " + u16(f.port)
		} else {
			p = p.Clone()
		}
		i := slices.IndexFunc(p.Rules, func(r config.PolicyRule) bool { return r.Name == f.rule })
		if i < 0 {
			ord, _ := strconv.ParseUint(f.rule, 10, 32)
			p.Rules = append(p.Rules, config.PolicyRule{Name: f.rule, Ordinal: uint32(ord)})
			slices.SortStableFunc(p.Rules, func(a, b config.PolicyRule) int { return int(a.Ordinal) - int(b.Ordinal) })
			i = slices.IndexFunc(p.Rules, func(r config.PolicyRule) bool { return r.Name == f.rule })
		}
		if err := set(a, &p.Rules[i], args); err != nil {
			return "", fmt.Errorf("virt %s service %d cntrules %s: %s: %w", f.id, f.port, f.rule, name, err)
		}
		if err := a.x.Put(p); err != nil {
			return "", err
		}
		if !slices.Contains(v.Policies, pname) {
			v.Policies = append(v.Policies, pname)
			slices.Sort(v.Policies)
			return "", a.x.Put(v)
		}
		return "", nil
	}}
}

var cntRuleCmds = []altCmd{
	cntRuleSetter("ena", "", "enable the content rule (it is, once it exists)", 0, func(*altCtx, *config.PolicyRule, []string) error { return nil }),
	cntRuleSetter("dis", "", "disable the content rule (not supported: del removes it)", 0, func(*altCtx, *config.PolicyRule, []string) error {
		return errors.New("lbx keeps no disabled content rules; del removes the rule")
	}),
	cntRuleSetter("name", "<name>|none", "set the rule's name", 1, func(_ *altCtx, r *config.PolicyRule, args []string) error {
		r.Description = noneEmpty(args[0])
		return nil
	}),
	cntRuleSetter("string", "<string ID>|any", "match URLs holding the string (/c/slb/layer7/slb/addstr); any: every URL", 1, func(a *altCtx, r *config.PolicyRule, args []string) error {
		if args[0] == "any" {
			r.Conditions = nil
			return nil
		}
		s, err := a.st.str(args[0])
		if err != nil {
			return err
		}
		r.Conditions = []config.PolicyCondition{{Operand: config.OperandHTTPURI, Selector: "path", Op: config.OpContains, Values: []string{s}}}
		return nil
	}),
	cntRuleSetter("group", "<real server group ID>", "send matching requests to the group", 1, func(a *altCtx, r *config.PolicyRule, args []string) error {
		p, err := a.group(args[0], false)
		if err != nil {
			return err
		}
		r.Actions = []config.PolicyAction{{Kind: config.ActionForwardPool, Pool: p.Name}}
		return nil
	}),
	{name: "del", help: "delete this content rule", run: func(a *altCtx, f altFrame, _ []string) (string, error) {
		pname := cntPolicyName(f.id, f.port)
		p := a.x.Config().Policies[pname]
		i := -1
		if p != nil {
			i = slices.IndexFunc(p.Rules, func(r config.PolicyRule) bool { return r.Name == f.rule })
		}
		if i < 0 {
			return "", fmt.Errorf("virt %s service %d has no cntrules %s", f.id, f.port, f.rule)
		}
		p = p.Clone()
		p.Rules = slices.Delete(p.Rules, i, i+1)
		if len(p.Rules) == 0 {
			v, err := a.service(f, false)
			if err != nil {
				return "", err
			}
			v.Policies = slices.DeleteFunc(v.Policies, func(n string) bool { return n == pname })
			if err := a.x.Put(v); err != nil {
				return "", err
			}
			if err := a.x.Delete(p.Ref()); err != nil {
				return "", err
			}
		} else if err := a.x.Put(p); err != nil {
			return "", err
		}
		a.st.path = a.st.path[:len(a.st.path)-1]
		return "", nil
	}},
	curCmd(),
}

// usedStrings are the strings content rules use, in dump order.
func usedStrings(c *config.Config) []string {
	var out []string
	for _, v := range c.VirtualList() {
		id, port := virtOf(v)
		p := c.Policies[cntPolicyName(id, port)]
		if p == nil || !slices.Contains(v.Policies, p.Name) {
			continue
		}
		for _, r := range p.Rules {
			if s, ok := cntString(&r); ok && s != "" && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// cntString is the string of a content rule: "" for any, !ok when the
// rule's conditions are not a content rule's.
func cntString(r *config.PolicyRule) (string, bool) {
	switch {
	case len(r.Conditions) == 0:
		return "", true
	case len(r.Conditions) == 1:
		c := r.Conditions[0]
		if c.Operand == config.OperandHTTPURI && c.Selector == "path" && c.Op == config.OpContains && !c.Not && !c.CaseSensitive && len(c.Values) == 1 {
			return c.Values[0], true
		}
	}
	return "", false
}

// l7Blocks are the dump's /c/slb/layer7/slb block (strings) and, for a
// service, its content rules; what a content rule cannot say is a note.
func l7StringsBlock(c *config.Config) (altBlock, bool) {
	strs := usedStrings(c)
	b := altBlock{path: "/c/slb/layer7/slb"}
	for _, s := range strs {
		b.add("addstr %q", s)
	}
	return b, len(strs) > 0
}

func cntRuleBlocks(c *config.Config, v *config.Virtual, sp string, sb *altBlock) []altBlock {
	id, port := virtOf(v)
	strs := usedStrings(c)
	var out []altBlock
	for _, pname := range v.Policies {
		p := c.Policies[pname]
		if pname != cntPolicyName(id, port) || p == nil || p.Strategy != config.StrategyFirstMatch {
			sb.note("ltm policy %s (set in tmsh)", pname)
			continue
		}
		for _, r := range p.Rules {
			rb := altBlock{path: sp + "/cntrules " + r.Name}
			rb.add("ena")
			if r.Description != "" {
				rb.add("name %q", r.Description)
			}
			s, ok := cntString(&r)
			switch {
			case !ok:
				rb.note("rule %s: conditions set in tmsh", r.Name)
			case s != "":
				rb.add("string %d", slices.Index(strs, s)+1)
			}
			switch {
			case len(r.Actions) == 1 && r.Actions[0].Kind == config.ActionForwardPool:
				rb.add("group %s", config.BaseName(r.Actions[0].Pool))
			case len(r.Actions) > 0:
				rb.note("rule %s: actions set in tmsh", r.Name)
			}
			if _, err := strconv.ParseUint(r.Name, 10, 16); err != nil || r.Name == "0" {
				rb.note("rule %s: not a content rule number", r.Name)
			}
			out = append(out, rb)
		}
	}
	return out
}

// deleteService deletes a service's virtual server and its content rules.
func (a *altCtx) deleteService(v *config.Virtual) error {
	id, port := virtOf(v)
	pname := cntPolicyName(id, port)
	if slices.Contains(v.Policies, pname) {
		v = v.Clone()
		v.Policies = slices.DeleteFunc(v.Policies, func(n string) bool { return n == pname })
		if err := a.x.Put(v); err != nil {
			return err
		}
	}
	if err := a.x.Delete(v.Ref()); err != nil {
		return err
	}
	if a.x.Config().Policies[pname] != nil {
		return a.x.Delete(config.Ref{Kind: config.KindPolicy, Name: pname})
	}
	return nil
}

func cntRuleTitle(f altFrame) string {
	return "Virtual Server " + f.id + " " + u16(f.port) + " Content Rule " + f.rule
}

func cntRulePath(f altFrame) string {
	return "/c/slb/virt " + f.id + "/service " + u16(f.port) + "/cntrules " + f.rule
}
