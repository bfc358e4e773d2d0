package tmsh

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"lbx/ctrlplane/config"
)

// ParseConfig parses bigip.conf-style text (`ltm node|pool|virtual NAME { … }`,
// `ltm monitor TYPE NAME { … }`, `net self …` stanzas) into a Config with
// defaults applied. Errors are *LineError values naming the object and
// property, e.g.
// `line 7: ltm pool /Common/web: load-balancing-mode "foo": unknown mode`.
// It checks syntax and values only; references are Compile's job.
//
// Stanzas and properties lbx does not implement are not errors: they are
// kept verbatim (Config.Unknown, and the Extra of each object) and printed
// back by Text. ParseConfigNotices also returns one notice for each.
func ParseConfig(text string) (*config.Config, error) {
	c, _, err := parseConfig(text)
	return c, err
}

// ParseConfigNotices is ParseConfig that also reports, once each, what the
// text holds that lbx keeps without implementing:
// `line 12: ltm virtual /Common/vs: property "vlans" is not implemented; kept as is`
// or `line 30: sys global-settings: not implemented; kept as is`.
func ParseConfigNotices(text string) (*config.Config, []string, error) {
	c, _, notices, err := parseConfigNotices(text)
	return c, notices, err
}

// parseConfig also returns the line each object is defined at, so later
// validation errors can point into the file.
func parseConfig(text string) (*config.Config, map[string]int, error) {
	c, lines, _, err := parseConfigNotices(text)
	return c, lines, err
}

func parseConfigNotices(text string) (*config.Config, map[string]int, []string, error) {
	c := config.NewConfig()
	lines, notices, err := mergeConfig(c, text)
	if err != nil {
		return nil, nil, nil, err
	}
	return c, lines, notices, nil
}

// mergeConfig reads bigip.conf-style text into c: each stanza creates or
// replaces its object, unknown stanzas are appended to c.Unknown and unknown
// properties kept, as ParseConfig does; defaults are applied. It returns the
// line of each object it defined and the notices about what it kept
// without implementing. On error c may be partly changed: merge into a clone.
func mergeConfig(c *config.Config, text string) (map[string]int, []string, error) {
	toks, err := lex(text)
	if err != nil {
		return nil, nil, err
	}
	stmts, err := splitStatements(toks)
	if err != nil {
		return nil, nil, err
	}
	ctx := &parseCtx{src: text}
	c.EnsureMaps()
	lines := map[string]int{}
	for _, st := range stmts {
		if matchKind(newCursor(st.toks, st.line)) == nil {
			raw, err := rawStanza(ctx, st)
			if err != nil {
				return nil, nil, err
			}
			c.Unknown = append(c.Unknown, raw)
			ctx.notices = append(ctx.notices, notice{st.line, raw.Header + ": not implemented; kept as is"})
			continue
		}
		o, err := readStanza(st, ctx)
		if err == nil {
			err = c.Put(o)
		}
		if err != nil {
			if le := (*LineError)(nil); !errors.As(err, &le) {
				err = &LineError{Line: st.line, Err: err}
			}
			return nil, nil, err
		}
		key := o.Ref().String()
		if first, dup := lines[key]; dup {
			return nil, nil, lineErrorf(st.line, "%s: defined twice (first at line %d)", key, first)
		}
		lines[key] = st.line
	}
	c.ApplyDefaults()
	var notices []string
	for _, n := range ctx.notices {
		notices = append(notices, n.String())
	}
	return lines, notices, nil
}

// rawStanza keeps a stanza lbx does not implement: words, then one block
// that ends the statement.
func rawStanza(ctx *parseCtx, st statement) (config.RawStanza, error) {
	var header []string
	for i, t := range st.toks {
		switch t.kind {
		case tokWord, tokString:
			header = append(header, t.text)
			continue
		case tokLBrace:
			cur := &cursor{toks: st.toks, i: i}
			if j, err := cur.closing(); err == nil && j == len(st.toks)-1 && i > 0 {
				return config.RawStanza{Header: strings.Join(header, " "), Text: ctx.src[st.toks[0].pos:st.toks[j].end]}, nil
			}
		}
		break
	}
	what := strings.Join(header, " ")
	if len(header) == 0 {
		what = st.toks[0].describe()
	} else {
		what = fmt.Sprintf("%q", config.Excerpt(what, maxQuoted))
	}
	return config.RawStanza{}, lineErrorf(st.line, "%s: not a configuration stanza (want MODULE KIND NAME { … }; known: %s)", what, kindNames())
}

