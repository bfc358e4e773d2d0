//go:build !linux

package spareproc

// BackgroundNice: see background_linux.go.
const BackgroundNice = 10

// Background does nothing where lbx does not run in production.
func Background() error { return nil }
