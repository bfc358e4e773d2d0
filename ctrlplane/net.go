package ctrlplane

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// SNATPool is an `ltm snatpool`: source addresses for virtual servers with
// source-address-translation type snat. Kept and validated; the dataplane
// translates such virtuals with automap for now.
type SNATPool struct {
	Name        string
	Description string
	Members     []netip.Addr // in the order given
	Extras
}

func (p *SNATPool) clone() *SNATPool {
	x := *p
	x.Members = slices.Clone(p.Members)
	x.Extras = p.Extras.clone()
	return &x
}

// SelfIP is a `net self`: an address of the appliance on a VLAN. Kept and
// validated; the dataplane's self IPs still come from the boot config.
type SelfIP struct {
	Name        string
	Address     netip.Prefix // address/prefix length
	VLAN        string       // full name of the VLAN (net vlan, not implemented)
	Description string
	Extras
}

func (s *SelfIP) clone() *SelfIP { x := *s; x.Extras = s.Extras.clone(); return &x }

// Route is a `net route`: a static route. Kept and validated; the dataplane
// reaches only connected networks for now.
type Route struct {
	Name        string
	Network     netip.Prefix // 0.0.0.0/0 is printed "default"
	Gateway     netip.Addr
	Description string
	Extras
}

func (r *Route) clone() *Route { x := *r; x.Extras = r.Extras.clone(); return &x }

var snatpoolProps = []property[SNATPool]{
	textProp("description", "free text", func(p *SNATPool) *string { return &p.Description }),
	{"members", "members [add|delete|replace-all-with] { ADDRESS … } | none", func(c *cursor, p *SNATPool, _ propMode) error {
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
		for !blk.done() {
			at := blk.next()
			if at.kind != tokWord && at.kind != tokString {
				return lineErrorf(at.line, "members: unexpected %s, want an address", at.describe())
			}
			// BIG-IP writes the members as translation names, /Common/ADDRESS.
			s := at.text
			if strings.HasPrefix(s, "/") {
				full, err := fullName(s)
				if err != nil {
					return lineErrorf(at.line, "members %q: %w", s, err)
				}
				s = baseName(full)
			}
			a, err := netip.ParseAddr(s)
			if err != nil {
				return lineErrorf(at.line, "members %q: not an IP address", at.text)
			}
			if seen[a] {
				return lineErrorf(at.line, "members %s: listed twice", a)
			}
			seen[a] = true
			i := slices.Index(list, a)
			switch {
			case op == "delete" && i < 0:
				return lineErrorf(at.line, "members %s: not a member", a)
			case op == "delete":
				list = slices.Delete(list, i, i+1)
			case op == "add" && i >= 0:
				return lineErrorf(at.line, "members %s: already a member", a)
			default:
				list = append(list, a)
			}
		}
		p.Members = list
		return nil
	}},
}

var selfProps = []property[SelfIP]{
	{"address", "ADDRESS/PREFIX, e.g. 10.1.10.1/24", func(c *cursor, s *SelfIP, _ propMode) error {
		t, err := c.value("address")
		if err != nil {
			return err
		}
		p, err := netip.ParsePrefix(t.text)
		if err != nil {
			return lineErrorf(t.line, "address %q: want ADDRESS/PREFIX", t.text)
		}
		s.Address = p
		return nil
	}},
	textProp("description", "free text", func(s *SelfIP) *string { return &s.Description }),
	refProp("vlan", "the VLAN the address is on", func(s *SelfIP) *string { return &s.VLAN }),
}

var routeProps = []property[Route]{
	textProp("description", "free text", func(r *Route) *string { return &r.Description }),
	{"gw", "gateway address", func(c *cursor, r *Route, _ propMode) error {
		a, err := addrValue(c, "gw")
		r.Gateway = a
		return err
	}},
	{"network", "NETWORK/PREFIX, default or default-inet6", func(c *cursor, r *Route, _ propMode) error {
		t, err := c.value("network")
		if err != nil {
			return err
		}
		switch t.text {
		case "default":
			r.Network = netip.MustParsePrefix("0.0.0.0/0")
			return nil
		case "default-inet6":
			r.Network = netip.MustParsePrefix("::/0")
			return nil
		}
		p, err := netip.ParsePrefix(t.text)
		if err != nil {
			return lineErrorf(t.line, "network %q: want NETWORK/PREFIX, default or default-inet6", t.text)
		}
		if p.Masked() != p {
			return lineErrorf(t.line, "network %s: host bits set (want %s)", p, p.Masked())
		}
		r.Network = p
		return nil
	}},
}

func formatNetwork(p netip.Prefix) string {
	switch {
	case !p.IsValid():
		return "none"
	case p.Bits() == 0 && p.Addr().Is4():
		return "default"
	case p.Bits() == 0:
		return "default-inet6"
	}
	return p.String()
}

