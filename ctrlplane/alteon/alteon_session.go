package alteon

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/store"
)

// An Alteon session works as the appliance does: every command changes a
// pending configuration (the session's transaction, opened at the first
// change), `diff` shows it, `apply` makes it running as a whole, `revert`
// drops it, and `save` writes the running configuration. The open menu is
// kept between lines, so a /cfg/dump (a path line, then indented commands)
// reads back as it prints.

// altGlobals are the commands every menu has.
var altGlobals = []altCmd{
	{name: "apply", help: "make the pending changes running, all or none"},
	{name: "diff", args: "[flash]", help: "show the pending changes (flash: pending and applied, against the saved configuration)", max: 1},
	{name: "revert", args: "[apply]", help: "drop the pending changes (apply: also the applied changes not saved)", max: 1},
	{name: "save", help: "save the running configuration (apply pending changes first)"},
	{name: "help", help: "list this menu's commands"},
	{name: "..", help: "go up one menu"},
	{name: "up", help: "go up one menu"},
}

// altSegments splits one line into its path segments, each a list of
// words: "/c/slb/real 1/rip 10.0.0.1" is [[c] [slb] [real 1] [rip 10.0.0.1]].
// A double-quoted word may hold spaces and slashes. abs reports a line
// starting at the root (with "/").
func altSegments(line string) (segs [][]string, abs bool, err error) {
	line = strings.TrimSpace(line)
	if len(line) > MaxLine {
		return nil, false, fmt.Errorf("line of %d bytes: longer than the limit of %d", len(line), MaxLine)
	}
	abs = strings.HasPrefix(line, "/")
	var seg []string
	var word strings.Builder
	inWord, quoted := false, false
	endWord := func() {
		if inWord {
			seg = append(seg, word.String())
			word.Reset()
			inWord = false
		}
	}
	endSeg := func() {
		endWord()
		if len(seg) > 0 {
			segs = append(segs, seg)
		}
		seg = nil
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted && c == '"':
			quoted = false
		case quoted:
			word.WriteByte(c)
		case c == '"':
			quoted, inWord = true, true
		case c == '/':
			endSeg()
		case c == ' ' || c == '\t' || c == '\r': // \r: a script saved with CRLF
			endWord()
		case c < ' ' || c == 0x7f:
			return nil, false, fmt.Errorf("control character %q in the line", c)
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		return nil, false, errors.New("unterminated quoted string")
	}
	endSeg()
	return segs, abs, nil
}

// The limits of one text: a line is at most MaxLine bytes (an Alteon
// line is a menu path and a few values), so its words cost little; what
// the lines print together is at most MaxOutput bytes (the control socket
// carries 64 MiB a message), so `/cfg/dump` repeated cannot make
// gigabytes. Lines are read one at a time, never split into a slice.
const (
	MaxLine   = 64 << 10
	MaxOutput = 64 << 20
)

// outputLimitError stops a text whose output passed max at line.
func outputLimitError(line, max int) error {
	return &config.LineError{Line: line, Err: fmt.Errorf("the output passed the limit of %d MiB for one request: stopped after this line; ask for less at a time", max>>20)}
}

// altSkip reports a line that carries no command: blank, a /* comment, or
// a dump's script start/end line.
func altSkip(line string) bool {
	t := strings.TrimSpace(line)
	return t == "" || strings.HasPrefix(t, "/*") || strings.HasPrefix(t, "script start") || strings.HasPrefix(t, "script end")
}

// IsScript reports whether text is in the Alteon dialect: its first
// line with a command starts with "/" or is a dump's "script start".
func IsScript(text string) bool {
	for l := range strings.SplitSeq(text, "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "script start") {
			return true
		}
		if altSkip(l) || strings.HasPrefix(t, "#") {
			continue
		}
		return strings.HasPrefix(t, "/")
	}
	return false
}

