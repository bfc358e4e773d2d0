//go:build race

package dataplane

// raceEnabled: the race detector is on; sync.Pool then drops items at
// random on purpose, so pooled paths allocate now and then.
const raceEnabled = true
