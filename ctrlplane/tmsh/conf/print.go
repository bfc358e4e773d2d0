package conf

import (
	"net/netip"
	"strconv"
	"strings"

	"lbx/ctrlplane/config"
)

// Text prints a configuration as bigip.conf does: one stanza per object,
// kind by kind (nodes, monitors, persistence profiles, pools, snatpools,
// virtuals, self IPs, routes, users), each sorted by name, properties in
// alphabetical order (unknown ones kept from a loaded file last, verbatim),
// four-space indentation, full names and numeric ports. Stanzas lbx does
// not implement follow, verbatim and in the order they were read. Built-in
// monitors and persistence profiles are never printed, as in BIG-IP's
// bigip.conf. The output is deterministic and ParseConfig reads it back to an
// equal Config.
func Text(c *config.Config) string { return Format(c, false) }

// Format prints every object; all adds the properties left at their
// defaults, as `list … all-properties` does.
func Format(c *config.Config, all bool) string { return FormatModule(c, "", all) }

// FormatModule prints the objects of one module ("ltm"), or of all when
// module is empty.
func FormatModule(c *config.Config, module string, all bool) string {
	return formatWith(c, module, all, false)
}

// indent writes depth levels of four spaces.
func indent(b *strings.Builder, depth int) {
	for range depth {
		b.WriteString("    ")
	}
}

func Prop(b *strings.Builder, depth int, name, value string) {
	indent(b, depth)
	b.WriteString(name)
	if value != "" {
		b.WriteByte(' ')
		b.WriteString(value)
	}
	b.WriteByte('\n')
}

// propIf prints a property when it is not at its default, or always with all.
func propIf(b *strings.Builder, depth int, name, value string, notDefault, all bool) {
	if notDefault || all {
		Prop(b, depth, name, value)
	}
}

func descProp(b *strings.Builder, depth int, desc string, all bool) {
	textPropOut(b, depth, "description", desc, all)
}

// textPropOut prints a free-text property; empty is none.
func textPropOut(b *strings.Builder, depth int, name, v string, all bool) {
	switch {
	case v != "":
		Prop(b, depth, name, quote(v))
	case all:
		Prop(b, depth, name, "none")
	}
}

func refOut(b *strings.Builder, depth int, name, ref string, all bool) {
	switch {
	case ref != "":
		Prop(b, depth, name, ref)
	case all:
		Prop(b, depth, name, "none")
	}
}

