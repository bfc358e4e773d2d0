package netprobe

import (
	"encoding/binary"
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

// TCP segment sizes buildTCP writes: IPv4 header, TCP header, and the
// MSS option a SYN carries.
const (
	ipv4Len   = 20
	tcpLen    = 20
	mssOptLen = 4
	probeMSS  = 1460
)

// buildTCP crafts one IPv4/TCP segment without payload, by hand into one
// allocation of its exact size (the trace keeps it): DF set, TTL 64, a
// window of 29200, and on a SYN the MSS option (1460).
func buildTCP(src, dst netip.AddrPort, seq, ack uint32, flags uint8, ipID uint16) ([]byte, error) {
	if !src.Addr().Is4() || !dst.Addr().Is4() {
		return nil, fmt.Errorf("tcp probe %s -> %s: IPv4 only", src, dst)
	}
	hl := tcpLen
	if flags&flagSYN != 0 {
		hl += mssOptLen
	}
	b := make([]byte, ipv4Len+hl)
	ip := b[:ipv4Len]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(len(b)))
	binary.BigEndian.PutUint16(ip[4:], ipID)
	ip[6] = 0x40 // don't fragment
	ip[8] = 64
	ip[9] = 6
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	copy(ip[12:16], s4[:])
	copy(ip[16:20], d4[:])
	binary.BigEndian.PutUint16(ip[10:], ^foldSum(sum16(ip, 0)))
	t := b[ipv4Len:]
	binary.BigEndian.PutUint16(t[0:], src.Port())
	binary.BigEndian.PutUint16(t[2:], dst.Port())
	binary.BigEndian.PutUint32(t[4:], seq)
	binary.BigEndian.PutUint32(t[8:], ack)
	t[12] = byte(hl/4) << 4
	t[13] = flags
	binary.BigEndian.PutUint16(t[14:], 29200)
	if flags&flagSYN != 0 {
		t[20], t[21] = 2, 4 // MSS
		binary.BigEndian.PutUint16(t[22:], probeMSS)
	}
	// The pseudo-header: addresses, protocol, TCP length.
	ps := sum16(ip[12:20], 0) + 6 + uint32(len(t))
	binary.BigEndian.PutUint16(t[16:], ^foldSum(sum16(t, ps)))
	return b, nil
}

// sum16 adds b to acc as big-endian 16-bit words (an odd last byte is
// padded with zero), unfolded.
func sum16(b []byte, acc uint32) uint32 {
	for len(b) >= 2 {
		acc += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint32(b[0]) << 8
	}
	return acc
}

// foldSum folds a one's-complement sum to 16 bits.
func foldSum(acc uint32) uint16 {
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return uint16(acc)
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

// ipv4Header checks pkt's IPv4 header and returns its length and the
// packet's end (the total length, bounded by what arrived); ok is false for
// anything that is not a well-formed, unfragmented-at-offset-0 IPv4 header.
func ipv4Header(pkt []byte) (ihl, end int, ok bool) {
	if len(pkt) < ipv4Len || pkt[0]>>4 != 4 {
		return 0, 0, false
	}
	ihl = int(pkt[0]&0xf) * 4
	total := int(binary.BigEndian.Uint16(pkt[2:]))
	if ihl < ipv4Len || total < ihl || len(pkt) < ihl {
		return 0, 0, false
	}
	if binary.BigEndian.Uint16(pkt[6:])&0x1fff != 0 {
		return 0, 0, false // a later fragment: no transport header
	}
	return ihl, min(total, len(pkt)), true
}

// parseTCP decodes an IPv4/TCP packet by hand; ok is false for anything
// else. Checksums are not verified: the dataplane delivered it from a local
// port. It allocates nothing.
func parseTCP(pkt []byte) (segment, bool) {
	ihl, end, ok := ipv4Header(pkt)
	if !ok || pkt[9] != 6 || end < ihl+tcpLen {
		return segment{}, false
	}
	t := pkt[ihl:end]
	doff := int(t[12]>>4) * 4
	if doff < tcpLen || doff > len(t) {
		return segment{}, false
	}
	src := netip.AddrFrom4([4]byte(pkt[12:16]))
	dst := netip.AddrFrom4([4]byte(pkt[16:20]))
	return segment{
		src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(t[0:])),
		dst:     netip.AddrPortFrom(dst, binary.BigEndian.Uint16(t[2:])),
		seq:     binary.BigEndian.Uint32(t[4:]),
		ack:     binary.BigEndian.Uint32(t[8:]),
		flags:   t[13] & (flagFIN | flagSYN | flagRST | flagPSH | flagACK),
		payload: len(t) - doff,
	}, true
}

// parseUDP decodes an IPv4/UDP packet's ports and payload length by hand.
func parseUDP(pkt []byte) (src, dst netip.AddrPort, payload int, ok bool) {
	ihl, end, ok := ipv4Header(pkt)
	if !ok || pkt[9] != 17 || end < ihl+8 {
		return src, dst, 0, false
	}
	u := pkt[ihl:end]
	ul := int(binary.BigEndian.Uint16(u[4:]))
	if ul < 8 || ul > len(u) {
		return src, dst, 0, false
	}
	src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(pkt[12:16])), binary.BigEndian.Uint16(u[0:]))
	dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(pkt[16:20])), binary.BigEndian.Uint16(u[2:]))
	return src, dst, ul - 8, true
}

// flagNames is flagString for every combination of the five flags a
// segment keeps, computed once so a trace allocates no flag string.
var flagNames = func() (t [32]string) {
	for f := range t {
		t[f] = flagText(uint8(f))
	}
	return t
}()

// flagString writes flags as tcpdump does: S, S., F., R., P., .
func flagString(f uint8) string {
	f &= flagFIN | flagSYN | flagRST | flagPSH | flagACK
	return flagNames[f]
}

func flagText(f uint8) string {
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

// Summarize decodes one packet of a probe for its trace. TCP and UDP, every
// packet of the common probes, are read by hand without allocating; ICMP
// and anything else go through gopacket.
func Summarize(pk localstack.Packet) monitors.Packet {
	s := monitors.Packet{At: pk.At, Out: pk.Out}
	if seg, ok := parseTCP(pk.Data); ok {
		s.Proto, s.Src, s.Dst = "tcp", seg.src, seg.dst
		s.Flags, s.Seq, s.Ack, s.Len = flagString(seg.flags), seg.seq, seg.ack, seg.payload
		return s
	}
	if src, dst, n, ok := parseUDP(pk.Data); ok {
		s.Proto, s.Src, s.Dst, s.Len = "udp", src, dst, n
		return s
	}
	ip, p := decode(pk.Data)
	if ip == nil {
		s.Proto, s.Info = "?", fmt.Sprintf("undecodable, %d bytes", len(pk.Data))
		return s
	}
	src, dst := addrs(ip)
	s.Src, s.Dst = netip.AddrPortFrom(src, 0), netip.AddrPortFrom(dst, 0)
	if ic, ok := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
		s.Proto = "icmp"
		s.Info = fmt.Sprintf("%s, id %d, seq %d", ic.TypeCode, ic.Id, ic.Seq)
		return s
	}
	s.Proto = ip.Protocol.String()
	return s
}
