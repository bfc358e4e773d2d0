package dataplane

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

var cmpAddr = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

var floatExt = netip.MustParsePrefix("198.18.0.1/24")

// haProgram is the standard program plus a floating self IP on ext.
func haProgram(t *testing.T) *Program {
	p := testProgram(t, progOpts{})
	p.SelfIPs = append(p.SelfIPs, SelfIP{Name: "/Common/float_ext", Prefix: floatExt, Port: "ext", Floating: true})
	if err := p.Finalize(); err != nil {
		t.Fatal(err)
	}
	return p
}

// arpAnswered sends an ARP request for target on ext and reports whether a
// reply came back.
func arpAnswered(t *testing.T, h *harness, target netip.Addr) bool {
	t.Helper()
	h.send(portExt, arpRequest(clientMAC, client, target))
	got := h.ports[portExt].drain()
	if len(got) > 1 {
		t.Fatalf("%d frames for one ARP request", len(got))
	}
	return len(got) == 1
}

func TestStandbyGate(t *testing.T) {
	h := newHarness(t, haProgram(t))
	h.e.SetFloatingVIPs(true)
	h.learnAll()
	for _, a := range []netip.Addr{floatExt.Addr(), vip, selfExt.Addr()} {
		if !arpAnswered(t, h, a) {
			t.Errorf("active: ARP for %s not answered", a)
		}
	}

	h.e.SetStandby(true)
	for a, want := range map[netip.Addr]bool{floatExt.Addr(): false, vip: false, selfExt.Addr(): true} {
		if got := arpAnswered(t, h, a); got != want {
			t.Errorf("standby: ARP for %s answered %v, want %v", a, got, want)
		}
	}
	// Traffic for the VIP is refused, not balanced.
	syn := tcpFrame(ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}, 40000, 80, fSYN, "")
	h.send(portExt, syn)
	if n := len(h.ports[portInt].drain()); n != 0 {
		t.Errorf("standby: SYN to the VIP forwarded (%d frames)", n)
	}
	// The active unit's gratuitous ARP for the floating address is no
	// address conflict here (it is counted as standby: a request for a
	// floating address).
	peer := mustMAC("02:00:00:00:0f:01")
	h.send(portExt, arpFrame(layers.ARPRequest, peer, floatExt.Addr(), mustMAC("ff:ff:ff:ff:ff:ff"), floatExt.Addr(), mustMAC("00:00:00:00:00:00")))
	want := map[string]uint64{"drop.standby": 4}
	if d := cmp.Diff(want, h.drops()); d != "" {
		t.Errorf("drops (-want +got):\n%s", d)
	}

	// Active again: answered and balanced at once.
	h.e.SetStandby(false)
	if !arpAnswered(t, h, vip) || !arpAnswered(t, h, floatExt.Addr()) {
		t.Error("active again: ARP not answered")
	}
	h.send(portExt, syn)
	if n := len(h.ports[portInt].drain()); n != 1 {
		t.Errorf("active again: SYN forwarded as %d frames, want 1", n)
	}
}

// Without SetFloatingVIPs (HA off, or VIPs not in the traffic group) a
// standby unit still answers for the VIPs; floating self IPs stay gated.
func TestStandbyVIPsNotFloating(t *testing.T) {
	h := newHarness(t, haProgram(t))
	h.e.SetStandby(true)
	if !arpAnswered(t, h, vip) {
		t.Error("VIP not answered")
	}
	if arpAnswered(t, h, floatExt.Addr()) {
		t.Error("floating self IP answered while standby")
	}
}

func vrrpFrame(t *testing.T, dstMAC []byte, dst netip.Addr) []byte {
	eth := &layers.Ethernet{SrcMAC: routerMAC, DstMAC: dstMAC, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 255, Protocol: protoVRRP, SrcIP: netip.MustParseAddr("198.18.0.3").AsSlice(), DstIP: dst.AsSlice()}
	// The dataplane does not parse VRRP: any payload goes to the sink.
	return serialize(t, eth, ip, gopacket.Payload{0x31, 51, 100, 0, 0, 100, 0, 0})
}

