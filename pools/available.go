package pools

// Availability, as on BIG-IP, for a new load-balanced connection: a member
// is available when
//
//   - its monitor state is unchecked (no monitor) or up — checking, down and
//     disabled (a recv-disable match) are not;
//   - it is not user-disabled (Disabled) and not forced offline, on the
//     member or its node, and its node is not disabled by the operator at
//     runtime (Oper, Alteon's /oper/slb/dis);
//   - its current connections are below its connection limit, if it has one;
//   - its node's current connections (across all pools) are below the node
//     connection limit, if there is one.
//
// A member that is unavailable only because of a connection limit also
// counts as unavailable for priority-group activation, as on BIG-IP.

// Reasons Reason returns.
const (
	ReasonAvailable           = "available"
	ReasonForcedOffline       = "forced offline"
	ReasonDisabled            = "disabled"
	ReasonOperDisabled        = "disabled (operational)"
	ReasonMonitorDown         = "monitor down"
	ReasonMonitorChecking     = "monitor checking"
	ReasonMonitorDisabled     = "monitor disabled"
	ReasonConnectionLimit     = "connection limit"
	ReasonNodeConnectionLimit = "node connection limit"
	ReasonNoSuchMember        = "no such member"
)

// stateOK reports whether member i's admin and monitor state allow new
// load-balanced connections (connection limits aside).
func (p *Pool) stateOK(i int) bool {
	m := &p.Members[i]
	if m.Disabled || m.ForcedOffline || m.Oper.Disabled() {
		return false
	}
	switch m.Health.State() {
	case HealthUnchecked, HealthUp:
		return true
	}
	return false
}

// underLimits reports whether member i and its node are below their
// connection limits.
func (p *Pool) underLimits(i int) bool { return p.limitReason(i) == "" }

// limitReason names the connection limit member i has reached, "" for none.
func (p *Pool) limitReason(i int) string {
	m := &p.Members[i]
	if m.ConnLimit > 0 && p.conns(i) >= int64(m.ConnLimit) {
		return ReasonConnectionLimit
	}
	if m.NodeConnLimit > 0 && p.nodeConns(i) >= int64(m.NodeConnLimit) {
		return ReasonNodeConnectionLimit
	}
	return ""
}

// Available reports whether member i may take a new load-balanced
// connection now (see the rules above). It does not consider priority
// groups. now is accepted for symmetry with Reason and future time-based
// states; availability itself does not depend on it.
func (p *Pool) Available(i int, now int64) bool {
	if i < 0 || i >= len(p.Members) {
		return false
	}
	return p.stateOK(i) && p.underLimits(i)
}

// Reason says why member i is not available, for show output, or
// "available". When several reasons hold, the first in this order is
// given: forced offline, disabled, monitor down, monitor checking, monitor
// disabled, connection limit, node connection limit.
func (p *Pool) Reason(i int, now int64) string {
	if i < 0 || i >= len(p.Members) {
		return ReasonNoSuchMember
	}
	m := &p.Members[i]
	switch {
	case m.ForcedOffline:
		return ReasonForcedOffline
	case m.Disabled:
		return ReasonDisabled
	case m.Oper.Disabled():
		return ReasonOperDisabled
	}
	switch m.Health.State() {
	case HealthDown:
		return ReasonMonitorDown
	case HealthChecking:
		return ReasonMonitorChecking
	case HealthDisabled:
		return ReasonMonitorDisabled
	}
	if r := p.limitReason(i); r != "" {
		return r
	}
	return ReasonAvailable
}

// persistUsable reports whether a persisted client may still be sent to
// member i: BIG-IP honours a persistence record even when the member is
// user-disabled, monitor-disabled or outside the active priority groups,
// but not when it is forced offline or its monitor says down (or is still
// checking). Connection limits apply unless the persistence profile
// overrides them.
func (p *Pool) persistUsable(i int, overrideLimits bool) bool {
	m := &p.Members[i]
	if m.ForcedOffline {
		return false
	}
	switch m.Health.State() {
	case HealthDown, HealthChecking:
		return false
	}
	return overrideLimits || p.underLimits(i)
}
