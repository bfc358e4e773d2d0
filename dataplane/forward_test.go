package dataplane

import (
	"fmt"
	"net/netip"
	"testing"

	"lbx/dataplane/drop"

	"github.com/google/go-cmp/cmp"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"lbx/pools"
)

var anyMask = netip.MustParseAddr("0.0.0.0")

// fwdVirtual is `destination 0.0.0.0:any mask any ip-forward ip-protocol any`.
func fwdVirtual() *Virtual {
	return &Virtual{Name: "/Common/vs_fwd", Addr: anyMask, Mask: anyMask, Proto: ProtoAny, Forward: true, Enabled: true}
}

// TestForwardingVirtual: a forwarding virtual routes, does not balance:
// the client reaches a server's own address through the appliance, the
// addresses and ports stay, the TTL drops by one, and the server's answer
// returns through the flow table; without the virtual the same packet is
// dropped as not-for-us.
func TestForwardingVirtual(t *testing.T) {
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: members[0]}
	srv := ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: client}

	h := newHarness(t, withRoutes(t, nil))
	h.learnAll()
	h.send(portExt, tcpFrame(cl, 40000, 22, fSYN, ""))
	if n := len(h.ports[portInt].drain()); n != 0 {
		t.Errorf("without a forwarding virtual int sent %d frames, want none", n)
	}
	if got := h.e.Drops(drop.NotForUs); got != 1 {
		t.Errorf("without a forwarding virtual drop.not-for-us = %d, want 1", got)
	}

	h = newHarness(t, withRoutes(t, nil, fwdVirtual()))
	h.learnAll()
	steps := []struct {
		from  int
		frame []byte
		to    int
		want  wire
	}{
		{portExt, tcpFrame(cl, 40000, 22, fSYN, ""), portInt,
			wire{SrcMAC: intMAC.String(), DstMAC: memberMAC(0).String(), Src: "198.18.0.10:40000", Dst: "198.18.1.11:22", TTL: 63, Flags: "S"}},
		{portInt, tcpFrame(srv, 22, 40000, fSYNACK, ""), portExt,
			wire{SrcMAC: extMAC.String(), DstMAC: clientMAC.String(), Src: "198.18.1.11:22", Dst: "198.18.0.10:40000", TTL: 63, Flags: "SA"}},
		{portExt, tcpFrame(cl, 40000, 22, fACK, "hello"), portInt,
			wire{SrcMAC: intMAC.String(), DstMAC: memberMAC(0).String(), Src: "198.18.0.10:40000", Dst: "198.18.1.11:22", TTL: 63, Flags: "A", Payload: "hello"}},
		{portExt, udpFrame(cl, 5000, 53, "query", false), portInt,
			wire{SrcMAC: intMAC.String(), DstMAC: memberMAC(0).String(), Src: "198.18.0.10:5000", Dst: "198.18.1.11:53", TTL: 63, Payload: "query"}},
		{portInt, udpFrame(srv, 53, 5000, "answer", false), portExt,
			wire{SrcMAC: extMAC.String(), DstMAC: clientMAC.String(), Src: "198.18.1.11:53", Dst: "198.18.0.10:5000", TTL: 63, Payload: "answer"}},
	}
	for i, s := range steps {
		h.send(s.from, s.frame)
		out := h.ports[s.to].drain()
		if len(out) != 1 {
			t.Fatalf("step %d: port %d sent %d frames, want 1 (drops %v)", i, s.to, len(out), h.drops())
		}
		if diff := cmp.Diff(s.want, decodeWire(t, out[0])); diff != "" {
			t.Errorf("step %d (-want +got):\n%s", i, diff)
		}
	}
	if n := h.e.Flows(); n != 2 {
		t.Errorf("%d flows, want 2 (the TCP and the UDP one)", n)
	}
	st := h.e.VirtualStats("/Common/vs_fwd")
	if st.TotalConns.Load() != 2 || st.PktsIn.Load() != 3 || st.PktsOut.Load() != 2 {
		t.Errorf("vs_fwd: %d connections, %d packets in, %d out; want 2, 3, 2", st.TotalConns.Load(), st.PktsIn.Load(), st.PktsOut.Load())
	}

	// ICMP has no ports: routed packet by packet, both ways.
	for i, f := range []struct {
		from, to int
		frame    []byte
		dstMAC   string
	}{
		{portExt, portInt, icmpEchoFrame(cl, 7, 1, "ping"), memberMAC(0).String()},
		{portInt, portExt, icmpEchoReplyFrame(srv, 7, 1, "ping"), clientMAC.String()},
	} {
		h.send(f.from, f.frame)
		out := h.ports[f.to].drain()
		if len(out) != 1 {
			t.Fatalf("icmp %d: port %d sent %d frames, want 1 (drops %v)", i, f.to, len(out), h.drops())
		}
		verifyChecksums(t, out[0])
		pkt := gopacket.NewPacket(out[0], layers.LayerTypeEthernet, gopacket.Default)
		ip := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if eth := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet); eth.DstMAC.String() != f.dstMAC || ip.TTL != 63 {
			t.Errorf("icmp %d: to %s TTL %d, want %s TTL 63", i, eth.DstMAC, ip.TTL, f.dstMAC)
		}
	}
	// The appliance's own addresses are not routed: ping to a self IP is
	// answered, to the VIP too.
	for _, a := range []netip.Addr{selfExt.Addr(), vip} {
		h.send(portExt, icmpEchoFrame(ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: a}, 8, 1, "self"))
		if out := h.ports[portExt].drain(); len(out) != 1 {
			t.Errorf("ping %s: %d answers, want 1", a, len(out))
		}
	}
	// TTL 1 is not forwarded.
	h.send(portExt, icmpEchoFrame(ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: members[0], ttl: 1}, 7, 2, "ping"))
	if got := h.e.Drops(drop.TTLExceeded); got != 1 {
		t.Errorf("drop.ttl-exceeded = %d, want 1", got)
	}
	if d := h.drops(); len(d) != 1 {
		t.Errorf("drops %v, want only ttl-exceeded", d)
	}
}

