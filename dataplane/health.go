package dataplane

import (
	"fmt"
	"sync/atomic"
)

// The appliance's own health, as HA's fail-safes read it (package ha):
// each port worker's heartbeat, and each port's link.

// heartbeat counts a port worker's batches: odd while it is in one (from
// after the read returned until its frames are written), even while it
// waits for frames. Only the worker writes it, twice a batch; the watchdog
// reads it a few times a second. A worker whose count stays odd is stuck
// in a batch; one whose count stays even is idle, which is no fault.
type heartbeat struct {
	_ [56]byte // its own cache line: the other fields are read per packet
	n atomic.Uint64
	_ [56]byte
}

func (h *heartbeat) enter() { h.n.Add(1) }
func (h *heartbeat) leave() { h.n.Add(1) }

// Heartbeats appends each port worker's heartbeat count to dst, in the
// order of Ports: odd while the worker is inside a batch. A count that is
// odd and has not moved for a while is a stuck worker.
func (e *Engine) Heartbeats(dst []uint64) []uint64 {
	for _, p := range e.ports {
		dst = append(dst, p.beat.n.Load())
	}
	return dst
}

// LinkStater is implemented by ports that know whether their link is up
// (the TAP device is up and has a carrier, the AF_XDP interface is up
// with its peer up).
type LinkStater interface {
	// LinkUp reports whether the port's link is up; err when it cannot
	// tell.
	LinkUp() (bool, error)
}

// LinkUp reports whether port's link is up. A port that cannot tell
// (LinkStater not implemented) is up.
func (e *Engine) LinkUp(port string) (bool, error) {
	i, ok := e.portIdx[port]
	if !ok {
		return false, fmt.Errorf("dataplane: link state: no such port %q", port)
	}
	if ls, ok := e.ports[i].port.(LinkStater); ok {
		return ls.LinkUp()
	}
	return true, nil
}
