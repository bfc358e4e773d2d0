package tap

import (
	"encoding/binary"

	"lbx/dataplane"
	"lbx/dataplane/csum"
)

// The virtio-net header a TAP opened with IFF_VNET_HDR puts before every
// frame (struct virtio_net_hdr, 10 bytes, the host's byte order). With
// offloads enabled (TUNSETOFFLOAD) the kernel hands over TCP segments of up
// to 64 KB (GSO) and frames whose transport checksum is still to be
// computed (NEEDS_CSUM), and takes both back the same way.
//
// Where the engine can carry a GSO frame whole (dataplane.GSOPort, the
// engine's gso.go) the port hands it over as it came and writes it back
// with a header of its own (ReadGSO, WriteGSO); otherwise, and for every
// port that is not a TAP with offload, the following holds.
//
// The engine sees none of it: the TAP port cuts a GSO frame into ordinary
// Ethernet frames of gso_size payload, each with complete checksums, and
// finishes the checksum of a NEEDS_CSUM frame, on read (tcpSplit,
// finishChecksum); on write it joins a run of consecutive TCP segments of
// one connection back into one GSO frame (tcpCoalesce). So the flow table,
// NAT, DSR, the local stack and every other port see wire-sized frames with
// valid checksums, as before; flow counters count wire segments.
const (
	vnetHdrLen = 10

	// Ethernet as the engine has it (dataplane's packet.go).
	ethHdrLen     = 14
	etherTypeIPv4 = 0x0800

	vnetFlagNeedsCsum = 1 // VIRTIO_NET_HDR_F_NEEDS_CSUM

	// GSO types; the TAP enables TSO4 and, where the kernel has it, USO
	// (udpgso.go), so the kernel segments anything else (IPv6 TCP) before
	// lbx reads it.
	vnetGSONone  = 0    // VIRTIO_NET_HDR_GSO_NONE
	vnetGSOTCPv4 = 1    // VIRTIO_NET_HDR_GSO_TCPV4
	vnetGSOECN   = 0x80 // VIRTIO_NET_HDR_GSO_ECN

	// maxGSOFrame bounds a GSO frame: Ethernet header and an IPv4 packet
	// of at most 64 KB.
	maxGSOFrame = ethHdrLen + 65535

	// TCP flags as segmentation treats them (named apart from the
	// engine's, which may move with the flow table).
	tsoFIN = 0x01
	tsoPSH = 0x08
	tsoACK = 0x10
	tsoCWR = 0x80
)

// vnetHdr is struct virtio_net_hdr.
type vnetHdr struct {
	flags      uint8
	gsoType    uint8
	hdrLen     uint16 // bytes of headers to copy (Ethernet to end of TCP)
	gsoSize    uint16 // payload bytes per segment
	csumStart  uint16 // where checksumming starts, from the frame's start
	csumOffset uint16 // where the checksum goes, from csumStart
}

// parseVnetHdr reads a header; ok is false when b is too short.
func parseVnetHdr(b []byte) (h vnetHdr, ok bool) {
	if len(b) < vnetHdrLen {
		return vnetHdr{}, false
	}
	return vnetHdr{
		flags:      b[0],
		gsoType:    b[1],
		hdrLen:     binary.NativeEndian.Uint16(b[2:4]),
		gsoSize:    binary.NativeEndian.Uint16(b[4:6]),
		csumStart:  binary.NativeEndian.Uint16(b[6:8]),
		csumOffset: binary.NativeEndian.Uint16(b[8:10]),
	}, true
}

// put writes h into b[:vnetHdrLen].
func (h vnetHdr) put(b []byte) {
	_ = b[vnetHdrLen-1]
	b[0] = h.flags
	b[1] = h.gsoType
	binary.NativeEndian.PutUint16(b[2:4], h.hdrLen)
	binary.NativeEndian.PutUint16(b[4:6], h.gsoSize)
	binary.NativeEndian.PutUint16(b[6:8], h.csumStart)
	binary.NativeEndian.PutUint16(b[8:10], h.csumOffset)
}

// pseudoSum is the unfolded sum (for csum.Add) of an IPv4 pseudo-header.
func pseudoSum(ip []byte, proto uint8, l4len int) uint64 {
	return uint64(binary.BigEndian.Uint32(ip[12:16])) + uint64(binary.BigEndian.Uint32(ip[16:20])) +
		uint64(proto) + uint64(l4len)
}

