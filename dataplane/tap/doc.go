// Package tap is the TAP port driver: a dataplane.Port (Port, from Open)
// over a Linux TAP device, lbx being the device's "wire" side.
//
// What it owns, per port:
//
//   - the device (tap.go): /dev/net/tun opened with IFF_TAP, IFF_NO_PI and
//     IFF_VNET_HDR, non-blocking and read through the Go netpoller, with
//     checksum and TCPv4 segmentation offload where the kernel allows
//     (TUNSETOFFLOAD TUN_F_CSUM | TUN_F_TSO4; the port's mode is then
//     "offload"), with UDP segmentation offload too where it allows that
//     (TUN_F_USO4 | TUN_F_USO6, Linux 6.2+, unless LBX_TAP_NO_USO is
//     set; mode "offload+uso"), read in drains (a waiting read, then
//     reads without waiting until the queue is empty or the batch full),
//     its queue towards lbx lengthened to QueueLen frames
//     (the kernel's default is 500), and a netlink handle in the device's
//     namespace for its drop counter (RxLost). The kernel removes the device when Close
//     closes its descriptor.
//   - the offload (vnethdr.go): the virtio-net header before every frame,
//     the cutting of a TCPv4 GSO frame of up to 64 KB into wire segments
//     with complete checksums on read, the checksum of a NEEDS_CSUM frame,
//     and on write the joining of a run of consecutive segments of one
//     connection into one GSO frame that the kernel segments again. A
//     TCPv4 frame with a partial checksum as the kernel's TSO makes it
//     goes to the engine whole instead (ReadGSO, dataplane.GSOPort): the
//     engine translates its headers and writes it with WriteGSO, or hands
//     it back (CutGSO) to be cut as above. With USO (udpgso.go), UDP GSO
//     frames are cut into datagrams on read, and on write the datagrams
//     of one flow in a WriteBatch are joined into one UDP GSO frame;
//     WriteGSO puts its header in the
//     read buffer's headroom, so a whole frame is never copied in lbx. Cut and
//     Join are that arithmetic without a device, for the engine's test of
//     a GSO frame through its NAT (dataplane's gso_test.go).
//   - a read buffer (one ReadBatch at a time, under a mutex) and a pool of
//     write buffers with the UDP grouping's scratch (WriteBatch may be
//     called from several goroutines), each of BufLen bytes; the
//     offload's counters (PortCounters).
//
// Lifecycle: Open (in the calling thread's network namespace) → ReadBatch
// and WriteBatch → Close, which unblocks a pending ReadBatch. The package
// starts no goroutines: the engine's reader goroutine for the port blocks
// in ReadBatch.
package tap
