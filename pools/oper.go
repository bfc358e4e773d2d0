package pools

import "sync/atomic"

// OperState is an operator's runtime disable of a node (Alteon's
// /oper/slb/dis REAL): no new load-balanced connections to any of the
// node's members, as a user-disabled session, but without a configuration
// change — it is not saved and is lost on restart. The dataplane's runtime
// keeps one per node and shares it among the node's members in every pool.
type OperState struct {
	disabled atomic.Bool
}

// Disabled reports whether the operator disabled the node; a nil
// OperState is enabled.
func (o *OperState) Disabled() bool { return o != nil && o.disabled.Load() }

// SetDisabled disables (true) or enables (false) the node.
func (o *OperState) SetDisabled(v bool) { o.disabled.Store(v) }
