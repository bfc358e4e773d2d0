package monitors

import (
	"fmt"
	"strconv"
	"time"
)

// State is the health of one monitor on one member, or of a member under
// its rule. lbx's pools.HealthState has the same values plus "unchecked"
// (no monitor), which the glue uses for members without a check.
type State uint8

const (
	// Checking: monitored, no verdict yet. Not available.
	Checking State = iota
	Up
	Down
	// Disabled: recv-disable matched. Keeps existing connections and
	// persisted clients, takes no new ones.
	Disabled
)

func (s State) String() string {
	switch s {
	case Checking:
		return "checking"
	case Up:
		return "up"
	case Down:
		return "down"
	case Disabled:
		return "disabled"
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// machine is the health of one monitor on one member: the BIG-IP and Alteon
// timing rules as a pure state machine fed with verdicts and deadlines. The
// Scheduler drives it; it starts no timers itself.
type machine struct {
	spec   *Spec
	state  State
	reason string
	since  time.Time

	start       time.Time // when checking began
	lastAlive   time.Time // last Success or Disable verdict; zero if none
	aliveUp     bool      // the member was up with up-interval in effect after lastAlive
	streakStart time.Time // first Success of the current success streak; zero if none
	successes   int       // consecutive
	failures    int       // consecutive
	held        bool      // manual resume: down until Resume

	probed      bool
	lastVerdict Verdict
	lastReason  string
	lastProbe   time.Time // arrival of the last verdict
}

func newMachine(spec *Spec, now time.Time) machine {
	return machine{spec: spec, state: Checking, reason: "no verdict yet", since: now, start: now}
}

// interval is the wait between the start of one probe and the next: the
// up-interval while the member is up and its last probe succeeded.
func (m *machine) interval() time.Duration {
	s := m.spec
	if !s.Alteon && s.UpInterval > 0 && m.state == Up && m.lastVerdict == Success {
		return s.UpInterval
	}
	return s.Interval
}

func (m *machine) set(s State, now time.Time, reason string) bool {
	if s == m.state {
		return false
	}
	if s == Down && (m.state == Up || m.state == Disabled) && m.spec.ManualResume {
		m.held = true
		reason += "; manual resume required"
	}
	m.state, m.since, m.reason = s, now, reason
	return true
}

// observe applies one verdict and reports whether the state changed.
func (m *machine) observe(now time.Time, v Verdict, reason string) bool {
	m.probed, m.lastVerdict, m.lastReason, m.lastProbe = true, v, reason, now
	switch v {
	case Success:
		m.successes++
		m.failures = 0
		if m.streakStart.IsZero() {
			m.streakStart = now
		}
	case Disable:
		m.successes, m.failures = 0, 0
		m.streakStart = time.Time{}
	default:
		m.failures++
		m.successes = 0
		m.streakStart = time.Time{}
	}
	if v != Failure {
		m.lastAlive = now
	}
	if m.spec.Alteon {
		return m.observeAlteon(now, v, reason)
	}
	return m.observeBIGIP(now, v, reason)
}

func (m *machine) observeBIGIP(now time.Time, v Verdict, reason string) bool {
	changed := false
	switch v {
	case Success:
		switch m.state {
		case Disabled:
			changed = m.set(Up, now, orDefault(reason, "probe succeeded"))
		case Checking, Down:
			if m.held {
				break
			}
			tuu := m.spec.TimeUntilUp
			if tuu > 0 && now.Sub(m.streakStart) < tuu {
				break
			}
			if tuu > 0 {
				reason = "probes succeeded for " + tuu.String()
			}
			changed = m.set(Up, now, orDefault(reason, "probe succeeded"))
		}
	case Disable:
		if !m.held {
			changed = m.set(Disabled, now, orDefault(reason, "recv-disable matched"))
		}
	}
	// Failures never mark down by themselves: the deadline does (expire).
	if v != Failure {
		m.aliveUp = m.state == Up
	}
	return changed
}

func (m *machine) observeAlteon(now time.Time, v Verdict, reason string) bool {
	s := m.spec
	switch v {
	case Success:
		switch {
		case m.held:
		case m.state == Checking:
			return m.set(Up, now, orDefault(reason, "first probe succeeded"))
		case m.state == Disabled:
			return m.set(Up, now, orDefault(reason, "probe succeeded"))
		case m.state == Down && m.successes >= s.Restore:
			return m.set(Up, now, fmt.Sprintf("%d consecutive successes", m.successes))
		}
	case Disable:
		if !m.held {
			return m.set(Disabled, now, orDefault(reason, "recv-disable matched"))
		}
	default:
		switch {
		case m.state == Checking:
			return m.set(Down, now, "first probe failed: "+orDefault(reason, "failure"))
		case (m.state == Up || m.state == Disabled) && m.failures >= s.Retries:
			return m.set(Down, now, fmt.Sprintf("%d consecutive failures; last: %s", m.failures, orDefault(reason, "failure")))
		}
	}
	return false
}

// downAt is when, under BIG-IP semantics, the member goes down unless an
// answer arrives first: Timeout after the last Success or Disable (after
// the start when there was none). When the member was up with an
// up-interval longer than the interval, the probes it skipped do not count:
// the deadline moves by UpInterval-Interval. ok is false when no deadline
// applies (Alteon semantics, or already down).
func (m *machine) downAt() (at time.Time, ok bool) {
	s := m.spec
	if s.Alteon || m.state == Down {
		return time.Time{}, false
	}
	base := m.start
	if !m.lastAlive.IsZero() {
		base = m.lastAlive
		if m.aliveUp && s.UpInterval > s.Interval {
			base = base.Add(s.UpInterval - s.Interval)
		}
	}
	return base.Add(s.Timeout), true
}

// expire marks the member down if its BIG-IP deadline has passed.
func (m *machine) expire(now time.Time) bool {
	at, ok := m.downAt()
	if !ok || now.Before(at) {
		return false
	}
	reason := "no successful probe within " + m.spec.Timeout.String()
	if m.probed && m.lastVerdict == Failure && m.lastReason != "" {
		reason += "; last: " + m.lastReason
	}
	return m.set(Down, now, reason)
}

// resume lifts a manual-resume hold. The member comes back at once if the
// last verdict allows it (for Success, with any time-until-up already
// served); otherwise the next good probe brings it back.
func (m *machine) resume(now time.Time) bool {
	if !m.held {
		return false
	}
	m.held = false
	if !m.probed {
		return false
	}
	switch m.lastVerdict {
	case Success:
		if m.spec.Alteon {
			if m.successes >= m.spec.Restore {
				return m.set(Up, now, "resumed by operator")
			}
			return false
		}
		if m.spec.TimeUntilUp > 0 && now.Sub(m.streakStart) < m.spec.TimeUntilUp {
			return false
		}
		return m.set(Up, now, "resumed by operator")
	case Disable:
		return m.set(Disabled, now, "resumed by operator; recv-disable matched")
	}
	return false
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// combine is a member's state under its rule: with min 0 all monitors must
// be up (down if any is down; else checking if any is checking; else
// disabled if any is disabled); with min n, up when at least n are up,
// disabled when at least n are up or disabled, checking while the checking
// ones could still make n, down otherwise.
func combine(states []State, min int) State {
	var up, down, checking, disabled int
	for _, s := range states {
		switch s {
		case Up:
			up++
		case Down:
			down++
		case Checking:
			checking++
		case Disabled:
			disabled++
		}
	}
	if min <= 0 || min > len(states) {
		switch {
		case down > 0:
			return Down
		case checking > 0:
			return Checking
		case disabled > 0:
			return Disabled
		}
		return Up
	}
	switch {
	case up >= min:
		return Up
	case up+disabled >= min:
		return Disabled
	case up+disabled+checking >= min:
		return Checking
	}
	return Down
}
