package ctrlplane

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// ParseConfig parses bigip.conf-style text (`ltm node|pool|virtual NAME { … }`
// stanzas) into a Config with defaults applied. Errors are *LineError values
// naming the object and property, e.g.
// `line 7: ltm pool /Common/web: load-balancing-mode "foo": unknown mode`.
// It checks syntax and values only; references are Compile's job.
func ParseConfig(text string) (*Config, error) {
	c, _, err := parseConfig(text)
	return c, err
}

// parseConfig also returns the line each object is defined at, so later
// validation errors can point into the file.
func parseConfig(text string) (*Config, map[string]int, error) {
	toks, err := lex(text)
	if err != nil {
		return nil, nil, err
	}
	stmts, err := splitStatements(toks)
	if err != nil {
		return nil, nil, err
	}
	c := NewConfig()
	lines := map[string]int{}
	for _, st := range stmts {
		k, name, err := defineStanza(c, st)
		if err != nil {
			return nil, nil, err
		}
		key := k.objectName(name)
		if first, dup := lines[key]; dup {
			return nil, nil, lineErrorf(st.line, "%s: defined twice (first at line %d)", key, first)
		}
		lines[key] = st.line
	}
	c.ApplyDefaults()
	return c, lines, nil
}

// defineStanza reads one `MODULE KIND NAME { props }` stanza into c,
// replacing any object of that name.
func defineStanza(c *Config, st statement) (*objKind, string, error) {
	cur := newCursor(st.toks, st.line)
	k, err := readKind(cur)
	if err != nil {
		return nil, "", err
	}
	what := k.module + " " + k.kind
	nt, err := cur.value(what + ": name")
	if err != nil {
		return nil, "", err
	}
	name, err := fullName(nt.text)
	if err != nil {
		return nil, "", lineErrorf(nt.line, "%s %q: %w", what, nt.text, err)
	}
	body, err := cur.block(k.objectName(name))
	if err != nil {
		return nil, "", err
	}
	if !cur.done() {
		t := cur.next()
		return nil, "", lineErrorf(t.line, "%s: unexpected %s after \"}\"", k.objectName(name), t.describe())
	}
	if err := k.define(c, name, body, inFile); err != nil {
		return nil, "", err
	}
	return k, name, nil
}

// readKind reads MODULE KIND.
func readKind(cur *cursor) (*objKind, error) {
	mt, ok := cur.peek()
	if !ok {
		return nil, lineErrorf(cur.line, "empty statement")
	}
	if mt.kind != tokWord {
		return nil, lineErrorf(mt.line, "unexpected %s", mt.describe())
	}
	cur.next()
	kt, ok := cur.peek()
	if !ok || kt.kind != tokWord {
		return nil, lineErrorf(mt.line, "%q: unknown object type", mt.text)
	}
	for _, k := range kinds {
		if k.module == mt.text && k.kind == kt.text {
			cur.next()
			return k, nil
		}
	}
	return nil, lineErrorf(mt.line, "%q: unknown object type (want one of %s)", mt.text+" "+kt.text, kindNames())
}

