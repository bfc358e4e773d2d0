//go:build race

package ctlsock

// raceEnabled: the race detector slows the byte-by-byte JSON scan of a
// 19 MB message tenfold.
const raceEnabled = true
