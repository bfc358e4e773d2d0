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

// TestSumMatchesOnesSum checks Sum (Add, eight bytes at a time, and Fold)
// against the test's own word-at-a-time sum over every length's tail
// (0..7 odd bytes) and initial sums wider than 16 bits.
func TestSumMatchesOnesSum(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 300 {
		b := make([]byte, n*7%1600)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		init := r.Uint32() & 0xfffff
		if got, want := Sum(b, init), ^onesSum(binary.BigEndian.AppendUint32(nil, init), b); got != want {
			t.Fatalf("len %d initial %#x: Sum gives %#04x, the test's sum %#04x", len(b), init, got, want)
		}
	}
}

// onesSum is the test's own one's-complement sum (independent of the
// package's checksum code).
var onesSum = csumtest.OnesSum
