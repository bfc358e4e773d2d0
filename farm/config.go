package farm

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Filter is a load-balancing rule's hash key.
type Filter string

const (
	// OnAddr hashes the client's address: all of a client's connections
	// go to one member.
	OnAddr Filter = "on_addr"
	// OnPort hashes the client's address and source port.
	OnPort Filter = "on_port"
)

// Rule is one <rule port proto filter/> of a <loadbalancing_list> group.
type Rule struct {
	Group  string
	Port   uint16
	Proto  string // "tcp" or "udp"
	Filter Filter
	Line   int
}

// Check is one <tcp><to addr port interval timeout/></tcp> checker.
type Check struct {
	Ident    string
	Addr     netip.Addr
	Port     uint16
	Interval time.Duration
	Timeout  time.Duration
	Line     int
}

// Node is a farm member named in <lan><node name addr/></lan>.
type Node struct {
	Name string
	Addr netip.Addr
}

// Config is a farm module's userconfig.xml, macros substituted.
type Config struct {
	MaxLoop      int           // restarts allowed within LoopInterval
	LoopInterval time.Duration // SafeKit gives it in hours
	LAN          string        // <lan name>
	Nodes        []Node        // members given in the file (the command line adds more)
	Interface    string        // <interface name>, "" to find the one whose subnet holds the VIP
	Check        bool          // <interface check="on">
	ARPReroute   bool          // <interface arpreroute="on">: gratuitous ARP at start
	VIP          netip.Addr
	Rules        []Rule
	Checks       []Check
	NiceStop     time.Duration // nicestoptimeout
	ForceStop    time.Duration // forcestoptimeout
	UserLog      bool          // logging="userlog": scripts' output into the application log
	Macros       map[string]string
}

// maxConfigSize bounds the file ParseConfig reads.
const maxConfigSize = 1 << 20

// elem is one element of the file with its line.
type elem struct {
	name     string
	attrs    []xml.Attr
	line     int
	children []*elem
}

