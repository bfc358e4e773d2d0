// Package drop names the reasons the dataplane discards a frame: each has
// its own counter, "drop.<reason>" in show output and the metrics, and
// docs/DROPS.md says what each means and what to do about it.
package drop