// TestForwardThroughRoute: a forwarding virtual for a network behind a
// gateway sends to the gateway's MAC.
func TestForwardThroughRoute(t *testing.T) {
	v := &Virtual{Name: "/Common/vs_fwd_far", Addr: netip.MustParseAddr("10.99.0.0"), Mask: netip.MustParseAddr("255.255.0.0"), Proto: ProtoTCP, Forward: true, Enabled: true}
	h := newHarness(t, withRoutes(t, farRoutes, v))
	h.learnAll()
	h.learn(portInt, routerMAC, router)
	h.send(portExt, tcpFrame(ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: farAddr}, 40000, 80, fSYN, ""))
	out := h.ports[portInt].drain()
	if len(out) != 1 {
		t.Fatalf("int sent %d frames, want 1 (drops %v)", len(out), h.drops())
	}
	want := wire{SrcMAC: intMAC.String(), DstMAC: routerMAC.String(), Src: "198.18.0.10:40000", Dst: "10.99.0.1:80", TTL: 63, Flags: "S"}
	if diff := cmp.Diff(want, decodeWire(t, out[0])); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Only TCP and only 10.99/16 are forwarded.
	h.send(portExt, udpFrame(ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: farAddr}, 5000, 53, "q", false))
	h.send(portExt, tcpFrame(ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: netip.MustParseAddr("10.98.0.1")}, 40000, 80, fSYN, ""))
	if got := h.e.Drops(drop.NotForUs); got != 2 {
		t.Errorf("drop.not-for-us = %d, want 2", got)
	}
}

func icmpEchoReplyFrame(h ipHdr, id, seq uint16, payload string) []byte {
	eth, ip := h.layers(layers.IPProtocolICMPv4)
	icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoReply, 0), Id: id, Seq: seq}
	return mustSerialize(eth, ip, icmp, gopacket.Payload(payload))
}

