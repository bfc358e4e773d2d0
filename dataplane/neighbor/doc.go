// Package neighbor is one port's neighbour table: next-hop IPv4 address
// (host order) to MAC address, as ARP and gleaned packets teach it.
//
// What it owns: Table (neighbor.go), a copy-on-write snapshot behind an
// atomic pointer. Lookup4 and Lookup are the hot path: no lock, no
// allocation, no shared write. Learn publishes a new snapshot when an entry
// is new or its MAC changed (re-learning a known neighbour only reads);
// Fold rebuilds the base map with the recent changes in it. The table is
// bounded (maxNeighbors): past it no new neighbour is learned.
//
// It also owns ARPLimiter (arplimit.go), the ARP responder's per-sender
// reply budget, which each port goroutine of the engine keeps its own of.
//
// Lifecycle: the dataplane engine holds one Table per port, calls Init once
// when it adds the port, and never frees it. The package starts no
// goroutines: the engine's receive goroutines call Lookup4 and Learn
// concurrently, its sweeper Fold once a second; writers serialize on the
// table's mutex. The parking of packets that wait for a neighbour's ARP
// reply is the engine's (dataplane/pending.go).
package neighbor