// lookupAlt finds name in the menu (and the global commands): an exact
// name, else a unique prefix, as Alteon accepts. A prefix of one of the
// menu's own entries wins over the globals (`/c/s/r 1` is
// /cfg/slb/real 1, not save nor revert).
func lookupAlt(m *altMenu, name string) (*altCmd, error) {
	all := make([]*altCmd, 0, len(m.cmds)+len(altGlobals))
	for i := range m.cmds {
		all = append(all, &m.cmds[i])
	}
	for i := range altGlobals {
		all = append(all, &altGlobals[i])
	}
	var pre, own []*altCmd
	for i, c := range all {
		if c.name == name {
			return c, nil
		}
		if name != "" && strings.HasPrefix(c.name, name) {
			pre = append(pre, c)
			if i < len(m.cmds) {
				own = append(own, c)
			}
		}
	}
	if len(own) == 1 {
		return own[0], nil
	}
	if len(own) > 1 {
		pre = own
	}
	if len(pre) == 1 {
		return pre[0], nil
	}
	var names []string
	for _, c := range all {
		names = append(names, c.name)
	}
	if len(pre) > 1 {
		var amb []string
		for _, c := range pre {
			amb = append(amb, c.name)
		}
		return nil, fmt.Errorf("%q is ambiguous: %s", name, strings.Join(amb, ", "))
	}
	return nil, fmt.Errorf("%q: unknown command (this menu has %s)", name, strings.Join(names, ", "))
}

// runAltLine runs one line's segments in the menu tree. Global commands
// that need the store (apply, diff, revert, save) are handed to global, in
// order with the rest. On an error the open menu is what it was before the
// line.
func runAltLine(a *altCtx, line string, global func(name string) (string, error)) (string, error) {
	if altSkip(line) {
		return "", nil
	}
	segs, abs, err := altSegments(line)
	if err != nil {
		return "", err
	}
	saved := slices.Clone(a.st.path)
	if abs {
		a.st.path = a.st.path[:0]
	}
	var out strings.Builder
	for _, seg := range segs {
		o, err := runAltSegment(a, seg, global)
		out.WriteString(o)
		if err != nil {
			a.st.path = saved
			return out.String(), err
		}
	}
	return out.String(), nil
}

func runAltSegment(a *altCtx, seg []string, global func(name string) (string, error)) (string, error) {
	f := a.st.frame()
	menu := altMenus[f.kind]
	c, err := lookupAlt(menu, seg[0])
	if err != nil {
		return "", fmt.Errorf("%s: %w", menu.path(f), err)
	}
	args := seg[1:]
	switch c.name {
	case "..", "up":
		if len(a.st.path) > 0 {
			a.st.path = a.st.path[:len(a.st.path)-1]
		}
		return "", nil
	case "help":
		return altHelp(menu, f), nil
	}
	if c.run == nil && c.enter == nil {
		if len(args) > 0 {
			// "diff flash", "revert apply": the word names the global.
			return global(c.name + " " + strings.Join(args, " "))
		}
		return global(c.name)
	}
	if len(args) < c.min || len(args) > c.max {
		usage := c.name
		if c.args != "" {
			usage += " " + c.args
		}
		return "", fmt.Errorf("%s: usage: %s", menu.path(f), usage)
	}
	if c.enter != nil {
		nf, err := c.enter(a, f, args)
		if err != nil {
			return "", err
		}
		a.st.path = append(a.st.path, nf)
		return "", nil
	}
	return c.run(a, f, args)
}

func altHelp(m *altMenu, f altFrame) string {
	var b strings.Builder
	b.WriteString("[" + m.title(f) + " Menu]\n")
	for _, c := range slices.Concat(m.cmds, altGlobals) {
		name := c.name
		if c.args != "" {
			name += " " + c.args
		}
		fmt.Fprintf(&b, "     %-28s - %s\n", name, c.help)
	}
	return b.String()
}

// Dialect is the Alteon /cfg language over a store: sessions with pending
// changes, and pushed scripts (a /cfg/dump) applied as a whole.
type Dialect struct {
	store     *store.Store
	src       status.Sources
	maxOutput int // MaxOutput; tests shrink it
}

// New returns the Alteon dialect of s; /info reads status from src.
func New(s *store.Store, src status.Sources) *Dialect {
	return &Dialect{store: s, src: src, maxOutput: MaxOutput}
}

// execCtx is what an Alteon command acts on: the pending changes and where
// /info reads status.
type execCtx struct {
	*store.Txn
	src    status.Sources
	store  *store.Store // for the running and saved configurations
	pushed bool         // a pushed script runs with the store locked
}

func (d *Dialect) execCtx(t *store.Txn) *execCtx { return &execCtx{Txn: t, src: d.src, store: d.store} }