// TestVirtualMatch: the most specific virtual wins — the longest mask,
// then a port over any port, then a protocol over any — and network
// virtuals never take the appliance's own addresses.
func TestVirtualMatch(t *testing.T) {
	mask := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	a := netip.MustParseAddr
	pool := rrPool(t, "/Common/p", pools.Member{Name: "/Common/198.18.1.11:80", Addr: members[0], Port: 80})
	vs := []*Virtual{
		{Name: "host80", Addr: a("198.18.100.100"), Port: 80, Proto: ProtoTCP},
		{Name: "hostAnyProto80", Addr: a("198.18.100.100"), Port: 80, Proto: ProtoAny},
		{Name: "hostAny", Addr: a("198.18.100.100"), Proto: ProtoTCP},
		{Name: "net24_80", Addr: a("198.18.100.0"), Mask: mask("255.255.255.0"), Port: 80, Proto: ProtoTCP},
		{Name: "net24_any", Addr: a("198.18.100.0"), Mask: mask("255.255.255.0"), Proto: ProtoTCP},
		{Name: "net24_80_anyproto", Addr: a("198.18.100.0"), Mask: mask("255.255.255.0"), Port: 80, Proto: ProtoAny},
		{Name: "net16_80", Addr: a("198.18.0.0"), Mask: mask("255.255.0.0"), Port: 80, Proto: ProtoTCP},
		{Name: "fwd", Addr: anyMask, Mask: anyMask, Proto: ProtoAny, Forward: true},
	}
	p := &Program{SelfIPs: []SelfIP{{Name: "ext", Prefix: selfExt, Port: "ext"}}}
	for _, v := range vs {
		v.Enabled = true
		if !v.Forward {
			v.Pool = pool
		}
		p.Virtuals = append(p.Virtuals, v)
	}
	if err := p.Finalize(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dst   string
		port  uint16
		proto uint8
		want  string
	}{
		{"198.18.100.100", 80, ProtoTCP, "host80"},
		{"198.18.100.100", 80, ProtoUDP, "hostAnyProto80"},
		{"198.18.100.100", 443, ProtoTCP, "hostAny"},
		{"198.18.100.100", 443, ProtoUDP, ""}, // a VIP is the appliance's: never a network virtual's
		{"198.18.100.7", 80, ProtoTCP, "net24_80"},
		{"198.18.100.7", 80, ProtoUDP, "net24_80_anyproto"},
		{"198.18.100.7", 443, ProtoTCP, "net24_any"},
		{"198.18.100.7", 443, ProtoUDP, "fwd"},
		{"198.18.7.7", 80, ProtoTCP, "net16_80"},
		{"198.18.7.7", 81, ProtoTCP, "fwd"},
		{"192.0.2.1", 0, 1, "fwd"},
		{"198.18.0.2", 80, ProtoTCP, ""}, // the self IP
	}
	for _, tt := range tests {
		got := ""
		if v := p.LookupVirtual(a(tt.dst), tt.port, tt.proto); v != nil {
			got = v.Name
		}
		if got != tt.want {
			t.Errorf("%s:%d proto %d: virtual %q, want %q", tt.dst, tt.port, tt.proto, got, tt.want)
		}
	}
	if p.IsVIP(a("198.18.100.7")) || !p.IsVIP(a("198.18.100.100")) {
		t.Errorf("IsVIP: network virtuals own no address, host virtuals do")
	}

	bad := []struct {
		name string
		v    Virtual
	}{
		{"host bits", Virtual{Addr: a("198.18.100.1"), Mask: mask("255.255.255.0"), Proto: ProtoTCP}},
		{"gap mask", Virtual{Addr: a("198.18.0.0"), Mask: mask("255.0.255.0"), Proto: ProtoTCP}},
		{"forward with pool", Virtual{Addr: anyMask, Mask: anyMask, Proto: ProtoAny, Forward: true, Pool: pool}},
		{"protocol", Virtual{Addr: a("198.18.100.1"), Proto: 1}},
	}
	for _, b := range bad {
		v := b.v
		v.Name = b.name
		q := &Program{Virtuals: []*Virtual{&v}}
		if err := q.Finalize(); err == nil {
			t.Errorf("%s: Finalize accepted it", b.name)
		}
	}
	dup := &Program{Virtuals: []*Virtual{
		{Name: "a", Addr: a("198.18.100.0"), Mask: mask("255.255.255.0"), Port: 80, Proto: ProtoTCP, Pool: pool},
		{Name: "b", Addr: a("198.18.100.0"), Mask: mask("255.255.255.0"), Port: 80, Proto: ProtoTCP, Pool: pool},
	}}
	if err := dup.Finalize(); err == nil {
		t.Errorf("Finalize accepted two network virtuals on one destination")
	}
}

