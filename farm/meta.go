package farm

import (
	"errors"
	"fmt"
)

// State is a member's state as SafeKit names it.
type State byte

const (
	// StateWait: running but out of the load balancing (starting, or its
	// checker failed and its application is being restarted).
	StateWait State = 1
	// StateUp: in the load balancing, owning its share of buckets.
	StateUp State = 2
	// StateStop: stopped by the operator or after maxloop restarts; owns
	// no bucket, still visible to the farm.
	StateStop State = 3
)

func (s State) String() string {
	switch s {
	case StateWait:
		return "WAIT"
	case StateUp:
		return "UP"
	case StateStop:
		return "STOP"
	}
	return fmt.Sprintf("state(%d)", byte(s))
}

// Checker results in the meta.
const (
	checkNone   = 0
	checkOK     = 1
	checkFailed = 2
)

// bitmap is a set of buckets.
type bitmap [Buckets / 8]byte

func (b *bitmap) set(i int)      { b[i/8] |= 1 << (i % 8) }
func (b *bitmap) has(i int) bool { return b[i/8]&(1<<(i%8)) != 0 }
func (b *bitmap) count() int {
	n := 0
	for i := range Buckets {
		if b.has(i) {
			n++
		}
	}
	return n
}

// meta is what a member tells the others through memberlist's node
// metadata: its state, the buckets its filter accepts new flows in (Own or
// Take) and the buckets it still drains, and its checker's last result.
type meta struct {
	State    State
	Check    byte
	Restarts byte
	Owned    bitmap
	Draining bitmap
}

const metaVersion = 1
const metaLen = 4 + 2*len(bitmap{})

func (m meta) encode() []byte {
	b := make([]byte, 0, metaLen)
	b = append(b, metaVersion, byte(m.State), m.Check, m.Restarts)
	b = append(b, m.Owned[:]...)
	return append(b, m.Draining[:]...)
}

var errMeta = errors.New("farm: malformed member metadata")

func decodeMeta(b []byte) (meta, error) {
	var m meta
	if len(b) != metaLen || b[0] != metaVersion || b[1] < byte(StateWait) || b[1] > byte(StateStop) {
		return m, errMeta
	}
	m.State, m.Check, m.Restarts = State(b[1]), b[2], b[3]
	copy(m.Owned[:], b[4:])
	copy(m.Draining[:], b[4+len(bitmap{}):])
	return m, nil
}
