// Package netprobe runs health probes from the appliance's self IPs through
// its own dataplane (the local stack), never through the host kernel:
// crafted packets for icmp, tcp-half-open and the tcp handshake check, so
// every packet of the exchange is shaped and seen; the gVisor netstack for
// checks that carry data (tcp with send/recv, http, https, udp).
//
// Goroutines: each probe runs on the scheduler's goroutine that calls it
// and ends with its context; a context.AfterFunc cuts the probe's socket
// off when that context ends.
package netprobe
