package dataplane

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"lbx/dataplane/program"

	"lbx/dataplane/drop"

	"github.com/google/go-cmp/cmp"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"lbx/pools"
)

// A router on the member side: 10.99.0.0/16 (farAddr's network) is behind
// it.
var (
	router    = netip.MustParseAddr("198.18.1.254")
	farNet    = netip.MustParsePrefix("10.99.0.0/16")
	farRoutes = []Route{{Name: "/Common/far", Network: farNet, Gateway: router}}
)

// withRoutes is testProgram plus routes and extra virtuals.
func withRoutes(t testing.TB, routes []Route, extra ...*Virtual) *Program {
	t.Helper()
	p := testProgram(t, progOpts{snat: true})
	q := &Program{Generation: 1, SelfIPs: p.SelfIPs, Routes: routes}
	for _, v := range p.Virtuals {
		c := *v
		q.Virtuals = append(q.Virtuals, &c)
	}
	q.Virtuals = append(q.Virtuals, extra...)
	if err := q.Finalize(); err != nil {
		t.Fatalf("Finalize: %v", err)
	}
	return q
}

func TestRouteLookup(t *testing.T) {
	selfs := []SelfIP{
		{Name: "ext", Prefix: selfExt, Port: "ext"},
		{Name: "int", Prefix: selfInt, Port: "int"},
	}
	gwExt := netip.MustParseAddr("198.18.0.254")
	routes := []Route{
		{Name: "default", Network: netip.MustParsePrefix("0.0.0.0/0"), Gateway: gwExt},
		{Name: "far", Network: farNet, Gateway: router},
		{Name: "far-host", Network: netip.MustParsePrefix("10.99.7.7/32"), Gateway: gwExt},
		// A /16 that covers the int network: the connected /24 is longer.
		{Name: "cover", Network: netip.MustParsePrefix("198.18.0.0/16"), Gateway: gwExt},
		// A /24 equal to a connected network: the connected one wins.
		{Name: "tie", Network: netip.MustParsePrefix("198.18.1.0/24"), Gateway: gwExt},
		{Name: "unreachable-gw", Network: netip.MustParsePrefix("10.1.0.0/16"), Gateway: netip.MustParseAddr("10.50.0.1")},
	}
	p := &Program{Generation: 1, SelfIPs: selfs, Routes: routes}
	if err := p.Finalize(); err != nil {
		t.Fatalf("Finalize: %v", err)
	}
	h := newHarness(t, p)
	in := h.e.cur.Load()
	if len(in.routes) != 5 {
		t.Errorf("%d usable routes, want 5 (the one with its gateway on no connected network left out)", len(in.routes))
	}
	tests := []struct {
		dst      string
		port     int // egress port, -1 for none
		nextHop  string
		describe string
	}{
		{"198.18.1.11", portInt, "198.18.1.11", "connected"},
		{"198.18.0.10", portExt, "198.18.0.10", "connected"},
		{"10.99.0.1", portInt, "198.18.1.254", "route far"},
		{"10.99.7.7", portExt, "198.18.0.254", "host route beats /16"},
		{"198.18.5.5", portExt, "198.18.0.254", "cover /16"},
		{"10.1.2.3", portExt, "198.18.0.254", "unusable route: default instead"},
		{"192.0.2.1", portExt, "198.18.0.254", "default"},
	}
	for _, tt := range tests {
		si, hop := in.route(program.U32(netip.MustParseAddr(tt.dst)))
		port := -1
		if si >= 0 {
			port = in.selfs[si].port
		}
		if port != tt.port || addr4(hop).String() != tt.nextHop {
			t.Errorf("%s (%s): port %d next hop %s, want port %d next hop %s", tt.dst, tt.describe, port, addr4(hop), tt.port, tt.nextHop)
		}
	}

	noDefault := &Program{Generation: 2, SelfIPs: selfs, Routes: routes[1:2]}
	if err := noDefault.Finalize(); err != nil {
		t.Fatal(err)
	}
	if err := h.e.Install(noDefault); err != nil {
		t.Fatal(err)
	}
	if si, _ := h.e.cur.Load().route(program.U32(netip.MustParseAddr("192.0.2.1"))); si != -1 {
		t.Errorf("192.0.2.1 without a default route: self %d, want -1", si)
	}

	dup := &Program{Generation: 3, SelfIPs: selfs, Routes: []Route{routes[1], {Name: "again", Network: netip.MustParsePrefix("10.99.1.0/16"), Gateway: router}}}
	if err := dup.Finalize(); err == nil {
		t.Errorf("Finalize accepted two routes for 10.99.0.0/16")
	}
}

