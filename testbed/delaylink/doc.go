// Package delaylink is the testbed's latency fault injection: a relay
// between two interfaces of one namespace that holds every frame for a
// fixed delay before forwarding it, both ways. The kernel the testbed runs
// on has no netem qdisc, so the delay is made in userspace, on the link,
// outside lbx: the testbed takes a port off its bridge, puts a veth pair
// in its place and runs the relay between the port and the pair's free
// end (`lbx testbed fault NAME delay 50ms`).
//
// Each side is an AF_PACKET socket with PACKET_VNET_HDR, so a TAP's or
// veth's GSO frames (up to 64 KB, checksum pending) cross whole, with
// their offload header, and PACKET_IGNORE_OUTGOING, so a socket never
// reads back what the relay sent. Each direction has a bounded queue of
// preallocated frame buffers: a frame arriving when all are held is
// dropped and counted, as a full NIC ring drops. Frames leave in arrival
// order, each when its delay is over.
//
// Goroutines: Run starts a reader and a writer per direction and returns
// when its context ends, after they have.
package delaylink
