package testbed

// Kernel access for peers (peers.go): their links and their sysctls, beside
// the testbed's own in netns_linux.go, whose helpers they use.

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// nsSysctl writes a network sysctl from a thread inside namespace ns; the
// kernel resolves /proc/sys/net against the opener's namespace.
func nsSysctl(ns, key, value string) error {
	path := filepath.Join("/proc/sys", filepath.Clean("/"+key))
	if !strings.HasPrefix(path, "/proc/sys/net/") {
		return fmt.Errorf("testbed: sysctl %s: only net/ keys are per namespace", key)
	}
	return withNS(ns, func() error {
		if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
			return fmt.Errorf("netns %s: sysctl %s: %w", ns, key, err)
		}
		return nil
	})
}

// attachLink is attachHost for a multi-homed peer: the peer end is named
// ifname and gets no default route.
func attachLink(swNS, bridge, swEnd, peerNS, ifname string, addr netip.Prefix) error {
	peerH, err := netns.GetFromName(peerNS)
	if err != nil {
		return fmt.Errorf("netns %s: %w", peerNS, err)
	}
	defer peerH.Close()
	err = withLinks(swNS, func(nl *netlink.Handle) error {
		br, err := nl.LinkByName(bridge)
		if err != nil {
			return fmt.Errorf("bridge %s: %w", bridge, err)
		}
		veth := &netlink.Veth{
			LinkAttrs:     netlink.LinkAttrs{Name: swEnd, MasterIndex: br.Attrs().Index},
			PeerName:      ifname,
			PeerNamespace: netlink.NsFd(int(peerH)),
		}
		if err := nl.LinkAdd(veth); err != nil {
			return fmt.Errorf("veth %s: %w", swEnd, err)
		}
		return nl.LinkSetUp(veth)
	})
	if err != nil {
		return err
	}
	return withLinks(peerNS, func(nl *netlink.Handle) error {
		l, err := nl.LinkByName(ifname)
		if err != nil {
			return err
		}
		ipn := &net.IPNet{IP: addr.Addr().AsSlice(), Mask: net.CIDRMask(addr.Bits(), 32)}
		if err := nl.AddrAdd(l, &netlink.Addr{IPNet: ipn}); err != nil {
			return fmt.Errorf("%s address %s: %w", ifname, addr, err)
		}
		return nl.LinkSetUp(l)
	})
}
