package csum

// Sum returns the one's-complement of the one's-complement sum of b,
// started from initial. Over a header that carries a valid checksum the
// result is 0.
func Sum(b []byte, initial uint32) uint16 {
	s := initial
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
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
