// Package vrrp is VRRP version 3 for IPv4 (RFC 5798): the advertisement's
// wire form (encode, decode, checksum over the IPv4 pseudo-header), the
// Ethernet/IPv4 frame it travels in (224.0.0.18, protocol 112, TTL 255,
// destination MAC 01:00:5e:00:00:12), and the per-virtual-router state
// machine (Initialize, Backup, Master) with its timers on an injected
// clock.
//
// A Router starts no goroutines of its own: its timers are the clock's
// AfterFunc callbacks (the system clock's goroutines, or the goroutine that
// advances a manual clock in tests), and Receive runs on the caller's. All
// of them take the Router's one mutex; Send and OnState are called with it
// held, so they must not call back into the Router. Shutdown stops every
// timer; after it no callback runs.
//
// Reconfigure changes a running router's priority, preemption and
// interval (an operator's change) without restarting it.
//
// The package knows nothing of ports or configuration objects: the caller
// hands it decoded advertisements and gives it a function that puts one on
// the wire.
package vrrp
