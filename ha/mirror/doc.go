// Package mirror is connection mirroring between the two units of an HA
// pair (tmsh `mirror enabled` on a virtual server, Alteon `mirror ena`).
//
// The active unit keeps one TCP stream open to the peer's mirroring
// address (the boot config's ha.mirror_peer; the peer listens on its
// ha.mirror_addr, on the management network or a dedicated HA link, the
// kernel's stack: not a data port). On it, in a compact binary encoding
// (wire.go, decoded by a fuzzed decoder): a hello naming the unit and its
// data ports, then every mirrored flow (both 5-tuples, so NAT and the
// SNAT port; member; egress ports; TCP state and next sequence numbers;
// idle time) and every persistence record of a mirrored virtual, then
// every Interval what the flow table queued (flows made, changed, ended:
// dataplane/flowtable/mirror.go, queued under the shard lock the packet
// holds anyway, no allocation) and a slice of the table again, so a full
// pass refreshes every idle deadline each Refresh, and the persistence
// records each PersistEvery. When the unit turns standby it sends what
// changed last and closes the stream.
//
// The standby installs what it receives (the flows with the same keys,
// which reserves their SNAT ports, member and state, looked up by name in
// its own program); it forwards nothing while standby (the dataplane's
// gate), and on taking over carries the flows on. What arrives while the
// unit is active is counted and dropped.
//
// The stream is TLS 1.3 (ha/trust) with config sync's device trust (the
// Trust interface, *cfgsync.Syncer): each side presents its device
// certificate and takes the other's only when it is a trusted device's;
// the receiver also requires the hello to name that device, and accepts
// the stream with one byte before any record is sent. Streams refused for
// want of trust are counted (Stats.Unauthenticated); at most maxPending
// are accepted at once.
//
// Goroutines: the sender and the listener, and one per received stream
// (its handshake bounded to 2 s); Close stops and waits for all of them.
package mirror
