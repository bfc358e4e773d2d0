package testbed

// This file holds every kernel-touching call of the testbed: namespaces,
// links, addresses, routes, and starting processes inside a namespace.

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"golang.org/x/sys/unix"

	"lbx/dataplane/afxdp"
	"lbx/internal/nsspawn"
	"lbx/testbed/ethtool"
)

// withNS runs fn on a thread switched into the named namespace. The thread is
// locked for the duration; if it cannot be switched back it is never
// unlocked, so the Go runtime retires it instead of reusing a thread in the
// wrong namespace. Sockets and processes fn creates stay in the namespace.
func withNS(name string, fn func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns: current namespace: %w", err)
	}
	defer orig.Close()
	target, err := netns.GetFromName(name)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns %s: %w", name, err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns %s: enter: %w", name, err)
	}
	fnErr := fn()
	if err := netns.Set(orig); err != nil {
		// Leave the thread locked: it dies with this goroutine.
		return errors.Join(fnErr, fmt.Errorf("netns %s: leave: %w", name, err))
	}
	runtime.UnlockOSThread()
	return fnErr
}

// nsExists reports whether a named namespace exists.
func nsExists(name string) bool {
	h, err := netns.GetFromName(name)
	if err != nil {
		return false
	}
	h.Close()
	return true
}

// nsCreate creates a named namespace (as `ip netns add`) with lo up.
func nsCreate(name string) error {
	if nsExists(name) {
		return fmt.Errorf("netns %s: already exists (run `lbx testbed down` first)", name)
	}
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns: current namespace: %w", err)
	}
	defer orig.Close()
	h, err := netns.NewNamed(name) // switches this thread into it
	if err != nil {
		netns.Set(orig)
		runtime.UnlockOSThread()
		return fmt.Errorf("netns %s: create: %w", name, err)
	}
	h.Close()
	if err := netns.Set(orig); err != nil {
		return fmt.Errorf("netns %s: leave: %w", name, err)
	}
	runtime.UnlockOSThread()
	return withLinks(name, func(nl *netlink.Handle) error {
		lo, err := nl.LinkByName("lo")
		if err == nil {
			err = nl.LinkSetUp(lo)
		}
		return err
	})
}

// netnsDir is where named namespaces live, as iproute2 keeps them.
const netnsDir = "/run/netns"

// nsDelete removes a named namespace; a missing one is not an error. As
// `ip netns delete` it detaches the namespace's mount and removes the file.
// The file is removed even when it is no namespace any more (a teardown
// that failed half way), so the name can be created again.
//
// Removing can fail with EBUSY when someone ran `ip netns add` while the
// namespace existed: when /run/netns is not a mount point yet, ip
// bind-mounts it over itself, recursively, so the namespace's mount is
// copied onto the new /run/netns and the original stays beneath it, out of
// reach of any path. removeHidden takes that case.
func nsDelete(name string) error {
	path := filepath.Join(netnsDir, name)
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	unix.Unmount(path, unix.MNT_DETACH) // fails when not mounted: nothing to do
	err := os.Remove(path)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if !errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("netns %s: delete: %w", name, err)
	}
	if err := removeHidden(path); err != nil {
		return fmt.Errorf("netns %s: delete: %w (a mount hidden under %s, made by `ip netns add` while the testbed was up, pins it)", name, err, netnsDir)
	}
	return nil
}

