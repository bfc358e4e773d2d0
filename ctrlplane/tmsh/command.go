package tmsh

import (
	"slices"
	"strings"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/store"
	"lbx/ctrlplane/tmsh/conf"
)

// Command is one form of the tmsh command grammar: VERB MODULE [KIND] ARGS.
// The grammar is this table; parsing, `help`, `?` and completion
// (ctrlplane/tmsh/complete, which the shell asks over the control
// socket) are driven
// from it. Any unambiguous prefix of a verb, module or kind word is that
// word.
type Command struct {
	Verb     string // "create"
	Module   string // "ltm"
	Kind     string // "pool"; empty for a command on the whole module
	Args     string // usage of what follows, e.g. "NAME [PROPERTY …]"
	Help     string
	ReadOnly bool // list, show and record deletion: never changes the configuration
	// Operator: an operator may run it when all it changes is the session
	// and state of members and nodes (enable, disable, force offline).
	// Needs says which role a command takes.
	Operator bool

	obj *conf.ObjKind
	// words are Kind's words, split once for lookupCommand (it runs for
	// every line of a pushed script).
	words []string
	// props are the properties of a command on no object kind and no
	// name (cli preference); obj's when it has one.
	props []propDoc
	run   func(x *execCtx, cmd *Command, args *conf.Cursor) (string, error)
}

// Properties returns the property names the command's object kind takes, for
// help and completion.
func (c *Command) Properties() []string {
	if c.obj == nil {
		var out []string
		for _, p := range c.props {
			out = append(out, p.name)
		}
		return out
	}
	return slices.Clone(c.obj.Props)
}

// Unnamed reports whether the command takes properties but names no
// object (modify cli preference PROPERTY VALUE).
func (c *Command) Unnamed() bool { return c.obj == nil && c.props != nil }

// execCtx is what a command acts on: the candidate configuration of one Exec
// or Push, and what it asks of the Store afterwards.
type execCtx struct {
	*store.Txn                // the candidate the commands change
	src        status.Sources // where show reads status
	access     *config.Access // who runs the commands (nil: root); see who
	save       bool           // save sys config was asked for
	txnOp      txnOp          // set by create/submit/delete cli transaction
	// direct: the command runs on its own (a line of Exec outside a
	// transaction), so it may ask for after, which runs once the store is
	// unlocked (the cm commands: config sync takes the store's lock itself).
	direct bool
	after  func() (string, error)
}

// cand is the candidate, for reading: edits go through the Txn.
func (x *execCtx) cand() *config.Config { return x.Config() }

// view reads status for the candidate.
func (x *execCtx) view() *status.View { return status.New(x.Config(), x.src) }

// commands is the grammar: the object commands here and the system ones
// (sys.go). It is never modified; Commands hands out a copy.
var commands = slices.Concat(objectCommands, showConfigCommands, persistRecordCommands, sysCommands, failoverCommands, cmCommands, firstHourCommands, cliPrefCommands, resetCommands, connectionCommands, interfaceCommands)

// commandVerbs are the commands' verbs, each once, in table order.
var commandVerbs []string

// commandIndex is the table grouped for lookupCommand, built once: it
// runs for every line of a pushed script, and scanning the table and
// collecting each level's words per line made it the largest allocator
// of a 20,000-line push.
var commandIndex = struct {
	byVerb  map[string][]*Command // in table order
	modules map[string][]string   // a verb's modules, each once, in table order
	byPair  map[[2]string]*verbModule
}{map[string][]*Command{}, map[string][]string{}, map[[2]string]*verbModule{}}

// verbModule is the commands of one verb and module.
type verbModule struct {
	whole *Command   // the (last) one with no kind, nil for none
	cands []*Command // those with a kind, in table order
	want  []string   // the cands' first kind words, each once, in order
}

func init() {
	ix := &commandIndex
	for i := range commands {
		c := &commands[i]
		c.words = strings.Fields(c.Kind)
		if !slices.Contains(commandVerbs, c.Verb) {
			commandVerbs = append(commandVerbs, c.Verb)
		}
		ix.byVerb[c.Verb] = append(ix.byVerb[c.Verb], c)
		if !slices.Contains(ix.modules[c.Verb], c.Module) {
			ix.modules[c.Verb] = append(ix.modules[c.Verb], c.Module)
		}
		vm := ix.byPair[[2]string{c.Verb, c.Module}]
		if vm == nil {
			vm = &verbModule{}
			ix.byPair[[2]string{c.Verb, c.Module}] = vm
		}
		if c.Kind == "" {
			vm.whole = c
			continue
		}
		vm.cands = append(vm.cands, c)
		if !slices.Contains(vm.want, c.words[0]) {
			vm.want = append(vm.want, c.words[0])
		}
	}
}

