package csum

import (
	"encoding/binary"
	"math/bits"
)

// Sum returns the one's-complement of the one's-complement sum of b,
// started from initial. Over a header that carries a valid checksum the
// result is 0.
func Sum(b []byte, initial uint32) uint16 {
	return ^Fold(Add(b, uint64(initial)))
}

// Add adds b, as big-endian 16-bit words, to the one's-complement sum
// s, eight bytes at a time (end-around carry), and returns it unfolded. An
// odd last byte counts as its word's high byte.
func Add(b []byte, s uint64) uint64 {
	var c uint64
	for len(b) >= 32 {
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[0:8]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[8:16]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[16:24]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[24:32]), c)
		b = b[32:]
	}
	for len(b) >= 8 {
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[0:8]), c)
		b = b[8:]
	}
	s, c = bits.Add64(s, c, 0)
	s += c
	var t uint64
	if len(b) >= 4 {
		t += uint64(binary.BigEndian.Uint32(b[0:4]))
		b = b[4:]
	}
	if len(b) >= 2 {
		t += uint64(binary.BigEndian.Uint16(b[0:2]))
		b = b[2:]
	}
	if len(b) == 1 {
		t += uint64(b[0]) << 8
	}
	s, c = bits.Add64(s, t, 0)
	return s + c
}

// Fold folds a sum from Add to 16 bits (not complemented).
func Fold(s uint64) uint16 {
	s = s&0xffffffff + s>>32
	s = s&0xffffffff + s>>32
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	return uint16(s)
}

// Adjust16 updates a checksum for one 16-bit word changing from old to
// new: HC' = ~(~HC + ~m + m') (RFC 1624, eqn. 3).
func Adjust16(sum, old, new uint16) uint16 {
	s := uint32(^sum) + uint32(^old) + uint32(new)
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	return ^uint16(s)
}

// Adjust32 updates a checksum for a 32-bit field (an IPv4 address).
func Adjust32(sum uint16, old, new uint32) uint16 {
	sum = Adjust16(sum, uint16(old>>16), uint16(new>>16))
	return Adjust16(sum, uint16(old), uint16(new))
}
