// Package pools owns load-balancing decisions: the runtime form of a pool,
// its members, their per-member counters and the selection algorithms.
//
// It is pure logic: no I/O, no goroutines, no imports from the rest of lbx.
// A Pool is built once per applied configuration (by ctrlplane's compile) and
// is then read concurrently by the dataplane; the only state that changes
// after build is atomic (the round-robin cursor and member counters).
package pools
