// Package layers holds no code: its test checks that lbx's packages keep
// the dependency directions of shared/DESIGN.md's package map (a package
// importing what the map forbids fails it), that every package has a
// doc.go, and that none grows past the size at which it should be split.
//
// Goroutines: none.
package layers
