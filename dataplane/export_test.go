package dataplane

import (
	"net/netip"
	"testing"
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
	if r == dropNone {
		r = parseL4(frame, &p)
	}
	if r != dropNone {
		t.Fatalf("frame does not parse: %v", r)
	}
	rewriteNAT(frame, &p, u32(src), u32(dst), sport, dport)
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