// readStanza reads one `MODULE KIND NAME { props }` stanza into a new
// object. Unknown properties are errors, as in a command; with a ctx (a
// config file) they are kept.
func readStanza(st statement, ctx *parseCtx) (config.Object, error) {
	cur := newCursor(st.toks, st.line)
	cur.ctx = ctx
	k, err := readKind(cur)
	if err != nil {
		return nil, err
	}
	what := k.module + " " + k.kind
	nt, err := cur.value(what + ": name")
	if err != nil {
		return nil, err
	}
	name, err := k.fullName(nt.text)
	if err != nil {
		return nil, lineErrorf(nt.line, "%s %q: %w", what, nt.text, err)
	}
	body, err := cur.block(k.objectName(name))
	if err != nil {
		return nil, err
	}
	if !cur.done() {
		t := cur.next()
		return nil, lineErrorf(t.line, "%s: unexpected %s after \"}\"", k.objectName(name), t.describe())
	}
	return k.build(name, body, inFile)
}

// matchKind reads MODULE KIND… when they name a known kind (the longest
// one), and leaves the cursor alone otherwise.
func matchKind(cur *cursor) *objKind {
	start := cur.i
	var best *objKind
	bestLen := 0
	for _, k := range kinds {
		words := append([]string{k.module}, strings.Fields(k.kind)...)
		if len(words) <= bestLen {
			continue
		}
		cur.i = start
		ok := true
		for _, w := range words {
			t, more := cur.peek()
			if !more || !t.isWord(w) {
				ok = false
				break
			}
			cur.next()
		}
		if ok {
			best, bestLen = k, len(words)
		}
	}
	cur.i = start
	if best != nil {
		for range bestLen {
			cur.next()
		}
	}
	return best
}

// readKind reads MODULE KIND….
func readKind(cur *cursor) (*objKind, error) {
	mt, ok := cur.peek()
	if !ok {
		return nil, lineErrorf(cur.line, "empty statement")
	}
	if mt.kind != tokWord {
		return nil, lineErrorf(mt.line, "unexpected %s", mt.describe())
	}
	if k := matchKind(cur); k != nil {
		return k, nil
	}
	cur.next()
	what := mt.text
	if kt, ok := cur.peek(); ok && kt.kind == tokWord {
		what += " " + kt.text
	}
	return nil, lineErrorf(mt.line, "%q: unknown object type (want one of %s)", what, kindNames())
}

// kindNames lists the kinds for messages, a family of types once:
// "ltm node, ltm monitor TYPE, …".
func kindNames() string {
	var s []string
	for _, k := range kinds {
		first, _, multi := strings.Cut(k.kind, " ")
		name := k.module + " " + first
		if multi {
			name += " TYPE"
		}
		if !slices.Contains(s, name) {
			s = append(s, name)
		}
	}
	return strings.Join(s, ", ")
}

// propMode says where properties are being read; a few properties behave
// differently in a modify.
type propMode uint8

const (
	inFile propMode = iota // a bigip.conf stanza, or a pushed stanza
	inCreate
	inModify
)

// property is one property of an object kind: its name as typed, a help
// line, and how to read its value into the object. The property tables drive
// the config file, the create/modify commands and, later, completion alike.
type property[T any] struct {
	name  string
	help  string
	parse func(c *cursor, obj *T, mode propMode) error
}

// keeper is an object that keeps unknown properties (it embeds Extras).
type keeper interface{ Keep(config.RawProp) }

