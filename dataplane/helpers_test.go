package dataplane

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"lbx/dataplane/drop"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"lbx/dataplane/csum/csumtest"
	"lbx/internal/clock"
	"lbx/pools"
)

// Test topology: clients on ext (198.18.0.0/24), members on int
// (198.18.1.0/24), one VIP on the client side.
var (
	extMAC    = mustMAC("02:00:00:00:00:01")
	intMAC    = mustMAC("02:00:00:00:00:02")
	clientMAC = mustMAC("02:00:00:00:0c:01")
	routerMAC = mustMAC("02:00:00:00:0e:01")

	selfExt  = netip.MustParsePrefix("198.18.0.2/24")
	selfInt  = netip.MustParsePrefix("198.18.1.2/24")
	vip      = netip.MustParseAddr("198.18.0.100")
	client   = netip.MustParseAddr("198.18.0.10")
	offnet   = netip.MustParseAddr("203.0.113.5")
	members  = []netip.Addr{netip.MustParseAddr("198.18.1.11"), netip.MustParseAddr("198.18.1.12"), netip.MustParseAddr("198.18.1.13")}
	farAddr  = netip.MustParseAddr("10.99.0.1")
	testTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
)

const (
	portExt = 0
	portInt = 1
)

func mustMAC(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func memberMAC(i int) net.HardwareAddr { return mustMAC(fmt.Sprintf("02:00:00:00:0d:%02x", i+1)) }

type progOpts struct {
	snat     bool
	noDNS    bool // leave out vs_dns
	webPorts []uint16
}

// testProgram builds and finalizes the standard program:
//
//	vs_web   VIP:80  tcp  pool web (3 members: :8080, :8080, :0 = keep 80)
//	vs_dns   VIP:53  udp  pool dns (member 1:5353)
//	vs_off   VIP:81  tcp  disabled
//	vs_empty VIP:82  tcp  pool without members
//	vs_far   VIP:83  tcp  member on no connected network
func testProgram(t testing.TB, o progOpts) *Program {
	t.Helper()
	ports := o.webPorts
	if ports == nil {
		ports = []uint16{8080, 8080, 0}
	}
	var webMembers []pools.Member
	for i, a := range members {
		webMembers = append(webMembers, pools.Member{Name: fmt.Sprintf("/Common/%s:%d", a, ports[i]), Addr: a, Port: ports[i]})
	}
	web := rrPool(t, "/Common/web", webMembers...)
	p := &Program{
		Generation: 1,
		SelfIPs: []SelfIP{
			{Name: "/Common/self_ext", Prefix: selfExt, Port: "ext"},
			{Name: "/Common/self_int", Prefix: selfInt, Port: "int"},
		},
		Virtuals: []*Virtual{
			{Name: "/Common/vs_web", Addr: vip, Port: 80, Proto: ProtoTCP, Pool: web, SNATAutomap: o.snat, Enabled: true},
			{Name: "/Common/vs_off", Addr: vip, Port: 81, Proto: ProtoTCP, Pool: web, Enabled: false},
			{Name: "/Common/vs_empty", Addr: vip, Port: 82, Proto: ProtoTCP, Pool: rrPool(t, "/Common/empty"), Enabled: true},
			{Name: "/Common/vs_far", Addr: vip, Port: 83, Proto: ProtoTCP, Enabled: true,
				Pool: rrPool(t, "/Common/far", pools.Member{Name: "/Common/10.99.0.1:80", Addr: farAddr, Port: 80})},
		},
	}
	if !o.noDNS {
		p.Virtuals = append(p.Virtuals, &Virtual{Name: "/Common/vs_dns", Addr: vip, Port: 53, Proto: ProtoUDP, SNATAutomap: o.snat, Enabled: true,
			Pool: rrPool(t, "/Common/dns", pools.Member{Name: "/Common/198.18.1.11:5353", Addr: members[0], Port: 5353})})
	}
	if err := p.Finalize(); err != nil {
		t.Fatalf("Finalize: %v", err)
	}
	return p
}

// virtualOf is p's virtual named name, nil for none.
func virtualOf(p *Program, name string) *Virtual {
	for _, v := range p.Virtuals {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// harness drives an engine synchronously: send processes one frame on the
// caller's goroutine, exactly as a port goroutine would, and flushes.
type harness struct {
	t     testing.TB
	e     *Engine
	clock *clock.Manual
	ports []*fakePort
	w     []*worker
}

func newHarness(t testing.TB, p *Program) *harness {
	t.Helper()
	h := &harness{t: t, clock: clock.NewManual(testTime)}
	h.ports = []*fakePort{newFakePort("ext", extMAC.String()), newFakePort("int", intMAC.String())}
	e, err := NewEngine(EngineConfig{Ports: []Port{h.ports[0], h.ports[1]}, FlowCapacity: 4096, Clock: h.clock})
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	h.e = e
	t.Cleanup(func() { e.Close() })
	for i := range h.ports {
		h.w = append(h.w, e.newWorker(i))
	}
	if p != nil {
		if err := e.Install(p); err != nil {
			t.Fatalf("Install: %v", err)
		}
	}
	for _, fp := range h.ports {
		fp.drain() // ARP requests for the members
	}
	return h
}

// send runs frame through port's processing and flushes its output.
func (h *harness) send(port int, frame []byte) {
	buf := make([]byte, len(frame))
	copy(buf, frame)
	w := h.w[port]
	w.begin(h.clock.Now())
	in := h.e.cur.Load()
	if in == nil {
		h.e.drops[drop.NoProgram].Add(1)
		return
	}
	w.process(in, buf)
	w.flush()
}

// learn makes a neighbour known by having it send an ARP reply; packets
// parked for it are sent and left on the port.
func (h *harness) learn(port int, mac net.HardwareAddr, ip netip.Addr) {
	h.t.Helper()
	own := []net.HardwareAddr{extMAC, intMAC}[port]
	self := []netip.Prefix{selfExt, selfInt}[port].Addr()
	h.send(port, arpFrame(layers.ARPReply, mac, ip, own, self, own))
}

// learnAll learns the client and the three members.
func (h *harness) learnAll() {
	h.learn(portExt, clientMAC, client)
	for i, m := range members {
		h.learn(portInt, memberMAC(i), m)
	}
}

func (h *harness) drops() map[string]uint64 {
	m := map[string]uint64{}
	for _, c := range h.e.Counters() {
		if c.Value != 0 && len(c.Name) > 5 && c.Name[:5] == "drop." {
			m[c.Name] = c.Value
		}
	}
	return m
}

// Frame builders (gopacket, with correct checksums).

func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func mustSerialize(ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		panic(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

type tcpFlags struct{ syn, ack, fin, rst bool }

var (
	fSYN    = tcpFlags{syn: true}
	fSYNACK = tcpFlags{syn: true, ack: true}
	fACK    = tcpFlags{ack: true}
	fFINACK = tcpFlags{fin: true, ack: true}
	fRST    = tcpFlags{rst: true}
)

type ipHdr struct {
	srcMAC, dstMAC net.HardwareAddr
	src, dst       netip.Addr
	ttl            uint8
}

func (h ipHdr) layers(proto layers.IPProtocol) (*layers.Ethernet, *layers.IPv4) {
	ttl := h.ttl
	if ttl == 0 {
		ttl = 64
	}
	eth := &layers.Ethernet{SrcMAC: h.srcMAC, DstMAC: h.dstMAC, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: ttl, Id: 0x1234, Flags: layers.IPv4DontFragment, Protocol: proto, SrcIP: h.src.AsSlice(), DstIP: h.dst.AsSlice()}
	return eth, ip
}

func tcpFrame(h ipHdr, sport, dport uint16, f tcpFlags, payload string) []byte {
	eth, ip := h.layers(layers.IPProtocolTCP)
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: 1000, Window: 65535,
		SYN: f.syn, ACK: f.ack, FIN: f.fin, RST: f.rst}
	if f.ack {
		tcp.Ack = 5000
	}
	tcp.SetNetworkLayerForChecksum(ip)
	return mustSerialize(eth, ip, tcp, gopacket.Payload(payload))
}

func udpFrame(h ipHdr, sport, dport uint16, payload string, zeroChecksum bool) []byte {
	eth, ip := h.layers(layers.IPProtocolUDP)
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	udp.SetNetworkLayerForChecksum(ip)
	f := mustSerialize(eth, ip, udp, gopacket.Payload(payload))
	if zeroChecksum {
		f[ethHdrLen+20+6], f[ethHdrLen+20+7] = 0, 0
	}
	return f
}

func icmpEchoFrame(h ipHdr, id, seq uint16, payload string) []byte {
	eth, ip := h.layers(layers.IPProtocolICMPv4)
	icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: id, Seq: seq}
	return mustSerialize(eth, ip, icmp, gopacket.Payload(payload))
}

func arpFrame(op uint16, senderMAC net.HardwareAddr, senderIP netip.Addr, dstMAC net.HardwareAddr, targetIP netip.Addr, targetMAC net.HardwareAddr) []byte {
	eth := &layers.Ethernet{SrcMAC: senderMAC, DstMAC: dstMAC, EthernetType: layers.EthernetTypeARP}
	if op == layers.ARPRequest {
		targetMAC = net.HardwareAddr{0, 0, 0, 0, 0, 0}
	}
	arp := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: op, SourceHwAddress: senderMAC, SourceProtAddress: senderIP.AsSlice(),
		DstHwAddress: targetMAC, DstProtAddress: targetIP.AsSlice()}
	return mustSerialize(eth, arp)
}

var bcastMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

func arpRequest(senderMAC net.HardwareAddr, senderIP, targetIP netip.Addr) []byte {
	return arpFrame(layers.ARPRequest, senderMAC, senderIP, bcastMAC, targetIP, nil)
}

// Decoding and verification of what the engine sent.

// wire is the part of a sent TCP/UDP frame tests compare.
type wire struct {
	SrcMAC, DstMAC string
	Src, Dst       string // addr:port
	TTL            uint8
	Flags          string
	Payload        string
}

func tcpFlagString(t *layers.TCP) string {
	s := ""
	for _, f := range []struct {
		on   bool
		name string
	}{{t.SYN, "S"}, {t.ACK, "A"}, {t.FIN, "F"}, {t.RST, "R"}} {
		if f.on {
			s += f.name
		}
	}
	return s
}

// decodeWire decodes a TCP or UDP frame and fails the test unless its
// IPv4 and transport checksums are valid.
func decodeWire(t testing.TB, frame []byte) wire {
	t.Helper()
	verifyChecksums(t, frame)
	pkt := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	if el := pkt.ErrorLayer(); el != nil && pkt.TransportLayer() == nil {
		t.Fatalf("decode: %v", el.Error())
	}
	eth := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	ip, _ := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if ip == nil {
		t.Fatalf("not IPv4: %v", pkt)
	}
	w := wire{SrcMAC: eth.SrcMAC.String(), DstMAC: eth.DstMAC.String(), TTL: ip.TTL}
	if tcp, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
		w.Src = fmt.Sprintf("%s:%d", ip.SrcIP, tcp.SrcPort)
		w.Dst = fmt.Sprintf("%s:%d", ip.DstIP, tcp.DstPort)
		w.Flags = tcpFlagString(tcp)
		w.Payload = string(tcp.Payload)
	} else if udp, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
		w.Src = fmt.Sprintf("%s:%d", ip.SrcIP, udp.SrcPort)
		w.Dst = fmt.Sprintf("%s:%d", ip.DstIP, udp.DstPort)
		w.Payload = string(udp.Payload)
	} else {
		t.Fatalf("neither TCP nor UDP: %v", pkt)
	}
	return w
}