func (e *elem) attr(name string) (string, bool) {
	for _, a := range e.attrs {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// ConfigError is a problem of the file, with its line.
type ConfigError struct {
	File string
	Line int
	Msg  string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// readTree reads the XML into elements, remembering each one's line.
func readTree(file string, data []byte) (*elem, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	var root *elem
	var stack []*elem
	for {
		line, _ := d.InputPos()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			l, _ := d.InputPos()
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				l = se.Line
				return nil, &ConfigError{file, l, "XML: " + se.Msg}
			}
			return nil, &ConfigError{file, l, "XML: " + err.Error()}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space != "" {
				return nil, &ConfigError{file, line, fmt.Sprintf("element <%s:%s>: namespaces are not supported", t.Name.Space, t.Name.Local)}
			}
			e := &elem{name: t.Name.Local, attrs: t.Copy().Attr, line: line}
			if len(stack) == 0 {
				if root != nil {
					return nil, &ConfigError{file, line, fmt.Sprintf("second root element <%s>", e.name)}
				}
				root = e
			} else {
				p := stack[len(stack)-1]
				p.children = append(p.children, e)
			}
			stack = append(stack, e)
			if len(stack) > 16 {
				return nil, &ConfigError{file, line, "elements nested too deep"}
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 && len(bytes.TrimSpace(t)) > 0 {
				return nil, &ConfigError{file, line, fmt.Sprintf("<%s>: text %q is not supported", stack[len(stack)-1].name, strings.TrimSpace(string(t)))}
			}
		case xml.ProcInst, xml.Directive, xml.Comment:
		}
	}
	if root == nil {
		return nil, &ConfigError{file, 1, "no <safe> element"}
	}
	return root, nil
}

// schema names each supported element's attributes and children.
var schema = map[string]struct {
	attrs    []string
	children []string
}{
	"safe":               {nil, []string{"macro", "service"}},
	"macro":              {[]string{"name", "value"}, nil},
	"service":            {[]string{"mode", "maxloop", "loop_interval"}, []string{"farm", "vip", "check", "user"}},
	"farm":               {nil, []string{"lan"}},
	"lan":                {[]string{"name"}, []string{"node"}},
	"node":               {[]string{"name", "addr"}, nil},
	"vip":                {nil, []string{"interface_list", "loadbalancing_list"}},
	"interface_list":     {nil, []string{"interface"}},
	"interface":          {[]string{"check", "arpreroute", "name"}, []string{"virtual_interface"}},
	"virtual_interface":  {[]string{"type"}, []string{"virtual_addr"}},
	"virtual_addr":       {[]string{"addr", "where"}, nil},
	"loadbalancing_list": {nil, []string{"group"}},
	"group":              {[]string{"name"}, []string{"rule"}},
	"rule":               {[]string{"port", "proto", "filter"}, nil},
	"check":              {nil, []string{"tcp"}},
	"tcp":                {[]string{"ident", "when"}, []string{"to"}},
	"to":                 {[]string{"addr", "port", "interval", "timeout"}, nil},
	"user":               {[]string{"nicestoptimeout", "forcestoptimeout", "logging"}, nil},
}

// validate names the first unsupported element or attribute of the tree.
func validate(file string, e *elem) error {
	s, ok := schema[e.name]
	if !ok {
		return &ConfigError{file, e.line, fmt.Sprintf("element <%s> is not supported", e.name)}
	}
	for _, a := range e.attrs {
		if a.Name.Space != "" || !contains(s.attrs, a.Name.Local) {
			return &ConfigError{file, e.line, fmt.Sprintf("<%s>: attribute %q is not supported", e.name, a.Name.Local)}
		}
	}
	for _, c := range e.children {
		if !contains(s.children, c.name) {
			if _, known := schema[c.name]; known {
				return &ConfigError{file, c.line, fmt.Sprintf("element <%s> is not supported inside <%s>", c.name, e.name)}
			}
			return &ConfigError{file, c.line, fmt.Sprintf("element <%s> is not supported", c.name)}
		}
		if err := validate(file, c); err != nil {
			return err
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var macroName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
var macroRef = regexp.MustCompile(`%([A-Za-z_][A-Za-z0-9_]*)%`)

// ParseMacro reads a command line's NAME=VALUE.
func ParseMacro(s string) (string, string, error) {
	name, value, ok := strings.Cut(s, "=")
	if !ok || !macroName.MatchString(name) {
		return "", "", fmt.Errorf("--macro %q: want NAME=VALUE, NAME of letters, digits and _", s)
	}
	return name, value, nil
}

// ParseConfig reads userconfig.xml. macros (from --macro) override the
// file's <macro> values; every %NAME% in an attribute is substituted.
func ParseConfig(file string, data []byte, macros map[string]string) (*Config, error) {
	if len(data) > maxConfigSize {
		return nil, &ConfigError{file, 1, fmt.Sprintf("file of %d bytes, more than %d", len(data), maxConfigSize)}
	}
	root, err := readTree(file, data)
	if err != nil {
		return nil, err
	}
	if root.name != "safe" {
		return nil, &ConfigError{file, root.line, fmt.Sprintf("root element <%s>, want <safe>", root.name)}
	}
	if err := validate(file, root); err != nil {
		return nil, err
	}
	c := &Config{Macros: map[string]string{}, NiceStop: 300 * time.Second, ForceStop: 300 * time.Second, LoopInterval: 24 * time.Hour, MaxLoop: 3}
	cmdline := map[string]bool{}
	for k, v := range macros {
		if !macroName.MatchString(k) {
			return nil, fmt.Errorf("--macro %q: name of letters, digits and _ wanted", k)
		}
		c.Macros[k] = v
		cmdline[k] = true
	}
	var service *elem
	for _, e := range root.children {
		switch e.name {
		case "macro":
			name, ok1 := e.attr("name")
			value, ok2 := e.attr("value")
			if !ok1 || !ok2 {
				return nil, &ConfigError{file, e.line, "<macro> needs name and value"}
			}
			if !macroName.MatchString(name) {
				return nil, &ConfigError{file, e.line, fmt.Sprintf("<macro name=%q>: letters, digits and _ wanted", name)}
			}
			if !cmdline[name] {
				c.Macros[name] = value
			}
		case "service":
			if service != nil {
				return nil, &ConfigError{file, e.line, "second <service>"}
			}
			service = e
		}
	}
	if service == nil {
		return nil, &ConfigError{file, root.line, "no <service>"}
	}
	p := &parser{file: file, c: c}
	p.service(service)
	if p.err != nil {
		return nil, p.err
	}
	return c, nil
}

// parser fills a Config from the validated tree; the first error sticks.
type parser struct {
	file string
	c    *Config
	err  error
}

func (p *parser) fail(e *elem, format string, args ...any) {
	if p.err == nil {
		p.err = &ConfigError{p.file, e.line, fmt.Sprintf(format, args...)}
	}
}

// get returns attribute name of e with macros substituted; required
// attributes that are missing are an error.
func (p *parser) get(e *elem, name string, required bool) (string, bool) {
	v, ok := e.attr(name)
	if !ok {
		if required {
			p.fail(e, "<%s>: attribute %q missing", e.name, name)
		}
		return "", false
	}
	var bad string
	v = macroRef.ReplaceAllStringFunc(v, func(ref string) string {
		n := ref[1 : len(ref)-1]
		val, ok := p.c.Macros[n]
		if !ok && bad == "" {
			bad = n
		}
		return val
	})
	if bad != "" {
		p.fail(e, "<%s %s>: macro %%%s%% is not defined (a <macro> or --macro %s=VALUE)", e.name, name, bad, bad)
		return "", false
	}
	return v, true
}

func (p *parser) uint(e *elem, name string, required bool, max uint64) (uint64, bool) {
	v, ok := p.get(e, name, required)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n > max {
		p.fail(e, "<%s %s=%q>: a whole number from 0 to %d wanted", e.name, name, v, max)
		return 0, false
	}
	return n, true
}

func (p *parser) addr(e *elem, name string) netip.Addr {
	v, ok := p.get(e, name, true)
	if !ok {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(v)
	if err != nil || !a.Is4() {
		p.fail(e, "<%s %s=%q>: an IPv4 address wanted", e.name, name, v)
		return netip.Addr{}
	}
	return a
}

func (p *parser) onOff(e *elem, name string) bool {
	v, ok := p.get(e, name, false)
	if !ok {
		return false
	}
	switch v {
	case "on":
		return true
	case "off":
		return false
	}
	p.fail(e, "<%s %s=%q>: on or off wanted", e.name, name, v)
	return false
}

func (p *parser) service(s *elem) {
	c := p.c
	if mode, _ := p.get(s, "mode", true); p.err == nil && mode != "farm" {
		p.fail(s, "<service mode=%q>: only farm is supported (mirror modules are not)", mode)
	}
	if n, ok := p.uint(s, "maxloop", false, 1000); ok {
		c.MaxLoop = int(n)
	}
	if n, ok := p.uint(s, "loop_interval", false, 24*365); ok {
		c.LoopInterval = time.Duration(n) * time.Hour
	}
	seen := map[string]int{}
	for _, e := range s.children {
		if l, dup := seen[e.name]; dup {
			p.fail(e, "second <%s> in <service> (first on line %d)", e.name, l)
			return
		}
		seen[e.name] = e.line
		switch e.name {
		case "farm":
			p.farm(e)
		case "vip":
			p.vip(e)
		case "check":
			p.check(e)
		case "user":
			if n, ok := p.uint(e, "nicestoptimeout", false, 86400); ok {
				c.NiceStop = time.Duration(n) * time.Second
			}
			if n, ok := p.uint(e, "forcestoptimeout", false, 86400); ok {
				c.ForceStop = time.Duration(n) * time.Second
			}
			if v, ok := p.get(e, "logging", false); ok {
				switch v {
				case "userlog":
					c.UserLog = true
				case "none":
				default:
					p.fail(e, "<user logging=%q>: userlog or none wanted", v)
				}
			}
		}
	}
	if p.err == nil && !c.VIP.IsValid() {
		p.fail(s, "<service>: no <vip> with a <virtual_addr>")
	}
	if p.err == nil && len(c.Rules) == 0 {
		p.fail(s, "<service>: no <loadbalancing_list> rule")
	}
}

func (p *parser) farm(f *elem) {
	if len(f.children) > 1 {
		p.fail(f.children[1], "only one <lan> is supported")
		return
	}
	for _, lan := range f.children {
		p.c.LAN, _ = p.get(lan, "name", true)
		for _, n := range lan.children {
			name, _ := p.get(n, "name", false)
			a := p.addr(n, "addr")
			if name == "" {
				name = a.String()
			}
			p.c.Nodes = append(p.c.Nodes, Node{Name: name, Addr: a})
		}
	}
}

func (p *parser) vip(v *elem) {
	for _, list := range v.children {
		switch list.name {
		case "interface_list":
			if len(list.children) > 1 {
				p.fail(list.children[1], "only one <interface> is supported")
				return
			}
			for _, ifc := range list.children {
				p.c.Check = p.onOff(ifc, "check")
				p.c.ARPReroute = p.onOff(ifc, "arpreroute")
				p.c.Interface, _ = p.get(ifc, "name", false)
				if len(ifc.children) != 1 {
					p.fail(ifc, "<interface>: one <virtual_interface> wanted, found %d", len(ifc.children))
					return
				}
				vi := ifc.children[0]
				if t, _ := p.get(vi, "type", true); p.err == nil && t != "vmac_directed" {
					p.fail(vi, "<virtual_interface type=%q>: only vmac_directed is supported", t)
					return
				}
				if len(vi.children) != 1 {
					p.fail(vi, "<virtual_interface>: one <virtual_addr> wanted, found %d", len(vi.children))
					return
				}
				va := vi.children[0]
				p.c.VIP = p.addr(va, "addr")
				if w, ok := p.get(va, "where", false); ok && w != "alias" {
					p.fail(va, "<virtual_addr where=%q>: only alias is supported", w)
				}
			}
		case "loadbalancing_list":
			ports := map[string]int{}
			for _, g := range list.children {
				name, _ := p.get(g, "name", false)
				for _, r := range g.children {
					rule := Rule{Group: name, Line: r.line}
					n, _ := p.uint(r, "port", true, 65535)
					rule.Port = uint16(n)
					if p.err == nil && n == 0 {
						p.fail(r, "<rule port=\"0\">: a port from 1 to 65535 wanted")
					}
					rule.Proto, _ = p.get(r, "proto", true)
					if p.err == nil && rule.Proto != "tcp" && rule.Proto != "udp" {
						p.fail(r, "<rule proto=%q>: tcp or udp wanted", rule.Proto)
					}
					f, _ := p.get(r, "filter", true)
					rule.Filter = Filter(f)
					if p.err == nil && rule.Filter != OnAddr && rule.Filter != OnPort {
						p.fail(r, "<rule filter=%q>: on_addr or on_port wanted", f)
					}
					key := rule.Proto + "/" + strconv.Itoa(int(rule.Port))
					if l, dup := ports[key]; dup && p.err == nil {
						p.fail(r, "<rule>: %s port %d already has a rule on line %d", rule.Proto, rule.Port, l)
					}
					ports[key] = r.line
					if p.err != nil {
						return
					}
					p.c.Rules = append(p.c.Rules, rule)
				}
			}
			if len(p.c.Rules) > maxRules && p.err == nil {
				p.fail(list, "<loadbalancing_list>: %d rules, at most %d", len(p.c.Rules), maxRules)
			}
		}
	}
}

// maxRules bounds the rules the XDP program compares a packet with.
const maxRules = 16

func (p *parser) check(ch *elem) {
	for _, t := range ch.children {
		ident, _ := p.get(t, "ident", false)
		if w, ok := p.get(t, "when", false); ok && w != "both" {
			p.fail(t, "<tcp when=%q>: only both is supported (farm members are all alike)", w)
			return
		}
		if len(t.children) != 1 {
			p.fail(t, "<tcp>: one <to> wanted, found %d", len(t.children))
			return
		}
		to := t.children[0]
		c := Check{Ident: ident, Line: to.line, Interval: 10 * time.Second, Timeout: 5 * time.Second}
		c.Addr = p.addr(to, "addr")
		n, _ := p.uint(to, "port", true, 65535)
		c.Port = uint16(n)
		if i, ok := p.uint(to, "interval", false, 86400); ok {
			c.Interval = time.Duration(i) * time.Second
		}
		if i, ok := p.uint(to, "timeout", false, 86400); ok {
			c.Timeout = time.Duration(i) * time.Second
		}
		if p.err == nil && (c.Interval == 0 || c.Timeout == 0) {
			p.fail(to, "<to>: interval and timeout of at least 1 second wanted")
		}
		if p.err != nil {
			return
		}
		p.c.Checks = append(p.c.Checks, c)
	}
}

// MacroNames lists the macros in effect, sorted.
func (c *Config) MacroNames() []string {
	var n []string
	for k := range c.Macros {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}
