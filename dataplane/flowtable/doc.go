// Package flowtable is the dataplane's connection table: fixed capacity,
// allocated whole by New, no allocation and no global lock per packet.
//
// What it owns:
//
//   - Table (flowtable.go): 64 shards, each with its own mutex, an entry
//     array with a free list and an open-addressing index holding every
//     flow under its two wire keys (client → VIP, member → client or SNAT
//     address), so a packet in either direction finds its flow with one
//     lookup; TCP state tracking from the flags and sequence numbers, idle
//     timeouts by state (Timeouts), the adaptive reaper, and SNAT port
//     allocation (automap and pools). Lookup and Insert are the hot path
//     (the engine's receive goroutines); Sweep removes idle flows.
//   - Connections and DeleteConnections (connections.go): the table as
//     show sys connection and delete sys connection see it.
//   - MemberDown (memberdown.go): the flow walk of the service-down
//     actions: reset (returns the RSTs to send), drop, and reselect (the
//     engine picks the new member, the table re-keys the flow).
//   - VirtualStats: a virtual server's counters; the table keeps their
//     connection counts (and the members' and nodes', pools.MemberStats
//     and pools.NodeStats), the engine the packet and byte counts.
//
// Addresses are IPv4 in host order (uint32). Times are table-relative
// nanoseconds (Mono) from the epoch given to New; the caller's injected
// clock supplies them. The package starts no goroutines: the engine's
// receive goroutines call Lookup and Insert concurrently, its sweeper
// goroutine Sweep and MemberDown, the control plane Connections and
// DeleteConnections; every method takes one shard lock at a time.
package flowtable
