package csum

import (
	"encoding/binary"
	"lbx/dataplane/csum/csumtest"
	"math/rand/v2"
	"testing"
)

// TestChecksumAdjustMatchesRecompute checks RFC 1624 updates against a full
// recomputation over random headers and random field changes.
func TestChecksumAdjustMatchesRecompute(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		b := make([]byte, 20+2*rng.IntN(20))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		b[10], b[11] = 0, 0
		binary.BigEndian.PutUint16(b[10:], Sum(b, 0))
		off := 12 + 2*rng.IntN(2) // a word of an "address"
		old32 := binary.BigEndian.Uint32(b[off:])
		new32 := rng.Uint32()
		if i%7 == 0 {
			new32 = 0
		}
		sum := Adjust32(binary.BigEndian.Uint16(b[10:]), old32, new32)
		binary.BigEndian.PutUint32(b[off:], new32)
		binary.BigEndian.PutUint16(b[10:], sum)
		if got := onesSum(b); got != 0xffff {
			t.Fatalf("case %d: adjusted checksum invalid: sum %#04x", i, got)
		}
	}
}

// onesSum is the test's own one's-complement sum (independent of the
// package's checksum code).
var onesSum = csumtest.OnesSum