// finishChecksum computes the checksum of a NEEDS_CSUM frame: the one's
// complement of the sum from csumStart to the end, whose checksum field
// holds the pseudo-header's sum, stored at csumStart+csumOffset (0 becomes
// 0xffff, as the kernel does, so that UDP does not read it as "none"). It
// reports false when the offsets do not fit the frame.
func finishChecksum(frame []byte, h vnetHdr) bool {
	start, at := int(h.csumStart), int(h.csumStart)+int(h.csumOffset)
	if start >= len(frame) || at+2 > len(frame) {
		return false
	}
	c := ^csum.Fold(csum.Add(frame[start:], 0))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(frame[at:at+2], c)
	return true
}

// tcp4Frame is where the headers of an Ethernet/IPv4/TCP frame end.
type tcp4Frame struct {
	ihl  int // IPv4 header length
	hlen int // Ethernet, IPv4 and TCP headers
}

// parseTCP4 checks that frame is one unfragmented IPv4 TCP packet that
// fills the frame exactly (no Ethernet padding) and returns its header
// lengths.
func parseTCP4(frame []byte) (tcp4Frame, bool) {
	if len(frame) < ethHdrLen+20+20 || binary.BigEndian.Uint16(frame[12:14]) != etherTypeIPv4 {
		return tcp4Frame{}, false
	}
	ip := frame[ethHdrLen:]
	if ip[0]>>4 != 4 || ip[9] != dataplane.ProtoTCP {
		return tcp4Frame{}, false
	}
	ihl := int(ip[0]&0x0f) * 4
	if ihl < 20 || int(binary.BigEndian.Uint16(ip[2:4])) != len(ip) || binary.BigEndian.Uint16(ip[6:8])&0x3fff != 0 {
		return tcp4Frame{}, false
	}
	if len(ip) < ihl+20 {
		return tcp4Frame{}, false
	}
	doff := int(ip[ihl+12]>>4) * 4
	if doff < 20 || len(ip) < ihl+doff {
		return tcp4Frame{}, false
	}
	return tcp4Frame{ihl: ihl, hlen: ethHdrLen + ihl + doff}, true
}

// wholeGSO reports whether a GSO frame read from the TAP may go to the
// engine whole (dataplane.GSOFrame): plain TCPv4 (no ECN: its CWR rule is
// per segment), a partial checksum where TCP's goes, an IPv4 total length
// that is the frame's (parseTCP4), payload beyond the headers. Anything
// else is cut.
func wholeGSO(h vnetHdr, frame []byte) bool {
	if h.gsoType != vnetGSOTCPv4 || h.flags&vnetFlagNeedsCsum == 0 || h.gsoSize == 0 || len(frame) > maxGSOFrame {
		return false
	}
	f, ok := parseTCP4(frame)
	return ok && int(h.csumStart) == ethHdrLen+f.ihl && h.csumOffset == 16 && len(frame) > f.hlen
}

// tcpSplit cuts a TCPv4 GSO frame into wire segments, as the kernel's
// TSO would: each carries gso_size bytes of payload (the last the rest),
// the IPv4 ID incremented per segment, the sequence number advanced, CWR
// on the first segment only, FIN and PSH on the last only, and both
// checksums complete.
type tcpSplit struct {
	pkt  []byte // the GSO frame; nil when done
	f    tcp4Frame
	mss  int
	next int  // offset in pkt of the next segment's payload
	i    int  // index of the next segment
	udp  bool // a UDP GSO frame (udpgso.go): f's hlen ends the UDP header
}

// init starts cutting pkt (which the caller keeps unchanged until done);
// false when pkt is no TCPv4 GSO frame this can cut.
func (s *tcpSplit) init(h vnetHdr, pkt []byte) bool {
	*s = tcpSplit{}
	if h.gsoType == vnetGSOUDPL4 {
		return s.initUDP(h, pkt)
	}
	if h.gsoType&^vnetGSOECN != vnetGSOTCPv4 || h.gsoSize == 0 || len(pkt) > maxGSOFrame {
		return false
	}
	// The IPv4 total length of a GSO frame may be the whole frame's or,
	// from some senders, 0; the frame's length is what counts.
	if len(pkt) < ethHdrLen+20 {
		return false
	}
	binary.BigEndian.PutUint16(pkt[ethHdrLen+2:ethHdrLen+4], uint16(len(pkt)-ethHdrLen))
	f, ok := parseTCP4(pkt)
	if !ok || int(h.csumStart) != ethHdrLen+f.ihl || len(pkt) <= f.hlen {
		return false
	}
	*s = tcpSplit{pkt: pkt, f: f, mss: int(h.gsoSize), next: f.hlen}
	return true
}

// done reports whether every segment was cut.
func (s *tcpSplit) done() bool { return s.pkt == nil || s.next >= len(s.pkt) }

