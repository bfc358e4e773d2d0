package ctrlplane

import (
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"lbx/monitors"
	"lbx/pools"
)

// Health monitoring glue: the running configuration's monitor rules become
// the monitor engine's checks (one per monitored pool member, keyed by
// "POOL MEMBER"), and the engine's transitions become the members'
// pools.Health, which the dataplane reads for every new connection. Results
// never pass through the configuration.

// HealthTable hands out a member's Health by identity; the dataplane Engine
// keeps them across applies (Engine.MemberHealth).
type HealthTable interface {
	MemberHealth(pool, member string) *pools.Health
}

// Monitoring is the monitor engine attached to a Store.
type Monitoring struct {
	sched  *monitors.Scheduler
	table  HealthTable
	mono   func() int64 // monotonic ns for Health.Set
	logger *slog.Logger

	mu      sync.Mutex
	checked map[string]bool // keys with a check in the scheduler
}

// NewMonitoring builds the glue around a scheduler configuration whose
// OnChange it sets. mono is the dataplane's monotonic clock in ns (slow
// ramp counts from it).
func NewMonitoring(cfg monitors.Config, table HealthTable, mono func() int64) *Monitoring {
	m := &Monitoring{table: table, mono: mono, logger: cfg.Logger, checked: map[string]bool{}}
	if m.logger == nil {
		m.logger = slog.New(slog.DiscardHandler)
	}
	cfg.OnChange = m.onChange
	m.sched = monitors.New(cfg)
	return m
}

// Scheduler returns the engine, for tests and show.
func (m *Monitoring) Scheduler() *monitors.Scheduler { return m.sched }

// Close stops every probe.
func (m *Monitoring) Close() error { return m.sched.Close() }

func checkKey(pool, member string) string { return pool + " " + member }

func splitKey(key string) (pool, member string) {
	pool, member, _ = strings.Cut(key, " ")
	return pool, member
}

var healthOf = [...]pools.HealthState{
	monitors.Checking: pools.HealthChecking,
	monitors.Up:       pools.HealthUp,
	monitors.Down:     pools.HealthDown,
	monitors.Disabled: pools.HealthDisabled,
}

func (m *Monitoring) onChange(c monitors.Change) {
	pool, member := splitKey(c.Key)
	if int(c.To) < len(healthOf) {
		m.table.MemberHealth(pool, member).Set(healthOf[c.To], m.mono())
	}
	m.logger.Info("pool member health changed", "pool", pool, "member", member,
		"from", c.From.String(), "to", c.To.String(), "monitor", c.Monitor, "reason", c.Reason)
}

// prepare marks members that are about to be checked for the first time as
// checking (not available until a verdict) before the program that carries
// them is installed. It returns the checks for apply.
func (m *Monitoring) prepare(c *Config) ([]monitors.Check, error) {
	checks, err := monitorChecks(c)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.mono()
	for _, ch := range checks {
		if !m.checked[ch.Key] {
			pool, member := splitKey(ch.Key)
			m.table.MemberHealth(pool, member).Set(pools.HealthChecking, now)
		}
	}
	return checks, nil
}

// apply hands the checks to the scheduler and releases the members that
// are no longer monitored (unchecked: available).
func (m *Monitoring) apply(checks []monitors.Check) error {
	if err := m.sched.Update(checks); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	next := make(map[string]bool, len(checks))
	for _, ch := range checks {
		next[ch.Key] = true
	}
	now := m.mono()
	for k := range m.checked {
		if !next[k] {
			pool, member := splitKey(k)
			m.table.MemberHealth(pool, member).Set(pools.HealthUnchecked, now)
		}
	}
	m.checked = next
	return nil
}

