// Package csumtest is the tests' own Internet checksum: OnesSum, a plain
// one's-complement sum written independently of package csum (so it can
// check csum), and VerifyIPv4, which checks an Ethernet/IPv4 frame's header
// checksum and its TCP, UDP or ICMP checksum by summing them. The tests of
// csum, dataplane and dataplane/tap share it; production code never
// imports it.
//
// Pure functions on byte slices: no allocation beyond a pseudo-header, no
// state, no goroutines.
package csumtest