// onesSum is the tests' own one's-complement sum (independent of the
// package's checksum code).
var onesSum = csumtest.OnesSum

// verifyChecksums checks the IPv4 header checksum, the TCP/UDP/ICMP
// checksum by summing, and that gopacket recomputes the same values.
func verifyChecksums(t testing.TB, frame []byte) {
	t.Helper()
	csumtest.VerifyIPv4(t, frame)
	// gopacket recomputation must agree with what is on the wire.
	pkt := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	ipl, _ := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if ipl == nil {
		t.Fatalf("gopacket: no IPv4 layer")
	}
	var ls []gopacket.SerializableLayer
	ls = append(ls, pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet), ipl)
	switch l := pkt.TransportLayer().(type) {
	case *layers.TCP:
		l.SetNetworkLayerForChecksum(ipl)
		ls = append(ls, l, gopacket.Payload(l.Payload))
	case *layers.UDP:
		if l.Checksum == 0 {
			return
		}
		l.SetNetworkLayerForChecksum(ipl)
		ls = append(ls, l, gopacket.Payload(l.Payload))
	default:
		return
	}
	re := serialize(t, ls...)
	if got, want := binary.BigEndian.Uint16(frame[ethHdrLen+10:]), binary.BigEndian.Uint16(re[ethHdrLen+10:]); got != want {
		t.Errorf("IPv4 checksum %#04x, gopacket computes %#04x", got, want)
	}
	ip := frame[ethHdrLen:]
	off := ethHdrLen + int(ip[0]&0xf)*4 + l4ChecksumOffset(ip[9])
	if got, want := binary.BigEndian.Uint16(frame[off:]), binary.BigEndian.Uint16(re[off:]); got != want {
		t.Errorf("L4 checksum %#04x, gopacket computes %#04x", got, want)
	}
}

// rrPool returns a round-robin pool's spec.
func rrPool(t testing.TB, name string, members ...pools.Member) *pools.PoolConfig {
	t.Helper()
	p := &pools.PoolConfig{Name: name, Method: pools.MethodRoundRobin, Members: members}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return p
}

// member returns member i of pool as the engine runs it, with its live
// state attached.
func (h *harness) member(pool string, i int) *pools.Member {
	h.t.Helper()
	p := h.e.Pool(pool)
	if p == nil || i >= len(p.Members) {
		h.t.Fatalf("pool %s member %d is not installed", pool, i)
	}
	return &p.Members[i]
}
