package tap

import (
	"encoding/binary"

	"lbx/dataplane"
	"lbx/dataplane/csum"
)

// UDP segmentation offload (USO) over the TAP: with TUN_F_USO4 (and
// TUN_F_USO6, which the kernel wants with it) accepted, one write may carry
// several UDP datagrams of one flow as one frame with gso_type
// VIRTIO_NET_HDR_GSO_UDP_L4, which the kernel cuts into datagrams of
// gso_size payload bytes (the last the rest), as it cuts a socket's
// UDP_SEGMENT send: each gets the UDP header with its own length and a
// complete checksum, and the IPv4 header with its own total length and
// checksum and the ID incremented per datagram. The kernel may hand such
// frames over on read too (a socket's UDP_SEGMENT send, GRO'd datagrams
// forwarded); ReadBatch cuts them (udpCut), as it does TCP's.
//
// On write (udpGroups), the datagrams of one WriteBatch — the engine
// writes a port's frames once per receive batch — are grouped by flow:
// same Ethernet header, same IPv4 header but for total length, ID and
// checksum, same ports; equal payload sizes, the last of a group may be
// shorter and closes it. Order within a flow is kept; a group is written
// where its first datagram stood, so frames of other flows may pass its
// later datagrams (as they may on any network). The kernel numbers the
// IPv4 IDs of a group's datagrams from the first's, so a datagram joins
// only when its ID is its predecessor's + 1, or when DF is set (an atomic
// datagram: its ID has no meaning, RFC 6864). Every joined datagram's
// checksums must verify (UDP's may be 0: none), as for TCP, since the
// kernel computes new ones.
const (
	vnetGSOUDPL4 = 5 // VIRTIO_NET_HDR_GSO_UDP_L4

	udpHdrLen = 8

	// udpMaxSegs bounds the datagrams of one UDP GSO frame: the kernel's
	// UDP_MAX_SEGMENTS (64 on older kernels, 128 since 6.10).
	udpMaxSegs = 64

	// udpMaxOpen bounds the flows grouped at once in one WriteBatch; a
	// datagram of a further flow is written alone.
	udpMaxOpen = 16
)

// udp4Frame is where the headers of an Ethernet/IPv4/UDP frame end.
type udp4Frame struct {
	ihl  int // IPv4 header length
	hlen int // Ethernet, IPv4 and UDP headers
}

// parseUDP4 checks that frame is one unfragmented IPv4 UDP datagram that
// fills the frame exactly (no Ethernet padding), its UDP length the IPv4
// payload's, and returns its header lengths.
func parseUDP4(frame []byte) (udp4Frame, bool) {
	if len(frame) < ethHdrLen+20+udpHdrLen || binary.BigEndian.Uint16(frame[12:14]) != etherTypeIPv4 {
		return udp4Frame{}, false
	}
	ip := frame[ethHdrLen:]
	if ip[0]>>4 != 4 || ip[9] != dataplane.ProtoUDP {
		return udp4Frame{}, false
	}
	ihl := int(ip[0]&0x0f) * 4
	if ihl < 20 || int(binary.BigEndian.Uint16(ip[2:4])) != len(ip) || binary.BigEndian.Uint16(ip[6:8])&0x3fff != 0 {
		return udp4Frame{}, false
	}
	if len(ip) < ihl+udpHdrLen || int(binary.BigEndian.Uint16(ip[ihl+4:ihl+6])) != len(ip)-ihl {
		return udp4Frame{}, false
	}
	return udp4Frame{ihl: ihl, hlen: ethHdrLen + ihl + udpHdrLen}, true
}

// udpChecksumOK reports whether a UDP datagram's checksum verifies or is
// absent (0).
func udpChecksumOK(frame []byte, f udp4Frame) bool {
	ip := frame[ethHdrLen:]
	return udpSumOK(ip, f)
}

// joinable reports whether a datagram's IPv4 header checksum and UDP
// checksum verify (the kernel makes new ones for a GSO frame's datagrams,
// which must not turn a corrupt one into a valid one).
func joinable(frame []byte, f udp4Frame) bool {
	ip := frame[ethHdrLen:]
	return csum.Sum(ip[:f.ihl], 0) == 0 && udpSumOK(ip, f)
}

func udpSumOK(ip []byte, f udp4Frame) bool {
	u := ip[f.ihl:]
	if u[6] == 0 && u[7] == 0 {
		return true
	}
	return csum.Fold(csum.Add(u, pseudoSum(ip, dataplane.ProtoUDP, len(u)))) == 0xffff
}