func printSNATPool(b *strings.Builder, _ *Config, p *SNATPool, all bool) {
	b.WriteString("ltm snatpool " + p.Name + " {\n")
	descProp(b, 1, p.Description, all)
	switch {
	case len(p.Members) > 0:
		prop(b, 1, "members", "{")
		for _, a := range p.Members {
			prop(b, 2, "/"+commonPartition+"/"+a.String(), "")
		}
		prop(b, 1, "}", "")
	case all:
		prop(b, 1, "members", "none")
	}
	extrasOut(b, 1, p.Extras)
	b.WriteString("}\n")
}

func printSelf(b *strings.Builder, _ *Config, s *SelfIP, all bool) {
	b.WriteString("net self " + s.Name + " {\n")
	if s.Address.IsValid() {
		prop(b, 1, "address", s.Address.String())
	}
	descProp(b, 1, s.Description, all)
	refOut(b, 1, "vlan", s.VLAN, all)
	extrasOut(b, 1, s.Extras)
	b.WriteString("}\n")
}

func printRoute(b *strings.Builder, _ *Config, r *Route, all bool) {
	b.WriteString("net route " + r.Name + " {\n")
	descProp(b, 1, r.Description, all)
	if r.Gateway.IsValid() {
		prop(b, 1, "gw", r.Gateway.String())
	}
	if r.Network.IsValid() {
		prop(b, 1, "network", formatNetwork(r.Network))
	}
	extrasOut(b, 1, r.Extras)
	b.WriteString("}\n")
}

var (
	snatpoolKind = newKind(kindSpec[SNATPool]{
		module: "ltm", kind: "snatpool", title: "SNAT Pool", plural: "SNAT pools", createArgs: "members { ADDRESS … }",
		props:   snatpoolProps,
		objects: func(c *Config) map[string]*SNATPool { return c.SNATPools },
		newObj:  func(name string) *SNATPool { return &SNATPool{Name: name} },
		inUse: func(c *Config, name string) error {
			for _, v := range c.VirtualList() {
				if v.SNAT == SNATSnatpool && v.SNATPool == name {
					return coded("01070265:3: The SNAT Pool (%s) cannot be deleted because it is in use by a Virtual Server (%s).", name, v.Name)
				}
			}
			return nil
		},
		print: printSNATPool,
	})
	selfKind = newKind(kindSpec[SelfIP]{
		module: "net", kind: "self", title: "Self IP", plural: "self IPs", createArgs: "address ADDRESS/PREFIX vlan VLAN",
		props:   selfProps,
		objects: func(c *Config) map[string]*SelfIP { return c.Selfs },
		newObj:  func(name string) *SelfIP { return &SelfIP{Name: name} },
		print:   printSelf,
	})
	routeKind = newKind(kindSpec[Route]{
		module: "net", kind: "route", title: "Route", plural: "routes", createArgs: "network NETWORK/PREFIX gw ADDRESS",
		props:   routeProps,
		objects: func(c *Config) map[string]*Route { return c.Routes },
		newObj:  func(name string) *Route { return &Route{Name: name} },
		print:   printRoute,
	})
)

func validateNet(c *Config, add func(obj, prop string, err error)) {
	for _, p := range sortedValues(c.SNATPools) {
		obj := snatpoolKind.objectName(p.Name)
		if len(p.Members) == 0 {
			add(obj, "members", ErrMissing)
		}
		for _, a := range p.Members {
			if !a.Is4() {
				add(obj, "members "+a.String(), fmt.Errorf("IPv6: %w", ErrNotSupportedYet))
			}
		}
	}
	addrs := map[netip.Addr]string{}
	for _, s := range sortedValues(c.Selfs) {
		obj := selfKind.objectName(s.Name)
		switch a := s.Address.Addr(); {
		case !s.Address.IsValid():
			add(obj, "address", ErrMissing)
		case addrs[a] != "":
			add(obj, "address "+s.Address.String(), fmt.Errorf("already used by self %s", addrs[a]))
		default:
			addrs[a] = s.Name
		}
		if s.VLAN == "" {
			add(obj, "vlan", ErrMissing)
		}
	}
	nets := map[netip.Prefix]string{}
	for _, r := range sortedValues(c.Routes) {
		obj := routeKind.objectName(r.Name)
		switch {
		case !r.Network.IsValid():
			add(obj, "network", ErrMissing)
		case nets[r.Network] != "":
			add(obj, "network "+formatNetwork(r.Network), fmt.Errorf("already routed by %s", nets[r.Network]))
		default:
			nets[r.Network] = r.Name
		}
		switch {
		case !r.Gateway.IsValid():
			add(obj, "gw", ErrMissing)
		case r.Network.IsValid() && r.Gateway.Is4() != r.Network.Addr().Is4():
			add(obj, "gw "+r.Gateway.String(), errors.New("not of the network's address family"))
		}
	}
}

// hasRawObject reports whether a kept, unimplemented stanza defines
// `kind name` (e.g. an iRule, `ltm rule /Common/r`).
func (c *Config) hasRawObject(kind, name string) bool {
	for _, u := range c.Unknown {
		rest, ok := strings.CutPrefix(u.Header, kind+" ")
		if !ok {
			continue
		}
		if full, err := fullName(rest); err == nil && full == name {
			return true
		}
	}
	return false
}
