package config

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// SNATPool is an `ltm snatpool`: source addresses for virtual servers with
// source-address-translation type snat: the dataplane translates their
// clients to these addresses and answers ARP for them.
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

// SelfIP is a `net self`: an address of the appliance on a VLAN, which the
// dataplane answers ARP for, reaches its connected network through and
// sends health probes from. A VLAN is a data port: /Common/lbx-int is the
// port lbx-int (net vlan objects are not implemented).
//
// The boot config's self IPs (selfips) are net self objects too, marked
// Boot: the store puts them into every configuration it applies
// (MergeBootSelfs), they are never saved, and no command changes or deletes
// them (BootSelfError): they change with the boot config.
type SelfIP struct {
	Name        string
	Address     netip.Prefix // address/prefix length
	VLAN        string       // full name of the VLAN, that is of the data port
	Description string
	// TrafficGroup is the traffic group the address belongs to (full
	// name): TrafficGroupLocalOnly (also "") for a non-floating self IP,
	// TrafficGroup1 for a floating one, which only the unit where the
	// traffic group is active answers for.
	TrafficGroup string
	Boot         bool // from the boot config: not saved, not changeable
	Extras
}

// The traffic groups. lbx has BIG-IP's two built-in ones and no others:
// traffic-group-local-only (the addresses of this unit alone) and
// traffic-group-1 (the floating addresses and the virtual addresses, active
// on one unit of the pair; see the boot config's ha section).
const (
	TrafficGroupLocalOnly = "/" + CommonPartition + "/traffic-group-local-only"
	TrafficGroup1         = "/" + CommonPartition + "/traffic-group-1"
)

// TrafficGroups are the traffic groups, sorted.
var TrafficGroups = []string{TrafficGroup1, TrafficGroupLocalOnly}

// Floating reports whether s moves with a traffic group between units.
func (s *SelfIP) Floating() bool {
	return s.TrafficGroup != "" && s.TrafficGroup != TrafficGroupLocalOnly
}

// BootSelfDescription is the description a boot config self IP carries,
// which marks it in `list net self`.
const BootSelfDescription = "from the boot config (selfips)"

// Port is the data port the self IP is on: its VLAN's base name.
func (s *SelfIP) Port() string { return BaseName(s.VLAN) }

// MergeBootSelfs puts the boot config's self IPs into c: each one c does
// not have is added, marked Boot; one c has under its name must be the
// same (a `list net self` pushed back, or a config that declares it) and
// is marked Boot; one that differs is an error naming what differs. boot
// must be Boot-marked, with BootSelfDescription.
func (c *Config) MergeBootSelfs(boot []*SelfIP) error {
	c.EnsureMaps()
	var errs []error
	for _, b := range boot {
		s := c.Selfs[b.Name]
		if s == nil {
			c.Selfs[b.Name] = b.Clone()
			continue
		}
		var prop string
		switch {
		case s.Address != b.Address:
			prop = "address " + s.Address.String()
		case s.VLAN != b.VLAN:
			prop = "vlan " + s.VLAN
		case s.Description != b.Description:
			prop = "description " + s.Description
		case s.Floating():
			prop = "traffic-group " + s.TrafficGroup
		case len(s.Extra) > 0:
			prop = s.Extra[0].Name
		}
		if prop != "" {
			errs = append(errs, Invalid(s.Ref(), prop, fmt.Errorf("self IP of the boot config (selfips: address %s, port %s): %w", b.Address, b.Port(), errBootSelf)))
			continue
		}
		s.Boot = true
	}
	return errors.Join(errs...)
}

var errBootSelf = errors.New("change it in the boot config and restart lbx")

func (s *SelfIP) Clone() *SelfIP { x := *s; x.Extras = s.Extras.Clone(); return &x }

// Route is a `net route`: a static route. The dataplane sends what is
// routed to Network (longest prefix; a connected network wins a tie) to
// Gateway, which must be on a connected network for the route to be used.
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
