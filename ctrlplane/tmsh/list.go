package tmsh

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/tmsh/conf"
)

// The list command's options, as tmsh takes them after the kind:
//
//	list ltm pool [NAME|GLOB …] [PROPERTY …] [all-properties] [one-line] [recursive]
//
// A GLOB (`*web*`, `/Common/*`) matches full names and names without the
// partition. A PROPERTY prints only those properties of each object (at
// their value, defaults included, as tmsh does). one-line prints each
// object on one line. recursive is accepted: lbx has one partition, so
// every list is already all of it.

// listOpts is what follows `list MODULE KIND`.
type listOpts struct {
	names    []string // full names and globs, as typed
	props    []string // property filter; empty prints every property
	allProps bool
	oneLine  bool
}

// listFlag reads the flags that every list form takes; false when t is none.
func (o *listOpts) flag(t conf.Token) bool {
	switch {
	case t.IsWord("all-properties"):
		o.allProps = true
	case t.IsWord("one-line"):
		o.oneLine = true
	case t.IsWord("recursive"):
	default:
		return false
	}
	return true
}

// isListFlag reports whether t is a flag of a whole-module list.
func isListFlag(t conf.Token) bool { return (&listOpts{}).flag(t) }

// readListOpts reads names, globs, property names and flags for the kinds
// ks (one kind, or every monitor type).
func readListOpts(x *execCtx, ks []*conf.ObjKind, args *conf.Cursor) (listOpts, error) {
	var o listOpts
	for !args.Done() {
		t := args.Next()
		if o.flag(t) {
			continue
		}
		if t.Kind != conf.TokWord && t.Kind != conf.TokString {
			return o, conf.LineErrorf(t.Line, "unexpected %s, want a name or a property", t.Describe())
		}
		if isGlob(t.Text) {
			o.names = append(o.names, t.Text)
			continue
		}
		isProp := slices.ContainsFunc(ks, func(k *conf.ObjKind) bool { return slices.Contains(k.Props, t.Text) })
		n, err := ks[0].FullName(t.Text)
		if isProp && (err != nil || !slices.ContainsFunc(ks, func(k *conf.ObjKind) bool { return k.Exists(x.cand(), n) })) {
			if !slices.Contains(o.props, t.Text) {
				o.props = append(o.props, t.Text)
			}
			continue
		}
		if err != nil {
			return o, conf.LineErrorf(t.Line, "%q: %w", t.Text, err)
		}
		o.names = append(o.names, n)
	}
	return o, nil
}

func isGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

// globMatch reports whether name (a full name) matches pattern, as typed
// with or without the partition.
func globMatch(pattern, name string) bool {
	if ok, _ := path.Match(pattern, name); ok {
		return true
	}
	ok, _ := path.Match(pattern, config.BaseName(name))
	return ok
}