// TestRouteToMemberBehindGateway: a member on no connected network is
// reached through the longest-prefix route's gateway: the appliance asks
// ARP for the gateway, not the member, and sends the translated packet to
// the gateway's MAC; the member's answer comes back through the gateway.
func TestRouteToMemberBehindGateway(t *testing.T) {
	h := newHarness(t, withRoutes(t, farRoutes))
	h.learn(portExt, clientMAC, client)
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	h.send(portExt, tcpFrame(cl, 40000, 83, fSYN, ""))
	out := h.ports[portInt].drain()
	if len(out) != 1 {
		t.Fatalf("int sent %d frames, want 1 ARP request", len(out))
	}
	arp := gopacket.NewPacket(out[0], layers.LayerTypeEthernet, gopacket.Default).Layer(layers.LayerTypeARP).(*layers.ARP)
	if got := netip.AddrFrom4([4]byte(arp.DstProtAddress)); got != router {
		t.Errorf("ARP request for %s, want the gateway %s", got, router)
	}
	if got := netip.AddrFrom4([4]byte(arp.SourceProtAddress)); got != selfInt.Addr() {
		t.Errorf("ARP request from %s, want the self IP %s", got, selfInt.Addr())
	}
	h.learn(portInt, routerMAC, router) // releases the parked SYN
	out = h.ports[portInt].drain()
	if len(out) != 1 {
		t.Fatalf("int sent %d frames after the gateway answered, want the SYN", len(out))
	}
	want := wire{SrcMAC: intMAC.String(), DstMAC: routerMAC.String(), Src: "198.18.0.10:40000", Dst: "10.99.0.1:80", TTL: 63, Flags: "S"}
	if diff := cmp.Diff(want, decodeWire(t, out[0])); diff != "" {
		t.Errorf("SYN to the member (-want +got):\n%s", diff)
	}
	h.send(portInt, tcpFrame(ipHdr{srcMAC: routerMAC, dstMAC: intMAC, src: farAddr, dst: client, ttl: 63}, 80, 40000, fSYNACK, ""))
	out = h.ports[portExt].drain()
	if len(out) != 1 {
		t.Fatalf("ext sent %d frames for the member's SYN-ACK, want 1", len(out))
	}
	want = wire{SrcMAC: extMAC.String(), DstMAC: clientMAC.String(), Src: "198.18.0.100:83", Dst: "198.18.0.10:40000", TTL: 62, Flags: "SA"}
	if diff := cmp.Diff(want, decodeWire(t, out[0])); diff != "" {
		t.Errorf("SYN-ACK at the client (-want +got):\n%s", diff)
	}
	if d := h.drops(); len(d) != 0 {
		t.Errorf("drops %v, want none", d)
	}
}

