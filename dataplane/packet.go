package dataplane

import (
	"encoding/binary"
	"net/netip"

	"lbx/dataplane/drop"

	"lbx/dataplane/csum"
	"lbx/dataplane/flowtable"
)

// In-place header access. Everything here works on the frame buffer with
// encoding/binary: no gopacket, no allocation, and every offset is checked
// against the frame length before it is read.

const (
	ethHdrLen  = 14
	arpLen     = 28
	ipv4MinHdr = 20
	udpHdrLen  = 8
	tcpMinHdr  = 20
	icmpMinHdr = 8

	etherTypeIPv4 = 0x0800
	etherTypeARP  = 0x0806

	arpOpRequest = 1
	arpOpReply   = 2

	protoICMP uint8 = 1

	icmpEchoReply   = 0
	icmpEchoRequest = 8

	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpPSH = 0x08
	tcpACK = 0x10
	tcpURG = 0x20

	// IPv4 option types (RFC 791).
	ipOptEnd  = 0
	ipOptNOP  = 1
	ipOptRR   = 7   // record route
	ipOptLSRR = 131 // loose source and record route
	ipOptSSRR = 137 // strict source and record route

	// maxFrameLen is the size of every buffer the dataplane owns (receive
	// batch, neighbour queue). Jumbo frames are not supported.
	maxFrameLen = 2048

	// defaultTTL is the TTL of packets the appliance originates.
	defaultTTL = 64
)

var broadcastMAC = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// arpPacket is a parsed Ethernet/IPv4 ARP message.
type arpPacket struct {
	op        uint16
	senderMAC [6]byte
	senderIP  uint32
	targetIP  uint32
}

// parseARP reads the ARP message following the Ethernet header.
func parseARP(frame []byte) (arpPacket, drop.Reason) {
	if len(frame) < ethHdrLen+arpLen {
		return arpPacket{}, drop.Malformed
	}
	a := frame[ethHdrLen:]
	if binary.BigEndian.Uint16(a[0:2]) != 1 || binary.BigEndian.Uint16(a[2:4]) != etherTypeIPv4 || a[4] != 6 || a[5] != 4 {
		return arpPacket{}, drop.Malformed
	}
	var p arpPacket
	p.op = binary.BigEndian.Uint16(a[6:8])
	if p.op != arpOpRequest && p.op != arpOpReply {
		return arpPacket{}, drop.Malformed
	}
	copy(p.senderMAC[:], a[8:14])
	p.senderIP = binary.BigEndian.Uint32(a[14:18])
	p.targetIP = binary.BigEndian.Uint32(a[24:28])
	return p, drop.None
}

// ipv4Packet is a parsed IPv4 header and, for TCP and UDP, the ports.
// Offsets are from the start of the frame.
type ipv4Packet struct {
	ihl      int // header length in bytes
	total    int // IPv4 total length
	ttl      uint8
	proto    uint8
	fragment bool // MF set or non-zero offset
	src, dst uint32
	l4       int // offset of the transport header
	sport    uint16
	dport    uint16
	tcpFlags uint8
	tcpSeq   uint32 // TCP sequence number
	tcpAck   uint32 // TCP acknowledgement number
	tcpLen   uint32 // sequence space the segment uses: payload, plus 1 each for SYN and FIN
}

// seg is the TCP segment's part in flow tracking.
func (p *ipv4Packet) seg() flowtable.Seg {
	return flowtable.Seg{Flags: p.tcpFlags, Seq: p.tcpSeq, Ack: p.tcpAck, N: p.tcpLen}
}

// parseIPv4 validates the IPv4 header following the Ethernet header,
// including its checksum. Trailing Ethernet padding beyond the total length
// is allowed.
func parseIPv4(frame []byte) (ipv4Packet, drop.Reason) {
	var p ipv4Packet
	if len(frame) < ethHdrLen+ipv4MinHdr {
		return p, drop.Malformed
	}
	ip := frame[ethHdrLen:]
	if ip[0]>>4 != 4 {
		return p, drop.Malformed
	}
	p.ihl = int(ip[0]&0x0f) * 4
	p.total = int(binary.BigEndian.Uint16(ip[2:4]))
	if p.ihl < ipv4MinHdr || p.total < p.ihl || p.total > len(ip) {
		return p, drop.Malformed
	}
	if csum.Sum(ip[:p.ihl], 0) != 0 {
		return p, drop.BadChecksum
	}
	if p.ihl > ipv4MinHdr {
		if r := checkIPOptions(ip[ipv4MinHdr:p.ihl]); r != drop.None {
			return p, r
		}
	}
	frag := binary.BigEndian.Uint16(ip[6:8])
	p.fragment = frag&0x3fff != 0
	p.ttl = ip[8]
	p.proto = ip[9]
	p.src = binary.BigEndian.Uint32(ip[12:16])
	p.dst = binary.BigEndian.Uint32(ip[16:20])
	p.l4 = ethHdrLen + p.ihl
	return p, drop.None
}

