package program

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Route is a static route (`net route`): destinations in Network are
// reached through Gateway, which must be on a connected network (a self
// IP's); a route whose gateway is on none is kept in the Program but not
// used (show net route says so). 0.0.0.0/0 is the default route.
type Route struct {
	Name    string
	Network netip.Prefix
	Gateway netip.Addr
}

// checkRoutes validates the program's routes in Finalize: IPv4, one per
// network.
func (p *Program) checkRoutes() error {
	seen := make(map[netip.Prefix]string, len(p.Routes))
	for _, r := range p.Routes {
		if !r.Network.Addr().Is4() || !r.Gateway.Is4() {
			return fmt.Errorf("route %s: network %s gw %s: only IPv4 is supported", r.Name, r.Network, r.Gateway)
		}
		n := r.Network.Masked()
		if o, dup := seen[n]; dup {
			return fmt.Errorf("route %s: network %s: already routed by %s", r.Name, n, o)
		}
		seen[n] = r.Name
	}
	return nil
}

// PrefixMask is the IPv4 netmask of a prefix length, in host order.
func PrefixMask(bits int) uint32 {
	if bits <= 0 {
		return 0
	}
	return ^uint32(0) << (32 - bits)
}

// U32 converts an IPv4 netip.Addr to host order; 0 for anything else.
func U32(a netip.Addr) uint32 {
	if !a.Is4() {
		return 0
	}
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}