// cut writes the next segment into out and returns its length, or -1 when
// out cannot hold it.
func (s *tcpSplit) cut(out []byte) int {
	if s.udp {
		return s.udpCut(out)
	}
	pkt, hlen, ihl := s.pkt, s.f.hlen, s.f.ihl
	ip, end := s.cutIP(out)
	if ip == nil {
		return -1
	}
	n := ethHdrLen + len(ip)
	tcp := ip[ihl:]
	seq := binary.BigEndian.Uint32(pkt[ethHdrLen+ihl+4:]) + uint32(s.next-hlen)
	binary.BigEndian.PutUint32(tcp[4:8], seq)
	if s.i > 0 {
		tcp[13] &^= tsoCWR
	}
	if end < len(pkt) {
		tcp[13] &^= tsoFIN | tsoPSH
	}
	tcp[16], tcp[17] = 0, 0
	c := ^csum.Fold(csum.Add(tcp, pseudoSum(ip, dataplane.ProtoTCP, len(tcp))))
	binary.BigEndian.PutUint16(tcp[16:18], c)
	s.next = end
	s.i++
	if s.next >= len(pkt) {
		s.pkt = nil
	}
	return n
}

// cutIP copies the headers and the next segment's payload into out and
// fixes the IPv4 header (total length, ID, checksum) for it: the part of
// a cut TCP and UDP share. It returns the IPv4 packet in out and where
// the payload it took ends in pkt, or nil when out cannot hold it.
func (s *tcpSplit) cutIP(out []byte) (ip []byte, end int) {
	pkt, hlen, ihl := s.pkt, s.f.hlen, s.f.ihl
	end = min(s.next+s.mss, len(pkt))
	n := hlen + end - s.next
	if n > len(out) {
		return nil, end
	}
	copy(out, pkt[:hlen])
	copy(out[hlen:n], pkt[s.next:end])
	ip = out[ethHdrLen:n]
	binary.BigEndian.PutUint16(ip[2:4], uint16(n-ethHdrLen))
	binary.BigEndian.PutUint16(ip[4:6], binary.BigEndian.Uint16(pkt[ethHdrLen+4:ethHdrLen+6])+uint16(s.i))
	ip[10], ip[11] = 0, 0
	binary.BigEndian.PutUint16(ip[10:12], csum.Sum(ip[:ihl], 0))
	return ip, end
}

// tcpChecksumValid verifies an IPv4 TCP segment's checksum.
func tcpChecksumValid(frame []byte, f tcp4Frame) bool {
	ip := frame[ethHdrLen:]
	tcp := ip[f.ihl:]
	return csum.Fold(csum.Add(tcp, pseudoSum(ip, dataplane.ProtoTCP, len(tcp)))) == 0xffff
}

// sameConnSegment reports whether b continues a's run: the same
// Ethernet header, IPv4 header but for total length, ID (a's + 1) and
// checksum, and TCP header but for sequence number (a's + a's payload) and
// checksum. a must not carry PSH (it ends a run, as TSO puts it on the last
// segment only).
func sameConnSegment(a []byte, fa tcp4Frame, b []byte, fb tcp4Frame) bool {
	if fa != fb || a[ethHdrLen+fa.ihl+13]&tsoPSH != 0 {
		return false
	}
	ia, ib := a[ethHdrLen:], b[ethHdrLen:]
	ta, tb := ia[fa.ihl:], ib[fa.ihl:]
	return [ethHdrLen]byte(a[:ethHdrLen]) == [ethHdrLen]byte(b[:ethHdrLen]) &&
		[2]byte(ia[0:2]) == [2]byte(ib[0:2]) &&
		binary.BigEndian.Uint16(ib[4:6]) == binary.BigEndian.Uint16(ia[4:6])+1 &&
		[4]byte(ia[6:10]) == [4]byte(ib[6:10]) &&
		string(ia[12:fa.ihl]) == string(ib[12:fa.ihl]) &&
		[4]byte(ta[0:4]) == [4]byte(tb[0:4]) &&
		binary.BigEndian.Uint32(tb[4:8]) == binary.BigEndian.Uint32(ta[4:8])+uint32(len(a)-fa.hlen) &&
		[5]byte(ta[8:13]) == [5]byte(tb[8:13]) && // ACK number, data offset
		[2]byte(ta[14:16]) == [2]byte(tb[14:16]) && // window

		string(ta[18:fa.hlen-ethHdrLen-fa.ihl]) == string(tb[18:fa.hlen-ethHdrLen-fa.ihl])
}

