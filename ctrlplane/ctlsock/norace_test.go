//go:build !race

package ctlsock

const raceEnabled = false
