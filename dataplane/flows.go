package dataplane

import (
	"lbx/dataplane/drop"
	"lbx/dataplane/flowtable"
)

// The flow table lives in dataplane/flowtable; these are the names the
// engine and its users know it by.

type (
	// Timeouts are the flow table's idle timeouts by state.
	Timeouts = flowtable.Timeouts
	// Connection is one flow as show sys connection lists it.
	Connection = flowtable.Connection
	// ConnFilter selects connections; a zero field matches any.
	ConnFilter = flowtable.ConnFilter
)

// FlowCapacityFor is the flow-table size lbx run picks for a machine with
// mem bytes of memory when the boot config leaves flows.capacity 0: the
// largest power of two whose table takes at most 1/64 of the memory, from
// 65,536 to 16,777,216 flows (128 bytes a flow).
func FlowCapacityFor(mem uint64) int { return flowtable.DefaultCapacity(mem) }

// MaxFlowBytes is what one flow of capacity costs at most, entry and index.
const MaxFlowBytes = flowtable.MaxBytesPerFlow

// refusalDrops names the drop for each reason the flow table refuses a
// new flow.
var refusalDrops = [...]drop.Reason{
	flowtable.OK:                 drop.None,
	flowtable.Full:               drop.FlowTableFull,
	flowtable.SNATPortsExhausted: drop.SNATPortsExhausted,
	flowtable.Collision:          drop.FlowCollision,
}

// DefaultTimeouts returns the appliance's flow timeouts.
func DefaultTimeouts() Timeouts { return flowtable.DefaultTimeouts() }

// Connections returns the engine's flows sel selects (show sys connection).
func (e *Engine) Connections(sel ConnFilter) []Connection {
	return e.flows.Connections(sel, e.clock.Now())
}

// DeleteConnections removes the engine's flows sel selects (delete sys
// connection) and returns how many.
func (e *Engine) DeleteConnections(sel ConnFilter) int { return e.flows.DeleteConnections(sel) }