// checkIPOptions walks the IPv4 options. Source routing (LSRR, SSRR) lets
// the sender choose the path past the appliance, so it is refused. Record
// route is dropped rather than stripped: stripping means moving the payload
// and rewriting the header length on the hot path for an option no
// legitimate client of a virtual server needs, and recording would put the
// appliance's inside addresses into packets. Other options pass. An option
// list that does not parse is malformed.
func checkIPOptions(o []byte) drop.Reason {
	for i := 0; i < len(o); {
		switch o[i] {
		case ipOptEnd:
			return drop.None
		case ipOptNOP:
			i++
			continue
		}
		if i+1 >= len(o) {
			return drop.Malformed
		}
		n := int(o[i+1])
		if n < 2 || i+n > len(o) {
			return drop.Malformed
		}
		switch o[i] {
		case ipOptLSRR, ipOptSSRR:
			return drop.SourceRoute
		case ipOptRR:
			return drop.RecordRoute
		}
		i += n
	}
	return drop.None
}

// badTCPFlags reports flag combinations no TCP stack sends on a connection
// and scanners and stack-fingerprinting tools do: SYN with FIN or RST, no
// flags at all (NULL scan), and FIN without ACK (FIN and XMAS scans; every
// FIN of a real connection acknowledges).
func badTCPFlags(f uint8) bool {
	switch {
	case f&(tcpSYN|tcpFIN) == tcpSYN|tcpFIN, f&(tcpSYN|tcpRST) == tcpSYN|tcpRST:
		return true
	case f&(tcpFIN|tcpSYN|tcpRST|tcpPSH|tcpACK|tcpURG) == 0:
		return true
	case f&tcpFIN != 0 && f&tcpACK == 0:
		return true
	}
	return false
}

// l4ChecksumOK verifies the TCP or UDP checksum (with the IPv4 pseudo
// header) of a packet parseL4 accepted. A UDP checksum of 0 means the
// sender computed none (RFC 768) and passes.
func l4ChecksumOK(frame []byte, p *ipv4Packet) bool {
	seg := frame[p.l4 : ethHdrLen+p.total]
	if p.proto == ProtoUDP {
		if seg[6] == 0 && seg[7] == 0 {
			return true
		}
		seg = seg[:binary.BigEndian.Uint16(seg[4:6])]
	}
	s := p.src>>16 + p.src&0xffff + p.dst>>16 + p.dst&0xffff + uint32(p.proto) + uint32(len(seg))
	return csum.Sum(seg, s) == 0
}

// parseL4 reads the ports (and TCP flags) of an unfragmented TCP or UDP
// packet whose IPv4 header parseIPv4 accepted.
func parseL4(frame []byte, p *ipv4Packet) drop.Reason {
	end := ethHdrLen + p.total
	switch p.proto {
	case ProtoTCP:
		if end-p.l4 < tcpMinHdr {
			return drop.Malformed
		}
		t := frame[p.l4:end]
		off := int(t[12]>>4) * 4
		if off < tcpMinHdr || off > len(t) {
			return drop.Malformed
		}
		p.tcpFlags = t[13]
		p.tcpSeq = binary.BigEndian.Uint32(t[4:8])
		p.tcpAck = binary.BigEndian.Uint32(t[8:12])
		p.tcpLen = uint32(len(t) - off)
		if p.tcpFlags&tcpSYN != 0 {
			p.tcpLen++
		}
		if p.tcpFlags&tcpFIN != 0 {
			p.tcpLen++
		}
	case ProtoUDP:
		if end-p.l4 < udpHdrLen {
			return drop.Malformed
		}
		u := frame[p.l4:end]
		if ul := int(binary.BigEndian.Uint16(u[4:6])); ul < udpHdrLen || ul > len(u) {
			return drop.Malformed
		}
	default:
		return drop.UnsupportedProtocol
	}
	p.sport = binary.BigEndian.Uint16(frame[p.l4 : p.l4+2])
	p.dport = binary.BigEndian.Uint16(frame[p.l4+2 : p.l4+4])
	return drop.None
}

// l4ChecksumOffset is where the transport checksum sits in its header.
func l4ChecksumOffset(proto uint8) int {
	if proto == ProtoTCP {
		return 16
	}
	return 6
}

// rewriteNAT sets the packet's addresses and ports to the translated tuple
// and fixes the IPv4 header and TCP/UDP checksums incrementally. A UDP
// checksum of 0 (none) stays 0. The packet must have passed parseL4.
func rewriteNAT(frame []byte, p *ipv4Packet, src, dst uint32, sport, dport uint16) {
	rewriteNATSum(frame, p, src, dst, sport, dport, false)
}