// view reads status for the pending configuration.
func (x *execCtx) view() *status.View { return status.New(x.Config(), x.src) }

// Session is one client's conversation in the Alteon dialect: the open
// menu and the pending changes, kept between requests.
type Session struct {
	d      *Dialect
	access *config.Access // who runs the lines (nil: root); see access.go

	mu  sync.Mutex // guards txn and alt
	txn *execCtx   // the pending changes; nil until the first line
	alt *altState
}

// NewSession starts a session at the Main menu with nothing pending.
func (d *Dialect) NewSession() *Session { return &Session{d: d, alt: newAltState()} }

// Exec runs Alteon dialect lines in the session, in order, stopping at the
// first error. Changes stay pending until an `apply`.
func (ss *Session) Exec(text string) (string, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	text = strings.TrimRight(text, "\n")
	// Alteon's /boot/reset and /boot/halt: the VM appliance stops cleanly.
	switch w := strings.TrimSpace(text); w {
	case "/boot/reset", "/boot/halt":
		who := config.Root
		if ss.access != nil {
			who = *ss.access
		}
		return ss.d.store.Power(who, w, w == "/boot/reset")
	}
	several := strings.Contains(text, "\n")
	var out strings.Builder
	i := 0
	for l := range strings.SplitSeq(text, "\n") {
		i++
		if altSkip(l) {
			continue
		}
		run := ss.lineLocked
		if !ss.who().Admin() {
			run = ss.checkedLineLocked
		}
		o, err := run(l)
		out.WriteString(o)
		if err == nil && out.Len() > ss.d.maxOutput {
			return "", outputLimitError(i, ss.d.maxOutput)
		}
		if err != nil {
			if several {
				err = &config.LineError{Line: i, Err: err}
			}
			return out.String(), err
		}
	}
	return out.String(), nil
}

// Prompt is the prompt of the session's open menu.
func (ss *Session) Prompt() string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.alt.Prompt()
}

// Dropped warns, for a session that ends with its request, that its
// pending changes end with it.
func (ss *Session) Dropped() string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if !ss.pendingLocked() {
		return ""
	}
	return "warning: the pending changes were dropped: a one-shot command applies only what it applies (end it with /apply)\n"
}

// Pending reports whether the session has changes not applied, for a
// shell that asks before leaving.
func (ss *Session) Pending() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.pendingLocked()
}

// pendingLocked reports whether the session has changes not applied: a
// changed candidate, or a virt with no service yet.
func (ss *Session) pendingLocked() bool {
	return ss.txn != nil && ss.txn.Changed() || len(ss.alt.drafts) > 0
}

// beginLocked makes sure the session has a candidate for the next line.
func (ss *Session) beginLocked() {
	s := ss.d.store
	if ss.txn != nil && !ss.pendingLocked() && ss.txn.Base() != s.Version() {
		ss.txn = nil // nothing pending: follow the running configuration
	}
	if ss.txn == nil {
		ss.txn = ss.d.execCtx(s.Begin())
		clear(ss.alt.drafts)
	}
}

func (ss *Session) lineLocked(line string) (string, error) {
	s := ss.d.store
	ss.beginLocked()
	a := &altCtx{x: ss.txn, st: ss.alt}
	return runAltLine(a, line, func(name string) (string, error) {
		if err := ss.who().Check(globalNeeds(name), name); err != nil {
			return "", err
		}
		switch name {
		case "apply":
			return ss.applyLocked()
		case "diff":
			return altDiff(ss.txn.Original(), ss.txn.Config(), ss.alt.drafts), nil
		case "revert":
			pending := ss.pendingLocked()
			ss.txn.Revert()
			clear(ss.alt.drafts)
			if !pending {
				return "No pending changes to revert.\n", nil
			}
			return "Pending changes reverted.\n", nil
		case "save":
			if ss.pendingLocked() {
				return "", errors.New("save: there are pending changes; apply or revert them first")
			}
			if err := s.Save(); err != nil {
				return "", err
			}
			return "Running configuration saved.\n", nil
		case "diff flash":
			saved, err := s.Saved()
			if err != nil {
				return "", fmt.Errorf("diff flash: %w", err)
			}
			return altDiff(saved, ss.txn.Config(), ss.alt.drafts), nil
		case "revert apply":
			return ss.revertApplyLocked()
		}
		return "", globalUsage(name)
	})
}