func TestVRRPSink(t *testing.T) {
	h := newHarness(t, haProgram(t))
	group := vrrpFrame(t, vrrpGroupMAC[:], netip.MustParseAddr("224.0.0.18"))
	h.send(portExt, group) // no sink: as without HA
	if d := cmp.Diff(map[string]uint64{"drop.not-for-us": 1}, h.drops()); d != "" {
		t.Errorf("no sink: drops (-want +got):\n%s", d)
	}
	var got []string
	h.e.SetVRRPSink(func(port string, frame []byte) {
		got = append(got, port+" "+netip.AddrFrom4([4]byte(frame[ethHdrLen+16:])).String())
	})
	h.send(portExt, group)
	h.send(portInt, group)
	h.send(portExt, vrrpFrame(t, extMAC, selfExt.Addr())) // unicast to the self IP
	want := []string{"ext 224.0.0.18", "int 224.0.0.18", "ext 198.18.0.2"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("sink saw (-want +got):\n%s", d)
	}
	for _, c := range h.e.Counters() {
		if c.Name == "ha.vrrp_rx_packets" && c.Value != 3 {
			t.Errorf("ha.vrrp_rx_packets %d, want 3", c.Value)
		}
	}
}

func TestFloatingAddrsAndGARP(t *testing.T) {
	h := newHarness(t, haProgram(t))
	want := []FloatingAddr{{"ext", floatExt.Addr()}}
	if d := cmp.Diff(want, h.e.FloatingAddrs(), cmpAddr); d != "" {
		t.Errorf("without floating VIPs (-want +got):\n%s", d)
	}
	h.e.SetFloatingVIPs(true)
	want = append(want, FloatingAddr{"ext", vip})
	if d := cmp.Diff(want, h.e.FloatingAddrs(), cmpAddr); d != "" {
		t.Errorf("with floating VIPs (-want +got):\n%s", d)
	}
	mac := [6]byte(extMAC)
	if err := h.e.SendFrames("ext", [][]byte{garp(mac, vip)}); err != nil {
		t.Fatal(err)
	}
	f := h.ports[portExt].drain()
	if len(f) != 1 {
		t.Fatalf("%d frames sent", len(f))
	}
	wantARP := arpSummary{EthSrc: extMAC.String(), EthDst: "ff:ff:ff:ff:ff:ff", Op: 1, SenderMAC: extMAC.String(), SenderIP: vip.String(), TargetMAC: "00:00:00:00:00:00", TargetIP: vip.String()}
	if d := cmp.Diff(wantARP, decodeARP(t, f[0])); d != "" {
		t.Errorf("gratuitous ARP (-want +got):\n%s", d)
	}
	if err := h.e.SendFrames("eth9", nil); err == nil {
		t.Error("SendFrames to no such port: no error")
	}
}

// garp is a gratuitous ARP as package ha/vrrp builds it (request, sender =
// target = ip, broadcast).
func garp(mac [6]byte, ip netip.Addr) []byte {
	return mustSerialize(&layers.Ethernet{SrcMAC: mac[:], DstMAC: mustMAC("ff:ff:ff:ff:ff:ff"), EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPRequest, SourceHwAddress: mac[:], SourceProtAddress: ip.AsSlice(), DstHwAddress: make([]byte, 6), DstProtAddress: ip.AsSlice()})
}

// With a virtual MAC the floating addresses are answered with it, and the
// ports accept frames to it only while active.
func TestVirtualMAC(t *testing.T) {
	h := newHarness(t, haProgram(t))
	vmac := mustMAC("00:00:5e:00:01:33")
	h.e.SetVirtualMAC([6]byte(vmac))
	h.e.SetFloatingVIPs(true)
	h.learnAll()
	for a, want := range map[netip.Addr]string{floatExt.Addr(): vmac.String(), vip: vmac.String(), selfExt.Addr(): extMAC.String()} {
		h.send(portExt, arpRequest(clientMAC, client, a))
		got := h.ports[portExt].drain()
		if len(got) != 1 {
			t.Fatalf("ARP for %s: %d frames", a, len(got))
		}
		if r := decodeARP(t, got[0]); r.SenderMAC != want || r.EthSrc != want {
			t.Errorf("ARP for %s answered with %s (frame from %s), want %s", a, r.SenderMAC, r.EthSrc, want)
		}
	}
	syn := tcpFrame(ipHdr{srcMAC: clientMAC, dstMAC: vmac, src: client, dst: vip}, 40000, 80, fSYN, "")
	h.send(portExt, syn)
	if n := len(h.ports[portInt].drain()); n != 1 {
		t.Fatalf("active: SYN to the virtual MAC forwarded as %d frames, want 1", n)
	}
	h.e.SetStandby(true)
	h.send(portExt, syn)
	if n := len(h.ports[portInt].drain()); n != 0 {
		t.Fatalf("standby: SYN to the virtual MAC forwarded (%d frames)", n)
	}
	if d := cmp.Diff(map[string]uint64{"drop.not-for-us": 1}, h.drops()); d != "" {
		t.Errorf("drops (-want +got):\n%s", d)
	}
}
