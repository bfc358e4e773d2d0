package config

import (
	"fmt"
	"net/netip"
)

// Address classes that are never the address of a virtual server, a node
// or a self IP: traffic to them is not unicast to one host, or never
// leaves a host. Checked in order; the first that contains an address
// names it.
var reservedNets = []struct {
	net  netip.Prefix
	what string
}{
	{netip.MustParsePrefix("0.0.0.0/32"), "the unspecified address 0.0.0.0"},
	{netip.MustParsePrefix("0.0.0.0/8"), `a "this network" address (0.0.0.0/8)`},
	{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address (127.0.0.0/8)"},
	{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address (224.0.0.0/4)"},
	{netip.MustParsePrefix("255.255.255.255/32"), "the limited broadcast address 255.255.255.255"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address (240.0.0.0/4)"},
}

// linkLocal is accepted with a warning: a router does not forward it, so
// only hosts on the appliance's own links reach it.
var linkLocal = netip.MustParsePrefix("169.254.0.0/16")

// ConnectedNet is a network the appliance is on: a self IP's address and
// prefix length, by the self IP's name.
type ConnectedNet struct {
	Name   string
	Prefix netip.Prefix
}

// unicastReason says why a is not an address one host may own, or "" when
// it may. nets are the appliance's connected networks, whose broadcast
// addresses are refused too, and with host their network addresses (a
// virtual's destination may be one: a network virtual server's).
func unicastReason(a netip.Addr, nets []ConnectedNet, host bool) string {
	if !a.Is4() {
		return ""
	}
	for _, r := range reservedNets {
		if r.net.Contains(a) {
			return "is " + r.what
		}
	}
	for _, n := range nets {
		p := n.Prefix.Masked()
		if !n.Prefix.Addr().Is4() || p.Bits() > 30 || !p.Contains(a) {
			continue // /31 and /32 have no broadcast address (RFC 3021)
		}
		if a == broadcast(p) {
			return fmt.Sprintf("is the broadcast address of connected network %s (self %s)", p, n.Name)
		}
		if host && a == p.Addr() {
			return fmt.Sprintf("is the network address of connected network %s (self %s)", p, n.Name)
		}
	}
	return ""
}

// broadcast is the last address of an IPv4 network.
func broadcast(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := ^uint32(0) >> p.Bits()
	v := (uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// connectedNets is every network the appliance is on: the boot config's
// self IPs (env) and the configuration's net self objects.
func connectedNets(c *Config, env Env) []ConnectedNet {
	nets := append([]ConnectedNet(nil), env.Nets...)
	for _, s := range SortedValues(c.Selfs) {
		if s.Address.IsValid() {
			nets = append(nets, ConnectedNet{Name: s.Name, Prefix: s.Address})
		}
	}
	return nets
}

// AddressWarnings are what validation accepts but an operator should
// hear about: virtual servers and nodes on link-local addresses, which
// no router forwards. c must be valid (Validate).
func AddressWarnings(c *Config) []string {
	var out []string
	for _, nd := range c.NodeList() {
		if linkLocal.Contains(nd.Address) {
			out = append(out, Ref{Kind: KindNode, Name: nd.Name}.String()+": address "+nd.Address.String()+": is a link-local address (169.254.0.0/16): only hosts on the appliance's own networks reach it")
		}
	}
	for _, v := range c.VirtualList() {
		if linkLocal.Contains(v.Destination.Addr()) {
			out = append(out, Ref{Kind: KindVirtual, Name: v.Name}.String()+": destination "+FormatDestination(v.Destination)+": is a link-local address (169.254.0.0/16): clients behind a router cannot reach it")
		}
	}
	return out
}

// HostAddressProblem says why a is no server's address (this network,
// loopback, multicast, broadcast, …), "" when it may be one; importers
// check an address with it before they make a node.
func HostAddressProblem(a netip.Addr) string { return unicastReason(a, nil, true) }
