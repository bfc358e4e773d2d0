package testbed

// Kernel access for SetupDSR, beside netns_linux.go's.

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// addLoopbackAddr adds a/32 to lo in namespace ns.
func addLoopbackAddr(ns string, a netip.Addr) error {
	return withLinks(ns, func(nl *netlink.Handle) error {
		lo, err := nl.LinkByName("lo")
		if err != nil {
			return err
		}
		ipn := &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(32, 32)}
		if err := nl.AddrAdd(lo, &netlink.Addr{IPNet: ipn}); err != nil {
			return fmt.Errorf("lo address %s/32: %w", a, err)
		}
		return nil
	})
}