// parseProps reads properties until the cursor is exhausted. Reading a
// config file (c.ctx set), an unknown property of an object that keeps them
// is kept verbatim, to the end of its line, and noticed.
func parseProps[T any](c *cursor, obj *T, props []property[T], mode propMode) error {
	for !c.done() {
		k := c.next()
		if k.kind != tokWord {
			return lineErrorf(k.line, "unexpected %s, want a property", k.describe())
		}
		i := slices.IndexFunc(props, func(p property[T]) bool { return p.name == k.text })
		if i < 0 {
			if h, ok := any(obj).(keeper); ok && c.ctx != nil {
				h.Keep(config.RawProp{Name: k.text, Text: c.rawUntilEOL(k)})
				c.ctx.notices = append(c.ctx.notices, notice{k.line, fmt.Sprintf("property %q is not implemented; kept as is", k.text)})
				continue
			}
			return lineErrorf(k.line, "unknown property %q", k.text)
		}
		if err := props[i].parse(c, obj, mode); err != nil {
			return err
		}
	}
	return nil
}

// textValue reads a free-text value; an unquoted none clears it.
func textValue(c *cursor, what string, dst *string) error {
	t, err := c.value(what)
	if err != nil {
		return err
	}
	if t.kind == tokWord && t.text == "none" {
		*dst = ""
	} else {
		*dst = t.text
	}
	return nil
}

func addrValue(c *cursor, what string) (netip.Addr, error) {
	t, err := c.value(what)
	if err != nil {
		return netip.Addr{}, err
	}
	a, err := netip.ParseAddr(t.text)
	if err != nil {
		return netip.Addr{}, lineErrorf(t.line, "%s %q: not an IP address", what, t.text)
	}
	return a, nil
}

// uintValue reads a number in [lo, hi].
func uintValue(c *cursor, what string, lo, hi uint32) (uint32, error) {
	t, err := c.value(what)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(t.text, 10, 32)
	if err != nil || t.text[0] == '+' || uint32(n) < lo || uint32(n) > hi {
		return 0, lineErrorf(t.line, "%s %q: want a number from %d to %d", what, t.text, lo, hi)
	}
	return uint32(n), nil
}

// wordValue reads one of words and returns its index.
func wordValue(c *cursor, what string, words ...string) (int, error) {
	t, err := c.value(what)
	if err != nil {
		return 0, err
	}
	if i := slices.Index(words, t.text); i >= 0 && t.kind == tokWord {
		return i, nil
	}
	return 0, lineErrorf(t.line, "%s %q: want %s", what, t.text, orList(words))
}