func kindNames() string {
	var s []string
	for _, k := range kinds {
		s = append(s, k.module+" "+k.kind)
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

// parseProps reads properties until the cursor is exhausted.
func parseProps[T any](c *cursor, obj *T, props []property[T], mode propMode) error {
	for !c.done() {
		k := c.next()
		if k.kind != tokWord {
			return lineErrorf(k.line, "unexpected %s, want a property", k.describe())
		}
		i := slices.IndexFunc(props, func(p property[T]) bool { return p.name == k.text })
		if i < 0 {
			return lineErrorf(k.line, "unknown property %q", k.text)
		}
		if err := props[i].parse(c, obj, mode); err != nil {
			return err
		}
	}
	return nil
}

// text reads a free-text value; an unquoted none clears it.
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

var nodeProps = []property[Node]{
	{"address", "IP address of the node; fixed once created", func(c *cursor, n *Node, mode propMode) error {
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
	{"description", "free text", func(c *cursor, n *Node, _ propMode) error {
		return textValue(c, "description", &n.Description)
	}},
}

// knownModes are BIG-IP's load-balancing methods not implemented yet, so a
// pasted config gets "not supported yet" rather than "unknown".
var knownModes = []string{
	"dynamic-ratio-member", "dynamic-ratio-node", "fastest-app-response", "fastest-node",
	"least-connections-member", "least-connections-node", "least-sessions", "observed-member",
	"observed-node", "predictive-member", "predictive-node", "ratio-least-connections-member",
	"ratio-least-connections-node", "ratio-member", "ratio-node", "ratio-session",
	"weighted-least-connections-member", "weighted-least-connections-node",
}

var poolProps = []property[Pool]{
	{"description", "free text", func(c *cursor, p *Pool, _ propMode) error {
		return textValue(c, "description", &p.Description)
	}},
	{"load-balancing-mode", "how members are picked: round-robin", func(c *cursor, p *Pool, _ propMode) error {
		t, err := c.value("load-balancing-mode")
		if err != nil {
			return err
		}
		switch {
		case t.text == LBRoundRobin.String():
			p.Mode = LBRoundRobin
		case slices.Contains(knownModes, t.text):
			return lineErrorf(t.line, "load-balancing-mode %q: not supported yet (only round-robin)", t.text)
		default:
			return lineErrorf(t.line, "load-balancing-mode %q: unknown mode", t.text)
		}
		return nil
	}},
	{"members", "members [add|delete|modify|replace-all-with] { NODE:PORT [{ address A }] … } | none", parseMembers},
}

var memberProps = []property[Member]{
	{"address", "the node's address", func(c *cursor, m *Member, _ propMode) error {
		a, err := addrValue(c, "address")
		if err != nil {
			return err
		}
		m.Address = a
		return nil
	}},
	{"description", "free text", func(c *cursor, m *Member, _ propMode) error {
		return textValue(c, "description", &m.Description)
	}},
}

// memberEntry is one member as listed inside `members { … }`.
type memberEntry struct {
	node string
	port uint16
	body *cursor // nil when the member has no { } block
	line int
	all  bool // the word "all" (members delete { all })
}

// parseMembers reads `members …`. A bare block replaces the list, as in a
// config file; add, delete, modify and replace-all-with edit it in place.
func parseMembers(c *cursor, p *Pool, _ propMode) error {
	t, ok := c.peek()
	if !ok {
		return lineErrorf(c.line, "members: missing value")
	}
	if t.isWord("none") {
		c.next()
		p.Members = nil
		return nil
	}
	op := "replace-all-with"
	if t.kind == tokWord {
		switch t.text {
		case "add", "delete", "modify", "replace-all-with":
			op = t.text
			c.next()
		default:
			return lineErrorf(t.line, "members %q: want add, delete, modify, replace-all-with, none or {", t.text)
		}
	}
	blk, err := c.block("members " + op)
	if err != nil {
		return err
	}
	var entries []memberEntry
	for !blk.done() {
		nt := blk.next()
		if nt.kind != tokWord && nt.kind != tokString {
			return lineErrorf(nt.line, "members: unexpected %s, want a member NODE:PORT", nt.describe())
		}
		e := memberEntry{line: nt.line}
		if op == "delete" && nt.isWord("all") {
			e.all = true
		} else if e.node, e.port, err = parseMemberName(nt.text); err != nil {
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
		return &LineError{Line: le.Line, Err: fmt.Errorf("members %s: %w", memberName(e.node, e.port), le.Err)}
	}
	return &LineError{Line: e.line, Err: fmt.Errorf("members %s: %w", memberName(e.node, e.port), err)}
}

func memberBody(e memberEntry, m *Member) error {
	if e.body == nil {
		return nil
	}
	if err := parseProps(e.body, m, memberProps, inFile); err != nil {
		return memberErr(e, err)
	}
	return nil
}

// memberID is how BIG-IP names a member in its messages.
func memberID(pool string, e memberEntry) string {
	return fmt.Sprintf("%s %s %d", pool, e.node, e.port)
}

func applyMembers(p *Pool, op string, entries []memberEntry) error {
	switch op {
	case "replace-all-with":
		var list []Member
		for _, e := range entries {
			if slices.ContainsFunc(list, func(m Member) bool { return m.Node == e.node && m.Port == e.port }) {
				return memberErr(e, errors.New("listed twice"))
			}
			m := Member{Node: e.node, Port: e.port}
			if err := memberBody(e, &m); err != nil {
				return err
			}
			list = append(list, m)
		}
		p.Members = list
	case "add":
		for _, e := range entries {
			if p.findMember(e.node, e.port) >= 0 {
				return &LineError{Line: e.line, Err: coded("01020066:3: The requested Pool Member (%s) already exists in partition %s.", memberID(p.Name, e), commonPartition)}
			}
			m := Member{Node: e.node, Port: e.port}
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
			i := p.findMember(e.node, e.port)
			if i < 0 {
				return &LineError{Line: e.line, Err: coded("01020036:3: The requested Pool Member (%s) was not found.", memberID(p.Name, e))}
			}
			p.Members = slices.Delete(p.Members, i, i+1)
		}
	case "modify":
		for _, e := range entries {
			i := p.findMember(e.node, e.port)
			if i < 0 {
				return &LineError{Line: e.line, Err: coded("01020036:3: The requested Pool Member (%s) was not found.", memberID(p.Name, e))}
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
var knownProtocols = []string{"any", "sctp", "icmp", "icmpv6", "gre", "ipip", "esp", "ah"}

var virtualProps = []property[Virtual]{
	{"description", "free text", func(c *cursor, v *Virtual, _ propMode) error {
		return textValue(c, "description", &v.Description)
	}},
	{"destination", "ADDRESS:PORT the virtual server listens on", func(c *cursor, v *Virtual, _ propMode) error {
		t, err := c.value("destination")
		if err != nil {
			return err
		}
		d, err := parseDestination(t.text)
		if err != nil {
			return lineErrorf(t.line, "destination: %w", err)
		}
		v.Destination = d
		return nil
	}},
	{"ip-protocol", "tcp or udp", func(c *cursor, v *Virtual, _ propMode) error {
		t, err := c.value("ip-protocol")
		if err != nil {
			return err
		}
		switch {
		case t.text == "tcp":
			v.Protocol = ProtocolTCP
		case t.text == "udp":
			v.Protocol = ProtocolUDP
		case slices.Contains(knownProtocols, t.text):
			return lineErrorf(t.line, "ip-protocol %q: not supported yet (tcp or udp)", t.text)
		default:
			return lineErrorf(t.line, "ip-protocol %q: unknown protocol", t.text)
		}
		return nil
	}},
	{"mask", "destination mask; 255.255.255.255", func(c *cursor, v *Virtual, _ propMode) error {
		a, err := addrValue(c, "mask")
		if err != nil {
			return err
		}
		v.Mask = a
		return nil
	}},
	{"pool", "default pool, or none", func(c *cursor, v *Virtual, _ propMode) error {
		t, err := c.value("pool")
		if err != nil {
			return err
		}
		if t.isWord("none") {
			v.Pool = ""
			return nil
		}
		name, err := fullName(t.text)
		if err != nil {
			return lineErrorf(t.line, "pool %q: %w", t.text, err)
		}
		v.Pool = name
		return nil
	}},
	{"profiles", "profiles [add|delete|replace-all-with] { NAME [{ context all|clientside|serverside }] … } | none", parseProfiles},
	{"source-address-translation", "{ type automap|none }", parseSNAT},
	{"enabled", "accept new connections", func(_ *cursor, v *Virtual, _ propMode) error {
		v.Disabled = false
		return nil
	}},
	{"disabled", "refuse new connections", func(_ *cursor, v *Virtual, _ propMode) error {
		v.Disabled = true
		return nil
	}},
}

var profileProps = []property[Profile]{
	{"context", "all, clientside or serverside", func(c *cursor, p *Profile, _ propMode) error {
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

func parseProfiles(c *cursor, v *Virtual, _ propMode) error {
	t, ok := c.peek()
	if !ok {
		return lineErrorf(c.line, "profiles: missing value")
	}
	if t.isWord("none") {
		c.next()
		v.Profiles = nil
		return nil
	}
	op := "replace-all-with"
	if t.kind == tokWord {
		switch t.text {
		case "add", "delete", "replace-all-with":
			op = t.text
			c.next()
		default:
			return lineErrorf(t.line, "profiles %q: want add, delete, replace-all-with, none or {", t.text)
		}
	}
	blk, err := c.block("profiles " + op)
	if err != nil {
		return err
	}
	var list []Profile
	if op != "replace-all-with" {
		list = slices.Clone(v.Profiles)
	}
	seen := map[string]bool{}
	for !blk.done() {
		nt := blk.next()
		if nt.kind != tokWord && nt.kind != tokString {
			return lineErrorf(nt.line, "profiles: unexpected %s, want a profile name", nt.describe())
		}
		name, err := fullName(nt.text)
		if err != nil {
			return lineErrorf(nt.line, "profiles %q: %w", nt.text, err)
		}
		if seen[name] {
			return lineErrorf(nt.line, "profiles %s: listed twice", name)
		}
		seen[name] = true
		p := Profile{Name: name}
		if blk.atBlock() {
			body, err := blk.block("profiles " + name)
			if err != nil {
				return err
			}
			if err := parseProps(body, &p, profileProps, inFile); err != nil {
				var le *LineError
				if errors.As(err, &le) {
					return &LineError{Line: le.Line, Err: fmt.Errorf("profiles %s: %w", name, le.Err)}
				}
				return err
			}
		}
		i := slices.IndexFunc(list, func(x Profile) bool { return x.Name == name })
		switch {
		case op == "delete" && i < 0:
			return lineErrorf(nt.line, "profiles %s: not attached", name)
		case op == "delete":
			list = slices.Delete(list, i, i+1)
		case op == "add" && i >= 0:
			return lineErrorf(nt.line, "profiles %s: already attached", name)
		default:
			list = append(list, p)
		}
	}
	slices.SortFunc(list, func(a, b Profile) int { return strings.Compare(a.Name, b.Name) })
	v.Profiles = list
	return nil
}

// snatSpec is the inside of source-address-translation { }; a type not
// given keeps the virtual's current one.
type snatSpec struct {
	typ SNATType
}

var snatProps = []property[snatSpec]{
	{"type", "automap or none", func(c *cursor, s *snatSpec, _ propMode) error {
		t, err := c.value("type")
		if err != nil {
			return err
		}
		switch t.text {
		case "automap":
			s.typ = SNATAutomap
		case "none":
			s.typ = SNATNone
		case "snat", "lsn":
			return lineErrorf(t.line, "type %q: not supported yet (automap or none)", t.text)
		default:
			return lineErrorf(t.line, "type %q: want automap or none", t.text)
		}
		return nil
	}},
	{"pool", "SNAT pool: none", func(c *cursor, _ *snatSpec, _ propMode) error {
		t, err := c.value("pool")
		if err != nil {
			return err
		}
		if !t.isWord("none") {
			return lineErrorf(t.line, "pool %q: SNAT pools are not supported yet", t.text)
		}
		return nil
	}},
}

func parseSNAT(c *cursor, v *Virtual, _ propMode) error {
	blk, err := c.block("source-address-translation")
	if err != nil {
		return err
	}
	s := snatSpec{typ: v.SNAT}
	if err := parseProps(blk, &s, snatProps, inFile); err != nil {
		var le *LineError
		if errors.As(err, &le) {
			return &LineError{Line: le.Line, Err: fmt.Errorf("source-address-translation: %w", le.Err)}
		}
		return err
	}
	v.SNAT = s.typ
	return nil
}
