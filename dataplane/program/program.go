package program

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"lbx/dataplane/l7spec"
	"lbx/pools"
)

// IP protocol numbers a virtual server can match.
const (
	ProtoTCP uint8 = 6
	ProtoUDP uint8 = 17
	// ProtoAny is a virtual's ip-protocol any: it matches every IP
	// protocol (see virtual.go for those without ports).
	ProtoAny uint8 = 255
)

// SelfIP is an address the appliance owns on one port; its prefix is the
// connected network reachable through that port.
type SelfIP struct {
	Name   string
	Prefix netip.Prefix // address and mask, e.g. 198.18.1.2/24
	Port   string       // port (device) name the network is on
	// Floating puts the address in traffic-group-1: answered only while
	// the unit is not standby (ha.go).
	Floating bool
}

// ServiceDownAction is what happens to a member's connections when its
// monitor marks it down (the pool's service-down-action).
type ServiceDownAction uint8

// Service-down actions.
const (
	ServiceDownNone     ServiceDownAction = iota // connections carry on
	ServiceDownReset                             // RST to both sides, flow removed
	ServiceDownDrop                              // flow removed silently
	ServiceDownReselect                          // flow moved to another member
)

var serviceDownNames = [...]string{"none", "reset", "drop", "reselect"}

func (a ServiceDownAction) String() string {
	if int(a) < len(serviceDownNames) {
		return serviceDownNames[a]
	}
	return "unknown"
}

// Virtual is one L4 virtual server as compiled. Like everything a Program
// points to, it is never written once the Program is finalized; its live
// state (counters, the runtime pool) is the engine's.
type Virtual struct {
	Name  string
	Addr  netip.Addr // IPv4 destination address (the VIP)
	Port  uint16     // destination port; 0 matches any port
	Proto uint8      // ProtoTCP, ProtoUDP or ProtoAny
	// Mask is the destination mask of a network virtual (`mask
	// 255.255.255.0`: every address of Addr's network); the zero value
	// and 255.255.255.255 are a host virtual on Addr alone. The most
	// specific virtual wins: address (longest mask), then port, then
	// protocol (virtual.go).
	Mask netip.Addr
	// Forward is a forwarding virtual (tmsh ip-forward): matching packets
	// are routed, not balanced — no pool, no translation, TTL
	// decremented, tracked in the flow table so replies return.
	Forward bool
	// Pool is the pool's spec, nil for none; virtuals using one pool share
	// the pointer. Its members carry no runtime attachments: the engine
	// builds the runtime pools.Pool from it, and keeps it across installs
	// while the spec stays Equal.
	Pool        *pools.PoolConfig
	SNATAutomap bool // translate the client source to the egress self IP
	// SNATPool are the translation addresses of a SNAT pool (`type snat
	// pool P`); when set they are used instead of automap. The appliance
	// answers ARP for them and allocates their source ports per
	// (translation address, member address and port, protocol) from the
	// whole range 1024–65535: the local stack never uses them.
	SNATPool []netip.Addr
	// DSR is direct server return (translate-address disabled): only the
	// destination MAC is rewritten to the chosen member's; addresses and
	// ports stay the client's and the VIP's, SNAT and the member's port
	// are ignored, and the flow is tracked from the client's half alone,
	// since the member answers the client without the appliance.
	DSR bool
	// KeepPort is translate-port disabled: the destination port stays the
	// client's, the member's port is ignored (as BIG-IP does).
	KeepPort bool
	Enabled  bool
	// Mirror is tmsh mirror enabled: the flows it opens are streamed to
	// the HA peer (package ha/mirror), which carries them on after a
	// failover.
	Mirror bool

	// Persist is the virtual's persistence, nil for none. When Table is nil
	// the engine uses its own table (in a copy). In hash mode the key
	// hashed is the client address's four bytes from HashOffset,
	// HashLength of them (0: to the end): layer 4 has no payload to hash at
	// the SYN.
	Persist    *pools.Persist
	HashOffset int
	HashLength int

	// ServiceDown is the pool's action on this virtual's connections to a
	// member its monitor marks down.
	ServiceDown ServiceDownAction

	// L7 makes this an HTTP (layer-7) virtual, nil for none: every packet
	// for it goes to the local sink, whose TCP/IP stack holds the VIP as
	// an address of its own while the virtual is installed, and the
	// appliance's proxy (package l7/proxy) terminates the connection
	// there. No flow is made and nothing is translated; the rest of the
	// spec is the proxy's.
	L7 *l7spec.Spec
}

