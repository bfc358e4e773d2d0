// Package xdpfilter is the farm's filter in each member's kernel: an XDP
// program built with cilium/ebpf's asm package (no C compiler) that, for
// IPv4 packets to the VIP on a load-balancing rule's port, hashes the
// client's address (on_addr) or address and source port (on_port) into
// one of 256 buckets and accepts the packet only when the bucket table
// (a BPF array user space writes one bucket at a time) says this member
// owns it. It answers ARP requests for the VIP with the farm's virtual
// MAC (XDP_TX), readdresses the frames it accepts from the virtual MAC to
// the interface's own, and keeps an LRU map of the TCP flows it accepted
// (recorded on their SYN) so that when a bucket moves, the old owner keeps
// its connections (state Drain) while the new one takes only new ones
// (state Take). Everything else passes to the kernel untouched.
package xdpfilter
