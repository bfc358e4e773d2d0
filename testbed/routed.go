package testbed

import (
	"fmt"
	"net/netip"
	"time"
)

// The routed server network: an optional addition to the default topology
// for tests of net routes and forwarding virtuals, built by
// AddRoutedNetwork on a testbed that is up and torn down with it (Down
// removes its namespaces also after a crash: see routedNamespaces).
//
//	lbx-int [self 198.18.2.2] ──br-server── router eth0 198.18.2.254 (default route via 198.18.2.2)
//	                                         router eth1 198.19.0.1 ──br-far── far 198.19.0.10 (HTTP :80, UDP echo :7)
//
// The far server is on no network of the appliance: the appliance reaches
// it through a `net route` whose gateway is the router, and the far
// server's answers go back through the router, whose default gateway is
// the appliance.
var (
	RouterAddr = netip.MustParsePrefix("198.18.2.254/24")
	FarNet     = netip.MustParsePrefix("198.19.0.0/24")
	FarGateway = netip.MustParsePrefix("198.19.0.1/24")
	FarAddr    = netip.MustParsePrefix("198.19.0.10/24")
)

// routedNamespaces are the namespaces AddRoutedNetwork creates; down
// removes them whether or not a testbed added them.
var routedNamespaces = []string{"lbx-router", "lbx-far"}

// AddRoutedNetwork adds the router and the far server behind it (see
// above), starts the far server's emulated HTTP and UDP echo servers and
// waits until they listen. The hosts join tb.Topo as "router" and "far",
// so Command and In reach them.
func (tb *Testbed) AddRoutedNetwork() error {
	topo := &tb.Topo
	serverGW := netip.MustParseAddr("198.18.2.2")
	router := Host{Name: "router", NS: routedNamespaces[0], Addr: RouterAddr, Gateway: serverGW, Bridge: "br-server", SwEnd: "v-router"}
	far := Host{Name: "far", NS: routedNamespaces[1], Addr: FarAddr, Gateway: FarGateway.Addr(), Bridge: "br-far", SwEnd: "v-far",
		Serve: &ServerOptions{Name: "far", UDP: ":7", Listen: []Listen{{Port: 80, Mode: ModeHTTP}}}}
	for _, h := range []Host{router, far} {
		if _, dup := topo.Host(h.Name); dup {
			return fmt.Errorf("testbed: routed network: host %s exists already", h.Name)
		}
	}
	for _, ns := range routedNamespaces {
		if err := nsCreate(ns); err != nil {
			return fmt.Errorf("testbed: routed network: %w", err)
		}
	}
	topo.Hosts = append(topo.Hosts, router, far)
	if err := addBridge(topo.SwitchNS, far.Bridge); err != nil {
		return fmt.Errorf("testbed: routed network: %w", err)
	}
	topo.Bridges = append(topo.Bridges, far.Bridge)
	if err := attachHost(topo.SwitchNS, router.Bridge, router.SwEnd, router.NS, router.Addr, router.Gateway); err != nil {
		return fmt.Errorf("testbed: host router: %w", err)
	}
	if err := attachLink(topo.SwitchNS, far.Bridge, "v-router-far", router.NS, "eth1", FarGateway); err != nil {
		return fmt.Errorf("testbed: host router: %w", err)
	}
	if err := nsSysctl(router.NS, "net/ipv4/ip_forward", "1"); err != nil {
		return fmt.Errorf("testbed: host router: %w", err)
	}
	if err := attachHost(topo.SwitchNS, far.Bridge, far.SwEnd, far.NS, far.Addr, far.Gateway); err != nil {
		return fmt.Errorf("testbed: host far: %w", err)
	}
	tb.State.Hosts[router.Name] = router.Addr.Addr().String()
	tb.State.Hosts[far.Name] = far.Addr.Addr().String()
	if err := tb.start(far.Name, far.NS, serveArgv(tb.opts.Binary, far)); err != nil {
		return err
	}
	return waitServer(far, 10*time.Second)
}
