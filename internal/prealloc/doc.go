// Package prealloc owns two helpers for building many objects at once —
// an apply of 10,000 virtual servers and 100,000 members: Grown, a map
// sized for the entries about to be added, instead of one grown step by
// step (each step rehashing what it holds), and Take, values handed out
// from one slice allocated for a batch instead of one allocation each.
// The store sizes the candidate's maps with them, the dataplane's runtime
// its live-state maps and a pool's new member state.
//
// # Goroutines
//
// None; the helpers keep no state and are safe wherever their arguments
// are.
package prealloc
