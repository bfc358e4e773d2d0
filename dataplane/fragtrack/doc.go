// Package fragtrack tracks fragmented IPv4 datagrams without reassembling
// them: a fixed table of datagrams keyed by (source, destination,
// protocol, IP id), each with the byte ranges received so far and a value
// its first fragment recorded (for the dataplane, the first fragment's
// translation and next hop) for the later fragments to reuse.
//
// What it owns: Table (fragtrack.go). First records a datagram when its
// first fragment passes; Later places a later fragment, refusing one with
// no datagram tracked (NoFirst), one that overlaps bytes already received
// or belongs to a datagram already refused (Overlap), and one past the
// datagram's end or leaving more than MaxHoles holes (Malformed); a
// datagram is forgotten once complete. Bounds: MaxDatagrams at once (a
// full table first forgets the expired, then refuses), and Timeout from
// the first fragment, after which a datagram is forgotten; the methods
// return how many datagrams they forgot incomplete so the caller can
// count them. Times are the caller's monotonic nanoseconds (its injected
// clock).
//
// Why the dataplane tracks fragments instead of reassembling them (the
// engine's side is dataplane/frag.go):
//
// Why not reassemble: every buffer the dataplane owns is one frame
// (maxFrameLen); a reassembled 4 KB datagram fits none of them and would
// have to be fragmented again for the egress link, so reassembly would
// cost a second buffer pool, two copies and a fragmenter for nothing the
// member cannot do itself. Tracking holds no payload at all: its memory is
// a fixed table of fragtrack.MaxDatagrams entries (a few hundred bytes
// each), allocated on the first fragment the engine ever sees; the table is
// this package; dataplane/frag.go is the engine's side of it.
//
// What it costs: a later fragment that arrives before its datagram's first
// fragment cannot be placed and is dropped (drop.fragment-no-first). Linux
// and the BSDs send fragments in order, and a port delivers them in order
// (a NIC's RSS hashes fragments on addresses only, so one datagram stays
// on one queue). The first fragment's UDP checksum cannot be verified
// before the flow opens (it covers fragments not yet seen): the member's
// stack verifies it after reassembly.
//
// Lifecycle: the zero Table is ready; its entries are allocated whole on
// the first datagram and kept. The package starts no goroutines: the
// dataplane's receive goroutines call First and Later, its sweeper Sweep
// once a second; every method takes the table's one mutex, which only
// fragments ever reach.
package fragtrack
