package conf

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
	lines, notices, err := MergeConfig(c, text)
	if err != nil {
		return nil, nil, nil, err
	}
	return c, lines, notices, nil
}

// MergeConfig reads bigip.conf-style text into c: each stanza creates or
// replaces its object, unknown stanzas are appended to c.Unknown and unknown
// properties kept, as ParseConfig does; defaults are applied. It returns the
// line of each object it defined and the notices about what it kept
// without implementing. On error c may be partly changed: merge into a clone.
func MergeConfig(c *config.Config, text string) (map[string]int, []string, error) {
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
		if matchKind(NewCursor(st.Toks, st.Line)) == nil {
			raw, err := rawStanza(ctx, st)
			if err != nil {
				return nil, nil, err
			}
			c.Unknown = append(c.Unknown, raw)
			ctx.notices = append(ctx.notices, notice{st.Line, raw.Header + ": not implemented; kept as is"})
			continue
		}
		o, err := ReadStanza(st, ctx)
		if err == nil {
			err = c.Put(o)
		}
		if err != nil {
			if le := (*LineError)(nil); !errors.As(err, &le) {
				err = &LineError{Line: st.Line, Err: err}
			}
			return nil, nil, err
		}
		key := o.Ref().String()
		if first, dup := lines[key]; dup {
			return nil, nil, LineErrorf(st.Line, "%s: defined twice (first at line %d)", key, first)
		}
		lines[key] = st.Line
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
func rawStanza(ctx *parseCtx, st Statement) (config.RawStanza, error) {
	var header []string
	for i, t := range st.Toks {
		switch t.Kind {
		case TokWord, TokString:
			header = append(header, t.Text)
			continue
		case TokLBrace:
			cur := &Cursor{toks: st.Toks, i: i}
			if j, err := cur.closing(); err == nil && j == len(st.Toks)-1 && i > 0 {
				return config.RawStanza{Header: strings.Join(header, " "), Text: ctx.src[st.Toks[0].pos:st.Toks[j].end]}, nil
			}
		}
		break
	}
	what := strings.Join(header, " ")
	if len(header) == 0 {
		what = st.Toks[0].Describe()
	} else {
		what = fmt.Sprintf("%q", config.Excerpt(what, maxQuoted))
	}
	return config.RawStanza{}, LineErrorf(st.Line, "%s: not a configuration stanza (want MODULE KIND NAME { … }; known: %s)", what, kindNames())
}

// ReadStanza reads one `MODULE KIND NAME { props }` stanza into a new
// object. Unknown properties are errors, as in a command; with a ctx (a
// config file) they are kept.
func ReadStanza(st Statement, ctx *parseCtx) (config.Object, error) {
	cur := NewCursor(st.Toks, st.Line)
	cur.ctx = ctx
	k, err := readKind(cur)
	if err != nil {
		return nil, err
	}
	what := k.Module + " " + k.Kind
	nt, err := cur.Value(what + ": name")
	if err != nil {
		return nil, err
	}
	name, err := k.FullName(nt.Text)
	if err != nil {
		return nil, LineErrorf(nt.Line, "%s %q: %w", what, nt.Text, err)
	}
	body, err := cur.Block(k.ObjectName(name))
	if err != nil {
		return nil, err
	}
	if !cur.Done() {
		t := cur.Next()
		return nil, LineErrorf(t.Line, "%s: unexpected %s after \"}\"", k.ObjectName(name), t.Describe())
	}
	return k.Build(name, body, InFile)
}

// matchKind reads MODULE KIND… when they name a known kind (the longest
// one), and leaves the cursor alone otherwise.
func matchKind(cur *Cursor) *ObjKind {
	start := cur.i
	var best *ObjKind
	bestLen := 0
	for _, k := range Kinds {
		words := append([]string{k.Module}, strings.Fields(k.Kind)...)
		if len(words) <= bestLen {
			continue
		}
		cur.i = start
		ok := true
		for _, w := range words {
			t, more := cur.Peek()
			if !more || !t.IsWord(w) {
				ok = false
				break
			}
			cur.Next()
		}
		if ok {
			best, bestLen = k, len(words)
		}
	}
	cur.i = start
	if best != nil {
		for range bestLen {
			cur.Next()
		}
	}
	return best
}

// readKind reads MODULE KIND….
func readKind(cur *Cursor) (*ObjKind, error) {
	mt, ok := cur.Peek()
	if !ok {
		return nil, LineErrorf(cur.Line, "empty statement")
	}
	if mt.Kind != TokWord {
		return nil, LineErrorf(mt.Line, "unexpected %s", mt.Describe())
	}
	if k := matchKind(cur); k != nil {
		return k, nil
	}
	cur.Next()
	what := mt.Text
	if kt, ok := cur.Peek(); ok && kt.Kind == TokWord {
		what += " " + kt.Text
	}
	return nil, LineErrorf(mt.Line, "%q: unknown object type (want one of %s)", what, kindNames())
}

// kindNames lists the kinds for messages, a family of types once:
// "ltm node, ltm monitor TYPE, …".
func kindNames() string {
	var s []string
	for _, k := range Kinds {
		first, _, multi := strings.Cut(k.Kind, " ")
		name := k.Module + " " + first
		if multi {
			name += " TYPE"
		}
		if !slices.Contains(s, name) {
			s = append(s, name)
		}
	}
	return strings.Join(s, ", ")
}

// PropMode says where properties are being read; a few properties behave
// differently in a modify.
type PropMode uint8

const (
	InFile PropMode = iota // a bigip.conf stanza, or a pushed stanza
	InCreate
	InModify
)

// property is one property of an object kind: its name as typed, a help
// line, and how to read its value into the object. The property tables drive
// the config file, the create/modify commands and, later, completion alike.
type property[T any] struct {
	name  string
	help  string
	parse func(c *Cursor, obj *T, mode PropMode) error
}

// keeper is an object that keeps unknown properties (it embeds Extras).
type keeper interface{ Keep(config.RawProp) }

// parseProps reads properties until the cursor is exhausted. Reading a
// config file (c.ctx set), an unknown property of an object that keeps them
// is kept verbatim, to the end of its line, and noticed.
func parseProps[T any](c *Cursor, obj *T, props []property[T], mode PropMode) error {
	for !c.Done() {
		k := c.Next()
		if k.Kind != TokWord {
			return LineErrorf(k.Line, "unexpected %s, want a property", k.Describe())
		}
		i := slices.IndexFunc(props, func(p property[T]) bool { return p.name == k.Text })
		if i < 0 {
			if h, ok := any(obj).(keeper); ok && c.ctx != nil {
				h.Keep(config.RawProp{Name: k.Text, Text: c.rawUntilEOL(k)})
				c.ctx.notices = append(c.ctx.notices, notice{k.Line, fmt.Sprintf("property %q is not implemented; kept as is", k.Text)})
				continue
			}
			return LineErrorf(k.Line, "unknown property %q", k.Text)
		}
		if err := props[i].parse(c, obj, mode); err != nil {
			return err
		}
	}
	return nil
}

// textValue reads a free-text value; an unquoted none clears it.
func textValue(c *Cursor, what string, dst *string) error {
	t, err := c.Value(what)
	if err != nil {
		return err
	}
	if t.Kind == TokWord && t.Text == "none" {
		*dst = ""
	} else {
		*dst = t.Text
	}
	return nil
}

func addrValue(c *Cursor, what string) (netip.Addr, error) {
	t, err := c.Value(what)
	if err != nil {
		return netip.Addr{}, err
	}
	a, err := netip.ParseAddr(t.Text)
	if err != nil {
		return netip.Addr{}, LineErrorf(t.Line, "%s %q: not an IP address", what, t.Text)
	}
	return a, nil
}

// uintValue reads a number in [lo, hi].
func uintValue(c *Cursor, what string, lo, hi uint32) (uint32, error) {
	t, err := c.Value(what)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(t.Text, 10, 32)
	if err != nil || t.Text[0] == '+' || uint32(n) < lo || uint32(n) > hi {
		return 0, LineErrorf(t.Line, "%s %q: want a number from %d to %d", what, t.Text, lo, hi)
	}
	return uint32(n), nil
}

// wordValue reads one of words and returns its index.
func wordValue(c *Cursor, what string, words ...string) (int, error) {
	t, err := c.Value(what)
	if err != nil {
		return 0, err
	}
	if i := slices.Index(words, t.Text); i >= 0 && t.Kind == TokWord {
		return i, nil
	}
	return 0, LineErrorf(t.Line, "%s %q: want %s", what, t.Text, orList(words))
}

func orList(words []string) string {
	if len(words) == 1 {
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// refValue reads an object name, or none.
func refValue(c *Cursor, what string) (string, error) {
	t, err := c.Value(what)
	if err != nil {
		return "", err
	}
	if t.IsWord("none") {
		return "", nil
	}
	name, err := config.FullName(t.Text)
	if err != nil {
		return "", LineErrorf(t.Line, "%s %q: %w", what, t.Text, err)
	}
	return name, nil
}

// Property constructors for the common shapes.

func textProp[T any](name, help string, get func(*T) *string) property[T] {
	return property[T]{name, help, func(c *Cursor, o *T, _ PropMode) error { return textValue(c, name, get(o)) }}
}

func uintProp[T any](name, help string, r config.Range, get func(*T) *uint32) property[T] {
	return property[T]{name, help, func(c *Cursor, o *T, _ PropMode) error {
		n, err := uintValue(c, name, r.Lo, r.Hi)
		*get(o) = n
		return err
	}}
}

// boolProp reads a two-word switch: yes/no, enabled/disabled.
func boolProp[T any](name, yes, no string, get func(*T) *bool) property[T] {
	return property[T]{name, yes + " or " + no, func(c *Cursor, o *T, _ PropMode) error {
		i, err := wordValue(c, name, yes, no)
		*get(o) = i == 0
		return err
	}}
}

func refProp[T any](name, help string, get func(*T) *string) property[T] {
	return property[T]{name, help, func(c *Cursor, o *T, _ PropMode) error {
		n, err := refValue(c, name)
		*get(o) = n
		return err
	}}
}

// sessionProp reads session; monitor-enabled is how BIG-IP saves an enabled
// one.
func sessionProp[T any](get func(*T) *config.Session) property[T] {
	return property[T]{"session", "user-enabled or user-disabled", func(c *Cursor, o *T, _ PropMode) error {
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
	return property[T]{"state", "user-up or user-down (forced offline)", func(c *Cursor, o *T, _ PropMode) error {
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
	return property[T]{"monitor", "none, MONITOR [and MONITOR …] or min N of { MONITOR … }", func(c *Cursor, o *T, _ PropMode) error {
		r, err := parseMonitorRule(c)
		if err == nil {
			*get(o) = r
		}
		return err
	}}
}

func parseMonitorRule(c *Cursor) (config.MonitorRule, error) {
	t, ok := c.Peek()
	if !ok {
		return config.MonitorRule{}, LineErrorf(c.Line, "monitor: missing value")
	}
	name := func(t Token) (string, error) {
		if t.Kind != TokWord && t.Kind != TokString {
			return "", LineErrorf(t.Line, "monitor: want a monitor name, got %s", t.Describe())
		}
		n, err := config.FullName(t.Text)
		if err != nil {
			return "", LineErrorf(t.Line, "monitor %q: %w", t.Text, err)
		}
		return n, nil
	}
	var r config.MonitorRule
	switch {
	case t.IsWord("none"):
		c.Next()
		return r, nil
	case t.IsWord("min"):
		c.Next()
		n, err := uintValue(c, "monitor min", 1, 65535)
		if err != nil {
			return r, err
		}
		if of, ok := c.Peek(); !ok || !of.IsWord("of") {
			return r, LineErrorf(c.PeekLine(), "monitor: want min N of { MONITOR … }")
		}
		c.Next()
		blk, err := c.Block("monitor min " + strconv.Itoa(int(n)) + " of")
		if err != nil {
			return r, err
		}
		r.Min = n
		for !blk.Done() {
			m, err := name(blk.Next())
			if err != nil {
				return r, err
			}
			r.Names = append(r.Names, m)
		}
		if len(r.Names) == 0 {
			return r, LineErrorf(blk.Line, "monitor: min %d of { }: no monitor", n)
		}
		return r, nil
	}
	for {
		m, err := name(c.Next())
		if err != nil {
			return r, err
		}
		r.Names = append(r.Names, m)
		if t, ok := c.Peek(); !ok || !t.IsWord("and") {
			return r, nil
		}
		c.Next()
		if c.Done() {
			return r, LineErrorf(c.Line, "monitor: missing monitor after \"and\"")
		}
	}
}

var nodeProps = []property[config.Node]{
	{"address", "IP address of the node; fixed once created", func(c *Cursor, n *config.Node, mode PropMode) error {
		line := c.PeekLine()
		a, err := addrValue(c, "address")
		if err != nil {
			return err
		}
		if mode == InModify && a != n.Address {
			return LineErrorf(line, "address %s: cannot be modified (delete and create the node)", a)
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
	{"load-balancing-mode", "how members are picked: round-robin, least-connections-member, …", func(c *Cursor, p *config.Pool, _ PropMode) error {
		t, err := c.Value("load-balancing-mode")
		if err != nil {
			return err
		}
		i := slices.Index(config.LBModeNames(), t.Text)
		if i < 0 {
			return LineErrorf(t.Line, "load-balancing-mode %q: unknown mode", t.Text)
		}
		p.Mode = config.LBMode(i)
		return nil
	}},
	{"members", "members [add|delete|modify|replace-all-with] { NODE:PORT [{ PROPERTY … }] … } | none", parseMembers},
	uintProp("min-active-members", "members a priority group needs before a lower one is used; 0 disables", config.PropRange(config.KindPool, "min-active-members"), func(p *config.Pool) *uint32 { return &p.MinActiveMembers }),
	monitorProp(func(p *config.Pool) *config.MonitorRule { return &p.Monitor }),
	uintProp("reselect-tries", "retries on another member, 0-65535", config.PropRange(config.KindPool, "reselect-tries"), func(p *config.Pool) *uint32 { return &p.ReselectTries }),
	{"service-down-action", "none, reset, drop or reselect", func(c *Cursor, p *config.Pool, _ PropMode) error {
		i, err := wordValue(c, "service-down-action", config.ServiceDownNames()...)
		p.ServiceDownAction = config.ServiceDownAction(i)
		return err
	}},
	uintProp("slow-ramp-time", "seconds a new member ramps up, 0 disables", config.PropRange(config.KindPool, "slow-ramp-time"), func(p *config.Pool) *uint32 { return &p.SlowRampTime }),
}

var memberProps = []property[config.Member]{
	{"address", "the node's address", func(c *Cursor, m *config.Member, _ PropMode) error {
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
	body *Cursor // nil when the member has no { } block
	line int
	all  bool // the word "all" (members delete { all }, members modify { all { … } })
}

// readListEdit reads the head of a list property (`members …`): `none`
// (op "none", no block), a bare block (op "replace-all-with", as in a config
// file), or one of ops followed by a block.
func readListEdit(c *Cursor, prop string, ops ...string) (op string, blk *Cursor, err error) {
	t, ok := c.Peek()
	if !ok {
		return "", nil, LineErrorf(c.Line, "%s: missing value", prop)
	}
	if t.IsWord("none") {
		c.Next()
		return "none", nil, nil
	}
	op = "replace-all-with"
	if t.Kind == TokWord {
		if !slices.Contains(ops, t.Text) {
			return "", nil, LineErrorf(t.Line, "%s %q: want %s, none or {", prop, t.Text, strings.Join(ops, ", "))
		}
		op = t.Text
		c.Next()
	}
	blk, err = c.Block(prop + " " + op)
	return op, blk, err
}

// parseMembers reads `members …`. A bare block replaces the list, as in a
// config file; add, delete, modify and replace-all-with edit it in place.
func parseMembers(c *Cursor, p *config.Pool, _ PropMode) error {
	op, blk, err := readListEdit(c, "members", "add", "delete", "modify", "replace-all-with")
	if err != nil {
		return err
	}
	if op == "none" {
		p.Members = nil
		return nil
	}
	var buf [16]memberEntry // a usual pool's, without an allocation
	entries := buf[:0]
	// A node's members usually follow each other (10.0.0.1:80
	// 10.0.0.1:443): they share its full name rather than each making it.
	var lastHost, lastNode string
	for !blk.Done() {
		nt := blk.Next()
		if nt.Kind != TokWord && nt.Kind != TokString {
			return LineErrorf(nt.Line, "members: unexpected %s, want a member NODE:PORT", nt.Describe())
		}
		e := memberEntry{line: nt.Line}
		host, ps, serr := config.SplitAddrPort(nt.Text)
		switch {
		case (op == "delete" || op == "modify") && nt.IsWord("all"):
			e.all = true
		case serr == nil && lastNode != "" && host == lastHost: // as ParseMemberName would
			if e.port, err = config.ParsePort(ps); err != nil {
				return LineErrorf(nt.Line, "members: %w", err)
			}
			e.node = lastNode
		default:
			if e.node, e.port, err = config.ParseMemberName(nt.Text); err != nil {
				return LineErrorf(nt.Line, "members: %w", err)
			}
			lastHost, lastNode = host, e.node
		}
		if blk.AtBlock() {
			if e.body, err = blk.Block("members " + nt.Text); err != nil {
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
	if err := parseProps(e.body, m, memberProps, InFile); err != nil {
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
		p.Members = slices.Grow(p.Members, len(entries))
		for _, e := range entries {
			if p.FindMember(e.node, e.port) >= 0 {
				return &LineError{Line: e.line, Err: &config.ExistsError{Ref: config.Ref{Kind: config.KindMember, Name: memberID(p.Name, e)}}}
			}
			// In place: a member built apart and copied in escaped to the
			// heap, one allocation per member.
			p.Members = append(p.Members, config.NewMember(e.node, e.port))
			if err := memberBody(e, &p.Members[len(p.Members)-1]); err != nil {
				p.Members = p.Members[:len(p.Members)-1]
				return err
			}
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
	{"destination", "ADDRESS:PORT the virtual server listens on", func(c *Cursor, v *config.Virtual, _ PropMode) error {
		t, err := c.Value("destination")
		if err != nil {
			return err
		}
		d, err := config.ParseDestination(t.Text)
		if err != nil {
			return LineErrorf(t.Line, "destination: %w", err)
		}
		v.Destination = d
		return nil
	}},
	{"disabled", "refuse new connections", func(_ *Cursor, v *config.Virtual, _ PropMode) error {
		v.Disabled = true
		return nil
	}},
	{"enabled", "accept new connections", func(_ *Cursor, v *config.Virtual, _ PropMode) error {
		v.Disabled = false
		return nil
	}},
	refProp("fallback-persistence", "persistence profile used when the default one does not apply, or none", func(v *config.Virtual) *string { return &v.FallbackPersistence }),
	{"ip-forward", "forwarding virtual server: route matching packets, no pool, no translation", func(_ *Cursor, v *config.Virtual, _ PropMode) error {
		v.IPForward = true
		return nil
	}},
	{"ip-protocol", "tcp, udp or any", func(c *Cursor, v *config.Virtual, _ PropMode) error {
		t, err := c.Value("ip-protocol")
		if err != nil {
			return err
		}
		switch {
		case t.Text == "tcp":
			v.Protocol = config.ProtocolTCP
		case t.Text == "udp":
			v.Protocol = config.ProtocolUDP
		case t.Text == "any":
			v.Protocol = config.ProtocolAny
		case slices.Contains(knownProtocols, t.Text):
			return LineErrorf(t.Line, "ip-protocol %q: not supported yet (tcp, udp or any)", t.Text)
		default:
			return LineErrorf(t.Line, "ip-protocol %q: unknown protocol", t.Text)
		}
		return nil
	}},
	{"mask", "destination mask: 255.255.255.255 (a host), a netmask (a network virtual) or any", func(c *Cursor, v *config.Virtual, _ PropMode) error {
		if t, ok := c.Peek(); ok && t.IsWord("any") {
			c.Next()
			v.Mask = netip.IPv4Unspecified()
			return nil
		}
		a, err := addrValue(c, "mask")
		if err != nil {
			return err
		}
		v.Mask = a
		return nil
	}},
	boolProp("mirror", "enabled", "disabled", func(v *config.Virtual) *bool { return &v.Mirror }),
	{"persist", "persist [add|delete|replace-all-with] { PROFILE [{ default yes|no }] … } | none", parsePersist},
	{"policies", "policies [add|delete|replace-all-with] { POLICY … } | none: local traffic policies", parsePolicies},
	refProp("pool", "default pool, or none", func(v *config.Virtual) *string { return &v.Pool }),
	{"profiles", "profiles [add|delete|replace-all-with] { NAME [{ context all|clientside|serverside }] … } | none", parseProfiles},
	{"source-address-translation", "{ type automap|none|snat [pool SNATPOOL] }", parseSNAT},
	boolProp("translate-address", "enabled", "disabled", func(v *config.Virtual) *bool { return &v.TranslateAddress }),
	boolProp("translate-port", "enabled", "disabled", func(v *config.Virtual) *bool { return &v.TranslatePort }),
}

var profileProps = []property[config.Profile]{
	{"context", "all, clientside or serverside", func(c *Cursor, p *config.Profile, _ PropMode) error {
		t, err := c.Value("context")
		if err != nil {
			return err
		}
		switch t.Text {
		case "all", "clientside", "serverside":
			p.Context = t.Text
		default:
			return LineErrorf(t.Line, "context %q: want all, clientside or serverside", t.Text)
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
func editList[E any](c *Cursor, what string, list []E, name func(*E) *string, read func(body *Cursor, e *E) error) ([]E, error) {
	t, ok := c.Peek()
	if !ok {
		return nil, LineErrorf(c.Line, "%s: missing value", what)
	}
	if t.IsWord("none") {
		c.Next()
		return nil, nil
	}
	op := "replace-all-with"
	if t.Kind == TokWord {
		switch t.Text {
		case "add", "delete", "replace-all-with":
			op = t.Text
			c.Next()
		default:
			return nil, LineErrorf(t.Line, "%s %q: want add, delete, replace-all-with, none or {", what, t.Text)
		}
	}
	blk, err := c.Block(what + " " + op)
	if err != nil {
		return nil, err
	}
	if op == "replace-all-with" {
		list = nil
	} else {
		list = slices.Clone(list)
	}
	seen := map[string]bool{}
	for !blk.Done() {
		nt := blk.Next()
		if nt.Kind != TokWord && nt.Kind != TokString {
			return nil, LineErrorf(nt.Line, "%s: unexpected %s, want a profile name", what, nt.Describe())
		}
		n, err := config.FullName(nt.Text)
		if err != nil {
			return nil, LineErrorf(nt.Line, "%s %q: %w", what, nt.Text, err)
		}
		if seen[n] {
			return nil, LineErrorf(nt.Line, "%s %s: listed twice", what, n)
		}
		seen[n] = true
		var e E
		*name(&e) = n
		if blk.AtBlock() {
			body, err := blk.Block(what + " " + n)
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
			return nil, LineErrorf(nt.Line, "%s %s: not attached", what, n)
		case op == "delete":
			list = slices.Delete(list, i, i+1)
		case op == "add" && i >= 0:
			return nil, LineErrorf(nt.Line, "%s %s: already attached", what, n)
		default:
			list = append(list, e)
		}
	}
	slices.SortFunc(list, func(a, b E) int { return strings.Compare(*name(&a), *name(&b)) })
	return list, nil
}

func parseProfiles(c *Cursor, v *config.Virtual, _ PropMode) error {
	list, err := editList(c, "profiles", v.Profiles, func(p *config.Profile) *string { return &p.Name },
		func(body *Cursor, p *config.Profile) error { return parseProps(body, p, profileProps, InFile) })
	if err == nil {
		v.Profiles = list
	}
	return err
}

var persistRefProps = []property[config.PersistRef]{
	boolProp("default", "yes", "no", func(p *config.PersistRef) *bool { return &p.Default }),
}

func parsePersist(c *Cursor, v *config.Virtual, _ PropMode) error {
	list, err := editList(c, "persist", v.Persist, func(p *config.PersistRef) *string { return &p.Name },
		func(body *Cursor, p *config.PersistRef) error { return parseProps(body, p, persistRefProps, InFile) })
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
	{"type", "automap, none or snat", func(c *Cursor, s *snatSpec, _ PropMode) error {
		t, err := c.Value("type")
		if err != nil {
			return err
		}
		switch t.Text {
		case "automap":
			s.typ = config.SNATAutomap
		case "none":
			s.typ = config.SNATNone
		case "snat":
			s.typ = config.SNATSnatpool
		case "lsn":
			return LineErrorf(t.Line, "type %q: not supported yet (automap, none or snat)", t.Text)
		default:
			return LineErrorf(t.Line, "type %q: want automap, none or snat", t.Text)
		}
		return nil
	}},
	refProp("pool", "SNAT pool for type snat, or none", func(s *snatSpec) *string { return &s.pool }),
}

func parseSNAT(c *Cursor, v *config.Virtual, _ PropMode) error {
	blk, err := c.Block("source-address-translation")
	if err != nil {
		return err
	}
	s := snatSpec{typ: v.SNAT, pool: v.SNATPool}
	if err := parseProps(blk, &s, snatProps, InFile); err != nil {
		return nestedErr("source-address-translation", err)
	}
	if s.typ != config.SNATSnatpool {
		s.pool = ""
	}
	v.SNAT, v.SNATPool = s.typ, s.pool
	return nil
}
