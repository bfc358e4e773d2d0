// Package csum is the Internet checksum (RFC 1071) as the dataplane
// computes it in place: Sum over a header or message (Add and Fold, the
// unfolded sum eight bytes at a time and its folding, for a sum built in
// parts, such as over a pseudo-header and a segment), and Adjust16 and
// Adjust32, the incremental updates of RFC 1624 for a rewritten 16-bit
// word or 32-bit address, so NAT fixes a checksum without summing the
// packet again.
//
// Pure functions on byte slices and integers: no allocation, no state, no
// goroutines.
package csum