// objectCommands act on configuration objects: list, create, modify and
// delete for every kind, show for nodes, pools and virtual servers.
var objectCommands = func() []Command {
	out := []Command{{Verb: "list", Module: "ltm", Args: "[all-properties] [one-line] [recursive]", Help: "print the whole ltm configuration", ReadOnly: true, run: runListAll}}
	for _, k := range conf.Kinds {
		out = append(out, Command{Verb: "list", Module: k.Module, Kind: k.Kind, Args: "[NAME|GLOB …] [PROPERTY …] [all-properties] [one-line] [recursive]", Help: "print " + k.Plural, ReadOnly: true, obj: k, run: runList})
	}
	out = append(out,
		Command{Verb: "show", Module: "ltm", Kind: "node", Args: "[NAME …]", Help: "node status and connection counters across every pool", ReadOnly: true, obj: conf.NodeKind, run: runShowNode},
		Command{Verb: "show", Module: "ltm", Kind: "pool", Args: "[NAME …] [members [{ NODE:PORT … }]] [detail]", Help: "pool status, member status with reason, and counters", ReadOnly: true, obj: conf.PoolKind, run: runShowPool},
		Command{Verb: "show", Module: "ltm", Kind: "monitor-trace", Args: "POOL MEMBER", Help: "the member's last health probes, packet by packet", ReadOnly: true, obj: conf.PoolKind, run: runShowMonitorTrace},
		Command{Verb: "show", Module: "ltm", Kind: "virtual", Args: "[NAME …]", Help: "virtual server status and counters", ReadOnly: true, obj: conf.VirtualKind, run: runShowVirtual},
	)
	for _, k := range conf.Kinds {
		out = append(out, Command{Verb: "create", Module: k.Module, Kind: k.Kind, Args: "NAME " + k.CreateArgs, Help: "create one of the " + k.Plural, obj: k, run: runCreate})
	}
	for _, k := range conf.Kinds {
		help := "change one of the " + k.Plural
		if k == conf.PoolKind {
			help = "change a pool; members add|delete|modify|replace-all-with { … }"
		}
		out = append(out, Command{Verb: "modify", Module: k.Module, Kind: k.Kind, Args: "NAME PROPERTY …", Help: help, Operator: k == conf.PoolKind || k == conf.NodeKind, obj: k, run: runModify})
	}
	for _, k := range conf.Kinds {
		out = append(out, Command{Verb: "delete", Module: k.Module, Kind: k.Kind, Args: "NAME …", Help: "delete " + k.Plural + " nothing uses", obj: k, run: runDelete})
	}
	return out
}()

// Commands returns the command grammar, for help and completion.
func Commands() []Command { return slices.Clone(commands) }

// isModule reports whether word starts a stanza rather than a command.
func isModule(word string) bool {
	return slices.ContainsFunc(conf.Kinds, func(k *conf.ObjKind) bool { return k.Module == word })
}

// lookupCommand reads VERB MODULE [KIND…] and finds its table entry. A
// kind may be several words (`ltm monitor http`); the longest one that
// matches wins.
func lookupCommand(cur *conf.Cursor) (*Command, error) {
	vt := cur.Next()
	verbs := commandVerbs
	// Any unambiguous prefix of a verb, module or kind word is that word.
	verb, amb := Abbrev(vt.Text, verbs)
	if vt.Kind == conf.TokWord && len(amb) > 1 {
		return nil, conf.LineErrorf(vt.Line, "%w", ambiguousError(vt.Text, amb))
	}
	byVerb := commandIndex.byVerb[verb]
	if vt.Kind != conf.TokWord || len(byVerb) == 0 {
		return nil, conf.LineErrorf(vt.Line, "%s: unknown command (want one of %s)", vt.Describe(), strings.Join(verbs, ", "))
	}
	mt, ok := cur.Peek()
	modules := commandIndex.modules[verb]
	module := ""
	if ok && mt.Kind == conf.TokWord {
		if module, amb = Abbrev(mt.Text, modules); len(amb) > 1 {
			return nil, conf.LineErrorf(mt.Line, "%s: %w", verb, ambiguousError(mt.Text, amb))
		}
	}
	vm := commandIndex.byPair[[2]string{verb, module}]
	if module == "" || vm == nil {
		got := "nothing"
		if ok {
			got = mt.Describe()
		}
		return nil, conf.LineErrorf(cur.PeekLine(), "%s: want %s, got %s", verb, strings.Join(modules, " or "), got)
	}
	cur.Next()
	whole, cands := vm.whole, vm.cands
	// said is what the line has named so far, for errors: every candidate
	// at depth d shares its first d kind words.
	said := func(depth int) string {
		if depth == 0 {
			return verb + " " + module
		}
		return verb + " " + module + " " + strings.Join(cands[0].words[:depth], " ")
	}
	for depth := 0; ; depth++ {
		t, ok := cur.Peek()
		var next, complete []*Command
		want := vm.want
		if depth > 0 {
			want = nil
			for _, c := range cands {
				if w := c.words; len(w) > depth && !slices.Contains(want, w[depth]) {
					want = append(want, w[depth])
				}
			}
		}
		word := ""
		if ok && t.Kind == conf.TokWord {
			if word, amb = Abbrev(t.Text, want); len(amb) > 1 && !(depth == 0 && whole != nil && t.IsWord("all-properties")) {
				return nil, conf.LineErrorf(t.Line, "%s: %w", said(depth), ambiguousError(t.Text, amb))
			}
		}
		for _, c := range cands {
			w := c.words
			if len(w) <= depth {
				continue
			}
			if word != "" && w[depth] == word {
				next = append(next, c)
				if len(w) == depth+1 {
					complete = append(complete, c)
				}
			}
		}
		if len(next) == 0 {
			if depth == 0 && whole != nil && (!ok || isListFlag(t)) {
				return whole, nil
			}
			got := "nothing"
			if ok {
				got = t.Describe()
			}
			if len(want) == 0 {
				return nil, conf.LineErrorf(cur.PeekLine(), "%s: unexpected %s, want all-properties, one-line or recursive", said(depth), got)
			}
			return nil, conf.LineErrorf(cur.PeekLine(), "%s: want %s, got %s", said(depth), strings.Join(want, ", "), got)
		}
		cur.Next()
		if len(complete) > 0 {
			// A longer kind wins only when its next word follows.
			longer := false
			if nt, ok := cur.Peek(); ok && nt.Kind == conf.TokWord {
				for _, c := range next {
					if w := c.words; len(w) > depth+1 && w[depth+1] == nt.Text {
						longer = true
						break
					}
				}
			}
			if !longer {
				return complete[0], nil
			}
		}
		cands = next
	}
}