// TestNetworkVirtualBalances: a network virtual balances every address of
// its network, and the host virtual on the same port keeps its own.
func TestNetworkVirtualBalances(t *testing.T) {
	netv := &Virtual{Name: "/Common/vs_net", Addr: netip.MustParseAddr("198.18.100.0"), Mask: netip.MustParseAddr("255.255.255.0"), Port: 80, Proto: ProtoTCP,
		Enabled: true, Pool: rrPool(t, "/Common/net", pools.Member{Name: "/Common/198.18.1.13:8000", Addr: members[2], Port: 8000})}
	host := &Virtual{Name: "/Common/vs_host", Addr: netip.MustParseAddr("198.18.100.100"), Port: 80, Proto: ProtoTCP,
		Enabled: true, Pool: rrPool(t, "/Common/host", pools.Member{Name: "/Common/198.18.1.12:9000", Addr: members[1], Port: 9000})}
	h := newHarness(t, withRoutes(t, nil, netv, host))
	h.learnAll()
	for i, tt := range []struct{ dst, want string }{
		{"198.18.100.7", "198.18.1.13:8000"},
		{"198.18.100.100", "198.18.1.12:9000"},
		{"198.18.100.200", "198.18.1.13:8000"},
	} {
		h.send(portExt, tcpFrame(ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: netip.MustParseAddr(tt.dst)}, uint16(41000+i), 80, fSYN, ""))
		out := h.ports[portInt].drain()
		if len(out) != 1 {
			t.Fatalf("%s: int sent %d frames (drops %v)", tt.dst, len(out), h.drops())
		}
		if got := decodeWire(t, out[0]).Dst; got != tt.want {
			t.Errorf("%s:80 went to %s, want %s", tt.dst, got, tt.want)
		}
		// The answer comes back from the address the client asked.
		src := netip.MustParseAddrPort(tt.want)
		h.send(portInt, tcpFrame(ipHdr{srcMAC: memberMAC(1), dstMAC: intMAC, src: src.Addr(), dst: client}, src.Port(), uint16(41000+i), fSYNACK, ""))
		out = h.ports[portExt].drain()
		if len(out) != 1 {
			t.Fatalf("%s: ext sent %d frames for the answer", tt.dst, len(out))
		}
		if got := decodeWire(t, out[0]).Src; got != fmt.Sprintf("%s:80", tt.dst) {
			t.Errorf("answer from %s, want %s:80", got, tt.dst)
		}
	}
	// The appliance answers ARP for the host virtual's address only.
	h.send(portExt, arpRequest(clientMAC, client, netip.MustParseAddr("198.18.100.7")))
	if n := len(h.ports[portExt].drain()); n != 0 {
		t.Errorf("ARP for an address of a network virtual answered (%d frames)", n)
	}
}

// TestProtocolAny: a virtual with ip-protocol any balances TCP and UDP to
// its port alike; an ICMP echo to its address is answered by the
// appliance, as for every VIP.
func TestProtocolAny(t *testing.T) {
	h := newHarness(t, l4Program(t, func(v *Virtual) { v.Proto = ProtoAny }))
	h.learnAll()
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	h.send(portExt, tcpFrame(cl, 40000, 80, fSYN, ""))
	h.send(portExt, udpFrame(cl, 5000, 80, "dgram", false))
	out := h.ports[portInt].drain()
	if len(out) != 2 {
		t.Fatalf("int sent %d frames, want the SYN and the datagram (drops %v)", len(out), h.drops())
	}
	for i, f := range out {
		if w := decodeWire(t, f); w.Src[:11] != "198.18.1.2:" {
			t.Errorf("frame %d: %+v, want it translated (SNAT automap)", i, w)
		}
	}
	h.send(portExt, icmpEchoFrame(cl, 1, 1, "ping"))
	if n := len(h.ports[portExt].drain()); n != 1 {
		t.Errorf("ping to the VIP: %d answers, want 1", n)
	}
	if st := h.e.VirtualStats("/Common/vs_web"); st.TotalConns.Load() != 2 {
		t.Errorf("vs_web: %d connections, want 2", st.TotalConns.Load())
	}
}
