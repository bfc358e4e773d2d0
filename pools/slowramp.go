package pools

// Slow ramp (BIG-IP slow-ramp-time): a member whose monitor brought it up
// less than SlowRamp ago takes a growing share of the traffic it would get
// at full weight:
//
//	share = (now - t) / SlowRamp, clamped to [0, 1]
//
// where t is the later of the monotonic time its Health entered HealthUp
// (Health.Get) and the time the configuration re-enabled it
// (Member.EnabledAt). A member without a monitor (nil Health, or
// HealthUnchecked) ramps only from its re-enabling; no member ramps when
// SlowRamp is 0.
//
// How the share is applied depends on the method family:
//
//   - Rotation methods (round-robin, ratio-*, dynamic-ratio-*, observed-*,
//     predictive-*): when the rotation lands on a ramping member, it accepts
//     the connection only on the calls where floor(k·share) steps up, k
//     being the member's own acceptance counter; that is exactly a fraction
//     share of its turns, deterministically (Bresenham-style, share in
//     1/65536 steps). A declined turn passes to the next candidate in
//     rotation order under the same rule; if every candidate declines the
//     first one is used.
//   - Least-metric methods (least-connections-*, weighted- and
//     ratio-least-connections-*, fastest-*, least-sessions, ratio-session):
//     the ramping member's metric is divided by max(share, 1/1024), so in
//     steady state it carries about share times the load of its peers.
//   - Hash methods (source-address-*, alteon-*, maglev) ignore slow ramp:
//     ramping would move clients between members.

// rampFloor bounds the divisor least-metric methods use for a member whose
// ramp has just begun.
const rampFloor = 1.0 / 1024

// shareOne is 1.0 in the fixed point rotation methods use.
const shareOne = 1 << 16

// RampShare returns member i's slow-ramp share at now, in [0, 1]; 1 means
// not ramping.
func (p *Pool) RampShare(i int, now int64) float64 {
	if i < 0 || i >= len(p.Members) {
		return 1
	}
	return p.share(i, now)
}

func (p *Pool) share(i int, now int64) float64 {
	if p.slowRamp <= 0 {
		return 1
	}
	m := &p.Members[i]
	st, since := m.Health.Get()
	switch st {
	case HealthUp:
	case HealthUnchecked:
		since = 0
	default:
		return 1
	}
	since = max(since, m.EnabledAt)
	if since == 0 {
		return 1
	}
	el := now - since
	if el >= p.slowRamp {
		return 1
	}
	if el <= 0 {
		return 0
	}
	return float64(el) / float64(p.slowRamp)
}

// rampAccept reports whether the rotation may give this turn to member i.
func (p *Pool) rampAccept(i int, now int64) bool {
	sh := p.share(i, now)
	if sh >= 1 || len(p.st) != len(p.Members) {
		return true
	}
	q := uint64(sh * shareOne)
	k := p.st[i].ramp.Add(1)
	return (k*q)>>16 != ((k-1)*q)>>16
}

// rampMetric applies the least-metric slow-ramp rule to member i's metric.
func (p *Pool) rampMetric(i int, now int64, v float64) float64 {
	if sh := p.share(i, now); sh < 1 {
		return v / max(sh, rampFloor)
	}
	return v
}

// RampStart is a member's slow-ramp start (EnabledAt) in a pool rebuilt
// by an apply: now when the change makes it available again (in the
// running pool, old, it was disabled or forced offline, on itself or its
// node), else what it had in the running pool, so that slow ramp starts
// at the re-enabling and survives later applies; 0 for a member the
// running pool did not have (old nil).
func RampStart(old, m *Member, now int64) int64 {
	switch {
	case old == nil:
		return 0
	case (old.Disabled || old.ForcedOffline) && !m.Disabled && !m.ForcedOffline:
		return now
	default:
		return old.EnabledAt
	}
}
