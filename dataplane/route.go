package dataplane

import (
	"net/netip"
	"slices"

	"lbx/dataplane/program"

	"lbx/dataplane/flowtable"
)

// routeRT is a Route resolved against the installed self IPs.
type routeRT struct {
	net, mask uint32
	bits      int
	gw        uint32
	self      int // index in installed.selfs of the gateway's connected network
}

// resolveRoutes resolves the routes whose gateway is on a connected network
// of selfs (longest prefix first, so the first match is the best); the
// others are left out and named in skipped.
func resolveRoutes(routes []Route, in *installed) (out []routeRT, skipped []string) {
	for _, r := range routes {
		gw := program.U32(r.Gateway)
		si := in.connected(gw)
		if si < 0 || in.selfs[si].addr == gw {
			skipped = append(skipped, r.Name)
			continue
		}
		n := r.Network.Masked()
		out = append(out, routeRT{net: program.U32(n.Addr()), mask: program.PrefixMask(n.Bits()), bits: n.Bits(), gw: gw, self: si})
	}
	slices.SortStableFunc(out, func(a, b routeRT) int { return b.bits - a.bits })
	return out, skipped
}

// route finds how to reach dst: the index in selfs of the self IP whose
// port it leaves by, and the next hop to address on that port — dst itself
// on a connected network, a route's gateway otherwise. The longest prefix
// wins; a connected network wins a tie with a route. It returns -1 when
// nothing reaches dst. It does not allocate.
func (in *installed) route(dst uint32) (self int, hop uint32) {
	ci := in.connected(dst)
	for i := range in.routes {
		r := &in.routes[i]
		if dst&r.mask != r.net {
			continue
		}
		if ci >= 0 && in.selfs[ci].bits >= r.bits {
			break
		}
		return r.self, r.gw
	}
	return ci, dst
}

// nextHop is the address whose MAC a packet to dst leaving the appliance
// goes to: dst on a connected network, else its route's gateway (dst when
// nothing routes it; send parks it and the ARP request goes unanswered).
func (in *installed) nextHop(dst uint32) uint32 {
	if len(in.routes) == 0 {
		return dst
	}
	_, hop := in.route(dst)
	return hop
}

// hitHop is the next hop of a packet a flow's hit sends on: the member
// itself for DSR (only the MAC changes), else the routed next hop of the
// hit's destination.
func (in *installed) hitHop(hit *flowtable.Hit) uint32 {
	if hit.DSR {
		return hit.Hop
	}
	return in.nextHop(hit.Dst)
}

// SourceFor returns the self IP a packet the appliance originates to dst
// leaves from: the self IP of the connected network the route to dst goes
// out through. It reports false when nothing routes dst (or before the
// first Install). The local stack uses it for destinations on no
// connected network, such as monitored members behind a gateway.
func (e *Engine) SourceFor(dst netip.Addr) (netip.Addr, bool) {
	in := e.cur.Load()
	if in == nil || !dst.Is4() {
		return netip.Addr{}, false
	}
	si, _ := in.route(program.U32(dst))
	if si < 0 {
		return netip.Addr{}, false
	}
	return addr4(in.selfs[si].addr), true
}