// applyLocked applies the pending changes. A refused apply keeps them
// pending, as on the appliance, and its errors name Alteon objects.
func (ss *Session) applyLocked() (string, error) {
	t := ss.txn
	var out strings.Builder
	for _, id := range sortedIDs(ss.alt.drafts) {
		fmt.Fprintf(&out, "warning: virt %s has no service yet; it stays pending (lbx keeps a virt as its services)\n", id)
	}
	if !t.Changed() {
		return out.String() + "No pending changes to apply.\n", nil
	}
	cand := t.Config()
	warnings, err := t.Commit()
	if err != nil {
		var ce *config.ConflictError
		if errors.As(err, &ce) {
			return out.String(), fmt.Errorf("apply: the pending changes were made on configuration version %d, but another session has since applied version %d; nothing was changed (revert, then make them again)", ce.Base, ce.Current)
		}
		return out.String(), altErrors(cand, err)
	}
	// The transaction goes on from the new running configuration, where
	// the drafts stay pending.
	out.WriteString(altNames(t.Config()).Replace(warningText(warnings)))
	out.WriteString("Apply complete; don't forget to \"save\" the updated configuration.\n")
	return out.String(), nil
}

// warningText is an apply's new warnings, one a line.
func warningText(warnings []string) string {
	var b strings.Builder
	for _, w := range warnings {
		b.WriteString("warning: " + w + "\n")
	}
	return b.String()
}

// Push runs an Alteon script (a /cfg/dump, or commands) on a candidate of
// its own and applies it as a whole at its end; `apply` lines in it are
// accepted and wait for the end, `save` saves after the apply. Any error
// changes nothing and names the line.
func (d *Dialect) Push(text string) (string, error) {
	out, warnings, err := d.push(text, d.store.Update, nil)
	if err != nil {
		return "", err
	}
	return out + altNames(d.store.Running()).Replace(warningText(warnings)), nil
}

// Check is a dry run of Push: the script is run on a transaction, checked
// and compiled as a push would be (store.Store.Check), and nothing is
// applied or saved. It prints the script's own output, then the pending
// changes as `diff` prints them (or "no changes") and the warnings a push
// would add; errors carry the script's line numbers as a push's do.
func (d *Dialect) Check(text string) (string, error) {
	var diff string
	var cand *config.Config
	out, warnings, err := d.push(text, func(fn func(*store.Txn) error) ([]string, error) {
		_, w, err := d.store.Check(fn)
		return w, err
	}, func(t *store.Txn, st *altState) {
		cand = t.Config()
		diff = altDiff(t.Original(), t.Config(), st.drafts)
	})
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(diff) == "" {
		diff = "no changes\n"
	}
	return out + diff + altNames(cand).Replace(warningText(warnings)), nil
}

// push runs a script's lines in one transaction that apply (the store's
// Update, or Check for a dry run) commits; done, when set, sees the
// transaction once every line has run. It returns the script's output and
// the apply's new warnings.
func (d *Dialect) push(text string, apply func(func(*store.Txn) error) ([]string, error), done func(*store.Txn, *altState)) (string, []string, error) {
	st := newAltState()
	var out strings.Builder
	var cand *config.Config
	ran := false
	warnings, err := apply(func(t *store.Txn) error {
		x := d.execCtx(t)
		x.pushed = true
		cand = t.Config()
		a := &altCtx{x: x, st: st}
		i := 0
		for l := range strings.SplitSeq(text, "\n") {
			i++
			o, err := runAltLine(a, l, func(name string) (string, error) {
				switch name {
				case "apply":
					return "", nil
				case "save":
					t.SaveOnCommit()
					return "", nil
				case "diff":
					return altDiff(t.Original(), t.Config(), st.drafts), nil
				}
				return "", fmt.Errorf("%s: not in a pushed script", name)
			})
			out.WriteString(o)
			if err != nil {
				return &config.LineError{Line: i, Err: err}
			}
			if out.Len() > d.maxOutput {
				return outputLimitError(i, d.maxOutput)
			}
		}
		for _, id := range sortedIDs(st.drafts) {
			fmt.Fprintf(&out, "warning: virt %s has no service; nothing of it is applied (lbx keeps a virt as its services)\n", id)
		}
		ran = true
		if done != nil {
			done(t, st)
		}
		return nil
	})
	if err != nil {
		if ran {
			err = altErrors(cand, err)
		}
		return "", nil, err
	}
	return out.String(), warnings, nil
}