// readNames reads object names of kind k (nil: any) up to the end or to
// all-properties.
func readNames(k *conf.ObjKind, args *conf.Cursor) (names []string, allProps bool, err error) {
	for !args.Done() {
		t := args.Next()
		if t.IsWord("all-properties") {
			allProps = true
			continue
		}
		if k == conf.PoolKind && len(names) > 0 && t.IsWord("members") {
			continue // show ltm pool NAME members: the members table is always shown
		}
		if t.Kind != conf.TokWord && t.Kind != conf.TokString {
			return nil, false, conf.LineErrorf(t.Line, "unexpected %s, want a name", t.Describe())
		}
		n, err := k.FullName(t.Text)
		if err != nil {
			return nil, false, conf.LineErrorf(t.Line, "%q: %w", t.Text, err)
		}
		names = append(names, n)
	}
	return names, allProps, nil
}

func notFound(k *conf.ObjKind, name string) error {
	return &config.NotFoundError{Ref: k.Ref(name)}
}

// selectNames resolves the names a list/show asked for; none means all.
func selectNames(x *execCtx, k *conf.ObjKind, args *conf.Cursor) ([]string, bool, error) {
	names, allProps, err := readNames(k, args)
	if err != nil {
		return nil, false, err
	}
	if len(names) == 0 {
		return k.Names(x.cand()), allProps, nil
	}
	for _, n := range names {
		if !k.Exists(x.cand(), n) {
			return nil, false, notFound(k, n)
		}
	}
	return names, allProps, nil
}

// runListAll is `list MODULE [all-properties] [one-line] [recursive]`.
func runListAll(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	var o listOpts
	for !args.Done() {
		if t := args.Next(); !o.flag(t) {
			return "", conf.LineErrorf(t.Line, "list %s: unexpected %s, want all-properties, one-line or recursive", cmd.Module, t.Describe())
		}
	}
	module := cmd.Module
	if module == "running-config" {
		module = "" // everything
	}
	text := conf.FormatModule(x.cand(), module, o.allProps)
	if o.oneLine {
		text = oneLine(text)
	}
	return text, nil
}

// objectArg reads the NAME of create, modify and delete.
func objectArg(cmd *Command, args *conf.Cursor) (string, error) {
	t, err := args.Value(cmd.Verb + " " + cmd.Module + " " + cmd.Kind + ": name")
	if err != nil {
		return "", err
	}
	n, err := cmd.obj.FullName(t.Text)
	if err != nil {
		return "", conf.LineErrorf(t.Line, "%s %q: %w", cmd.Module+" "+cmd.Kind, t.Text, err)
	}
	return n, nil
}

func runCreate(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	name, err := objectArg(cmd, args)
	if err != nil {
		return "", err
	}
	if cmd.obj.Taken(x.cand(), name) {
		return "", &config.ExistsError{Ref: cmd.obj.Ref(name)}
	}
	o, err := cmd.obj.Build(name, args, conf.InCreate)
	if err != nil {
		return "", err
	}
	return "", x.Create(o)
}

