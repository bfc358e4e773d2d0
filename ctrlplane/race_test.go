//go:build race

package ctrlplane

// raceEnabled: the race detector slows the byte-by-byte JSON scan of a
// 15 MB message tenfold.
const raceEnabled = true