func sortedIDs[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, compareIDs)
	return out
}

// compareIDs orders Alteon IDs as the appliance lists them: numbers by
// value, before names.
func compareIDs(a, b string) int {
	na, ea := altNumber(a)
	nb, eb := altNumber(b)
	switch {
	case ea && eb:
		if na != nb {
			return na - nb
		}
	case ea:
		return -1
	case eb:
		return 1
	}
	return strings.Compare(a, b)
}

func altNumber(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// altNames rewrites tmsh object names in messages into the Alteon
// dialect's: "ltm node /Common/1" is "real 1".
func altNames(c *config.Config) *strings.Replacer {
	type pair struct{ old, new string }
	var pairs []pair
	for _, n := range c.NodeList() {
		pairs = append(pairs, pair{n.Ref().String(), altRefName(c, n.Ref())},
			pair{"node " + n.Name, altRefName(c, n.Ref())})
	}
	for _, p := range c.PoolList() {
		pairs = append(pairs, pair{p.Ref().String(), altRefName(c, p.Ref())})
	}
	for _, v := range c.VirtualList() {
		pairs = append(pairs, pair{v.Ref().String(), altRefName(c, v.Ref())})
	}
	for _, m := range c.MonitorList() {
		pairs = append(pairs, pair{m.Ref().String(), altRefName(c, m.Ref())})
	}
	// Longer names first, so /Common/1 does not take a bite of /Common/10.
	slices.SortFunc(pairs, func(a, b pair) int { return len(b.old) - len(a.old) })
	var args []string
	for _, p := range pairs {
		args = append(args, p.old, p.new)
	}
	return strings.NewReplacer(args...)
}

// altRefName names an object in the Alteon dialect's words: real 1,
// group 1, virt 1 service 80, health h1; objects the dialect has no menu
// for keep their tmsh name.
func altRefName(c *config.Config, r config.Ref) string {
	switch r.Kind {
	case config.KindNode:
		return "real " + config.BaseName(r.Name)
	case config.KindPool:
		return "group " + config.BaseName(r.Name)
	case config.KindMonitor:
		return "health " + config.BaseName(r.Name)
	case config.KindVirtual:
		if v := c.Virtuals[r.Name]; v != nil {
			id, port := virtOf(v)
			return "virt " + id + " service " + u16(port)
		}
	}
	return r.String()
}

// altInUse applies config's in-use rule to a delete, naming the referrer
// in the dialect's words.
func altInUse(c *config.Config, r config.Ref) error {
	err := c.InUse(r)
	var iu *config.InUseError
	if !errors.As(err, &iu) {
		return err
	}
	if r.Kind == config.KindNode {
		id := config.BaseName(r.Name)
		return &altError{fmt.Sprintf("real %s is in %s; remove it there first (rem %s)", id, altRefName(c, iu.By), id), err}
	}
	by := altRefName(c, iu.By)
	if iu.Parent {
		by += " (defaults-from)"
	}
	return &altError{fmt.Sprintf("%s is used by %s", altRefName(c, r), by), err}
}

// altError is a typed error of the model worded in the dialect: Error is
// the Alteon text, and errors.Is and errors.As see the config error it
// words (an *InUseError, the ValidationErrors of an apply).
type altError struct {
	msg string
	err error
}

func (e *altError) Error() string { return e.msg }
func (e *altError) Unwrap() error { return e.err }

// altErrors words a refused apply in the dialect: each validation error
// names its object from the typed error (real 5: address: missing); the
// tmsh names of objects it refers to in its text are rewritten.
func altErrors(c *config.Config, err error) error {
	names := altNames(c)
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	var out []string
	for _, e := range errs {
		var ve *config.ValidationError
		if errors.As(e, &ve) {
			detail := ve.Err.Error()
			if ve.Property != "" {
				detail = ve.Property + ": " + detail
			}
			out = append(out, altRefName(c, ve.Obj)+": "+names.Replace(detail))
			continue
		}
		out = append(out, names.Replace(e.Error()))
	}
	return &altError{strings.Join(out, "\n"), err}
}
