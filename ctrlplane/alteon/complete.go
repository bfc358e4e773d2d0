package alteon

import (
	"regexp"
	"slices"
	"strings"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/store"
)

// Candidate is one word that may come next on a command line, with a
// one-line help: what completion offers and `?` lists.
type Candidate struct {
	Word string
	Help string
}

// Complete returns what may come next after line in a session of its own
// (at the Main menu, nothing pending).
func (d *Dialect) Complete(line string) []Candidate {
	return d.NewSession().Complete(line)
}

// Complete returns what may come next after line in the session's open
// menu: the entries of the menu the line leads to (its own and the global
// commands), or the IDs of existing reals, groups, virts and health checks
// where an entry takes one, read from the pending changes. Completing
// changes nothing: the menus are walked on a copy.
func (ss *Session) Complete(line string) []Candidate {
	ss.mu.Lock()
	var c *config.Config
	if ss.txn != nil && ss.pendingLocked() {
		c = ss.txn.Config().Clone()
	}
	st := &altState{path: slices.Clone(ss.alt.path), drafts: map[string]*virtDraft{}}
	for id, d := range ss.alt.drafts {
		st.drafts[id] = &virtDraft{vip: d.vip, disabled: d.disabled, name: d.name}
	}
	ss.mu.Unlock()
	if c == nil {
		c = ss.d.store.Running()
	}
	if len(line) > MaxLine {
		return nil
	}
	return completeAlt(&altCtx{x: &execCtx{Txn: store.Offline(c), src: ss.d.src}, st: st}, line)
}

// completeAlt completes line in a's open menu, walking a's copy.
func completeAlt(a *altCtx, line string) []Candidate {
	cut := strings.LastIndexAny(line, "/ \t")
	partial, head := line[cut+1:], line[:cut+1]
	if strings.Count(head, `"`)%2 == 1 {
		return nil // inside a quoted word
	}
	segs, abs, err := altSegments(head)
	if err != nil {
		return nil
	}
	if abs {
		a.st.path = a.st.path[:0]
	}
	// When head ends inside a segment (with a blank), its last one is the
	// entry whose argument is being typed.
	var open []string
	if t := strings.TrimRight(head, " \t"); len(segs) > 0 && t != "" && !strings.HasSuffix(t, "/") {
		open, segs = segs[len(segs)-1], segs[:len(segs)-1]
	}
	for _, seg := range segs {
		f := a.st.frame()
		c, err := lookupAlt(altMenus[f.kind], seg[0])
		switch {
		case err != nil:
			return nil
		case c.name == ".." || c.name == "up":
			if len(a.st.path) > 0 {
				a.st.path = a.st.path[:len(a.st.path)-1]
			}
		case c.enter != nil && len(seg)-1 >= c.min && len(seg)-1 <= c.max:
			nf, err := c.enter(a, f, seg[1:])
			if err != nil {
				return nil
			}
			a.st.path = append(a.st.path, nf)
		default:
			return nil // a command: nothing follows it but its arguments
		}
	}
	f := a.st.frame()
	m := altMenus[f.kind]
	var out []Candidate
	if open == nil {
		for _, c := range slices.Concat(m.cmds, altGlobals) {
			help := c.help
			if c.args != "" {
				help = c.args + ": " + help
			}
			out = append(out, Candidate{c.name, help})
		}
	} else {
		c, err := lookupAlt(m, open[0])
		if err != nil {
			return nil
		}
		out = altArgs(a, c, len(open)-1)
	}
	var kept []Candidate
	for _, c := range out {
		if strings.HasPrefix(c.Word, partial) && !slices.ContainsFunc(kept, func(k Candidate) bool { return k.Word == c.Word }) {
			kept = append(kept, c)
		}
	}
	return kept
}

// argUsage finds the <…> and […] parts of an entry's usage.
var argUsage = regexp.MustCompile(`<[^>]*>[^ ]*|\[[^\]]*\]`)

// altArgs are the candidates for argument i of c: IDs of existing objects
// where its usage names one, the words of a [A|B] choice.
func altArgs(a *altCtx, c *altCmd, i int) []Candidate {
	parts := argUsage.FindAllString(c.args, -1)
	if i >= len(parts) || i >= c.max {
		return nil
	}
	p := parts[i]
	cfg := a.x.Config()
	var out []Candidate
	switch {
	case strings.HasPrefix(p, "<real server ID>"):
		for _, n := range cfg.NodeList() {
			out = append(out, Candidate{config.BaseName(n.Name), "real server " + n.Address.String()})
		}
	case strings.HasPrefix(p, "<real server group ID>"), strings.HasPrefix(p, "<group ID>"):
		for _, pl := range cfg.PoolList() {
			out = append(out, Candidate{config.BaseName(pl.Name), "real server group"})
		}
	case strings.HasPrefix(p, "<virtual server ID>"):
		var ids []string
		for _, v := range cfg.VirtualList() {
			id, _ := virtOf(v)
			ids = append(ids, id)
		}
		for id := range a.st.drafts {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range slices.Compact(ids) {
			out = append(out, Candidate{id, "virtual server"})
		}
	case strings.HasPrefix(p, "<health check ID>"):
		for _, name := range sortedMonitors(cfg) {
			out = append(out, Candidate{config.BaseName(name), "health check"})
		}
	case strings.HasPrefix(p, "["):
		for w := range strings.SplitSeq(strings.Trim(p, "[]"), "|") {
			if !strings.ContainsAny(w, "<> …") {
				out = append(out, Candidate{w, c.name})
			}
		}
	}
	if strings.HasSuffix(p, "|none") {
		out = append(out, Candidate{"none", "none"})
	}
	return out
}

// sortedMonitors are the names of the configured monitors, sorted.
func sortedMonitors(c *config.Config) []string {
	var out []string
	for name := range c.Monitors {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}
