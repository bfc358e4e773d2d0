// Package dataplane is lbx's packet path: the ports, ARP and the neighbour
// tables, ICMP echo for local addresses, the L4 virtual servers (VIP match,
// member selection through pools, DNAT, SNAT automap and SNAT pools with
// incremental checksums, direct server return) and the drop counters; the
// flow table is dataplane/flowtable, the neighbour tables and parking
// queues dataplane/neighbor, the fragment table dataplane/fragtrack and the
// checksum arithmetic dataplane/csum.
//
// What it owns:
//
//   - Port (port.go) is the link boundary: whole Ethernet frames in batches.
//     dataplane/tap implements it over a TAP device (with checksum and TCP
//     segmentation offload: a 64 KB frame of an established flow goes
//     through whole, gso.go; others are cut and joined by the port),
//     dataplane/afxdp over an AF_XDP socket; portinfo.go has the optional
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
//   - Engine (engine.go) owns ports, flow table (dataplane/flowtable;
//     flows.go maps its refusals to drop reasons), a neighbour table and a
//     parking queue per port (dataplane/neighbor) and counters
//     (counters.go).
//     process.go is the hot path; packet.go the in-place header code;
//     icmperr.go translates ICMP errors about translated flows back
//     through their NAT; frag.go forwards fragmented UDP by tracking each
//     datagram's first fragment (dataplane/fragtrack: a fixed table under
//     one mutex, taken only for fragments; the sweeper forgets datagrams
//     that never complete, frag.go counts them).
//
// A frame is answered (ARP, ICMP echo), translated for an L4 flow, routed
// by a forwarding virtual, or dropped with a named reason and a counter.
// Egress and next hop come from the routing table (route.go): the
// connected networks of the self IPs and the static routes (net route),
// longest prefix first, so a member behind a gateway is reached through
// the gateway's MAC. Virtual matching (virtual.go) picks the most specific
// of host virtuals (which own their address), network virtuals (mask) and
// ip-protocol any. Forwarding virtuals (forward.go, tmsh ip-forward) route
// what they match untranslated, TTL decremented: TCP and UDP with a flow
// so replies return, protocols without ports packet by packet. Packets
// to no virtual and no local address are dropped as not-for-us: the
// appliance routes only what a forwarding virtual allows. A DSR virtual's
// answer (source VIP:port of a virtual with translate-address disabled,
// from a member whose gateway is the appliance) is forwarded unchanged to
// the client's connected network.
// DSR flows index their client half only (flow.oneWay): the member's
// answers never pass, so TCP state advances on the client's ACK and FIN.
// The hot path parses headers in place with encoding/binary, allocates
// nothing per packet and takes no global lock: the flow table is sharded,
// the neighbour tables and parking queues are per port. What port
// goroutines share they do not write per packet: the installed program is
// loaded once per batch; a neighbour table is an immutable snapshot behind
// an atomic pointer (dataplane/neighbor), replaced only when an entry changes;
// counters are per worker (counters.go) and summed by readers; virtual and
// member statistics are tallied per worker and added once per batch
// (statbatch.go); the local-stack send path takes a pooled worker, not a
// mutex (local.go). AllocsPerRun tests (alloc_test.go) and benchmarks
// (bench_test.go) hold this.
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
// Under a SYN flood the flow table's adaptive reaper (dataplane/flowtable)
// keeps embryonic and closed TCP flows to half of each shard and takes the
// oldest closed flow's entry first, then the oldest embryonic one's, so
// established flows are never evicted. The ARP
// responder is rate limited per sender (neighbor.ARPLimiter). docs/DROPS.md lists
// every drop reason.
//
// Packets whose next hop's MAC is not known are parked (a few fixed slots
// per egress port) while an ARP request goes out; the goroutine that learns
// the MAC sends them on.
package dataplane