// rewriteNATSum is rewriteNAT; with partial the TCP checksum is partial
// (GSOFrame): the field, the pseudo-header's sum not complemented, is
// adjusted through its complement for the addresses only (whoever
// completes it sums the ports).
func rewriteNATSum(frame []byte, p *ipv4Packet, src, dst uint32, sport, dport uint16, partial bool) {
	ip := frame[ethHdrLen:]
	l4 := frame[p.l4:]
	co := l4ChecksumOffset(p.proto)
	hsum := binary.BigEndian.Uint16(ip[10:12])
	lsum := binary.BigEndian.Uint16(l4[co : co+2])
	fixL4 := p.proto == ProtoTCP || lsum != 0
	if partial {
		lsum = ^lsum
	}

	if src != p.src {
		hsum = csum.Adjust32(hsum, p.src, src)
		lsum = csum.Adjust32(lsum, p.src, src)
		binary.BigEndian.PutUint32(ip[12:16], src)
	}
	if dst != p.dst {
		hsum = csum.Adjust32(hsum, p.dst, dst)
		lsum = csum.Adjust32(lsum, p.dst, dst)
		binary.BigEndian.PutUint32(ip[16:20], dst)
	}
	if sport != p.sport {
		if !partial {
			lsum = csum.Adjust16(lsum, p.sport, sport)
		}
		binary.BigEndian.PutUint16(l4[0:2], sport)
	}
	if dport != p.dport {
		if !partial {
			lsum = csum.Adjust16(lsum, p.dport, dport)
		}
		binary.BigEndian.PutUint16(l4[2:4], dport)
	}
	binary.BigEndian.PutUint16(ip[10:12], hsum)
	switch {
	case partial:
		binary.BigEndian.PutUint16(l4[co:co+2], ^lsum)
	case fixL4:
		if p.proto == ProtoUDP && lsum == 0 {
			lsum = 0xffff // 0 would mean "no checksum" (RFC 768)
		}
		binary.BigEndian.PutUint16(l4[co:co+2], lsum)
	}
	p.src, p.dst, p.sport, p.dport = src, dst, sport, dport
}

// decTTL decrements the TTL and fixes the header checksum; the caller has
// checked TTL > 1.
func decTTL(frame []byte, p *ipv4Packet) {
	ip := frame[ethHdrLen:]
	old := uint16(ip[8])<<8 | uint16(ip[9])
	ip[8]--
	sum := csum.Adjust16(binary.BigEndian.Uint16(ip[10:12]), old, uint16(ip[8])<<8|uint16(ip[9]))
	binary.BigEndian.PutUint16(ip[10:12], sum)
	p.ttl--
}

// setEthernet writes the destination and source MACs.
func setEthernet(frame []byte, dst, src [6]byte) {
	copy(frame[0:6], dst[:])
	copy(frame[6:12], src[:])
}

// buildARP writes an ARP message into buf (at least 42 bytes) and returns
// the frame. For a request, dstMAC is broadcast and targetMAC is zero.
func buildARP(buf []byte, op uint16, dstMAC, srcMAC [6]byte, senderIP uint32, targetMAC [6]byte, targetIP uint32) []byte {
	f := buf[:ethHdrLen+arpLen]
	setEthernet(f, dstMAC, srcMAC)
	binary.BigEndian.PutUint16(f[12:14], etherTypeARP)
	a := f[ethHdrLen:]
	binary.BigEndian.PutUint16(a[0:2], 1)
	binary.BigEndian.PutUint16(a[2:4], etherTypeIPv4)
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:8], op)
	copy(a[8:14], srcMAC[:])
	binary.BigEndian.PutUint32(a[14:18], senderIP)
	copy(a[18:24], targetMAC[:])
	binary.BigEndian.PutUint32(a[24:28], targetIP)
	return f
}

// echoReply turns a valid ICMP echo request into its reply in place and
// returns the frame to send, or a drop reason. The ICMP checksum of the
// request is verified over the whole message.
func echoReply(frame []byte, p *ipv4Packet, portMAC [6]byte) ([]byte, drop.Reason) {
	end := ethHdrLen + p.total
	if end-p.l4 < icmpMinHdr {
		return nil, drop.Malformed
	}
	icmp := frame[p.l4:end]
	if csum.Sum(icmp, 0) != 0 {
		return nil, drop.BadChecksum
	}
	if icmp[0] != icmpEchoRequest || icmp[1] != 0 {
		return nil, drop.NoListener
	}
	var peer [6]byte
	copy(peer[:], frame[6:12])
	setEthernet(frame, peer, portMAC)

	ip := frame[ethHdrLen : ethHdrLen+p.ihl]
	binary.BigEndian.PutUint32(ip[12:16], p.dst)
	binary.BigEndian.PutUint32(ip[16:20], p.src)
	ip[8] = defaultTTL
	ip[10], ip[11] = 0, 0
	binary.BigEndian.PutUint16(ip[10:12], csum.Sum(ip, 0))

	icmp[0] = icmpEchoReply
	sum := csum.Adjust16(binary.BigEndian.Uint16(icmp[2:4]), icmpEchoRequest<<8, icmpEchoReply<<8)
	binary.BigEndian.PutUint16(icmp[2:4], sum)
	return frame[:end], drop.None
}

// addr4 converts an address in host order to netip form (no allocation).
func addr4(a uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
}
