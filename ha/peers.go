package ha

import (
	"fmt"
	"net/netip"
	"slices"

	"lbx/ha/vrrp"
)

// Unicast peers and the check of a heard advertisement's addresses.

// LocalSender sends an IPv4 packet the appliance originates from a self
// IP, routed and resolved with ARP: *dataplane.Engine's SendLocal. A unit
// with unicast peers needs it.
type LocalSender interface {
	SendLocal(pkt []byte) error
}

// sendUnicast sends a to each of p's peers from p's address, as an IPv4
// packet the dataplane routes and resolves (u.mu held).
func (u *Unit) sendUnicast(p Port, a vrrp.Advert) {
	for _, peer := range p.Peers {
		pkt, err := a.AppendPacket(u.buf[:0], p.Addr, peer)
		if err != nil {
			u.log.Warn("ha: advertisement", "port", p.Name, "peer", peer, "err", err)
			continue
		}
		u.buf = pkt
		if err := u.local.SendLocal(pkt); err != nil {
			u.log.Warn("ha: advertisement", "port", p.Name, "peer", peer, "err", err)
		}
	}
}

// heard reports whether an advertisement from src on port counts: with
// unicast peers on the port only theirs do. It also compares the
// advertisement's addresses with this unit's on the port: RFC 5798 §7.1
// has a mismatch logged as a misconfiguration, not the advertisement
// dropped, so the election goes on.
func (u *Unit) heard(port string, src netip.Addr, a vrrp.Advert) bool {
	if p := u.ports[port]; len(p.Peers) > 0 && !slices.Contains(p.Peers, src) {
		u.mu.Lock()
		u.strangers++
		u.mu.Unlock()
		u.log.Debug("ha: advertisement from a host that is not a unicast peer: ignored", "port", port, "src", src)
		return false
	}
	if a.VRID != u.cfg.VRID || a.Priority == 0 {
		return true
	}
	var ours []netip.Addr
	for _, f := range u.dp.FloatingAddrs() {
		if f.Port == port {
			ours = append(ours, f.Addr)
		}
	}
	theirs := slices.Clone(a.Addrs)
	slices.SortFunc(ours, netip.Addr.Compare)
	slices.SortFunc(theirs, netip.Addr.Compare)
	ours, theirs = slices.Compact(ours), slices.Compact(theirs)
	if slices.Equal(ours, theirs) {
		return true
	}
	what := fmt.Sprintf("from %s on %s: advertised %v, this unit has %v", src, port, theirs, ours)
	u.mu.Lock()
	u.mismatches++
	changed := what != u.lastMismatch
	u.lastMismatch = what
	u.mu.Unlock()
	if changed { // logged once per distinct mismatch, not ten times a second
		u.log.Warn("ha: VRRP address list mismatch (a configuration error; the advertisement still counts)", "vrid", a.VRID, "detail", what)
	}
	return true
}