// removeHidden removes a namespace file that a mount hidden under an
// over-mounted /run/netns keeps busy. It works from a private copy of the
// mount table, on a thread of its own: there the over-mount and the hidden
// mount are detached (the host's are not: the copy is made private first,
// so nothing propagates back) and the file is unlinked. Unlinking a file
// detaches the mounts on it in every mount namespace, the hidden one
// included; the other namespaces' files and mounts are left as they are.
// The thread never returns to the Go runtime, which ends it.
func removeHidden(path string) error {
	res := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			res <- fmt.Errorf("private mount namespace: %w", err)
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			res <- fmt.Errorf("private mount namespace: make private: %w", err)
			return
		}
		for range 8 { // each pass removes one layer; there are two or three
			err := unix.Unlink(path)
			if err == nil || errors.Is(err, unix.ENOENT) {
				res <- nil
				return
			}
			if !errors.Is(err, unix.EBUSY) {
				res <- err
				return
			}
			// Detach what is mounted on the file, else the directory
			// mounted over the one beneath.
			if unix.Unmount(path, unix.MNT_DETACH) != nil {
				if err := unix.Unmount(filepath.Dir(path), unix.MNT_DETACH); err != nil {
					res <- fmt.Errorf("remove %s: busy, and nothing to detach: %w", path, err)
					return
				}
			}
		}
		res <- fmt.Errorf("remove %s: still busy", path)
	}()
	return <-res
}

// nsInode identifies a named namespace so processes inside it can be found.
func nsInode(name string) (uint64, bool) {
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(netnsDir, name), &st); err != nil {
		return 0, false
	}
	return st.Ino, true
}

// procNSInode returns the inode of a process's network namespace.
func procNSInode(pid int) (uint64, bool) {
	var st syscall.Stat_t
	if err := syscall.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &st); err != nil {
		return 0, false
	}
	return st.Ino, true
}

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

// addBridge creates an up bridge in the switch namespace.
func addBridge(swNS, name string) error {
	return withLinks(swNS, func(nl *netlink.Handle) error {
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
		if err := nl.LinkAdd(br); err != nil {
			return fmt.Errorf("bridge %s: %w", name, err)
		}
		return nl.LinkSetUp(br)
	})
}

// attachHost connects a host namespace to a bridge: a veth pair whose switch
// end (swEnd) is a bridge port and whose host end is eth0 with addr and a
// default route via gw (none when gw is invalid).
func attachHost(swNS, bridge, swEnd, hostNS string, addr netip.Prefix, gw netip.Addr) error {
	if err := attachLink(swNS, bridge, swEnd, hostNS, "eth0", addr); err != nil {
		return err
	}
	if !gw.IsValid() {
		return nil
	}
	return withLinks(hostNS, func(nl *netlink.Handle) error {
		eth, err := nl.LinkByName("eth0")
		if err != nil {
			return err
		}
		if err := nl.RouteAdd(&netlink.Route{LinkIndex: eth.Attrs().Index, Gw: gw.AsSlice()}); err != nil {
			return fmt.Errorf("default route via %s: %w", gw, err)
		}
		return nil
	})
}

// attachLink connects a namespace to a bridge: a veth pair whose switch end
// (swEnd) is a bridge port and whose other end, named ifname in peerNS, is
// up with addr (none when addr is not valid: the switch end's transmit
// checksum offload is then turned off and GRO set up for what it receives
// (ethtool.VethGRO), for a peer that takes ifname over with AF_XDP). A
// multi-homed benchmark peer calls it once per segment.
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
	if !addr.IsValid() {
		if err := withNS(swNS, func() error { return afxdp.DisableTxChecksum(swEnd) }); err != nil {
			return err
		}
		if err := ethtool.VethGRO(swNS, swEnd, peerNS, ifname); err != nil {
			return fmt.Errorf("veth %s: %w", swEnd, err)
		}
	}
	return withLinks(peerNS, func(nl *netlink.Handle) error {
		l, err := nl.LinkByName(ifname)
		if err != nil {
			return err
		}
		if !addr.IsValid() {
			return nl.LinkSetUp(l)
		}
		ipn := &net.IPNet{IP: addr.Addr().AsSlice(), Mask: net.CIDRMask(addr.Bits(), 32)}
		if err := nl.AddrAdd(l, &netlink.Addr{IPNet: ipn}); err != nil {
			return fmt.Errorf("%s address %s: %w", ifname, addr, err)
		}
		return nl.LinkSetUp(l)
	})
}

