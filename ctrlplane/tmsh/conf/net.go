package conf

import (
	"net/netip"
	"slices"
	"strings"

	"lbx/ctrlplane/config"
)

var snatpoolProps = []property[config.SNATPool]{
	textProp("description", "free text", func(p *config.SNATPool) *string { return &p.Description }),
	{"members", "members [add|delete|replace-all-with] { ADDRESS … } | none", func(c *Cursor, p *config.SNATPool, _ PropMode) error {
		op, blk, err := readListEdit(c, "members", "add", "delete", "replace-all-with")
		if err != nil {
			return err
		}
		if op == "none" {
			p.Members = nil
			return nil
		}
		list := slices.Clone(p.Members)
		if op == "replace-all-with" {
			list = nil
		}
		seen := map[netip.Addr]bool{}
		for !blk.Done() {
			at := blk.Next()
			if at.Kind != TokWord && at.Kind != TokString {
				return LineErrorf(at.Line, "members: unexpected %s, want an address", at.Describe())
			}
			// BIG-IP writes the members as translation names, /Common/ADDRESS.
			s := at.Text
			if strings.HasPrefix(s, "/") {
				full, err := config.FullName(s)
				if err != nil {
					return LineErrorf(at.Line, "members %q: %w", s, err)
				}
				s = config.BaseName(full)
			}
			a, err := netip.ParseAddr(s)
			if err != nil {
				return LineErrorf(at.Line, "members %q: not an IP address", at.Text)
			}
			if seen[a] {
				return LineErrorf(at.Line, "members %s: listed twice", a)
			}
			seen[a] = true
			i := slices.Index(list, a)
			switch {
			case op == "delete" && i < 0:
				return LineErrorf(at.Line, "members %s: not a member", a)
			case op == "delete":
				list = slices.Delete(list, i, i+1)
			case op == "add" && i >= 0:
				return LineErrorf(at.Line, "members %s: already a member", a)
			default:
				list = append(list, a)
			}
		}
		p.Members = list
		return nil
	}},
}

var selfProps = []property[config.SelfIP]{
	{"address", "ADDRESS/PREFIX, e.g. 10.1.10.1/24", func(c *Cursor, s *config.SelfIP, _ PropMode) error {
		t, err := c.Value("address")
		if err != nil {
			return err
		}
		p, err := netip.ParsePrefix(t.Text)
		if err != nil {
			return LineErrorf(t.Line, "address %q: want ADDRESS/PREFIX", t.Text)
		}
		s.Address = p
		return nil
	}},
	textProp("description", "free text", func(s *config.SelfIP) *string { return &s.Description }),
	refProp("vlan", "the VLAN the address is on", func(s *config.SelfIP) *string { return &s.VLAN }),
	{"traffic-group", "traffic-group-local-only (default) or traffic-group-1 (floating)", func(c *Cursor, s *config.SelfIP, _ PropMode) error {
		n, err := refValue(c, "traffic-group")
		if n == config.TrafficGroupLocalOnly {
			n = "" // the default, kept as the zero value
		}
		s.TrafficGroup = n
		return err
	}},
}

var routeProps = []property[config.Route]{
	textProp("description", "free text", func(r *config.Route) *string { return &r.Description }),
	{"gw", "gateway address", func(c *Cursor, r *config.Route, _ PropMode) error {
		a, err := addrValue(c, "gw")
		r.Gateway = a
		return err
	}},
	{"network", "NETWORK/PREFIX, default or default-inet6", func(c *Cursor, r *config.Route, _ PropMode) error {
		t, err := c.Value("network")
		if err != nil {
			return err
		}
		switch t.Text {
		case "default":
			r.Network = netip.MustParsePrefix("0.0.0.0/0")
			return nil
		case "default-inet6":
			r.Network = netip.MustParsePrefix("::/0")
			return nil
		}
		p, err := netip.ParsePrefix(t.Text)
		if err != nil {
			return LineErrorf(t.Line, "network %q: want NETWORK/PREFIX, default or default-inet6", t.Text)
		}
		if p.Masked() != p {
			return LineErrorf(t.Line, "network %s: host bits set (want %s)", p, p.Masked())
		}
		r.Network = p
		return nil
	}},
}

func printSNATPool(b *strings.Builder, _ *config.Config, p *config.SNATPool, all bool) {
	b.WriteString("ltm snatpool " + p.Name + " {\n")
	descProp(b, 1, p.Description, all)
	switch {
	case len(p.Members) > 0:
		Prop(b, 1, "members", "{")
		for _, a := range p.Members {
			Prop(b, 2, "/"+config.CommonPartition+"/"+a.String(), "")
		}
		Prop(b, 1, "}", "")
	case all:
		Prop(b, 1, "members", "none")
	}
	extrasOut(b, 1, p.Extras)
	b.WriteString("}\n")
}

func printSelf(b *strings.Builder, _ *config.Config, s *config.SelfIP, all bool) {
	b.WriteString("net self " + s.Name + " {\n")
	if s.Address.IsValid() {
		Prop(b, 1, "address", s.Address.String())
	}
	descProp(b, 1, s.Description, all)
	switch {
	case s.Floating():
		Prop(b, 1, "traffic-group", s.TrafficGroup)
	case all:
		Prop(b, 1, "traffic-group", config.TrafficGroupLocalOnly)
	}
	refOut(b, 1, "vlan", s.VLAN, all)
	extrasOut(b, 1, s.Extras)
	b.WriteString("}\n")
}

func printRoute(b *strings.Builder, _ *config.Config, r *config.Route, all bool) {
	b.WriteString("net route " + r.Name + " {\n")
	descProp(b, 1, r.Description, all)
	if r.Gateway.IsValid() {
		Prop(b, 1, "gw", r.Gateway.String())
	}
	if r.Network.IsValid() {
		Prop(b, 1, "network", config.FormatNetwork(r.Network))
	}
	extrasOut(b, 1, r.Extras)
	b.WriteString("}\n")
}

var (
	SNATPoolKind = newKind(kindSpec[config.SNATPool]{
		module: "ltm", kind: "snatpool", ckind: config.KindSNATPool, title: "SNAT Pool", plural: "SNAT pools", createArgs: "members { ADDRESS … }",
		props:   snatpoolProps,
		objects: func(c *config.Config) map[string]*config.SNATPool { return c.SNATPools },
		newObj:  func(name string) *config.SNATPool { return &config.SNATPool{Name: name} },
		print:   printSNATPool,
	})
	SelfKind = newKind(kindSpec[config.SelfIP]{
		module: "net", kind: "self", ckind: config.KindSelf, title: "Self IP", plural: "self IPs", createArgs: "address ADDRESS/PREFIX vlan VLAN",
		props:   selfProps,
		objects: func(c *config.Config) map[string]*config.SelfIP { return c.Selfs },
		newObj:  func(name string) *config.SelfIP { return &config.SelfIP{Name: name} },
		unsaved: func(s *config.SelfIP) bool { return s.Boot },
		print:   printSelf,
	})
	RouteKind = newKind(kindSpec[config.Route]{
		module: "net", kind: "route", ckind: config.KindRoute, title: "Route", plural: "routes", createArgs: "network NETWORK/PREFIX gw ADDRESS",
		props:   routeProps,
		objects: func(c *config.Config) map[string]*config.Route { return c.Routes },
		newObj:  func(name string) *config.Route { return &config.Route{Name: name} },
		print:   printRoute,
	})
)
