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
// Lifecycle: the zero Table is ready; its entries are allocated whole on
// the first datagram and kept. The package starts no goroutines: the
// dataplane's receive goroutines call First and Later, its sweeper Sweep
// once a second; every method takes the table's one mutex, which only
// fragments ever reach.
package fragtrack