func runModify(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	name, err := objectArg(cmd, args)
	if err != nil {
		return "", err
	}
	if !cmd.obj.Exists(x.cand(), name) {
		return "", notFound(cmd.obj, name)
	}
	if args.Done() {
		return "", conf.LineErrorf(args.Line, "%s: no property to modify", cmd.obj.ObjectName(name))
	}
	return "", x.Modify(cmd.obj.Ref(name), func(o config.Object) error { return cmd.obj.Edit(o, args) })
}

func runDelete(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	if args.Done() {
		return "", conf.LineErrorf(args.Line, "%s %s %s: name: missing value", cmd.Verb, cmd.Module, cmd.Kind)
	}
	for !args.Done() {
		name, err := objectArg(cmd, args)
		if err != nil {
			return "", err
		}
		if err := x.Delete(cmd.obj.Ref(name)); err != nil {
			return "", err
		}
	}
	return "", nil
}

// runStatement runs one command, or merges one stanza (a statement starting
// with a module keyword: create-or-replace that object).
func runStatement(x *execCtx, st conf.Statement) (string, error) {
	cur := conf.NewCursor(st.Toks, st.Line)
	first := st.Toks[0]
	if first.IsWord("help") {
		return runHelp(st)
	}
	// sys is a module of commands too: only sys file starts a stanza.
	if first.Kind == conf.TokWord && isModule(first.Text) && (!first.IsWord("sys") || len(st.Toks) > 1 && st.Toks[1].IsWord("file")) {
		if err := x.who().Check(config.RoleAdmin, stanzaAction(st)); err != nil {
			return "", err
		}
		o, err := conf.ReadStanza(st, nil)
		if err != nil {
			return "", err
		}
		return "", x.Put(o)
	}
	if isQuit(st) {
		return "", nil
	}
	if ok, err := cdOther(st); ok {
		return "", err
	}
	cmd, err := lookupCommand(cur)
	if err != nil {
		if out, ok, kerr := listKept(x.cand(), st); ok {
			if aerr := x.who().Check(config.RoleGuest, "list "+first.Text); aerr != nil {
				return "", aerr
			}
			return out, kerr
		}
		if ni := notImplemented(st, err); ni != nil {
			return "", ni
		}
		return "", err
	}
	return runAuthorized(x, cmd, cur)
}

// listKept lists stanzas a loaded config file holds verbatim (kinds lbx does
// not implement): `list ltm rule` prints every kept iRule, `list ltm rule
// NAME …` the named ones, `list sys global-settings` that stanza. ok is
// false when the words name no kind of a kept stanza, so the caller's own
// error (an unknown kind) stands.
func listKept(c *config.Config, st conf.Statement) (out string, ok bool, err error) {
	if !st.Toks[0].IsWord("list") {
		return "", false, nil
	}
	var words []string
	for _, t := range st.Toks[1:] {
		if t.Kind != conf.TokWord && t.Kind != conf.TokString {
			return "", false, nil
		}
		words = append(words, t.Text)
	}
	// A kept stanza's kind is its header but the last word (its name),
	// or the whole header when it has two words (sys global-settings).
	kindLen := 0
	for _, u := range c.Unknown {
		h := strings.Fields(u.Header)
		if len(h) > 2 {
			h = h[:len(h)-1]
		}
		if len(h) <= len(words) && slices.Equal(h, words[:len(h)]) {
			kindLen = max(kindLen, len(h))
		}
	}
	if kindLen == 0 {
		return "", false, nil
	}
	kind := strings.Join(words[:kindLen], " ")
	var b strings.Builder
	print := func(name string) bool {
		found := false
		for _, u := range c.Unknown {
			rest, isKind := strings.CutPrefix(u.Header, kind+" ")
			if !isKind && u.Header != kind {
				continue
			}
			if name != "" && !sameName(rest, name) {
				continue
			}
			b.WriteString(u.Text + "\n")
			found = true
		}
		return found
	}
	names := words[kindLen:]
	if len(names) == 0 {
		print("")
		return b.String(), true, nil
	}
	for _, n := range names {
		if !print(n) {
			if full, err := config.FullName(n); err == nil {
				n = full
			}
			return "", true, &config.NotFoundError{Ref: config.Ref{Kind: config.KindKept, Type: kind, Name: n}}
		}
	}
	return b.String(), true, nil
}

// sameName reports whether a kept stanza's name and a typed one are the
// same object: equal as typed, or as full names.
func sameName(kept, typed string) bool {
	if kept == typed {
		return true
	}
	a, errA := config.FullName(kept)
	b, errB := config.FullName(typed)
	return errA == nil && errB == nil && a == b
}