// sameUDPFlow reports whether a and b (of the same header lengths) have
// the same headers but for IPv4 total length, ID and checksum and the UDP
// length and checksum: one flow, as far as a GSO frame goes.
func sameUDPFlow(a, b []byte, f udp4Frame) bool {
	ia, ib := a[ethHdrLen:], b[ethHdrLen:]
	return [ethHdrLen]byte(a[:ethHdrLen]) == [ethHdrLen]byte(b[:ethHdrLen]) &&
		[2]byte(ia[0:2]) == [2]byte(ib[0:2]) && // version, IHL, TOS
		[4]byte(ia[6:10]) == [4]byte(ib[6:10]) && // flags, fragment offset, TTL, protocol
		string(ia[12:f.ihl+4]) == string(ib[12:f.ihl+4]) // addresses, options, ports
}

// udpIDFollows reports whether b's IPv4 ID may be the kernel's for the
// datagram after a in a GSO frame: a's + 1, or any with DF set.
func udpIDFollows(a, b []byte) bool {
	const df = 0x40
	ia, ib := a[ethHdrLen:], b[ethHdrLen:]
	return ia[6]&df != 0 || binary.BigEndian.Uint16(ib[4:6]) == binary.BigEndian.Uint16(ia[4:6])+1
}

// udpGroup is one flow's run of datagrams in a WriteBatch.
type udpGroup struct {
	head, tail int32 // indexes in frames of the first and last datagram
	f          udp4Frame
	seg        int  // payload bytes per datagram (the first's)
	n          int  // datagrams
	total      int  // bytes of the GSO frame: headers and every payload
	closed     bool // a shorter datagram ended it, or it is full
	verified   bool // the head's checksum was verified
}

// udpGroups groups a WriteBatch's UDP datagrams by flow (see the top of
// this file). It is scratch reused across batches: no allocation once its
// slices have grown to the batch size.
type udpGroups struct {
	next   []int32 // per frame: the next datagram of its group, -1 after the last
	member []bool  // per frame: a datagram written with its group's head, not alone
	lead   []int32 // per frame: index in groups of the group it heads, -1 if none
	groups []udpGroup
	open   []int32 // indexes in groups of the groups still open
}

// group finds the groups in frames. limit bounds a GSO frame's bytes (the
// write buffer's room). It reports whether any group has two or more
// datagrams.
func (g *udpGroups) group(frames [][]byte, limit int) bool {
	n := len(frames)
	if cap(g.next) < n {
		g.next = make([]int32, n)
		g.member = make([]bool, n)
		g.lead = make([]int32, n)
	}
	g.next, g.member, g.lead = g.next[:n], g.member[:n], g.lead[:n]
	g.groups, g.open = g.groups[:0], g.open[:0]
	any := false
	for i, fr := range frames {
		g.next[i], g.member[i], g.lead[i] = -1, false, -1
		f, ok := parseUDP4(fr)
		if !ok {
			continue
		}
		if g.join(frames, i, f, limit) {
			any = true
			continue
		}
		// An empty datagram cannot be cut from a GSO frame: alone, it
		// still closed its flow's group, so that it is not passed.
		if len(fr) == f.hlen || len(g.open) == udpMaxOpen {
			continue
		}
		g.lead[i] = int32(len(g.groups))
		g.open = append(g.open, int32(len(g.groups)))
		g.groups = append(g.groups, udpGroup{head: int32(i), tail: int32(i), f: f, seg: len(fr) - f.hlen, n: 1, total: len(fr)})
	}
	return any
}

// join adds frames[i] to the open group of its flow, if there is one and
// it may join; a group of its flow that it may not join is closed (there
// is at most one open group per flow, so order within a flow is kept).
func (g *udpGroups) join(frames [][]byte, i int, f udp4Frame, limit int) bool {
	fr := frames[i]
	for k, gi := range g.open {
		gr := &g.groups[gi]
		tail := frames[gr.tail]
		if gr.f != f || !sameUDPFlow(tail, fr, f) {
			continue
		}
		pl := len(fr) - f.hlen
		ok := !gr.closed && pl > 0 && pl <= gr.seg && udpIDFollows(tail, fr) && gr.n < udpMaxSegs && gr.total+pl <= limit && joinable(fr, f)
		if ok && !gr.verified {
			gr.verified = true
			if !joinable(frames[gr.head], f) {
				ok = false
			}
		}
		if !ok {
			// This flow's group ends here; fr may start the next one.
			g.open = append(g.open[:k], g.open[k+1:]...)
			return false
		}
		g.next[gr.tail] = int32(i)
		g.member[i] = true
		gr.tail = int32(i)
		gr.n++
		gr.total += pl
		if pl < gr.seg || gr.n == udpMaxSegs {
			gr.closed = true
		}
		return true
	}
	return false
}

