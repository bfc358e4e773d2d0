package testbed

import (
	"fmt"
	"net/netip"
)

// SetupDSR prepares host (a server) for direct server return through vip,
// as an operator prepares a real server behind a BIG-IP virtual with
// translate-address disabled: vip on the host's loopback, so the kernel
// accepts packets addressed to it, and ARP for it suppressed
// (arp_ignore=1: answer only for addresses of the interface asked on;
// arp_announce=2: never use the VIP as an ARP request's source), so the
// appliance stays the only owner of the VIP on the wire. The host answers
// clients from the VIP through its default gateway, the appliance, which
// forwards a DSR virtual's answers. Everything goes with the namespace on
// Down.
func (tb *Testbed) SetupDSR(host string, vip netip.Addr) error {
	h, ok := tb.Topo.Host(host)
	if !ok {
		return fmt.Errorf("testbed: no host %q", host)
	}
	if !vip.Is4() {
		return fmt.Errorf("testbed: dsr on %s: vip %s: want an IPv4 address", host, vip)
	}
	for _, k := range []string{"all", "eth0"} {
		if err := nsSysctl(h.NS, "net/ipv4/conf/"+k+"/arp_ignore", "1"); err != nil {
			return fmt.Errorf("testbed: dsr on %s: %w", host, err)
		}
		if err := nsSysctl(h.NS, "net/ipv4/conf/"+k+"/arp_announce", "2"); err != nil {
			return fmt.Errorf("testbed: dsr on %s: %w", host, err)
		}
	}
	if err := addLoopbackAddr(h.NS, vip); err != nil {
		return fmt.Errorf("testbed: dsr on %s: %w", host, err)
	}
	return nil
}