// selectList resolves the names of kind k that o asks for, in order: all
// when none were given; every name must exist, a glob may match none.
func selectList(x *execCtx, k *conf.ObjKind, o listOpts) ([]string, error) {
	if len(o.names) == 0 {
		return k.Names(x.cand()), nil
	}
	var out []string
	for _, n := range o.names {
		if !isGlob(n) {
			if !k.Exists(x.cand(), n) {
				return nil, notFound(k, n)
			}
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
			continue
		}
		for _, name := range k.Names(x.cand()) {
			if globMatch(n, name) && !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	return out, nil
}

// printListed prints one object of kind k as o asks.
func printListed(b *strings.Builder, c *config.Config, k *conf.ObjKind, name string, o listOpts) {
	var one strings.Builder
	k.Print(&one, c, name, o.allProps)
	text := one.String()
	if len(o.props) > 0 {
		all := text
		if !o.allProps {
			var a strings.Builder
			k.Print(&a, c, name, true)
			all = a.String()
		}
		text = filterProps(text, all, o.props)
	}
	if o.oneLine {
		text = oneLine(text)
	}
	b.WriteString(text)
}

func runList(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	o, err := readListOpts(x, []*conf.ObjKind{cmd.obj}, args)
	if err != nil {
		return "", err
	}
	names, err := selectList(x, cmd.obj, o)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, n := range names {
		printListed(&b, x.cand(), cmd.obj, n, o)
	}
	return b.String(), nil
}

// runListMonitor is `list ltm monitor [NAME|GLOB …]`: monitors of every
// type, built-ins included, type by type.
func runListMonitor(x *execCtx, _ *Command, args *conf.Cursor) (string, error) {
	o, err := readListOpts(x, conf.MonitorKinds, args)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, k := range conf.MonitorKinds {
		for _, n := range monitorNames(x, k, o.names) {
			printListed(&b, x.cand(), k, n, o)
		}
	}
	if b.Len() == 0 {
		for _, n := range o.names {
			if !isGlob(n) {
				return "", &config.NotFoundError{Ref: config.Ref{Kind: config.KindMonitor, Name: n}}
			}
		}
	}
	return b.String(), nil
}

// monitorNames are the monitors of kind k that names (full names or
// globs; none: all) select.
func monitorNames(x *execCtx, k *conf.ObjKind, names []string) []string {
	all := k.Names(x.cand())
	if len(names) == 0 {
		return all
	}
	var out []string
	for _, name := range all {
		if slices.ContainsFunc(names, func(n string) bool { return n == name || isGlob(n) && globMatch(n, name) }) {
			out = append(out, name)
		}
	}
	return out
}

// runShowMonitorAny is `show ltm monitor [NAME …]` without the type.
func runShowMonitorAny(x *execCtx, _ *Command, args *conf.Cursor) (string, error) {
	var names []string
	for !args.Done() {
		t := args.Next()
		if t.Kind != conf.TokWord && t.Kind != conf.TokString {
			return "", conf.LineErrorf(t.Line, "unexpected %s, want a monitor name", t.Describe())
		}
		n := t.Text
		if !isGlob(n) {
			full, err := config.FullName(n)
			if err != nil {
				return "", conf.LineErrorf(t.Line, "%q: %w", t.Text, err)
			}
			if x.cand().LookupMonitor(full) == nil {
				return "", &config.NotFoundError{Ref: config.Ref{Kind: config.KindMonitor, Name: full}}
			}
			n = full
		}
		names = append(names, n)
	}
	var b strings.Builder
	for _, k := range conf.MonitorKinds {
		sel := monitorNames(x, k, names)
		if len(sel) == 0 {
			continue
		}
		toks := make([]conf.Token, len(sel))
		for i, n := range sel {
			toks[i] = conf.Token{Kind: conf.TokString, Text: n}
		}
		out, err := runShowMonitor(x, &Command{obj: k}, conf.NewCursor(toks, args.Line))
		if err != nil {
			return "", err
		}
		b.WriteString(out)
	}
	return b.String(), nil
}

// propItem is one top-level property of a printed object, with its block.
type propItem struct {
	name, text string
}

// propItems cuts one printed object into its header line, its top-level
// properties and its closing line.
func propItems(text string) (head string, items []propItem, tail string) {
	lines := strings.SplitAfter(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 2 {
		return text, nil, ""
	}
	for _, l := range lines[1 : len(lines)-1] {
		if rest, ok := strings.CutPrefix(l, "    "); ok && rest != "" && rest[0] != ' ' && rest[0] != '}' {
			word, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
			items = append(items, propItem{name: word})
		}
		if len(items) > 0 {
			items[len(items)-1].text += l
		}
	}
	return lines[0], items, lines[len(lines)-1] + "\n"
}

// filterProps keeps, of one printed object, the header, the properties
// named in props and the closing brace. A property is printed as list
// prints it (text) or, when list leaves it out at its default, as
// all-properties does (all).
func filterProps(text, all string, props []string) string {
	head, items, tail := propItems(text)
	_, allItems, _ := propItems(all)
	var b strings.Builder
	b.WriteString(head)
	for _, it := range allItems {
		if !slices.Contains(props, it.name) {
			continue
		}
		if i := slices.IndexFunc(items, func(p propItem) bool { return p.name == it.name }); i >= 0 {
			it = items[i]
		}
		b.WriteString(it.text)
	}
	b.WriteString(tail)
	return b.String()
}

// oneLine prints each stanza of text on one line, as `list … one-line`.
func oneLine(text string) string {
	var b strings.Builder
	first := true
	for l := range strings.Lines(text) {
		f := strings.TrimSpace(l)
		if f == "" {
			continue
		}
		if l[0] != ' ' && l[0] != '}' && !first {
			b.WriteByte('\n')
		} else if !first {
			b.WriteByte(' ')
		}
		b.WriteString(f)
		first = false
	}
	if !first {
		b.WriteByte('\n')
	}
	return b.String()
}

// anyMonitorKind is `ltm monitor` without the type, for the commands that
// take monitors of every type: their names and properties for help and
// completion, printing each in its own type. It builds and edits nothing.
var anyMonitorKind = func() *conf.ObjKind {
	k := &conf.ObjKind{Module: "ltm", Kind: "monitor", Title: "Monitor", Plural: "monitors", ConfigKind: config.KindMonitor}
	for _, mk := range conf.MonitorKinds {
		for _, p := range mk.Props {
			if !slices.Contains(k.Props, p) {
				k.Props = append(k.Props, p)
			}
		}
	}
	slices.Sort(k.Props)
	of := func(c *config.Config, name string) *conf.ObjKind {
		for _, mk := range conf.MonitorKinds {
			if mk.Exists(c, name) {
				return mk
			}
		}
		return nil
	}
	k.Exists = func(c *config.Config, name string) bool { return of(c, name) != nil }
	k.Taken = func(c *config.Config, name string) bool { return conf.MonitorKinds[0].Taken(c, name) }
	union := func(each func(*conf.ObjKind) []string) []string {
		var out []string
		for _, mk := range conf.MonitorKinds {
			out = append(out, each(mk)...)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	k.Names = func(c *config.Config) []string { return union(func(mk *conf.ObjKind) []string { return mk.Names(c) }) }
	k.Stored = func(c *config.Config) []string { return union(func(mk *conf.ObjKind) []string { return mk.Stored(c) }) }
	k.Fixed = func(name string) bool {
		return slices.ContainsFunc(conf.MonitorKinds, func(mk *conf.ObjKind) bool { return mk.Fixed(name) })
	}
	k.Build = func(name string, _ *conf.Cursor, _ conf.PropMode) (config.Object, error) {
		return nil, fmt.Errorf("ltm monitor %s: give the monitor's type (ltm monitor http …)", name)
	}
	k.Edit = func(o config.Object, _ *conf.Cursor) error {
		return fmt.Errorf("%s: give the monitor's type", o.Ref())
	}
	k.Print = func(b *strings.Builder, c *config.Config, name string, all bool) {
		if mk := of(c, name); mk != nil {
			mk.Print(b, c, name, all)
		}
	}
	return k
}()