// TestRouteFragmentsAndICMPErrorsBehindGateway: fragmented UDP and ICMP
// errors take the routed next hop of a flow like its unfragmented packets:
// to a member behind a gateway they go to the gateway's MAC, not an ARP
// request for the member.
func TestRouteFragmentsAndICMPErrorsBehindGateway(t *testing.T) {
	farDNS := rrPool(t, "/Common/far_dns", pools.Member{Name: "/Common/10.99.0.1:5353", Addr: farAddr, Port: 5353})
	h := newHarness(t, withRoutes(t, farRoutes, &Virtual{Name: "/Common/vs_far_dns", Addr: vip, Port: 54, Proto: ProtoUDP, Pool: farDNS, Enabled: true}))
	h.learnAll()
	h.learn(portInt, routerMAC, router)
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}

	query := strings.Repeat("0123456789abcdef", 256) // 4 KB
	for _, f := range fragment(udpFrame(cl, 33333, 54, query, false), 1480) {
		h.send(portExt, f)
	}
	if d := h.drops(); len(d) != 0 {
		t.Fatalf("fragments: drops %v", d)
	}
	out := h.ports[portInt].drain()
	if len(out) != 3 {
		t.Fatalf("int sent %d frames for 3 fragments, want 3", len(out))
	}
	want := wire{SrcMAC: intMAC.String(), DstMAC: routerMAC.String(), Src: "198.18.0.10:33333", Dst: "10.99.0.1:5353", TTL: 63, Payload: query}
	if diff := cmp.Diff(want, reassemble(t, out)); diff != "" {
		t.Errorf("datagram to the member (-want +got):\n%s", diff)
	}

	// A client-side router's time exceeded about the member's SYN-ACK.
	h.send(portExt, tcpFrame(cl, 40000, 83, fSYN, ""))
	h.ports[portInt].drain()
	h.send(portInt, tcpFrame(ipHdr{srcMAC: routerMAC, dstMAC: intMAC, src: farAddr, dst: client, ttl: 63}, 80, 40000, fSYNACK, ""))
	synack := h.ports[portExt].drain()
	if len(synack) != 1 {
		t.Fatalf("ext sent %d frames for the member's SYN-ACK, want 1", len(synack))
	}
	h.send(portExt, icmpErrorFrame(ipHdr{srcMAC: routerMAC, dstMAC: extMAC, src: routerExt, dst: vip}, 11, 0, 0, ipPacketOf(synack[0], 0)))
	if d := h.drops(); len(d) != 0 {
		t.Fatalf("ICMP error: drops %v", d)
	}
	out = h.ports[portInt].drain()
	if len(out) != 1 {
		t.Fatalf("int sent %d frames for the ICMP error, want 1", len(out))
	}
	wantICMP := icmpWire{SrcMAC: intMAC.String(), DstMAC: routerMAC.String(), Src: client.String(), Dst: farAddr.String(), TTL: 63,
		Type: 11, Code: 0, Quote: "TCP 10.99.0.1:80 > 198.18.0.10:40000"}
	if diff := cmp.Diff(wantICMP, decodeICMPError(t, out[0])); diff != "" {
		t.Errorf("ICMP error to the member (-want +got):\n%s", diff)
	}
}

// TestRouteServiceDownResetBehindGateway: the reset service-down sends a
// member behind a gateway goes to the gateway's MAC.
func TestRouteServiceDownResetBehindGateway(t *testing.T) {
	prog := withRoutes(t, farRoutes)
	virtualOf(prog, "/Common/vs_far").ServiceDown = ServiceDownReset
	h := newHarness(t, prog)
	h.learnAll()
	h.learn(portInt, routerMAC, router)
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	h.send(portExt, seqFrame(cl, 40000, 83, fSYN, 100, 0, ""))
	h.ports[portInt].expect(t, "SYN at the member", isTCPOrUDP)
	h.send(portInt, seqFrame(ipHdr{srcMAC: routerMAC, dstMAC: intMAC, src: farAddr, dst: client, ttl: 63}, 80, 40000, fSYNACK, 700, 101, ""))
	h.ports[portExt].expect(t, "SYN-ACK at the client", isTCPOrUDP)

	h.e.MemberHealth("/Common/far", "/Common/10.99.0.1:80").Set(pools.HealthDown, h.e.Mono())
	select {
	case k := <-h.e.downs:
		h.e.serviceDown(k)
	default:
		t.Fatalf("no service-down event queued")
	}
	h.ports[portExt].expect(t, "RST to the client", isTCPOrUDP)
	rm := decodeWire(t, h.ports[portInt].expect(t, "RST to the member", isTCPOrUDP))
	if rm.Dst != "10.99.0.1:80" || rm.Flags != "AR" || rm.DstMAC != routerMAC.String() {
		t.Errorf("RST to the member: %+v, want to 10.99.0.1:80 through the gateway's MAC %s", rm, routerMAC)
	}
}

