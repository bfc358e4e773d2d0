// Package afxdp is the AF_XDP port driver: a dataplane.Port over an XSK
// socket on any Linux interface (a veth end in the testbed, a NIC such as
// virtio-net in a VM).
//
// What it owns, per port:
//
//   - the interface: the port redirects every frame the interface receives
//     on its queue to lbx. An appliance port carries only the appliance's
//     traffic, so nothing is left for the kernel; the kernel holds no address
//     on it. A frame that arrives on a queue without a socket (a NIC with
//     more receive queues than the port binds) is passed to the kernel: the
//     XDP program's redirect falls back to XDP_PASS.
//   - the XDP program (prog.go), written with cilium/ebpf's asm package so
//     no C compiler is needed: it looks the frame's receive queue up in an
//     XSKMAP and redirects to the socket found there. It is attached through
//     netlink in native (driver) mode when the driver supports it and in
//     generic (skb) mode otherwise; the mode is chosen at Open and shown as
//     the port's mode. Close detaches it. A program of lbx's name left on
//     the interface by a process that crashed is removed by the next Open;
//     a program of another name is left alone and Open fails.
//   - the UMEM (a private anonymous mapping of fixed-size frames) with its
//     fill and completion rings, and the socket's rx and tx rings
//     (ring.go). Half the frames are for receiving (owned by the fill ring,
//     the kernel or the rx ring), half for transmitting (a free list, the tx
//     ring or the completion ring).
//
// Batching: ReadBatch takes every frame the rx ring holds (up to the
// caller's batch), copies them into the caller's buffers and hands the
// UMEM frames straight back through the fill ring; it makes a system call
// (poll) only when the rx ring is empty, to sleep until a frame arrives.
// WriteBatch copies a batch into tx frames, publishes them with one
// producer update and wakes the kernel with one sendto only when the tx
// ring asks for it (XDP_USE_NEED_WAKEUP); in copy mode the kernel sends at
// most its tx budget per sendto, which the port raises to the ring size
// where the kernel allows (XDP_MAX_TX_SKB_BUDGET).
//
// Checksums: the driver hands frames over as the interface received them.
// A veth peer that offloads transmit checksums delivers TCP and UDP frames
// whose checksum is only the pseudo-header's (CHECKSUM_PARTIAL): the
// testbed turns transmit checksum offload off on the bridge side of the
// appliance's veth pairs (DisableTxChecksum). A NIC delivers complete
// checksums.
//
// veth: the port works in native mode on a veth end and needs nothing on
// the peer. The peer needs an XDP program only for XDP_TX or XDP_REDIRECT
// into the veth (ndo_xdp_xmit), which the port never does: in copy mode
// the kernel transmits the socket's frames as skbs. Frames from the peer
// reach the native program only through the veth's NAPI path, which the
// kernel takes for frames it may aggregate, i.e. when the peer does no TSO;
// DisableTxChecksum turns TSO off with the checksum offload, so the same
// setting serves both. Open sets the interface to one receive queue
// (oneQueue): a veth is created with as many as the machine has CPUs, and
// frames on a queue without a socket would go to the kernel.
//
// Lifecycle: Open (in the calling thread's network namespace) → ReadBatch
// and WriteBatch → Close, which unblocks a pending ReadBatch (an eventfd
// in its poll set), waits for the reader and any writer, detaches the
// program and unmaps the rings. The package starts no goroutines: the
// engine's reader goroutine for the port blocks in ReadBatch.
package afxdp