func orList(words []string) string {
	if len(words) == 1 {
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// refValue reads an object name, or none.
func refValue(c *cursor, what string) (string, error) {
	t, err := c.value(what)
	if err != nil {
		return "", err
	}
	if t.isWord("none") {
		return "", nil
	}
	name, err := config.FullName(t.text)
	if err != nil {
		return "", lineErrorf(t.line, "%s %q: %w", what, t.text, err)
	}
	return name, nil
}

// Property constructors for the common shapes.

func textProp[T any](name, help string, get func(*T) *string) property[T] {
	return property[T]{name, help, func(c *cursor, o *T, _ propMode) error { return textValue(c, name, get(o)) }}
}

func uintProp[T any](name, help string, r config.Range, get func(*T) *uint32) property[T] {
	return property[T]{name, help, func(c *cursor, o *T, _ propMode) error {
		n, err := uintValue(c, name, r.Lo, r.Hi)
		*get(o) = n
		return err
	}}
}

// boolProp reads a two-word switch: yes/no, enabled/disabled.
func boolProp[T any](name, yes, no string, get func(*T) *bool) property[T] {
	return property[T]{name, yes + " or " + no, func(c *cursor, o *T, _ propMode) error {
		i, err := wordValue(c, name, yes, no)
		*get(o) = i == 0
		return err
	}}
}

func refProp[T any](name, help string, get func(*T) *string) property[T] {
	return property[T]{name, help, func(c *cursor, o *T, _ propMode) error {
		n, err := refValue(c, name)
		*get(o) = n
		return err
	}}
}

// sessionProp reads session; monitor-enabled is how BIG-IP saves an enabled
// one.
func sessionProp[T any](get func(*T) *config.Session) property[T] {
	return property[T]{"session", "user-enabled or user-disabled", func(c *cursor, o *T, _ propMode) error {
		i, err := wordValue(c, "session", "user-enabled", "user-disabled", "monitor-enabled")
		if err == nil {
			*get(o) = []config.Session{config.SessionUserEnabled, config.SessionUserDisabled, config.SessionUserEnabled}[i]
		}
		return err
	}}
}

// stateProp reads state; up, down, checking and unchecked are monitor
// states BIG-IP saves, which are not configuration: they read as user-up.
func stateProp[T any](get func(*T) *config.State) property[T] {
	return property[T]{"state", "user-up or user-down (forced offline)", func(c *cursor, o *T, _ propMode) error {
		i, err := wordValue(c, "state", "user-up", "user-down", "up", "down", "checking", "unchecked")
		if err == nil {
			*get(o) = config.StateUserUp
			if i == 1 {
				*get(o) = config.StateUserDown
			}
		}
		return err
	}}
}

// monitorProp reads a monitor rule: none, NAME [and NAME …], or
// min N of { NAME … }.
func monitorProp[T any](get func(*T) *config.MonitorRule) property[T] {
	return property[T]{"monitor", "none, MONITOR [and MONITOR …] or min N of { MONITOR … }", func(c *cursor, o *T, _ propMode) error {
		r, err := parseMonitorRule(c)
		if err == nil {
			*get(o) = r
		}
		return err
	}}
}

func parseMonitorRule(c *cursor) (config.MonitorRule, error) {
	t, ok := c.peek()
	if !ok {
		return config.MonitorRule{}, lineErrorf(c.line, "monitor: missing value")
	}
	name := func(t token) (string, error) {
		if t.kind != tokWord && t.kind != tokString {
			return "", lineErrorf(t.line, "monitor: want a monitor name, got %s", t.describe())
		}
		n, err := config.FullName(t.text)
		if err != nil {
			return "", lineErrorf(t.line, "monitor %q: %w", t.text, err)
		}
		return n, nil
	}
	var r config.MonitorRule
	switch {
	case t.isWord("none"):
		c.next()
		return r, nil
	case t.isWord("min"):
		c.next()
		n, err := uintValue(c, "monitor min", 1, 65535)
		if err != nil {
			return r, err
		}
		if of, ok := c.peek(); !ok || !of.isWord("of") {
			return r, lineErrorf(c.peekLine(), "monitor: want min N of { MONITOR … }")
		}
		c.next()
		blk, err := c.block("monitor min " + strconv.Itoa(int(n)) + " of")
		if err != nil {
			return r, err
		}
		r.Min = n
		for !blk.done() {
			m, err := name(blk.next())
			if err != nil {
				return r, err
			}
			r.Names = append(r.Names, m)
		}
		if len(r.Names) == 0 {
			return r, lineErrorf(blk.line, "monitor: min %d of { }: no monitor", n)
		}
		return r, nil
	}
	for {
		m, err := name(c.next())
		if err != nil {
			return r, err
		}
		r.Names = append(r.Names, m)
		if t, ok := c.peek(); !ok || !t.isWord("and") {
			return r, nil
		}
		c.next()
		if c.done() {
			return r, lineErrorf(c.line, "monitor: missing monitor after \"and\"")
		}
	}
}

var nodeProps = []property[config.Node]{
	{"address", "IP address of the node; fixed once created", func(c *cursor, n *config.Node, mode propMode) error {
		line := c.peekLine()
		a, err := addrValue(c, "address")
		if err != nil {
			return err
		}
		if mode == inModify && a != n.Address {
			return lineErrorf(line, "address %s: cannot be modified (delete and create the node)", a)
		}
		n.Address = a
		return nil
	}},
	uintProp("connection-limit", "maximum concurrent connections, 0 for none", config.PropRange(config.KindNode, "connection-limit"), func(n *config.Node) *uint32 { return &n.ConnectionLimit }),
	textProp("description", "free text", func(n *config.Node) *string { return &n.Description }),
	monitorProp(func(n *config.Node) *config.MonitorRule { return &n.Monitor }),
	uintProp("ratio", "weight for ratio methods, 1-100", config.PropRange(config.KindNode, "ratio"), func(n *config.Node) *uint32 { return &n.Ratio }),
	sessionProp(func(n *config.Node) *config.Session { return &n.Session }),
	stateProp(func(n *config.Node) *config.State { return &n.State }),
}

var poolProps = []property[config.Pool]{
	boolProp("allow-nat", "yes", "no", func(p *config.Pool) *bool { return &p.AllowNAT }),
	boolProp("allow-snat", "yes", "no", func(p *config.Pool) *bool { return &p.AllowSNAT }),
	textProp("description", "free text", func(p *config.Pool) *string { return &p.Description }),
	{"load-balancing-mode", "how members are picked: round-robin, least-connections-member, …", func(c *cursor, p *config.Pool, _ propMode) error {
		t, err := c.value("load-balancing-mode")
		if err != nil {
			return err
		}
		i := slices.Index(config.LBModeNames(), t.text)
		if i < 0 {
			return lineErrorf(t.line, "load-balancing-mode %q: unknown mode", t.text)
		}
		p.Mode = config.LBMode(i)
		return nil
	}},
	{"members", "members [add|delete|modify|replace-all-with] { NODE:PORT [{ PROPERTY … }] … } | none", parseMembers},
	uintProp("min-active-members", "members a priority group needs before a lower one is used; 0 disables", config.PropRange(config.KindPool, "min-active-members"), func(p *config.Pool) *uint32 { return &p.MinActiveMembers }),
	monitorProp(func(p *config.Pool) *config.MonitorRule { return &p.Monitor }),
	uintProp("reselect-tries", "retries on another member, 0-65535", config.PropRange(config.KindPool, "reselect-tries"), func(p *config.Pool) *uint32 { return &p.ReselectTries }),
	{"service-down-action", "none, reset, drop or reselect", func(c *cursor, p *config.Pool, _ propMode) error {
		i, err := wordValue(c, "service-down-action", config.ServiceDownNames()...)
		p.ServiceDownAction = config.ServiceDownAction(i)
		return err
	}},
	uintProp("slow-ramp-time", "seconds a new member ramps up, 0 disables", config.PropRange(config.KindPool, "slow-ramp-time"), func(p *config.Pool) *uint32 { return &p.SlowRampTime }),
}

var memberProps = []property[config.Member]{
	{"address", "the node's address", func(c *cursor, m *config.Member, _ propMode) error {
		a, err := addrValue(c, "address")
		if err != nil {
			return err
		}
		m.Address = a
		return nil
	}},
	uintProp("connection-limit", "maximum concurrent connections, 0 for none", config.PropRange(config.KindMember, "connection-limit"), func(m *config.Member) *uint32 { return &m.ConnectionLimit }),
	textProp("description", "free text", func(m *config.Member) *string { return &m.Description }),
	uintProp("priority-group", "higher groups are used first, 0-65535", config.PropRange(config.KindMember, "priority-group"), func(m *config.Member) *uint32 { return &m.PriorityGroup }),
	uintProp("ratio", "weight for ratio methods, 1-100", config.PropRange(config.KindMember, "ratio"), func(m *config.Member) *uint32 { return &m.Ratio }),
	sessionProp(func(m *config.Member) *config.Session { return &m.Session }),
	stateProp(func(m *config.Member) *config.State { return &m.State }),
}

// memberEntry is one member as listed inside `members { … }`.
type memberEntry struct {
	node string
	port uint16
	body *cursor // nil when the member has no { } block
	line int
	all  bool // the word "all" (members delete { all }, members modify { all { … } })
}

// readListEdit reads the head of a list property (`members …`): `none`
// (op "none", no block), a bare block (op "replace-all-with", as in a config
// file), or one of ops followed by a block.
func readListEdit(c *cursor, prop string, ops ...string) (op string, blk *cursor, err error) {
	t, ok := c.peek()
	if !ok {
		return "", nil, lineErrorf(c.line, "%s: missing value", prop)
	}
	if t.isWord("none") {
		c.next()
		return "none", nil, nil
	}
	op = "replace-all-with"
	if t.kind == tokWord {
		if !slices.Contains(ops, t.text) {
			return "", nil, lineErrorf(t.line, "%s %q: want %s, none or {", prop, t.text, strings.Join(ops, ", "))
		}
		op = t.text
		c.next()
	}
	blk, err = c.block(prop + " " + op)
	return op, blk, err
}

// parseMembers reads `members …`. A bare block replaces the list, as in a
// config file; add, delete, modify and replace-all-with edit it in place.
func parseMembers(c *cursor, p *config.Pool, _ propMode) error {
	op, blk, err := readListEdit(c, "members", "add", "delete", "modify", "replace-all-with")
	if err != nil {
		return err
	}
	if op == "none" {
		p.Members = nil
		return nil
	}
	var entries []memberEntry
	for !blk.done() {
		nt := blk.next()
		if nt.kind != tokWord && nt.kind != tokString {
			return lineErrorf(nt.line, "members: unexpected %s, want a member NODE:PORT", nt.describe())
		}
		e := memberEntry{line: nt.line}
		if (op == "delete" || op == "modify") && nt.isWord("all") {
			e.all = true
		} else if e.node, e.port, err = config.ParseMemberName(nt.text); err != nil {
			return lineErrorf(nt.line, "members: %w", err)
		}
		if blk.atBlock() {
			if e.body, err = blk.block("members " + nt.text); err != nil {
				return err
			}
		}
		entries = append(entries, e)
	}
	return applyMembers(p, op, entries)
}

func memberErr(e memberEntry, err error) error {
	var le *LineError
	if errors.As(err, &le) {
		return &LineError{Line: le.Line, Err: fmt.Errorf("members %s: %w", config.MemberName(e.node, e.port), le.Err)}
	}
	return &LineError{Line: e.line, Err: fmt.Errorf("members %s: %w", config.MemberName(e.node, e.port), err)}
}

func memberBody(e memberEntry, m *config.Member) error {
	if e.body == nil {
		return nil
	}
	first := 0
	if e.body.ctx != nil {
		first = len(e.body.ctx.notices)
	}
	if err := parseProps(e.body, m, memberProps, inFile); err != nil {
		return memberErr(e, err)
	}
	if ctx := e.body.ctx; ctx != nil {
		for i := first; i < len(ctx.notices); i++ {
			ctx.notices[i].msg = "members " + m.Name() + ": " + ctx.notices[i].msg
		}
	}
	return nil
}

// memberID is how BIG-IP names a member in its messages.
func memberID(pool string, e memberEntry) string {
	return fmt.Sprintf("%s %s %d", pool, e.node, e.port)
}

func applyMembers(p *config.Pool, op string, entries []memberEntry) error {
	switch op {
	case "replace-all-with":
		var list []config.Member
		for _, e := range entries {
			if slices.ContainsFunc(list, func(m config.Member) bool { return m.Node == e.node && m.Port == e.port }) {
				return memberErr(e, errors.New("listed twice"))
			}
			m := config.NewMember(e.node, e.port)
			if err := memberBody(e, &m); err != nil {
				return err
			}
			list = append(list, m)
		}
		p.Members = list
	case "add":
		for _, e := range entries {
			if p.FindMember(e.node, e.port) >= 0 {
				return &LineError{Line: e.line, Err: &config.ExistsError{Ref: config.Ref{Kind: config.KindMember, Name: memberID(p.Name, e)}}}
			}
			m := config.NewMember(e.node, e.port)
			if err := memberBody(e, &m); err != nil {
				return err
			}
			p.Members = append(p.Members, m)
		}
	case "delete":
		for _, e := range entries {
			if e.all {
				p.Members = nil
				continue
			}
			if e.body != nil {
				return memberErr(e, errors.New("delete takes member names only"))
			}
			i := p.FindMember(e.node, e.port)
			if i < 0 {
				return &LineError{Line: e.line, Err: &config.NotFoundError{Ref: config.Ref{Kind: config.KindMember, Name: memberID(p.Name, e)}}}
			}
			p.Members = slices.Delete(p.Members, i, i+1)
		}
	case "modify":
		for _, e := range entries {
			if e.all {
				// Every member takes the same properties: each reads
				// its own copy of the block.
				for i := range p.Members {
					each := e
					each.node, each.port = p.Members[i].Node, p.Members[i].Port
					if e.body != nil {
						body := *e.body
						each.body = &body
					}
					if err := memberBody(each, &p.Members[i]); err != nil {
						return err
					}
				}
				continue
			}
			i := p.FindMember(e.node, e.port)
			if i < 0 {
				return &LineError{Line: e.line, Err: &config.NotFoundError{Ref: config.Ref{Kind: config.KindMember, Name: memberID(p.Name, e)}}}
			}
			if err := memberBody(e, &p.Members[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// knownProtocols are ip-protocol values BIG-IP takes that lbx does not carry
// yet.
var knownProtocols = []string{"sctp", "icmp", "icmpv6", "gre", "ipip", "esp", "ah"}

var virtualProps = []property[config.Virtual]{
	uintProp("connection-limit", "maximum concurrent connections, 0 for none", config.PropRange(config.KindVirtual, "connection-limit"), func(v *config.Virtual) *uint32 { return &v.ConnectionLimit }),
	textProp("description", "free text", func(v *config.Virtual) *string { return &v.Description }),
	{"destination", "ADDRESS:PORT the virtual server listens on", func(c *cursor, v *config.Virtual, _ propMode) error {
		t, err := c.value("destination")
		if err != nil {
			return err
		}
		d, err := config.ParseDestination(t.text)
		if err != nil {
			return lineErrorf(t.line, "destination: %w", err)
		}
		v.Destination = d
		return nil
	}},
	{"disabled", "refuse new connections", func(_ *cursor, v *config.Virtual, _ propMode) error {
		v.Disabled = true
		return nil
	}},
	{"enabled", "accept new connections", func(_ *cursor, v *config.Virtual, _ propMode) error {
		v.Disabled = false
		return nil
	}},
	refProp("fallback-persistence", "persistence profile used when the default one does not apply, or none", func(v *config.Virtual) *string { return &v.FallbackPersistence }),
	{"ip-protocol", "tcp, udp or any", func(c *cursor, v *config.Virtual, _ propMode) error {
		t, err := c.value("ip-protocol")
		if err != nil {
			return err
		}
		switch {
		case t.text == "tcp":
			v.Protocol = config.ProtocolTCP
		case t.text == "udp":
			v.Protocol = config.ProtocolUDP
		case t.text == "any":
			v.Protocol = config.ProtocolAny
		case slices.Contains(knownProtocols, t.text):
			return lineErrorf(t.line, "ip-protocol %q: not supported yet (tcp, udp or any)", t.text)
		default:
			return lineErrorf(t.line, "ip-protocol %q: unknown protocol", t.text)
		}
		return nil
	}},
	{"mask", "destination mask; 255.255.255.255", func(c *cursor, v *config.Virtual, _ propMode) error {
		a, err := addrValue(c, "mask")
		if err != nil {
			return err
		}
		v.Mask = a
		return nil
	}},
	{"persist", "persist [add|delete|replace-all-with] { PROFILE [{ default yes|no }] … } | none", parsePersist},
	refProp("pool", "default pool, or none", func(v *config.Virtual) *string { return &v.Pool }),
	{"profiles", "profiles [add|delete|replace-all-with] { NAME [{ context all|clientside|serverside }] … } | none", parseProfiles},
	{"source-address-translation", "{ type automap|none|snat [pool SNATPOOL] }", parseSNAT},
	boolProp("translate-address", "enabled", "disabled", func(v *config.Virtual) *bool { return &v.TranslateAddress }),
	boolProp("translate-port", "enabled", "disabled", func(v *config.Virtual) *bool { return &v.TranslatePort }),
}

var profileProps = []property[config.Profile]{
	{"context", "all, clientside or serverside", func(c *cursor, p *config.Profile, _ propMode) error {
		t, err := c.value("context")
		if err != nil {
			return err
		}
		switch t.text {
		case "all", "clientside", "serverside":
			p.Context = t.text
		default:
			return lineErrorf(t.line, "context %q: want all, clientside or serverside", t.text)
		}
		return nil
	}},
}

// nestedErr prefixes the error of a nested block with its property.
func nestedErr(what string, err error) error {
	var le *LineError
	if errors.As(err, &le) {
		return &LineError{Line: le.Line, Err: fmt.Errorf("%s: %w", what, le.Err)}
	}
	return err
}

// editList reads `PROP [add|delete|replace-all-with] { NAME [{ … }] … } | none`
// into a list sorted by name; read parses one entry's block.
func editList[E any](c *cursor, what string, list []E, name func(*E) *string, read func(body *cursor, e *E) error) ([]E, error) {
	t, ok := c.peek()
	if !ok {
		return nil, lineErrorf(c.line, "%s: missing value", what)
	}
	if t.isWord("none") {
		c.next()
		return nil, nil
	}
	op := "replace-all-with"
	if t.kind == tokWord {
		switch t.text {
		case "add", "delete", "replace-all-with":
			op = t.text
			c.next()
		default:
			return nil, lineErrorf(t.line, "%s %q: want add, delete, replace-all-with, none or {", what, t.text)
		}
	}
	blk, err := c.block(what + " " + op)
	if err != nil {
		return nil, err
	}
	if op == "replace-all-with" {
		list = nil
	} else {
		list = slices.Clone(list)
	}
	seen := map[string]bool{}
	for !blk.done() {
		nt := blk.next()
		if nt.kind != tokWord && nt.kind != tokString {
			return nil, lineErrorf(nt.line, "%s: unexpected %s, want a profile name", what, nt.describe())
		}
		n, err := config.FullName(nt.text)
		if err != nil {
			return nil, lineErrorf(nt.line, "%s %q: %w", what, nt.text, err)
		}
		if seen[n] {
			return nil, lineErrorf(nt.line, "%s %s: listed twice", what, n)
		}
		seen[n] = true
		var e E
		*name(&e) = n
		if blk.atBlock() {
			body, err := blk.block(what + " " + n)
			if err != nil {
				return nil, err
			}
			if err := read(body, &e); err != nil {
				return nil, nestedErr(what+" "+n, err)
			}
		}
		i := slices.IndexFunc(list, func(x E) bool { return *name(&x) == n })
		switch {
		case op == "delete" && i < 0:
			return nil, lineErrorf(nt.line, "%s %s: not attached", what, n)
		case op == "delete":
			list = slices.Delete(list, i, i+1)
		case op == "add" && i >= 0:
			return nil, lineErrorf(nt.line, "%s %s: already attached", what, n)
		default:
			list = append(list, e)
		}
	}
	slices.SortFunc(list, func(a, b E) int { return strings.Compare(*name(&a), *name(&b)) })
	return list, nil
}

func parseProfiles(c *cursor, v *config.Virtual, _ propMode) error {
	list, err := editList(c, "profiles", v.Profiles, func(p *config.Profile) *string { return &p.Name },
		func(body *cursor, p *config.Profile) error { return parseProps(body, p, profileProps, inFile) })
	if err == nil {
		v.Profiles = list
	}
	return err
}

var persistRefProps = []property[config.PersistRef]{
	boolProp("default", "yes", "no", func(p *config.PersistRef) *bool { return &p.Default }),
}

func parsePersist(c *cursor, v *config.Virtual, _ propMode) error {
	list, err := editList(c, "persist", v.Persist, func(p *config.PersistRef) *string { return &p.Name },
		func(body *cursor, p *config.PersistRef) error { return parseProps(body, p, persistRefProps, inFile) })
	if err == nil {
		v.Persist = list
	}
	return err
}

// snatSpec is the inside of source-address-translation { }; what is not
// given keeps the virtual's current setting.
type snatSpec struct {
	typ  config.SNATType
	pool string
}

var snatProps = []property[snatSpec]{
	{"type", "automap, none or snat", func(c *cursor, s *snatSpec, _ propMode) error {
		t, err := c.value("type")
		if err != nil {
			return err
		}
		switch t.text {
		case "automap":
			s.typ = config.SNATAutomap
		case "none":
			s.typ = config.SNATNone
		case "snat":
			s.typ = config.SNATSnatpool
		case "lsn":
			return lineErrorf(t.line, "type %q: not supported yet (automap, none or snat)", t.text)
		default:
			return lineErrorf(t.line, "type %q: want automap, none or snat", t.text)
		}
		return nil
	}},
	refProp("pool", "SNAT pool for type snat, or none", func(s *snatSpec) *string { return &s.pool }),
}

func parseSNAT(c *cursor, v *config.Virtual, _ propMode) error {
	blk, err := c.block("source-address-translation")
	if err != nil {
		return err
	}
	s := snatSpec{typ: v.SNAT, pool: v.SNATPool}
	if err := parseProps(blk, &s, snatProps, inFile); err != nil {
		return nestedErr("source-address-translation", err)
	}
	if s.typ != config.SNATSnatpool {
		s.pool = ""
	}
	v.SNAT, v.SNATPool = s.typ, s.pool
	return nil
}