// monitorChecks builds one check per member of every pool with a monitor
// rule. The configuration has been validated.
func monitorChecks(c *Config) ([]monitors.Check, error) {
	specs := map[string]*monitors.Spec{}
	var checks []monitors.Check
	for _, p := range c.PoolList() {
		if len(p.Monitor.Names) == 0 {
			continue
		}
		rule := monitors.Rule{Min: int(p.Monitor.Min)}
		for _, n := range p.Monitor.Names {
			sp := specs[n]
			if sp == nil {
				mon := c.monitor(n)
				if mon == nil {
					return nil, fmt.Errorf("ltm pool %s: monitor %s: %w", p.Name, n, ErrNoSuchMonitor)
				}
				var err error
				if sp, err = monitorSpec(c, mon); err != nil {
					return nil, err
				}
				specs[n] = sp
			}
			rule.Specs = append(rule.Specs, sp)
		}
		for i := range p.Members {
			mb := &p.Members[i]
			checks = append(checks, monitors.Check{
				Key:    checkKey(p.Name, mb.Name()),
				Target: monitors.Target{Addr: mb.Address, Port: mb.Port},
				Rule:   rule,
			})
		}
	}
	return checks, nil
}

var monitorTypes = [monitorTypeCount]monitors.Type{
	MonitorICMP: monitors.ICMP, MonitorGatewayICMP: monitors.GatewayICMP, MonitorTCP: monitors.TCP,
	MonitorTCPHalfOpen: monitors.TCPHalfOpen, MonitorHTTP: monitors.HTTP, MonitorHTTPS: monitors.HTTPS,
	MonitorUDP: monitors.UDP, MonitorExternal: monitors.External,
}

// monitorSpec turns a monitor's effective settings into the engine's spec.
// Errors name the monitor and property.
func monitorSpec(c *Config, mon *Monitor) (*monitors.Spec, error) {
	e := c.effectiveMonitor(mon)
	obj := "ltm monitor " + mon.Type.String() + " " + mon.Name
	sec := func(v uint32) time.Duration { return time.Duration(v) * time.Second }
	s := monitors.Spec{
		Name: mon.Name, Type: monitorTypes[mon.Type],
		Interval: sec(e.Interval.V), Timeout: sec(e.Timeout.V), UpInterval: sec(e.UpInterval.V),
		TimeUntilUp: sec(e.TimeUntilUp.V), ManualResume: e.ManualResume.V,
		Send: e.Send.V, Run: e.Run.V, // the lexer has resolved the escapes
	}
	if e.CloseCheck.V {
		s.CloseCheck = monitors.CloseLegacy
	}
	if e.Args.V != "" {
		s.Args = strings.Fields(e.Args.V)
	}
	d, err := monitorTarget(e.Destination.V, mon.Type.addressOnly())
	if err != nil {
		return nil, &ValidationError{Object: obj, Property: "destination " + e.Destination.V, Err: err}
	}
	s.Destination = d
	sp, err := monitors.CompileSpec(s, e.Recv.V, e.RecvDisable.V)
	if err != nil {
		return nil, &ValidationError{Object: obj, Err: err}
	}
	return sp, nil
}

// monitorTarget reads a destination parseMonitorDestination canonicalized:
// "*:*", "*:80", "10.0.0.1:80"; "*" or an address for address-only types.
func monitorTarget(d string, addressOnly bool) (monitors.Target, error) {
	var t monitors.Target
	host, port := d, "*"
	if !addressOnly {
		var err error
		if host, port, err = splitAddrPort(d); err != nil {
			return t, err
		}
	}
	if host != "*" {
		a, err := netip.ParseAddr(host)
		if err != nil {
			return t, err
		}
		t.Addr = a
	}
	if port != "*" {
		p, err := parsePort(port)
		if err != nil {
			return t, err
		}
		t.Port = p
	}
	return t, nil
}

// InstanceHealth is one monitor's view of one member for show ltm monitor:
// owner is "pool NAME" or "node NAME", target the member name.
func (m *Monitoring) InstanceHealth(owner, target, monitor string) (state, reason string, ok bool) {
	pool, isPool := strings.CutPrefix(owner, "pool ")
	if !isPool {
		return "unchecked", "node monitors are not run yet", true
	}
	st, ok := m.sched.Status(checkKey(pool, target))
	if !ok {
		return "", "", false
	}
	for _, ms := range st.Monitors {
		if ms.Name == monitor {
			return ms.State.String(), ms.Reason, true
		}
	}
	return "", "", false
}

// MemberStatus returns a member's combined monitor status.
func (m *Monitoring) MemberStatus(pool, member string) (monitors.MemberStatus, bool) {
	return m.sched.Status(checkKey(pool, member))
}
