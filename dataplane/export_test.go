package dataplane

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"lbx/dataplane/program"

	"lbx/dataplane/drop"

	"lbx/dataplane/csum"
)

// Exports for the external tests (package dataplane_test), which may import
// packages that import dataplane, such as dataplane/tap: the engine's
// internals they use, in the test binary only.

// NATSegment translates a TCP or UDP frame in place as the engine does for
// an L4 flow: parsed (parseIPv4, parseL4), addresses and ports set to the
// translated tuple with checksums adjusted incrementally (rewriteNAT), TTL
// decremented (decTTL).
func NATSegment(t testing.TB, frame []byte, src, dst netip.Addr, sport, dport uint16) {
	t.Helper()
	p, r := parseIPv4(frame)
	if r == drop.None {
		r = parseL4(frame, &p)
	}
	if r != drop.None {
		t.Fatalf("frame does not parse: %v", r)
	}
	rewriteNAT(frame, &p, program.U32(src), program.U32(dst), sport, dport)
	decTTL(frame, &p)
}

// VerifyChecksums is verifyChecksums (helpers_test.go).
func VerifyChecksums(t testing.TB, frame []byte) {
	t.Helper()
	verifyChecksums(t, frame)
}

// WireEndpoints decodes a TCP or UDP frame (decodeWire, which fails the
// test unless its checksums are valid) and returns its source and
// destination as ADDR:PORT.
func WireEndpoints(t testing.TB, frame []byte) (src, dst string) {
	t.Helper()
	w := decodeWire(t, frame)
	return w.Src, w.Dst
}

// SegmentPartial segments a TCPv4 frame with a partial checksum (a GSO
// frame as lbx writes it) as Linux does (tcp_gso_segment with
// CHECKSUM_PARTIAL): headers of hl bytes copied to each segment of mss
// payload bytes, IPv4 length, ID and header checksum set per segment, the
// sequence number advanced, PSH and FIN on the last segment only; the
// partial checksum at start+off, which holds the pseudo-header sum over
// the whole TCP length, is adjusted to each segment's length, then the
// segment's bytes from start on are summed into it.
func SegmentPartial(t testing.TB, frame []byte, hl, mss, start, off int) [][]byte {
	t.Helper()
	at := start + off
	if mss <= 0 || hl >= len(frame) || at+2 > hl || hl < ethHdrLen+20+20 {
		t.Fatalf("hdr_len %d, gso_size %d, csum at %d; frame %d bytes", hl, mss, at, len(frame))
	}
	ihl := int(frame[ethHdrLen]&0x0f) * 4
	total := len(frame) - start
	check := uint32(binary.BigEndian.Uint16(frame[at : at+2]))
	var segs [][]byte
	for o := hl; o < len(frame); o += mss {
		end := min(o+mss, len(frame))
		s := append(append([]byte(nil), frame[:hl]...), frame[o:end]...)
		ip := s[ethHdrLen:]
		binary.BigEndian.PutUint16(ip[2:4], uint16(len(ip)))
		binary.BigEndian.PutUint16(ip[4:6], binary.BigEndian.Uint16(ip[4:6])+uint16(len(segs)))
		ip[10], ip[11] = 0, 0
		binary.BigEndian.PutUint16(ip[10:12], csum.Sum(ip[:ihl], 0))
		binary.BigEndian.PutUint32(ip[ihl+4:ihl+8], binary.BigEndian.Uint32(ip[ihl+4:ihl+8])+uint32(o-hl))
		if end < len(frame) {
			s[ethHdrLen+ihl+13] &^= tcpPSH | tcpFIN
		}
		// delta = new length - old length, in one's complement.
		adj := ^csum.Sum(nil, check+uint32(^uint16(total))+uint32(len(s)-start))
		binary.BigEndian.PutUint16(s[at:at+2], adj)
		binary.BigEndian.PutUint16(s[at:at+2], csum.Sum(s[start:], 0))
		segs = append(segs, s)
	}
	return segs
}
