package localstack

import (
	"net"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

func serializeIP(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// A tap records the ICMP error that ends a probe with the probe's exchange:
// its endpoints come from the packet it quotes.
func TestEndpoints(t *testing.T) {
	self, srv := net.IPv4(198, 18, 2, 2).To4(), net.IPv4(198, 18, 2, 12).To4()
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: self, DstIP: srv}
	udp := &layers.UDP{SrcPort: 63500, DstPort: 81}
	udp.SetNetworkLayerForChecksum(ip)
	probe := serializeIP(t, ip, udp, gopacket.Payload("ping"))
	icmpIP := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: srv, DstIP: self}
	unreach := serializeIP(t, icmpIP, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodePort)}, gopacket.Payload(probe))
	echoReply := serializeIP(t, icmpIP, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoReply, 0), Id: 7, Seq: 1})

	want := netip.MustParseAddrPort("198.18.2.12:81")
	for _, tc := range []struct {
		name   string
		pkt    []byte
		out    bool
		ok     bool
		remote netip.AddrPort
		local  uint16
	}{
		{"probe out", probe, true, true, want, 63500},
		{"port unreachable in", unreach, false, true, want, 63500},
		{"echo reply is no error", echoReply, false, false, netip.AddrPort{}, 0},
		{"truncated", unreach[:30], false, false, netip.AddrPort{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			remote, local, ok := endpoints(tc.pkt, tc.out)
			if ok != tc.ok || remote != tc.remote || local != tc.local {
				t.Fatalf("endpoints = %v %d %v, want %v %d %v", remote, local, ok, tc.remote, tc.local, tc.ok)
			}
		})
	}
}

// endpoints reads packets from the wire: it must never panic.
func FuzzEndpoints(f *testing.F) {
	f.Add([]byte{0x45, 0, 0, 28, 0, 0, 0, 0, 64, 1, 0, 0, 198, 18, 2, 12, 198, 18, 2, 2, 3, 3, 0, 0, 0, 0, 0, 0}, false)
	f.Add([]byte{0x4f, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}, true)
	f.Fuzz(func(t *testing.T, pkt []byte, out bool) {
		remote, _, ok := endpoints(pkt, out)
		if !ok && remote.IsValid() {
			t.Fatalf("not ok but remote %v", remote)
		}
	})
}
