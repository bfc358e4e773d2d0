package health

import (
	"errors"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"lbx/ctrlplane/config"

	"lbx/internal/clock"
	"lbx/monitors"
	"lbx/pools"
)

// Health monitoring glue: the running configuration's monitor rules become
// the monitor engine's checks, and the engine's transitions become the
// members' pools.Health, which the dataplane reads for every new
// connection. Results never pass through the configuration.
//
// A pool's rule is one check per member, keyed "POOL MEMBER". A node's rule
// is one check per node, keyed "node NODE", probing the node's address
// (and the monitor's destination port), however many pools use the node:
// BIG-IP probes a node once. A member is monitored when its pool or its
// node has a rule, and is available only when both pass: its state is the
// two checks' "and" (down if either is down, else checking, else disabled,
// else up). A node that its monitor marks down so takes every member on it
// down, with the reason "node monitor down: …".

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
	clock  clock.Clock
	logger *slog.Logger

	mu      sync.Mutex
	members map[string]*memberHealth // monitored members by checkKey(pool, member)
	checks  map[string]*checkHealth  // the engine's checks by key, as last reported
	pending *healthPlan              // from prepare, for the apply that follows
	undo    []healthUndo             // what prepare changed, for abort
}

// checkHealth is one check's state as the engine last reported it (Changes
// arrive in order), and the members whose state depends on it.
type checkHealth struct {
	state  monitors.State
	reason string
	users  []*memberHealth
}

// memberHealth is a monitored member's combined state: what its Health was
// last set to.
type memberHealth struct {
	pool, member string
	target       monitors.Target
	poolKey      string // "" when the pool has no monitor
	nodeKey      string // "" when the node has no monitor

	state       monitors.State
	reason      string
	since       time.Time
	transitions int
}

// healthPlan is what a configuration asks of the engine: the checks, and
// which checks each monitored member depends on.
type healthPlan struct {
	checks  []monitors.Check
	members []memberHealth // identity and keys only
}

