package testbed

// Peers are namespaces the caller attaches to the testbed's bridges beside
// the appliance: other load balancers (a kernel nftables router, HAProxy)
// that the benchmarks under bench/ run side by side with lbx. The testbed
// builds their links; what runs inside them is the caller's.

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// PeerLink is one interface of a peer: a veth pair whose switch end is a
// port of Bridge and whose other end is Name, with Addr, in the peer.
type PeerLink struct {
	Bridge string       // "br-client" or "br-server"
	SwEnd  string       // veth end in the switch namespace (at most 15 bytes)
	Name   string       // interface name in the peer namespace, e.g. "eth0"
	Addr   netip.Prefix // its address
	// XSK marks a link that a process in the peer takes over with an
	// AF_XDP socket (a second lbx on afxdp ports): the kernel gets no
	// address on Name (Addr is the address the process will answer for,
	// checked against the topology like any other), and the switch end's
	// transmit checksum offload is turned off, as for the appliance's own
	// AF_XDP ports.
	XSK bool
}

// Peer is a namespace attached to the testbed's bridges.
type Peer struct {
	NS    string
	Links []PeerLink
}

// AddPeer creates namespace ns (its name must start with "lbx-" and differ
// from the testbed's own) and attaches it to the testbed's bridges with the
// given links. A namespace of the same name left by an earlier run is
// removed first (RemovePeer). Addresses must collide with no host, self IP
// or VIP of the topology. On error nothing of the peer is left.
func (tb *Testbed) AddPeer(ns string, links ...PeerLink) (p *Peer, err error) {
	if err := tb.Topo.checkPeer(ns, links); err != nil {
		return nil, err
	}
	if err := RemovePeer(ns, tb.opts.Log); err != nil {
		return nil, err
	}
	if err := nsCreate(ns); err != nil {
		return nil, fmt.Errorf("testbed: peer %s: %w", ns, err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, RemovePeer(ns, tb.opts.Log))
		}
	}()
	for _, l := range links {
		addr := l.Addr
		if l.XSK {
			addr = netip.Prefix{}
		}
		if err := attachLink(tb.Topo.SwitchNS, l.Bridge, l.SwEnd, ns, l.Name, addr); err != nil {
			return nil, fmt.Errorf("testbed: peer %s: %w", ns, err)
		}
	}
	fmt.Fprintf(tb.opts.Log, "testbed: peer %s attached\n", ns)
	return &Peer{NS: ns, Links: links}, nil
}

// checkPeer refuses a peer that would clash with the topology.
func (t Topology) checkPeer(ns string, links []PeerLink) error {
	if !strings.HasPrefix(ns, "lbx-") {
		return fmt.Errorf("testbed: peer %s: namespace name must start with \"lbx-\"", ns)
	}
	if slices.Contains(t.Namespaces(), ns) {
		return fmt.Errorf("testbed: peer %s: namespace belongs to the testbed", ns)
	}
	taken := map[netip.Addr]string{t.VIP: "the VIP"}
	ends := map[string]string{}
	for tap := range t.TAPs {
		ends[tap] = "an appliance port"
	}
	for _, h := range t.Hosts {
		taken[h.Addr.Addr()] = "host " + h.Name
		if h.Gateway.IsValid() {
			taken[h.Gateway] = "a self IP"
		}
		ends[h.SwEnd] = "host " + h.Name
	}
	for _, l := range links {
		if !slices.Contains(t.Bridges, l.Bridge) {
			return fmt.Errorf("testbed: peer %s: link %s: no bridge %q", ns, l.Name, l.Bridge)
		}
		if who, ok := taken[l.Addr.Addr()]; ok {
			return fmt.Errorf("testbed: peer %s: link %s: address %s is %s", ns, l.Name, l.Addr.Addr(), who)
		}
		if who, ok := ends[l.SwEnd]; ok || len(l.SwEnd) > 15 || l.SwEnd == "" {
			if !ok {
				who = "not a valid interface name"
			}
			return fmt.Errorf("testbed: peer %s: link %s: switch end %q is %s", ns, l.Name, l.SwEnd, who)
		}
		taken[l.Addr.Addr()] = "peer " + ns
		ends[l.SwEnd] = "peer " + ns
	}
	return nil
}

// Command returns a command that runs argv inside the peer's namespace.
func (p *Peer) Command(argv ...string) (*HostCmd, error) {
	if len(argv) == 0 {
		return nil, fmt.Errorf("testbed: peer %s: no command", p.NS)
	}
	return &HostCmd{Cmd: exec.Command(argv[0], argv[1:]...), ns: p.NS}, nil
}

// Sysctl sets a network sysctl of the peer's namespace, e.g.
// ("net/ipv4/ip_forward", "1"). The file is opened from a thread inside the
// namespace, so it is that namespace's value that changes.
func (p *Peer) Sysctl(key, value string) error {
	return nsSysctl(p.NS, key, value)
}

// WaitListening waits, at most limit, until addr (host:port) accepts TCP
// connections from inside the peer.
func (p *Peer) WaitListening(addr string, limit time.Duration) error {
	return waitListening(p.NS, addr, limit)
}

// Remove stops whatever still runs in the peer and deletes its namespace.
func (p *Peer) Remove(log io.Writer) error { return RemovePeer(p.NS, log) }

// RemovePeer stops every process still inside namespace ns (SIGTERM, then
// SIGKILL) and deletes it, which removes its links and, with them, their
// veth ends on the bridges. Only names starting with "lbx-" are touched; a
// missing namespace is not an error, so it also cleans up after a crash.
func RemovePeer(ns string, log io.Writer) error {
	if log == nil {
		log = io.Discard
	}
	if !strings.HasPrefix(ns, "lbx-") {
		return fmt.Errorf("testbed: peer %s: refusing to remove a namespace not named lbx-*", ns)
	}
	if !nsExists(ns) {
		return nil
	}
	var errs []error
	if ino, ok := nsInode(ns); ok {
		for _, pid := range pidsInNS(ino) {
			fmt.Fprintf(log, "testbed: stopping pid %d left in %s\n", pid, ns)
			if err := stop(pid, nil); err != nil {
				errs = append(errs, err)
			}
		}
	}
	fmt.Fprintf(log, "testbed: deleting namespace %s\n", ns)
	if err := nsDelete(ns); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