// Program is the immutable compiled configuration the dataplane runs. It is
// built in full by ctrlplane's compile, finalized, handed to Engine.Install
// and from then on only read, by everyone: neither the engine nor the
// control plane writes into it or into what it points to. The runtime state
// that goes with it — counters, member health, slow-ramp starts,
// persistence tables, load-balancing state — lives in the engine (see
// runtime.go), kept by identity across installs.
type Program struct {
	Generation uint64
	SelfIPs    []SelfIP
	Virtuals   []*Virtual
	Routes     []Route // static routes (route.go)

	vs        map[vsKey]int // host virtuals: destination → index in Virtuals
	nets      []netVirtual  // network virtuals, most specific first (virtual.go)
	vips      map[netip.Addr]struct{}
	l7vips    map[netip.Addr]struct{} // addresses of HTTP (layer-7) virtuals
	snats     map[netip.Addr]struct{} // SNAT pool translation addresses
	l7snats   map[netip.Addr]string   // SNAT pool addresses of HTTP virtuals → the first such virtual
	dsr       bool                    // some virtual is DSR
	forwards  bool                    // some virtual is a forwarding (ip-forward) virtual
	selfs     map[netip.Addr]int      // self IP address → index in SelfIPs
	finalized bool
}

type vsKey struct {
	addr  netip.Addr
	port  uint16
	proto uint8
}

// Finalize builds the program's lookup indexes and checks the virtuals do not
// collide and their pools are valid specs: one spec per pool name, without
// runtime attachments. It must be called once, before the program is
// installed; afterwards the program is not written again.
func (p *Program) Finalize() error {
	p.vs = make(map[vsKey]int, len(p.Virtuals))
	p.vips = make(map[netip.Addr]struct{}, len(p.Virtuals))
	p.snats = make(map[netip.Addr]struct{})
	p.l7vips = make(map[netip.Addr]struct{})
	p.l7snats = make(map[netip.Addr]string)
	specs := make(map[string]*Virtual)
	p.nets, p.forwards = nil, false
	for i, v := range p.Virtuals {
		if err := p.addVirtual(i, v); err != nil {
			return err
		}
		for _, a := range v.SNATPool {
			p.snats[a] = struct{}{}
		}
		p.dsr = p.dsr || v.DSR
		p.forwards = p.forwards || v.Forward
		if v.L7 != nil {
			if v.DSR || v.Forward || v.Proto != ProtoTCP || v.Port == 0 || v.Mask.IsValid() && v.Mask != netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
				return fmt.Errorf("virtual %s: an HTTP virtual is a TCP host virtual on one port, translated, not forwarding", v.Name)
			}
			p.l7vips[v.Addr] = struct{}{}
			for _, a := range v.SNATPool {
				if _, ok := p.l7snats[a]; !ok {
					p.l7snats[a] = v.Name
				}
			}
		}
		if err := checkPoolSpec(v, specs); err != nil {
			return err
		}
	}
	p.selfs = make(map[netip.Addr]int, len(p.SelfIPs))
	for i, s := range p.SelfIPs {
		if !s.Prefix.Addr().Is4() {
			return fmt.Errorf("self %s: address %s: only IPv4 is supported", s.Name, s.Prefix)
		}
		if j, dup := p.selfs[s.Prefix.Addr()]; dup {
			return fmt.Errorf("self %s: address %s: already used by self %s", s.Name, s.Prefix.Addr(), p.SelfIPs[j].Name)
		}
		p.selfs[s.Prefix.Addr()] = i
	}
	for _, v := range p.Virtuals {
		for _, a := range v.SNATPool {
			if err := p.checkSNATAddr(a); err != nil {
				return fmt.Errorf("virtual %s: source-address-translation pool address %s: %w", v.Name, a, err)
			}
			// The local stack owns an HTTP virtual's SNAT addresses (its
			// server-side connections leave from them); the dataplane's
			// layer-4 translation allocates ports on its own: one address
			// cannot serve both.
			if l7 := p.l7snats[a]; l7 != "" && v.L7 == nil {
				return fmt.Errorf("virtual %s: source-address-translation pool address %s: is also a SNAT address of HTTP virtual %s (an address serves layer-4 or HTTP virtuals, not both)", v.Name, a, l7)
			}
		}
	}
	if err := p.checkRoutes(); err != nil {
		return err
	}
	p.finalized = true
	return nil
}