// NewMonitoring builds the glue around a scheduler configuration whose
// OnChange it sets. mono is the dataplane's monotonic clock in ns (slow
// ramp counts from it).
func NewMonitoring(cfg monitors.Config, table HealthTable, mono func() int64) *Monitoring {
	m := &Monitoring{table: table, mono: mono, clock: cfg.Clock, logger: cfg.Logger,
		members: map[string]*memberHealth{}, checks: map[string]*checkHealth{}}
	if m.logger == nil {
		m.logger = slog.New(slog.DiscardHandler)
	}
	if m.clock == nil {
		m.clock = clock.System{}
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

// nodeCheckKey is a node's check key; pool names start with "/", so it
// never collides with a member's.
func nodeCheckKey(node string) string { return "node " + node }

// HealthState is the pools.HealthState a monitor state sets.
func HealthState(s monitors.State) pools.HealthState {
	if int(s) < len(healthOf) {
		return healthOf[s]
	}
	return pools.HealthUnchecked
}

var healthOf = [...]pools.HealthState{
	monitors.Checking: pools.HealthChecking,
	monitors.Up:       pools.HealthUp,
	monitors.Down:     pools.HealthDown,
	monitors.Disabled: pools.HealthDisabled,
}

// onChange takes a check's transition to the members that depend on it. It
// runs on the engine's goroutine, in order, so each member sees every
// state its checks went through.
func (m *Monitoring) onChange(c monitors.Change) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ch := m.checks[c.Key]
	if ch == nil {
		return // removed by an apply in progress
	}
	ch.state, ch.reason = c.To, c.Reason
	if node, ok := strings.CutPrefix(c.Key, "node "); ok {
		m.logger.Info("node health changed", "node", node,
			"from", c.From.String(), "to", c.To.String(), "monitor", c.Monitor, "reason", c.Reason)
	}
	for _, mh := range ch.users {
		m.recombineLocked(mh, c.Key, c.Monitor, c.At)
	}
}

// recombineLocked recomputes a member's state from its checks' and, when
// it moved, sets its Health, counts and logs the transition. cause is the
// key of the check that changed ("" for an apply); its reason is preferred.
func (m *Monitoring) recombineLocked(mh *memberHealth, cause, monitor string, at time.Time) {
	st, reason := m.combinedLocked(mh, cause)
	if st == mh.state {
		return
	}
	from := mh.state
	mh.state, mh.reason, mh.since = st, reason, at
	mh.transitions++
	if int(st) < len(healthOf) {
		m.table.MemberHealth(mh.pool, mh.member).Set(healthOf[st], m.mono())
	}
	m.logger.Info("pool member health changed", "pool", mh.pool, "member", mh.member,
		"from", from.String(), "to", st.String(), "monitor", monitor, "reason", reason)
}

// combinedLocked is a member's state under its pool's and its node's
// checks, and the reason of the check that decides it.
func (m *Monitoring) combinedLocked(mh *memberHealth, cause string) (monitors.State, string) {
	type part struct {
		key    string
		state  monitors.State
		reason string
	}
	var parts []part
	for _, k := range []string{mh.poolKey, mh.nodeKey} {
		if k == "" {
			continue
		}
		p := part{key: k, state: monitors.Checking, reason: "no verdict yet"}
		if ch := m.checks[k]; ch != nil {
			p.state, p.reason = ch.state, ch.reason
		}
		if k == mh.nodeKey {
			p.reason = "node monitor " + p.state.String() + ": " + p.reason
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return monitors.Checking, "no verdict yet"
	}
	if len(parts) == 2 && parts[1].key == cause {
		parts[0], parts[1] = parts[1], parts[0]
	}
	st := parts[0].state
	for _, p := range parts[1:] {
		if severity(p.state) > severity(st) {
			st = p.state
		}
	}
	for _, p := range parts {
		if p.state == st {
			return st, p.reason
		}
	}
	return st, parts[0].reason
}

// severity orders states for an "and" of checks: down, then checking, then
// disabled, then up.
func severity(s monitors.State) int {
	switch s {
	case monitors.Down:
		return 3
	case monitors.Checking:
		return 2
	case monitors.Disabled:
		return 1
	}
	return 0
}

// Prepare readies the monitor rules of c for the apply that installs c: it
// validates them, builds the checks, and returns apply, to call once the
// program is installed. When the install fails, Abort undoes it. The store
// drives it on every apply.
func (m *Monitoring) Prepare(c *config.Config) (apply func() error, err error) {
	checks, err := m.prepare(c)
	if err != nil {
		return nil, err
	}
	return func() error { return m.apply(checks) }, nil
}

// Validate checks the monitor rules of c as Prepare does, readying and
// marking nothing: a dry run's (store.Store.Check).
func (m *Monitoring) Validate(c *config.Config) error {
	_, err := monitorPlan(c)
	return err
}

// Abort undoes a Prepare whose install failed.
func (m *Monitoring) Abort() { m.abort() }

// prepare builds the checks of c and marks members that are about to be
// checked for the first time, or by a check that does not run yet, as
// checking (not available until a verdict) before the program that carries
// them is installed. It returns the checks for apply.
func (m *Monitoring) prepare(c *config.Config) ([]monitors.Check, error) {
	plan, err := monitorPlan(c)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.mono()
	m.undo = m.undo[:0]
	for i := range plan.members {
		pm := &plan.members[i]
		old := m.members[checkKey(pm.pool, pm.member)]
		fresh := old == nil
		for _, k := range []string{pm.poolKey, pm.nodeKey} {
			if k != "" && m.checks[k] == nil {
				fresh = true
			}
		}
		if fresh {
			h := m.table.MemberHealth(pm.pool, pm.member)
			st, at := h.Get()
			m.undo = append(m.undo, healthUndo{h, st, at})
			h.Set(pools.HealthChecking, now)
		}
	}
	m.pending = plan
	return plan.checks, nil
}

// healthUndo is a member Health as it was before prepare changed it.
type healthUndo struct {
	h     *pools.Health
	state pools.HealthState
	at    int64
}

// abort undoes prepare when the apply it prepared failed: members it put
// into checking get their previous state back.
func (m *Monitoring) abort() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.undo {
		u.h.Set(u.state, u.at)
	}
	m.undo = m.undo[:0]
	m.pending = nil
}

// apply hands the checks prepare returned to the scheduler, recombines
// every monitored member and releases the members that are no longer
// monitored (unchecked: available).
func (m *Monitoring) apply(checks []monitors.Check) error {
	m.mu.Lock()
	plan := m.pending
	m.pending = nil
	m.undo = m.undo[:0]
	if plan == nil || len(plan.checks) != len(checks) {
		m.mu.Unlock()
		return errors.New("monitoring: apply without a matching prepare")
	}
	// Index first, so a verdict the engine reports right after Update finds
	// its members.
	oldMembers := m.members
	for _, ch := range checks {
		if m.checks[ch.Key] == nil {
			m.checks[ch.Key] = &checkHealth{state: monitors.Checking, reason: "no verdict yet"}
		}
	}
	next := make(map[string]*memberHealth, len(plan.members))
	for i := range plan.members {
		pm := &plan.members[i]
		k := checkKey(pm.pool, pm.member)
		mh := oldMembers[k]
		if mh == nil {
			mh = &memberHealth{pool: pm.pool, member: pm.member,
				state: monitors.Checking, reason: "no verdict yet", since: m.clock.Now()}
		}
		mh.target, mh.poolKey, mh.nodeKey = pm.target, pm.poolKey, pm.nodeKey
		next[k] = mh
	}
	m.members = next
	m.linkUsersLocked()
	m.mu.Unlock()

	if err := m.sched.Update(checks); err != nil {
		m.mu.Lock()
		m.members = oldMembers
		m.linkUsersLocked()
		m.mu.Unlock()
		return err
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	keep := make(map[string]bool, len(checks))
	for _, ch := range checks {
		keep[ch.Key] = true
	}
	for k := range m.checks {
		if !keep[k] {
			delete(m.checks, k)
		}
	}
	now := m.clock.Now()
	for _, k := range slices.Sorted(maps.Keys(m.members)) {
		m.recombineLocked(m.members[k], "", "", now)
	}
	mono := m.mono()
	for k, mh := range oldMembers {
		if m.members[k] == nil {
			m.table.MemberHealth(mh.pool, mh.member).Set(pools.HealthUnchecked, mono)
		}
	}
	return nil
}

// linkUsersLocked rebuilds each check's list of dependent members.
func (m *Monitoring) linkUsersLocked() {
	for _, ch := range m.checks {
		ch.users = ch.users[:0]
	}
	for _, k := range slices.Sorted(maps.Keys(m.members)) {
		mh := m.members[k]
		for _, ck := range []string{mh.poolKey, mh.nodeKey} {
			if ch := m.checks[ck]; ck != "" && ch != nil {
				ch.users = append(ch.users, mh)
			}
		}
	}
}

// errNodeWildcard is BIG-IP's refusal of a service monitor without a port
// on a node (a node has an address, not a service).
var errNodeWildcard = errors.New("the monitor has a wildcard destination service and cannot be associated with a node")

// monitorPlan builds one check per member of every pool with a monitor
// rule and one per node with a monitor rule, and lists every member either
// makes monitored. The configuration has been validated.
func monitorPlan(c *config.Config) (*healthPlan, error) {
	specs := map[string]*monitors.Spec{}
	rule := func(obj config.Ref, r config.MonitorRule) (monitors.Rule, error) {
		out := monitors.Rule{Min: int(r.Min)}
		for _, n := range r.Names {
			sp := specs[n]
			if sp == nil {
				mon := c.LookupMonitor(n)
				if mon == nil {
					return out, config.Invalid(obj, "monitor "+n, config.ErrNoSuchMonitor)
				}
				var err error
				if sp, err = MonitorSpec(c, mon); err != nil {
					return out, err
				}
				specs[n] = sp
			}
			out.Specs = append(out.Specs, sp)
		}
		return out, nil
	}
	plan := &healthPlan{}
	nodeKeys := map[string]string{}
	for _, nd := range c.NodeList() {
		if len(nd.Monitor.Names) == 0 {
			continue
		}
		obj := nd.Ref()
		r, err := rule(obj, nd.Monitor)
		if err != nil {
			return nil, err
		}
		target := monitors.Target{Addr: nd.Address}
		for _, sp := range r.Specs {
			if sp.Resolve(target).Port == 0 && sp.Type != monitors.ICMP && sp.Type != monitors.GatewayICMP && sp.Type != monitors.External {
				return nil, config.Invalid(obj, "monitor "+sp.Name, errNodeWildcard)
			}
		}
		k := nodeCheckKey(nd.Name)
		nodeKeys[nd.Name] = k
		plan.checks = append(plan.checks, monitors.Check{Key: k, Target: target, Rule: r})
	}
	var anyPorts map[string]uint16 // made at the first monitored member on port 0
	for _, p := range c.PoolList() {
		var poolRule monitors.Rule
		if len(p.Monitor.Names) > 0 {
			var err error
			if poolRule, err = rule(p.Ref(), p.Monitor); err != nil {
				return nil, err
			}
		}
		for i := range p.Members {
			mb := &p.Members[i]
			if len(poolRule.Specs) == 0 && nodeKeys[mb.Node] == "" {
				continue // not monitored: nothing to plan (and no name to build)
			}
			pm := memberHealth{pool: p.Name, member: mb.Name(), nodeKey: nodeKeys[mb.Node],
				target: monitors.Target{Addr: mb.Address, Port: mb.Port}}
			if mb.Port == 0 {
				if anyPorts == nil {
					anyPorts = servicePorts(c)
				}
				pm.target.Port = anyPorts[p.Name]
			}
			if len(poolRule.Specs) > 0 {
				pm.poolKey = checkKey(p.Name, mb.Name())
				plan.checks = append(plan.checks, monitors.Check{Key: pm.poolKey, Target: pm.target, Rule: poolRule})
			}
			if pm.poolKey != "" || pm.nodeKey != "" {
				plan.members = append(plan.members, pm)
			}
		}
	}
	return plan, nil
}

// servicePorts gives the port a member on port 0 ("any", which takes the
// virtual server's port) is checked on, by pool: the lowest port of the
// virtual servers using the pool; a pool no virtual uses is absent (0). An
// Alteon group shared by several services is checked on one of them, the
// lowest. One walk over the virtuals serves every pool.
func servicePorts(c *config.Config) map[string]uint16 {
	out := map[string]uint16{}
	for _, v := range c.Virtuals {
		if p := v.Destination.Port(); v.Pool != "" && p != 0 {
			if cur, ok := out[v.Pool]; !ok || p < cur {
				out[v.Pool] = p
			}
		}
	}
	return out
}

// Checks returns the checks c's monitor rules ask for (one per monitored
// pool member, one per monitored node), as Prepare would start them; c
// has defaults applied and has been validated.
func Checks(c *config.Config) ([]monitors.Check, error) {
	plan, err := monitorPlan(c)
	if err != nil {
		return nil, err
	}
	return plan.checks, nil
}

var monitorTypes = [config.MonitorTypeCount]monitors.Type{
	config.MonitorICMP: monitors.ICMP, config.MonitorGatewayICMP: monitors.GatewayICMP, config.MonitorTCP: monitors.TCP,
	config.MonitorTCPHalfOpen: monitors.TCPHalfOpen, config.MonitorHTTP: monitors.HTTP, config.MonitorHTTPS: monitors.HTTPS,
	config.MonitorUDP: monitors.UDP, config.MonitorExternal: monitors.External,
}

// MonitorSpec turns a monitor's effective settings into the engine's spec.
// Errors name the monitor and property.
func MonitorSpec(c *config.Config, mon *config.Monitor) (*monitors.Spec, error) {
	e := c.EffectiveMonitor(mon)
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
	if e.Alteon() {
		s.Alteon, s.Retries, s.Restore = true, int(e.AlteonRetry.V), int(e.AlteonRestore.V)
	}
	if e.Args.V != "" {
		s.Args = strings.Fields(e.Args.V)
	}
	d, err := monitorTarget(e.Destination.V, mon.Type.AddressOnly())
	if err != nil {
		return nil, config.Invalid(mon.Ref(), "destination "+e.Destination.V, err)
	}
	s.Destination = d
	sp, err := monitors.CompileSpec(s, e.Recv.V, e.RecvDisable.V)
	if err != nil {
		return nil, config.Invalid(mon.Ref(), "", err)
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
		if host, port, err = config.SplitAddrPort(d); err != nil {
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
		p, err := config.ParsePort(port)
		if err != nil {
			return t, err
		}
		t.Port = p
	}
	return t, nil
}

// InstanceHealth is one monitor's view of one member for show ltm monitor:
// owner is "pool NAME" or "node NAME", target the member name (the node's
// address for a node).
func (m *Monitoring) InstanceHealth(owner, target, monitor string) (state, reason string, ok bool) {
	var key string
	if pool, isPool := strings.CutPrefix(owner, "pool "); isPool {
		key = checkKey(pool, target)
	} else if node, isNode := strings.CutPrefix(owner, "node "); isNode {
		key = nodeCheckKey(node)
	} else {
		return "", "", false
	}
	st, ok := m.sched.Status(key)
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

// MemberStatus returns a member's status under its pool's and its node's
// monitors: State, Reason, Since and Transitions are the member's combined
// ones (what its Health says and the log shows), Monitors lists the pool's
// monitors, then the node's. ok is false when neither has a monitor.
func (m *Monitoring) MemberStatus(pool, member string) (monitors.MemberStatus, bool) {
	m.mu.Lock()
	mh := m.members[checkKey(pool, member)]
	if mh == nil {
		m.mu.Unlock()
		return monitors.MemberStatus{}, false
	}
	cp := *mh
	m.mu.Unlock()
	st := monitors.MemberStatus{Key: checkKey(pool, member), Member: cp.target}
	if cp.poolKey != "" {
		if ps, ok := m.sched.Status(cp.poolKey); ok {
			st = ps
		}
	}
	if cp.nodeKey != "" {
		if ns, ok := m.sched.Status(cp.nodeKey); ok {
			st.Monitors = append(st.Monitors, ns.Monitors...)
		}
	}
	st.State, st.Reason, st.Since, st.Transitions = cp.state, cp.reason, cp.since, cp.transitions
	return st, true
}

// PoolMemberStatus returns the status of a member's pool monitors alone
// (MemberStatus adds its node's); ok is false when its pool has none.
func (m *Monitoring) PoolMemberStatus(pool, member string) (monitors.MemberStatus, bool) {
	return m.sched.Status(checkKey(pool, member))
}

// ProbeLatencies returns each monitor's histogram of probe durations.
func (m *Monitoring) ProbeLatencies() []monitors.Latency { return m.sched.ProbeLatencies() }

// NodeStatus returns the status of a node's own monitors; ok is false when
// the node has none.
func (m *Monitoring) NodeStatus(node string) (monitors.MemberStatus, bool) {
	return m.sched.Status(nodeCheckKey(node))
}

// Trace returns the last probes of a member's pool and node monitors,
// oldest first.
func (m *Monitoring) Trace(pool, member string) []monitors.Result {
	m.mu.Lock()
	var keys []string
	if mh := m.members[checkKey(pool, member)]; mh != nil {
		keys = []string{mh.poolKey, mh.nodeKey}
	}
	m.mu.Unlock()
	var out []monitors.Result
	for _, k := range keys {
		if k != "" {
			out = append(out, m.sched.Trace(k)...)
		}
	}
	slices.SortStableFunc(out, func(a, b monitors.Result) int { return a.End.Compare(b.End) })
	return out
}
