package config

import (
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

func (p *SNATPool) Clone() *SNATPool {
	x := *p
	x.Members = slices.Clone(p.Members)
	x.Extras = p.Extras.Clone()
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

func (s *SelfIP) Clone() *SelfIP { x := *s; x.Extras = s.Extras.Clone(); return &x }

// Route is a `net route`: a static route. Kept and validated; the dataplane
// reaches only connected networks for now.
type Route struct {
	Name        string
	Network     netip.Prefix // 0.0.0.0/0 is printed "default"
	Gateway     netip.Addr
	Description string
	Extras
}

func (r *Route) Clone() *Route { x := *r; x.Extras = r.Extras.Clone(); return &x }

func FormatNetwork(p netip.Prefix) string {
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

// HasRawObject reports whether a kept, unimplemented stanza defines
// `kind name` (e.g. an iRule, `ltm rule /Common/r`).
func (c *Config) HasRawObject(kind, name string) bool {
	for _, u := range c.Unknown {
		rest, ok := strings.CutPrefix(u.Header, kind+" ")
		if !ok {
			continue
		}
		if full, err := FullName(rest); err == nil && full == name {
			return true
		}
	}
	return false
}
