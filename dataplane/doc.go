// Package dataplane is lbx's packet path: the ports, ARP and the neighbour
// tables, ICMP echo for local addresses, the L4 virtual servers (VIP match,
// member selection through pools, DNAT, SNAT automap and SNAT pools with
// incremental checksums, direct server return), the flow table and the
// drop counters.
//
// What it owns:
//
//   - Port (port.go) is the link boundary: whole Ethernet frames in batches.
//     tap.go implements it over a TAP device (with checksum and TCP
//     segmentation offload; vnethdr.go cuts and joins the 64 KB frames at
//     the port, so the engine sees wire-sized frames), dataplane/afxdp over an
//     AF_XDP socket on any interface; portinfo.go has the optional
//     interfaces through which a port reports its driver, mode, queues and
//     counters for show net interface. Tests use in-memory ports
//     (dataplane/porttest, which also has hosts to put on them).
//   - Program (program.go) is the immutable configuration snapshot built by
//     ctrlplane: virtual servers and pool specs. Nobody writes into it once
//     it is finalized.
//   - Runtime (runtime.go) is the live state beside it, kept by identity
//     across installs: counters (virtual name; pool and member name; node
//     address), member Health, slow-ramp starts, and the runtime pools —
//     kept, selection state and all, while a pool's spec is unchanged.
//     Engine.Install validates a Program against the ports, builds its
//     runtime state in slices in step with Program.Virtuals, and swaps both
//     in atomically as one snapshot; the data path loads it once per batch.
//     VirtualStats, Pool and Member read the runtime state for show.
//   - Engine (engine.go) owns ports, flow table (flowtable.go), neighbour
//     tables and parking queues (neighbor.go) and counters (counters.go).
//     process.go is the hot path; packet.go the in-place header code.
//
// The appliance is not a router: a frame is answered (ARP, ICMP echo),
// translated for an L4 flow, or dropped with a named reason and a counter.
// The one routed exception is a DSR virtual's answer (source VIP:port of a
// virtual with translate-address disabled, from a member whose gateway is
// the appliance), forwarded unchanged to the client's connected network.
// DSR flows index their client half only (flow.oneWay): the member's
// answers never pass, so TCP state advances on the client's ACK and FIN.
// The hot path parses headers in place with encoding/binary, allocates
// nothing per packet and takes no global lock: the flow table is sharded,
// the neighbour tables and parking queues are per port.
//
// Lifecycle: NewEngine (allocates everything, starts nothing) → Install,
// any number of times, before or after Start → Start → Close. Close closes
// the ports, which unblocks their readers, and waits for every goroutine.
//
// Goroutines, all started by Start and ended by Close:
//
//   - one per port: ReadBatch into buffers it owns, process every frame
//     with the program loaded for the batch, WriteBatch the results grouped
//     by egress port;
//   - one sweeper: every second removes idle flows, drops packets that
//     waited too long for an ARP reply and logs (rate limited) when the
//     flow table's reaper had to evict embryonic flows. Time comes from
//     the injected clock.Clock (lbx/internal/clock).
//
// Under a SYN flood the flow table's adaptive reaper (flowtable.go) keeps
// embryonic and closed TCP flows to half of each shard and evicts the
// oldest of them first, so established flows are never evicted. The ARP
// responder is rate limited per sender (arplimit.go). docs/DROPS.md lists
// every drop reason.
//
// Packets whose next hop's MAC is not known are parked (a few fixed slots
// per egress port) while an ARP request goes out; the goroutine that learns
// the MAC sends them on.
package dataplane