func u32(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

func YesNo(v bool, yes, no string) string {
	if v {
		return yes
	}
	return no
}

// extrasOut prints the unknown properties kept from a loaded file.
func extrasOut(b *strings.Builder, depth int, e config.Extras) {
	for _, r := range e.Extra {
		Prop(b, depth, r.Text, "")
	}
}

func monitorOut(b *strings.Builder, depth int, r config.MonitorRule, all bool) {
	propIf(b, depth, "monitor", r.String(), len(r.Names) > 0, all)
}

func printNode(b *strings.Builder, n *config.Node, all bool) {
	b.WriteString("ltm node " + n.Name + " {\n")
	if n.Address.IsValid() {
		Prop(b, 1, "address", n.Address.String())
	}
	propIf(b, 1, "connection-limit", u32(n.ConnectionLimit), n.ConnectionLimit != 0, all)
	descProp(b, 1, n.Description, all)
	monitorOut(b, 1, n.Monitor, all)
	propIf(b, 1, "ratio", u32(n.Ratio), n.Ratio != 1, all)
	propIf(b, 1, "session", n.Session.String(), n.Session != config.SessionUserEnabled, all)
	propIf(b, 1, "state", n.State.String(), n.State != config.StateUserUp, all)
	extrasOut(b, 1, n.Extras)
	b.WriteString("}\n")
}

func printPool(b *strings.Builder, p *config.Pool, all bool) {
	b.WriteString("ltm pool " + p.Name + " {\n")
	propIf(b, 1, "allow-nat", YesNo(p.AllowNAT, "yes", "no"), !p.AllowNAT, all)
	propIf(b, 1, "allow-snat", YesNo(p.AllowSNAT, "yes", "no"), !p.AllowSNAT, all)
	descProp(b, 1, p.Description, all)
	Prop(b, 1, "load-balancing-mode", p.Mode.String())
	switch {
	case len(p.Members) > 0:
		Prop(b, 1, "members", "{")
		for i := range p.Members {
			m := &p.Members[i]
			Prop(b, 2, m.Name(), "{")
			if m.Address.IsValid() {
				Prop(b, 3, "address", m.Address.String())
			}
			propIf(b, 3, "connection-limit", u32(m.ConnectionLimit), m.ConnectionLimit != 0, all)
			descProp(b, 3, m.Description, all)
			propIf(b, 3, "priority-group", u32(m.PriorityGroup), m.PriorityGroup != 0, all)
			propIf(b, 3, "ratio", u32(m.Ratio), m.Ratio != 1, all)
			propIf(b, 3, "session", m.Session.String(), m.Session != config.SessionUserEnabled, all)
			propIf(b, 3, "state", m.State.String(), m.State != config.StateUserUp, all)
			extrasOut(b, 3, m.Extras)
			Prop(b, 2, "}", "")
		}
		Prop(b, 1, "}", "")
	case all:
		Prop(b, 1, "members", "none")
	}
	propIf(b, 1, "min-active-members", u32(p.MinActiveMembers), p.MinActiveMembers != 0, all)
	monitorOut(b, 1, p.Monitor, all)
	propIf(b, 1, "reselect-tries", u32(p.ReselectTries), p.ReselectTries != 0, all)
	propIf(b, 1, "service-down-action", p.ServiceDownAction.String(), p.ServiceDownAction != config.ServiceDownNone, all)
	propIf(b, 1, "slow-ramp-time", u32(p.SlowRampTime), p.SlowRampTime != 10, all)
	extrasOut(b, 1, p.Extras)
	b.WriteString("}\n")
}

func printVirtual(b *strings.Builder, v *config.Virtual, all bool) {
	b.WriteString("ltm virtual " + v.Name + " {\n")
	propIf(b, 1, "connection-limit", u32(v.ConnectionLimit), v.ConnectionLimit != 0, all)
	descProp(b, 1, v.Description, all)
	if v.Destination.Addr().IsValid() {
		Prop(b, 1, "destination", config.FormatDestination(v.Destination))
	}
	switch {
	case v.Disabled:
		Prop(b, 1, "disabled", "")
	case all:
		Prop(b, 1, "enabled", "")
	}
	refOut(b, 1, "fallback-persistence", v.FallbackPersistence, all)
	if v.IPForward {
		Prop(b, 1, "ip-forward", "")
	}
	if v.Protocol != 0 {
		Prop(b, 1, "ip-protocol", v.Protocol.String())
	}
	switch {
	case v.Mask == netip.IPv4Unspecified():
		Prop(b, 1, "mask", "any")
	case v.Mask.IsValid():
		Prop(b, 1, "mask", v.Mask.String())
	}
	propIf(b, 1, "mirror", YesNo(v.Mirror, "enabled", "disabled"), v.Mirror, all)
	switch {
	case len(v.Persist) > 0:
		Prop(b, 1, "persist", "{")
		for _, p := range v.Persist {
			if !p.Default && !all {
				Prop(b, 2, p.Name, "{ }")
				continue
			}
			Prop(b, 2, p.Name, "{")
			Prop(b, 3, "default", YesNo(p.Default, "yes", "no"))
			Prop(b, 2, "}", "")
		}
		Prop(b, 1, "}", "")
	case all:
		Prop(b, 1, "persist", "none")
	}
	policiesOut(b, v, all)
	refOut(b, 1, "pool", v.Pool, all)
	switch {
	case len(v.Profiles) > 0:
		Prop(b, 1, "profiles", "{")
		for _, p := range v.Profiles {
			if p.Context == "" {
				Prop(b, 2, p.Name, "{ }")
				continue
			}
			Prop(b, 2, p.Name, "{")
			Prop(b, 3, "context", p.Context)
			Prop(b, 2, "}", "")
		}
		Prop(b, 1, "}", "")
	case all:
		Prop(b, 1, "profiles", "none")
	}
	if v.SNAT != config.SNATNone || all {
		Prop(b, 1, "source-address-translation", "{")
		if v.SNAT == config.SNATSnatpool || all {
			pool := v.SNATPool
			if pool == "" {
				pool = "none"
			}
			Prop(b, 2, "pool", pool)
		}
		Prop(b, 2, "type", v.SNAT.String())
		Prop(b, 1, "}", "")
	}
	propIf(b, 1, "translate-address", YesNo(v.TranslateAddress, "enabled", "disabled"), !v.TranslateAddress, all)
	propIf(b, 1, "translate-port", YesNo(v.TranslatePort, "enabled", "disabled"), !v.TranslatePort, all)
	extrasOut(b, 1, v.Extras)
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
func Utoa(n uint64) string { return strconv.FormatUint(n, 10) }
