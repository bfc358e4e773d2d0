// Package ctrltest holds what the control plane's tests share: a recording
// fake Dataplane backed by the dataplane's own Runtime, the testbed's self
// IPs, and the testbed's default configuration. Test code only; production
// code never imports it.
//
// Goroutines: none.
package ctrltest
