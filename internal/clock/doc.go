// Package clock owns lbx's injectable time: the Clock interface that every
// component whose timers decide behaviour takes (the dataplane's flow and
// neighbour timeouts, the monitor scheduler and its probers, later the HA
// timers), the real clock System, and Manual, a clock for tests that moves
// only when told to. On top of any Clock it builds WithDeadline, a context
// that ends at a deadline read on that clock, and Every, a periodic timer.
//
// Production code takes a Clock and defaults to System{}; tests pass a
// *Manual and advance it instead of sleeping, so time-driven behaviour is
// deterministic on a busy machine. Engine.Mono and similar monotonic
// counters are derived from a Clock's Now by their owners; this package
// does not keep one.
//
// # Goroutines
//
// The package starts none of its own. System runs AfterFunc callbacks in
// their own goroutines, as time.AfterFunc does. Manual runs them on the
// goroutine that calls Advance, AdvanceTo or AdvanceSettled, one at a time
// in order of due time (then of creation), with Now reading each timer's
// due time while it runs; a callback may arm further timers, and those due
// within the same advance fire in it. A Manual is safe for concurrent use.
//
// It imports nothing of lbx, so every package may import it.
package clock