// addPortVeth creates an AF_XDP appliance port in the switch namespace: a
// veth pair, device for lbx and PortPeer(device) on the bridge, one queue
// each (so the port's socket on queue 0 sees every frame, and native XDP
// on device accepts its peer), with the peer's transmit checksum offload
// off (an XSK socket receives frames as they are: see package afxdp), and
// GRO in a NAPI thread on the peer for what lbx sends (ethtool.VethGRO).
func addPortVeth(swNS, device, bridge string) error {
	peer := PortPeer(device)
	err := withLinks(swNS, func(nl *netlink.Handle) error {
		br, err := nl.LinkByName(bridge)
		if err != nil {
			return fmt.Errorf("bridge %s: %w", bridge, err)
		}
		veth := &netlink.Veth{
			LinkAttrs: netlink.LinkAttrs{Name: peer, MasterIndex: br.Attrs().Index, NumTxQueues: 1, NumRxQueues: 1},
			PeerName:  device, PeerNumTxQueues: 1, PeerNumRxQueues: 1,
		}
		if err := nl.LinkAdd(veth); err != nil {
			return fmt.Errorf("veth %s: %w", device, err)
		}
		if err := nl.LinkSetUp(veth); err != nil {
			return fmt.Errorf("veth %s: up: %w", peer, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The ioctl acts in its thread's namespace.
	if err := withNS(swNS, func() error { return afxdp.DisableTxChecksum(peer) }); err != nil {
		return err
	}
	if err := ethtool.VethGRO(swNS, peer, swNS, device); err != nil {
		return fmt.Errorf("veth %s: %w", peer, err)
	}
	return nil
}

// enslave makes a link (the appliance's TAP) a port of a bridge.
func enslave(swNS, link, bridge string) error {
	return withLinks(swNS, func(nl *netlink.Handle) error {
		l, err := nl.LinkByName(link)
		if err != nil {
			return fmt.Errorf("link %s: %w", link, err)
		}
		br, err := nl.LinkByName(bridge)
		if err != nil {
			return fmt.Errorf("bridge %s: %w", bridge, err)
		}
		if err := nl.LinkSetMaster(l, br); err != nil {
			return fmt.Errorf("link %s: master %s: %w", link, bridge, err)
		}
		return nl.LinkSetUp(l)
	})
}

// startIn starts cmd inside the named namespace (the child inherits the
// namespace of the thread that forks it). The fork happens on nsspawn's
// long-lived thread: the children the testbed
// starts carry a parent-death signal, which the kernel sends when the
// forking thread exits, and this process's pooled threads do exit (see
// package nsspawn).
func startIn(ns string, cmd *exec.Cmd) error {
	return nsspawn.Start(ns, cmd)
}

// execIn replaces the current process with argv run inside the namespace,
// as `ip netns exec` does.
func execIn(ns string, argv []string) error {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return err
	}
	return withNS(ns, func() error {
		return syscall.Exec(path, argv, os.Environ())
	})
}

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

// addRoutes adds a host's static routes on its eth0.
func addRoutes(hostNS string, routes []Route) error {
	if len(routes) == 0 {
		return nil
	}
	return withLinks(hostNS, func(nl *netlink.Handle) error {
		eth, err := nl.LinkByName("eth0")
		if err != nil {
			return err
		}
		for _, r := range routes {
			dst := &net.IPNet{IP: r.To.Masked().Addr().AsSlice(), Mask: net.CIDRMask(r.To.Bits(), 32)}
			if err := nl.RouteAdd(&netlink.Route{LinkIndex: eth.Attrs().Index, Dst: dst, Gw: r.Via.AsSlice()}); err != nil {
				return fmt.Errorf("route %s via %s: %w", r.To, r.Via, err)
			}
		}
		return nil
	})
}
