package netprobe

import (
	"fmt"
	"net/netip"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"lbx/dataplane/localstack"
	"lbx/monitors"
)

// TCP flag bits.
const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagRST = 0x04
	flagPSH = 0x08
	flagACK = 0x10
)

// segment is a decoded TCP segment of a probe exchange.
type segment struct {
	src, dst netip.AddrPort
	seq, ack uint32
	flags    uint8
	payload  int
}

// buildTCP crafts one IPv4/TCP segment without payload.
func buildTCP(src, dst netip.AddrPort, seq, ack uint32, flags uint8, ipID uint16) ([]byte, error) {
	ip := &layers.IPv4{
		Version: 4, IHL: 5, TTL: 64, Id: ipID, Flags: layers.IPv4DontFragment,
		Protocol: layers.IPProtocolTCP,
		SrcIP:    src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice(),
	}
	tcp := &layers.TCP{
		SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()),
		Seq: seq, Ack: ack, Window: 29200,
		FIN: flags&flagFIN != 0, SYN: flags&flagSYN != 0, RST: flags&flagRST != 0,
		PSH: flags&flagPSH != 0, ACK: flags&flagACK != 0,
	}
	if flags&flagSYN != 0 {
		tcp.Options = []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}}}
	}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		return nil, err
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, tcp); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// buildEcho crafts an ICMP echo request.
func buildEcho(src, dst netip.Addr, id, seq uint16) ([]byte, error) {
	ip := &layers.IPv4{
		Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolICMPv4,
		SrcIP: src.AsSlice(), DstIP: dst.AsSlice(),
	}
	icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: id, Seq: seq}
	buf := gopacket.NewSerializeBuffer()
	payload := gopacket.Payload([]byte("lbx icmp monitor"))
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, icmp, payload); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decode parses an IPv4 packet with gopacket (the slow path: probes only).
func decode(pkt []byte) (ip *layers.IPv4, p gopacket.Packet) {
	p = gopacket.NewPacket(pkt, layers.LayerTypeIPv4, gopacket.DecodeOptions{NoCopy: true, Lazy: true})
	ip, _ = p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	return ip, p
}

func addrs(ip *layers.IPv4) (src, dst netip.Addr) {
	src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
	dst, _ = netip.AddrFromSlice(ip.DstIP.To4())
	return src, dst
}

func segmentOf(ip *layers.IPv4, tcp *layers.TCP) segment {
	var f uint8
	for _, b := range []struct {
		on  bool
		bit uint8
	}{{tcp.FIN, flagFIN}, {tcp.SYN, flagSYN}, {tcp.RST, flagRST}, {tcp.PSH, flagPSH}, {tcp.ACK, flagACK}} {
		if b.on {
			f |= b.bit
		}
	}
	src, dst := addrs(ip)
	return segment{
		src: netip.AddrPortFrom(src, uint16(tcp.SrcPort)), dst: netip.AddrPortFrom(dst, uint16(tcp.DstPort)),
		seq: tcp.Seq, ack: tcp.Ack, flags: f, payload: len(tcp.Payload),
	}
}

// parseTCP decodes an IPv4/TCP packet; ok is false for anything else.
// Checksums are not verified: the dataplane delivered it from a local port.
func parseTCP(pkt []byte) (segment, bool) {
	ip, p := decode(pkt)
	tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if ip == nil || tcp == nil {
		return segment{}, false
	}
	return segmentOf(ip, tcp), true
}

// flagString writes flags as tcpdump does: S, S., F., R., P., .
func flagString(f uint8) string {
	s := ""
	for _, b := range []struct {
		bit uint8
		c   string
	}{{flagSYN, "S"}, {flagFIN, "F"}, {flagPSH, "P"}, {flagRST, "R"}} {
		if f&b.bit != 0 {
			s += b.c
		}
	}
	if f&flagACK != 0 {
		s += "."
	}
	if s == "" {
		s = "none"
	}
	return s
}

// Summarize decodes one packet of a probe for its trace.
func Summarize(pk localstack.Packet) monitors.Packet {
	s := monitors.Packet{At: pk.At, Out: pk.Out}
	ip, p := decode(pk.Data)
	if ip == nil {
		s.Proto, s.Info = "?", fmt.Sprintf("undecodable, %d bytes", len(pk.Data))
		return s
	}
	src, dst := addrs(ip)
	s.Src, s.Dst = netip.AddrPortFrom(src, 0), netip.AddrPortFrom(dst, 0)
	if tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
		seg := segmentOf(ip, tcp)
		s.Proto, s.Src, s.Dst = "tcp", seg.src, seg.dst
		s.Flags, s.Seq, s.Ack, s.Len = flagString(seg.flags), seg.seq, seg.ack, seg.payload
		return s
	}
	if u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
		s.Proto = "udp"
		s.Src, s.Dst = netip.AddrPortFrom(src, uint16(u.SrcPort)), netip.AddrPortFrom(dst, uint16(u.DstPort))
		s.Len = len(u.Payload)
		return s
	}
	if ic, ok := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
		s.Proto = "icmp"
		s.Info = fmt.Sprintf("%s, id %d, seq %d", ic.TypeCode, ic.Id, ic.Seq)
		return s
	}
	s.Proto = ip.Protocol.String()
	return s
}