// checkPoolSpec checks v's pool spec: valid, the same as every other
// virtual's pool of that name (specs holds the first virtual per pool
// name), and free of runtime attachments, which are the engine's.
func checkPoolSpec(v *Virtual, specs map[string]*Virtual) error {
	ps := v.Pool
	if ps == nil {
		return nil
	}
	if o := specs[ps.Name]; o != nil {
		if o.Pool != ps && !o.Pool.Equal(ps) {
			return fmt.Errorf("virtual %s: pool %s: differs from the pool of that name of virtual %s", v.Name, ps.Name, o.Name)
		}
		return nil
	}
	specs[ps.Name] = v
	if err := ps.Validate(); err != nil {
		return fmt.Errorf("virtual %s: %w", v.Name, err)
	}
	for _, m := range ps.Members {
		if m.EnabledAt != 0 || m.Health != nil || m.Stats != nil || m.NodeStats != nil || m.Oper != nil {
			return fmt.Errorf("virtual %s: pool %s: member %s: runtime state (enabled-at, health, stats, operator disable) is the engine's, not the program's", v.Name, ps.Name, m.Name)
		}
	}
	return nil
}

// IsSelfIP reports whether addr is the address of one of the self IPs.
func (p *Program) IsSelfIP(addr netip.Addr) bool {
	_, ok := p.selfs[addr]
	return ok
}

// IsVIP reports whether addr is the destination address of any virtual.
func (p *Program) IsVIP(addr netip.Addr) bool {
	_, ok := p.vips[addr]
	return ok
}

// L7VIPs returns the addresses of the HTTP (layer-7) virtuals: the local
// stack holds them while they are installed.
func (p *Program) L7VIPs() []netip.Addr {
	out := make([]netip.Addr, 0, len(p.l7vips))
	for a := range p.l7vips {
		out = append(out, a)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// checkSNATAddr checks a SNAT pool address: IPv4, and none of the
// appliance's other addresses (the flows' reverse keys and ARP would be
// ambiguous).
func (p *Program) checkSNATAddr(a netip.Addr) error {
	if !a.Is4() {
		return fmt.Errorf("only IPv4 is supported")
	}
	if _, vip := p.vips[a]; vip {
		return fmt.Errorf("is also a virtual server's destination address")
	}
	if j, self := p.selfs[a]; self {
		return fmt.Errorf("is also the address of self %s", p.SelfIPs[j].Name)
	}
	return nil
}

// IsSNATAddr reports whether addr is a translation address of a SNAT pool
// some virtual uses.
func (p *Program) IsSNATAddr(addr netip.Addr) bool {
	_, ok := p.snats[addr]
	return ok
}

// Finalized reports whether Finalize has run (Install takes no other).
func (p *Program) Finalized() bool { return p.finalized }

// HasDSR reports whether some virtual is direct server return.
func (p *Program) HasDSR() bool { return p.dsr }

// HasForwards reports whether some virtual is a forwarding virtual.
func (p *Program) HasForwards() bool { return p.forwards }

// IsL7VIP reports whether addr is an HTTP (layer-7) virtual's address.
func (p *Program) IsL7VIP(addr netip.Addr) bool {
	_, ok := p.l7vips[addr]
	return ok
}

// IsL7SNAT reports whether addr is a SNAT pool address of an HTTP virtual:
// the local stack's, which its proxy's server-side connections leave from.
func (p *Program) IsL7SNAT(addr netip.Addr) bool {
	_, ok := p.l7snats[addr]
	return ok
}

// L7SNATs returns the SNAT pool addresses of the HTTP virtuals, sorted:
// the local stack holds them while they are installed.
func (p *Program) L7SNATs() []netip.Addr {
	return slices.SortedFunc(maps.Keys(p.l7snats), netip.Addr.Compare)
}

// VIPs are the virtual addresses, sorted.
func (p *Program) VIPs() []netip.Addr {
	return slices.SortedFunc(maps.Keys(p.vips), netip.Addr.Compare)
}