// coalescable reports whether a frame may start or join a GSO run: an
// IPv4 TCP segment with payload and only ACK (and PSH) set. Its checksum
// is verified only once it has a partner (see tcpCoalesce).
func coalescable(frame []byte) (tcp4Frame, bool) {
	f, ok := parseTCP4(frame)
	if !ok || len(frame) == f.hlen {
		return f, false
	}
	return f, frame[ethHdrLen+f.ihl+13]&^tsoPSH == tsoACK
}

// tcpCoalesce joins the longest run at the start of frames of consecutive
// segments of one TCP connection (see sameConnSegment) of equal payload
// (the last may be shorter) into one GSO frame, virtio-net header first,
// built in buf. It returns how many frames it joined and the frame to
// write; n < 2 means no run (out is nil): write frames[0] alone. Every
// joined segment's checksum must verify (the kernel computes the joined
// frame's anew, which must not turn a corrupt segment into a valid one);
// the cheap header comparisons come first, so a frame without a partner
// (a request, an ACK) costs no checksum.
func tcpCoalesce(frames [][]byte, buf []byte) (n int, out []byte) {
	if len(frames) < 2 {
		return 1, nil
	}
	f, ok := coalescable(frames[0])
	if !ok {
		return 1, nil
	}
	mss := len(frames[0]) - f.hlen
	total := len(frames[0])
	n = 1
	for n < len(frames) {
		prev, next := frames[n-1], frames[n]
		if len(prev)-f.hlen != mss || total+len(next)-f.hlen > min(maxGSOFrame, len(buf)-vnetHdrLen) {
			break
		}
		fn, ok := coalescable(next)
		if !ok || len(next)-fn.hlen > mss || !sameConnSegment(prev, f, next, fn) {
			break
		}
		if n == 1 && !tcpChecksumValid(frames[0], f) {
			return 1, nil
		}
		if !tcpChecksumValid(next, fn) {
			break
		}
		total += len(next) - f.hlen
		n++
	}
	if n < 2 {
		return 1, nil
	}
	vnetHdr{
		flags:      vnetFlagNeedsCsum,
		gsoType:    vnetGSOTCPv4,
		hdrLen:     uint16(f.hlen),
		gsoSize:    uint16(mss),
		csumStart:  uint16(ethHdrLen + f.ihl),
		csumOffset: 16,
	}.put(buf)
	out = buf[vnetHdrLen : vnetHdrLen+total]
	copy(out, frames[0][:f.hlen])
	at := f.hlen
	for _, fr := range frames[:n] {
		at += copy(out[at:], fr[f.hlen:])
	}
	ip := out[ethHdrLen:]
	binary.BigEndian.PutUint16(ip[2:4], uint16(total-ethHdrLen))
	ip[10], ip[11] = 0, 0
	binary.BigEndian.PutUint16(ip[10:12], csum.Sum(ip[:f.ihl], 0))
	tcp := ip[f.ihl:]
	tcp[13] = frames[n-1][ethHdrLen+f.ihl+13] // PSH of the last
	// A partial checksum holds the pseudo-header's sum, not complemented:
	// the kernel adjusts it per segment and adds the segment's bytes.
	binary.BigEndian.PutUint16(tcp[16:18], csum.Fold(pseudoSum(ip, dataplane.ProtoTCP, len(tcp))))
	return n, buf[:vnetHdrLen+total]
}

// Cut cuts the TCPv4 GSO frame of a TAP read (virtio-net header, then the
// frame, as the kernel hands it over) into wire segments in bufs, one per
// buffer, as ReadBatch does, and returns how many, their lengths in sizes.
// It returns 0 when read is no GSO frame ReadBatch would cut, or when its
// segments do not fit bufs (ReadBatch would cut them over several calls).
// The frame in read is modified (its IPv4 total length). Cut and Join are
// the offload's arithmetic without a device, for the engine's tests.
func Cut(read []byte, bufs [][]byte, sizes []int) int {
	h, ok := parseVnetHdr(read)
	if !ok || h.gsoType == vnetGSONone {
		return 0
	}
	var s tcpSplit
	if !s.init(h, read[vnetHdrLen:]) {
		return 0
	}
	n := 0
	for ; !s.done(); n++ {
		if n == len(bufs) || n == len(sizes) {
			return 0
		}
		if sizes[n] = s.cut(bufs[n]); sizes[n] < 0 {
			return 0
		}
	}
	return n
}

// Join joins the longest run at the start of frames of consecutive
// segments of one TCP connection into one GSO frame built in buf (of
// BufLen bytes), as WriteBatch does, and returns how many frames it joined
// and what WriteBatch would write: the virtio-net header, then the frame.
// n < 2 means no run (out is nil): WriteBatch writes frames[0] alone.
func Join(frames [][]byte, buf []byte) (n int, out []byte) {
	return tcpCoalesce(frames, buf)
}
