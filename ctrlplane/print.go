package ctrlplane

import (
	"strconv"
	"strings"
)

// Text prints the configuration as bigip.conf does: one stanza per object,
// nodes, then pools, then virtuals, each sorted by name, properties in
// alphabetical order, four-space indentation, full names and numeric ports.
// The output is deterministic and ParseConfig reads it back to an equal
// Config.
func (c *Config) Text() string { return c.format(false) }

// format prints every object; all adds the properties left at their
// defaults, as `list … all-properties` does.
func (c *Config) format(all bool) string {
	var b strings.Builder
	for _, k := range kinds {
		for _, name := range k.names(c) {
			k.print(&b, c, name, all)
		}
	}
	return b.String()
}

// indent writes depth levels of four spaces.
func indent(b *strings.Builder, depth int) {
	for range depth {
		b.WriteString("    ")
	}
}

func prop(b *strings.Builder, depth int, name, value string) {
	indent(b, depth)
	b.WriteString(name)
	if value != "" {
		b.WriteByte(' ')
		b.WriteString(value)
	}
	b.WriteByte('\n')
}

func descProp(b *strings.Builder, depth int, desc string, all bool) {
	switch {
	case desc != "":
		prop(b, depth, "description", quote(desc))
	case all:
		prop(b, depth, "description", "none")
	}
}

func printNode(b *strings.Builder, n *Node, all bool) {
	b.WriteString("ltm node " + n.Name + " {\n")
	if n.Address.IsValid() {
		prop(b, 1, "address", n.Address.String())
	}
	descProp(b, 1, n.Description, all)
	b.WriteString("}\n")
}

func printPool(b *strings.Builder, p *Pool, all bool) {
	b.WriteString("ltm pool " + p.Name + " {\n")
	descProp(b, 1, p.Description, all)
	prop(b, 1, "load-balancing-mode", p.Mode.String())
	switch {
	case len(p.Members) > 0:
		prop(b, 1, "members", "{")
		for i := range p.Members {
			m := &p.Members[i]
			prop(b, 2, m.Name(), "{")
			if m.Address.IsValid() {
				prop(b, 3, "address", m.Address.String())
			}
			descProp(b, 3, m.Description, all)
			prop(b, 2, "}", "")
		}
		prop(b, 1, "}", "")
	case all:
		prop(b, 1, "members", "none")
	}
	b.WriteString("}\n")
}

func printVirtual(b *strings.Builder, v *Virtual, all bool) {
	b.WriteString("ltm virtual " + v.Name + " {\n")
	descProp(b, 1, v.Description, all)
	if v.Destination.Addr().IsValid() {
		prop(b, 1, "destination", formatDestination(v.Destination))
	}
	switch {
	case v.Disabled:
		prop(b, 1, "disabled", "")
	case all:
		prop(b, 1, "enabled", "")
	}
	if v.Protocol != 0 {
		prop(b, 1, "ip-protocol", v.Protocol.String())
	}
	if v.Mask.IsValid() {
		prop(b, 1, "mask", v.Mask.String())
	}
	switch {
	case v.Pool != "":
		prop(b, 1, "pool", v.Pool)
	case all:
		prop(b, 1, "pool", "none")
	}
	switch {
	case len(v.Profiles) > 0:
		prop(b, 1, "profiles", "{")
		for _, p := range v.Profiles {
			if p.Context == "" {
				prop(b, 2, p.Name, "{ }")
				continue
			}
			prop(b, 2, p.Name, "{")
			prop(b, 3, "context", p.Context)
			prop(b, 2, "}", "")
		}
		prop(b, 1, "}", "")
	case all:
		prop(b, 1, "profiles", "none")
	}
	if v.SNAT != SNATNone || all {
		prop(b, 1, "source-address-translation", "{")
		if all {
			prop(b, 2, "pool", "none")
		}
		prop(b, 2, "type", v.SNAT.String())
		prop(b, 1, "}", "")
	}
	b.WriteString("}\n")
}

// quote prints a free-text value: bare when it reads back as the same single
// word, quoted and escaped otherwise. "none" is always quoted, since a bare
// none means "no value".
func quote(s string) string {
	bare := s != "" && s != "none"
	for i := 0; i < len(s) && bare; i++ {
		c := s[i]
		bare = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("._-/:@%+,=", c) >= 0
	}
	if bare {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// itoa is strconv.Itoa for the unsigned counters.
func utoa(n uint64) string { return strconv.FormatUint(n, 10) }
