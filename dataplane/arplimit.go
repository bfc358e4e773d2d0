package dataplane

import "lbx/dataplane/neighbor"

// The ARP responder's per-source rate limit is neighbor.ARPLimiter, one
// per port goroutine.
const (
	arpReplyInterval = neighbor.ARPReplyInterval
	arpReplyBurst    = neighbor.ARPReplyBurst
	// conflictLogInterval spaces address-conflict log lines.
	conflictLogInterval = int64(10e9)
)
