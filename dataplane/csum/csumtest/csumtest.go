package csumtest

import (
	"encoding/binary"
	"testing"
)

const ethHdrLen = 14

// OnesSum is the one's-complement sum of parts, each padded to an even
// length, folded to 16 bits: 0xffff over a message with a valid checksum.
func OnesSum(parts ...[]byte) uint16 {
	var s uint64
	for _, b := range parts {
		for i := 0; i+1 < len(b); i += 2 {
			s += uint64(b[i])<<8 | uint64(b[i+1])
		}
		if len(b)%2 == 1 {
			s += uint64(b[len(b)-1]) << 8
		}
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// VerifyIPv4 checks an Ethernet/IPv4 frame's header checksum and, by
// summing, its TCP checksum, its UDP checksum unless zero, or its ICMP
// checksum. It fails the test at once on a frame too short for its IPv4
// header or total length.
func VerifyIPv4(t testing.TB, frame []byte) {
	t.Helper()
	if len(frame) < ethHdrLen+20 {
		t.Fatalf("frame too short for IPv4: %d bytes", len(frame))
	}
	ip := frame[ethHdrLen:]
	ihl := int(ip[0]&0xf) * 4
	total := int(binary.BigEndian.Uint16(ip[2:4]))
	if ihl < 20 || total < ihl || len(ip) < total {
		t.Fatalf("IPv4 header length %d, total length %d of %d bytes", ihl, total, len(ip))
	}
	if got := OnesSum(ip[:ihl]); got != 0xffff {
		t.Errorf("IPv4 header checksum %#04x invalid (sum %#04x)", binary.BigEndian.Uint16(ip[10:12]), got)
	}
	l4 := ip[ihl:total]
	pseudo := make([]byte, 12)
	copy(pseudo[0:8], ip[12:20])
	pseudo[9] = ip[9]
	binary.BigEndian.PutUint16(pseudo[10:12], uint16(len(l4)))
	switch ip[9] {
	case 6:
		if got := OnesSum(pseudo, l4); got != 0xffff {
			t.Errorf("TCP checksum %#04x invalid (sum %#04x)", binary.BigEndian.Uint16(l4[16:18]), got)
		}
	case 17:
		if binary.BigEndian.Uint16(l4[6:8]) != 0 {
			if got := OnesSum(pseudo, l4); got != 0xffff {
				t.Errorf("UDP checksum %#04x invalid (sum %#04x)", binary.BigEndian.Uint16(l4[6:8]), got)
			}
		}
	case 1:
		if got := OnesSum(l4); got != 0xffff {
			t.Errorf("ICMP checksum %#04x invalid (sum %#04x)", binary.BigEndian.Uint16(l4[2:4]), got)
		}
	}
}
