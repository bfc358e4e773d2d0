package program

import (
	"fmt"
	"net/netip"
	"slices"
)

// Virtual server matching.
//
// A host virtual (mask 255.255.255.255) owns its address: the appliance
// answers ARP for it and it is a local address. It is found with one map
// lookup per (port, protocol) combination. A network virtual (a shorter
// mask, down to `0.0.0.0 mask any`) owns no address: packets reach it
// because the appliance is their gateway. Network virtuals sit in a slice,
// most specific first, scanned after the host lookups miss; configurations
// have a handful of them.
//
// The most specific virtual wins, as on BIG-IP: the longest destination
// mask first, then a virtual on the packet's port over one on any port,
// then the packet's protocol over ip-protocol any.
//
// Protocols without ports (ICMP, GRE, ESP…) match a virtual on any port
// only (port 0) whose protocol is theirs or any; see portless.go.

// netVirtual is a network virtual as the lookup scans it.
type netVirtual struct {
	net, mask uint32
	bits      int
	port      uint16
	proto     uint8
	idx       int // index in Program.Virtuals
}

// more reports whether a is more specific than b.
func (a *netVirtual) more(b *netVirtual) bool {
	if a.bits != b.bits {
		return a.bits > b.bits
	}
	if (a.port != 0) != (b.port != 0) {
		return a.port != 0
	}
	return a.proto != ProtoAny && b.proto == ProtoAny
}

// maskBits returns v's destination mask length: 32 for a host virtual.
func (v *Virtual) maskBits() (int, error) {
	if !v.Mask.IsValid() {
		return 32, nil
	}
	if !v.Mask.Is4() {
		return 0, fmt.Errorf("virtual %s: mask %s: want an IPv4 netmask", v.Name, v.Mask)
	}
	m := U32(v.Mask)
	bits := 0
	for bits < 32 && m&(1<<(31-bits)) != 0 {
		bits++
	}
	if m != PrefixMask(bits) {
		return 0, fmt.Errorf("virtual %s: mask %s: not a contiguous netmask", v.Name, v.Mask)
	}
	return bits, nil
}

// IsNetwork reports whether v is a network virtual (a mask shorter than
// /32).
func (v *Virtual) IsNetwork() bool {
	b, err := v.maskBits()
	return err == nil && b < 32
}

// addVirtual indexes Virtuals[i] in Finalize: a host virtual in the map
// and among the VIPs (unless it forwards), a network virtual in nets.
func (p *Program) addVirtual(i int, v *Virtual) error {
	if !v.Addr.Is4() {
		return fmt.Errorf("virtual %s: destination %s: only IPv4 is supported", v.Name, v.Addr)
	}
	if v.Proto != ProtoTCP && v.Proto != ProtoUDP && v.Proto != ProtoAny {
		return fmt.Errorf("virtual %s: ip-protocol %d: want tcp, udp or any", v.Name, v.Proto)
	}
	if v.Forward && (v.Pool != nil || v.DSR || v.SNATAutomap || v.SNATPool != nil) {
		return fmt.Errorf("virtual %s: ip-forward: a forwarding virtual has no pool and translates nothing", v.Name)
	}
	bits, err := v.maskBits()
	if err != nil {
		return err
	}
	a := U32(v.Addr)
	if a&PrefixMask(bits) != a {
		return fmt.Errorf("virtual %s: destination %s mask %s: address has bits outside the mask", v.Name, v.Addr, v.Mask)
	}
	if bits == 32 {
		k := vsKey{v.Addr, v.Port, v.Proto}
		if o, dup := p.vs[k]; dup {
			return fmt.Errorf("virtual %s: destination %s:%d overlaps virtual %s", v.Name, v.Addr, v.Port, p.Virtuals[o].Name)
		}
		p.vs[k] = i
		if !v.Forward {
			p.vips[v.Addr] = struct{}{}
		}
		return nil
	}
	nv := netVirtual{net: a, mask: PrefixMask(bits), bits: bits, port: v.Port, proto: v.Proto, idx: i}
	for _, o := range p.nets {
		if o.net == nv.net && o.bits == nv.bits && o.port == nv.port && o.proto == nv.proto {
			return fmt.Errorf("virtual %s: destination %s/%d:%d overlaps virtual %s", v.Name, v.Addr, bits, v.Port, p.Virtuals[o.idx].Name)
		}
	}
	at := len(p.nets)
	for j := range p.nets {
		if nv.more(&p.nets[j]) {
			at = j
			break
		}
	}
	p.nets = slices.Insert(p.nets, at, nv)
	return nil
}

// LookupVirtual finds the virtual server for a destination: the most
// specific match (see above). It does not allocate.
func (p *Program) LookupVirtual(addr netip.Addr, port uint16, proto uint8) *Virtual {
	if i := p.LookupIndex(addr, port, proto); i >= 0 {
		return p.Virtuals[i]
	}
	return nil
}

// LookupIndex is LookupVirtual returning the index in Virtuals, or -1.
func (p *Program) LookupIndex(addr netip.Addr, port uint16, proto uint8) int {
	if i, ok := p.vs[vsKey{addr, port, proto}]; ok {
		return i
	}
	if i, ok := p.vs[vsKey{addr, port, ProtoAny}]; ok {
		return i
	}
	if i, ok := p.vs[vsKey{addr, 0, proto}]; ok {
		return i
	}
	if i, ok := p.vs[vsKey{addr, 0, ProtoAny}]; ok {
		return i
	}
	if len(p.nets) == 0 || p.IsVIP(addr) || p.IsSelfIP(addr) || p.IsSNATAddr(addr) {
		return -1 // the appliance's own addresses are never routed
	}
	a := U32(addr)
	for j := range p.nets {
		n := &p.nets[j]
		if a&n.mask == n.net && (n.port == 0 || n.port == port) && (n.proto == ProtoAny || n.proto == proto) {
			return n.idx
		}
	}
	return -1
}
