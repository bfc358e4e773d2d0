package delaylink

import (
	"fmt"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// withLinks gives fn a netlink handle bound to the named namespace.
func withLinks(name string, fn func(nl *netlink.Handle) error) error {
	h, err := netns.GetFromName(name)
	if err != nil {
		return fmt.Errorf("netns %s: %w", name, err)
	}
	defer h.Close()
	nl, err := netlink.NewHandleAt(h)
	if err != nil {
		return fmt.Errorf("netns %s: netlink: %w", name, err)
	}
	defer nl.Close()
	if err := fn(nl); err != nil {
		return fmt.Errorf("netns %s: %w", name, err)
	}
	return nil
}

// Insert takes port off bridge and puts a veth pair in its place:
// peer on the bridge, relay free for the delay link's relay, both up.
func Insert(swNS, port, bridge, peer, relay string) error {
	return withLinks(swNS, func(nl *netlink.Handle) error {
		br, err := nl.LinkByName(bridge)
		if err != nil {
			return fmt.Errorf("bridge %s: %w", bridge, err)
		}
		p, err := nl.LinkByName(port)
		if err != nil {
			return fmt.Errorf("port %s: %w", port, err)
		}
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: peer, MasterIndex: br.Attrs().Index}, PeerName: relay}
		if err := nl.LinkAdd(veth); err != nil {
			return fmt.Errorf("veth %s: %w", peer, err)
		}
		r, err := nl.LinkByName(relay)
		if err == nil {
			err = nl.LinkSetUp(r)
		}
		if err == nil {
			err = nl.LinkSetUp(veth)
		}
		if err == nil {
			err = nl.LinkSetNoMaster(p)
		}
		if err != nil {
			nl.LinkDel(veth)
			return fmt.Errorf("delay link on %s: %w", port, err)
		}
		return nil
	})
}

// Remove deletes the delay link's veth pair and puts port back
// on bridge. A pair already gone is no error.
func Remove(swNS, port, bridge, peer string) error {
	return withLinks(swNS, func(nl *netlink.Handle) error {
		if v, err := nl.LinkByName(peer); err == nil {
			if err := nl.LinkDel(v); err != nil {
				return fmt.Errorf("veth %s: %w", peer, err)
			}
		}
		br, err := nl.LinkByName(bridge)
		if err != nil {
			return fmt.Errorf("bridge %s: %w", bridge, err)
		}
		p, err := nl.LinkByName(port)
		if err != nil {
			return fmt.Errorf("port %s: %w", port, err)
		}
		return nl.LinkSetMaster(p, br)
	})
}