// TestRouteInstallResolvesGateway: Install asks ARP for the next hop of a
// member behind a gateway (the gateway), once.
func TestRouteInstallResolvesGateway(t *testing.T) {
	h := newHarnessKeep(t, withRoutes(t, farRoutes))
	var targets []string
	for _, f := range h.ports[portInt].drain() {
		if a, ok := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default).Layer(layers.LayerTypeARP).(*layers.ARP); ok {
			targets = append(targets, netip.AddrFrom4([4]byte(a.DstProtAddress)).String())
		}
	}
	want := []string{"198.18.1.11", "198.18.1.12", "198.18.1.13", "198.18.1.254"}
	if diff := cmp.Diff(want, targets); diff != "" {
		t.Errorf("ARP requests on install (-want +got):\n%s", diff)
	}
}

// newHarnessKeep is newHarness without draining what Install sent.
func newHarnessKeep(t testing.TB, p *Program) *harness {
	h := newHarness(t, nil)
	if err := h.e.Install(p); err != nil {
		t.Fatalf("Install: %v", err)
	}
	return h
}

// TestRouteDSRNeedsConnectedMember: DSR rewrites only the MAC, so a DSR
// member behind a gateway has no route.
func TestRouteDSRNeedsConnectedMember(t *testing.T) {
	far := rrPool(t, "/Common/far", pools.Member{Name: "/Common/10.99.0.1:80", Addr: farAddr, Port: 80})
	p := withRoutes(t, farRoutes, &Virtual{Name: "/Common/vs_dsr", Addr: vip, Port: 84, Proto: ProtoTCP, Pool: far, DSR: true, Enabled: true})
	h := newHarness(t, p)
	h.learnAll()
	h.learn(portInt, routerMAC, router)
	h.send(portExt, tcpFrame(ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}, 40000, 84, fSYN, ""))
	if n := len(h.ports[portInt].drain()); n != 0 {
		t.Errorf("int sent %d frames, want none", n)
	}
	if got := h.e.Drops(drop.NoRoute); got != 1 {
		t.Errorf("drop.no-route = %d, want 1", got)
	}
}

// TestRouteLocalTraffic: what the appliance originates (monitor probes)
// to a destination behind a gateway leaves from the self IP of the
// route's network and goes to the gateway's MAC; nothing routes an
// address no route covers.
func TestRouteLocalTraffic(t *testing.T) {
	h := newHarness(t, withRoutes(t, farRoutes))
	if src, ok := h.e.SourceFor(farAddr); !ok || src != selfInt.Addr() {
		t.Errorf("SourceFor(%s) = %s, %v; want %s", farAddr, src, ok, selfInt.Addr())
	}
	if src, ok := h.e.SourceFor(client); !ok || src != selfExt.Addr() {
		t.Errorf("SourceFor(%s) = %s, %v; want %s", client, src, ok, selfExt.Addr())
	}
	if _, ok := h.e.SourceFor(netip.MustParseAddr("192.0.2.1")); ok {
		t.Errorf("SourceFor(192.0.2.1) found a source without a route")
	}
	h.learn(portInt, routerMAC, router)
	syn := tcpFrame(ipHdr{srcMAC: intMAC, dstMAC: routerMAC, src: selfInt.Addr(), dst: farAddr}, 61000, 80, fSYN, "")
	if err := h.e.SendLocal(syn[ethHdrLen:]); err != nil {
		t.Fatalf("SendLocal: %v", err)
	}
	out := h.ports[portInt].expect(t, "the probe's SYN", nil)
	want := wire{SrcMAC: intMAC.String(), DstMAC: routerMAC.String(), Src: "198.18.1.2:61000", Dst: "10.99.0.1:80", TTL: 64, Flags: "S"}
	if diff := cmp.Diff(want, decodeWire(t, out)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	off := tcpFrame(ipHdr{srcMAC: extMAC, dstMAC: routerMAC, src: selfExt.Addr(), dst: netip.MustParseAddr("192.0.2.1")}, 61000, 80, fSYN, "")
	if err := h.e.SendLocal(off[ethHdrLen:]); !errors.Is(err, ErrNoRoute) {
		t.Errorf("SendLocal to 192.0.2.1: %v, want ErrNoRoute", err)
	}
}