// build writes group gi's datagrams as one UDP GSO frame, virtio-net
// header first, into buf and returns it.
func (g *udpGroups) build(frames [][]byte, gi int32, buf []byte) []byte {
	gr := &g.groups[gi]
	f := gr.f
	out := buf[vnetHdrLen : vnetHdrLen+gr.total]
	copy(out, frames[gr.head][:f.hlen])
	at := f.hlen
	for i := gr.head; i >= 0; i = g.next[i] {
		at += copy(out[at:], frames[i][f.hlen:])
	}
	ip := out[ethHdrLen:]
	binary.BigEndian.PutUint16(ip[2:4], uint16(gr.total-ethHdrLen))
	ip[10], ip[11] = 0, 0
	binary.BigEndian.PutUint16(ip[10:12], csum.Sum(ip[:f.ihl], 0))
	u := ip[f.ihl:]
	binary.BigEndian.PutUint16(u[4:6], uint16(len(u)))
	// A partial checksum: the pseudo-header's sum over the whole UDP
	// length, not complemented; the kernel adjusts it to each datagram's
	// length and adds the datagram's bytes.
	binary.BigEndian.PutUint16(u[6:8], csum.Fold(pseudoSum(ip, dataplane.ProtoUDP, len(u))))
	vnetHdr{
		flags:      vnetFlagNeedsCsum,
		gsoType:    vnetGSOUDPL4,
		hdrLen:     uint16(f.hlen),
		gsoSize:    uint16(gr.seg),
		csumStart:  uint16(ethHdrLen + f.ihl),
		csumOffset: 6,
	}.put(buf)
	return buf[:vnetHdrLen+gr.total]
}

// udpCut is the UDP half of tcpSplit.cut: the next datagram of a UDP GSO
// frame into out, its length, or -1 when out cannot hold it.
func (s *tcpSplit) udpCut(out []byte) int {
	pkt, ihl := s.pkt, s.f.ihl
	ip, end := s.cutIP(out)
	if ip == nil {
		return -1
	}
	n := ethHdrLen + len(ip)
	u := ip[ihl:]
	binary.BigEndian.PutUint16(u[4:6], uint16(len(u)))
	u[6], u[7] = 0, 0
	c := ^csum.Fold(csum.Add(u, pseudoSum(ip, dataplane.ProtoUDP, len(u))))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(u[6:8], c)
	s.next = end
	s.i++
	if s.next >= len(pkt) {
		s.pkt = nil
	}
	return n
}

// initUDP starts cutting a UDP GSO frame; false when pkt is no IPv4 UDP
// GSO frame this can cut (IPv6: the engine has no IPv6).
func (s *tcpSplit) initUDP(h vnetHdr, pkt []byte) bool {
	if len(pkt) < ethHdrLen+20+udpHdrLen || len(pkt) > maxGSOFrame || h.gsoSize == 0 {
		return false
	}
	// As for TCP, the frame's length counts; the IPv4 total and UDP
	// lengths may be the whole frame's or 0.
	binary.BigEndian.PutUint16(pkt[ethHdrLen+2:ethHdrLen+4], uint16(len(pkt)-ethHdrLen))
	ihl := int(pkt[ethHdrLen]&0x0f) * 4
	if ihl >= 20 && len(pkt) >= ethHdrLen+ihl+udpHdrLen {
		binary.BigEndian.PutUint16(pkt[ethHdrLen+ihl+4:ethHdrLen+ihl+6], uint16(len(pkt)-ethHdrLen-ihl))
	}
	f, ok := parseUDP4(pkt)
	if !ok || int(h.csumStart) != ethHdrLen+f.ihl || len(pkt) <= f.hlen {
		return false
	}
	*s = tcpSplit{pkt: pkt, f: tcp4Frame(f), mss: int(h.gsoSize), next: f.hlen, udp: true}
	return true
}
