package monitors

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"sync"
	"time"

	"lbx/internal/clock"
)

// ErrClosed is returned by Scheduler methods called after Close.
var ErrClosed = errors.New("monitors: scheduler closed")

// Defaults of Config.
const (
	DefaultMaxConcurrent = 256
	DefaultTraceDepth    = 8
)

// Config configures a Scheduler.
type Config struct {
	Prober Prober
	Clock  clock.Clock  // nil: clock.System
	Logger *slog.Logger // nil: discard
	// OnChange is called for every transition of a member's combined state,
	// in order, on the Scheduler's goroutine and without its lock: it may
	// call Status, Statuses, Trace and LastProbe, but not Update, Resume,
	// WaitIdle or Close. It should return quickly.
	OnChange func(Change)
	// MaxConcurrent bounds probes in flight; more wait their turn.
	MaxConcurrent int // 0: DefaultMaxConcurrent
	TraceDepth    int // results kept per monitor; 0: DefaultTraceDepth
}

// Rule is how a member's monitors combine: all must be up (Min 0), or at
// least Min of them (tmsh "min N of { ... }").
type Rule struct {
	Specs []*Spec
	Min   int
}

// Check is one monitored member.
type Check struct {
	Key    string // identity, e.g. "/Common/pool /Common/198.18.2.11:80"
	Target Target // the member; each Spec may override it (Spec.Resolve)
	Rule   Rule
}

// Change is a transition of a member's combined state.
type Change struct {
	Key     string
	Member  Target
	From    State
	To      State
	Monitor string // the monitor whose transition caused it; "" for a rule change
	Reason  string
	At      time.Time
}

// MemberStatus is a member's combined state and its monitors' states.
type MemberStatus struct {
	Key    string
	Member Target
	Min    int
	State  State
	Reason string
	Since  time.Time
	// Transitions counts the member's changes of State; the scheduler
	// leaves it 0 (OnChange reports each change), the control plane fills
	// it in for its combined member state.
	Transitions int
	Monitors    []MonitorStatus
}

// MonitorStatus is one monitor's view of a member.
type MonitorStatus struct {
	Name   string
	Type   Type
	Target Target // resolved destination
	State  State
	Reason string
	Since  time.Time
	// AwaitingResume: down under manual-resume; only Resume brings it back.
	AwaitingResume bool
	Probed         bool // false until the first verdict
	LastVerdict    Verdict
	LastReason     string
	LastProbe      time.Time // when the last verdict arrived
	Successes      int       // consecutive
	Failures       int       // consecutive
	InFlight       bool
	// LastDuration is how long the last probe took (its result's End -
	// Start); 0 before the first.
	LastDuration time.Duration
}

// Scheduler runs monitors against members and reports transitions.
//
// All health state is owned by one goroutine (the loop). Probes run on a
// pool of worker goroutines, at most MaxConcurrent at once, and hand their
// results back to the loop; timers do the same. Update and Resume run on
// the loop and wait for it; the read methods take a read lock.
type Scheduler struct {
	prober        Prober
	clock         clock.Clock
	log           *slog.Logger
	onChange      func(Change)
	maxConcurrent int
	traceDepth    int

	ctx       context.Context // parent of every probe's context
	cancel    context.CancelFunc
	done      chan struct{} // closed by Close
	loopDone  chan struct{}
	closeOnce sync.Once
	probes    sync.WaitGroup // the workers

	work work
	// jobs feeds the workers. It holds MaxConcurrent jobs, and at most
	// MaxConcurrent probes hold a slot (running), so the loop's send
	// never blocks.
	jobs chan job

	// mu guards the health state below. Only the loop writes it.
	mu      sync.RWMutex
	checks  map[string]*check
	running int                 // probes holding a concurrency slot
	workers int                 // worker goroutines started; never more than MaxConcurrent
	closing bool                // Close has begun: launch nothing more
	waiting []*monitor          // monitors due to probe, waiting for a slot
	changes []Change            // produced by the current loop event, delivered after it
	latency map[string]*Latency // probe durations by monitor name
}

type check struct {
	key    string
	target Target
	min    int
	mons   []*monitor
	state  State
	reason string
	since  time.Time
}

type monitor struct {
	chk      *check
	spec     *Spec
	m        machine
	tick     slot
	down     slot
	inflight *probe
	queued   bool // in Scheduler.waiting
	stopped  bool
	trace    []Result // newest last
}

// job is one probe handed to a worker.
type job struct {
	ctx    context.Context
	mon    *monitor
	p      *probe
	spec   *Spec
	target Target
}

type probe struct {
	cancel   context.CancelFunc
	start    time.Time
	deadline time.Time
	deliver  *slot // pending delivery of a result with a future End
	finished bool  // slot released
}

// slot is a re-armable timer whose callback runs on the loop only if it is
// still the current arming.
type slot struct {
	t   clock.Timer
	gen uint64
}

func (sl *slot) stop() {
	if sl.t != nil {
		sl.t.Stop()
		sl.t = nil
	}
	sl.gen++
}

// New starts a Scheduler with no checks.
func New(cfg Config) *Scheduler {
	s := &Scheduler{
		prober:        cfg.Prober,
		clock:         cfg.Clock,
		log:           cfg.Logger,
		onChange:      cfg.OnChange,
		maxConcurrent: cfg.MaxConcurrent,
		traceDepth:    cfg.TraceDepth,
		done:          make(chan struct{}),
		loopDone:      make(chan struct{}),
		checks:        make(map[string]*check),
	}
	if s.clock == nil {
		s.clock = clock.System{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxConcurrent <= 0 {
		s.maxConcurrent = DefaultMaxConcurrent
	}
	if s.traceDepth <= 0 {
		s.traceDepth = DefaultTraceDepth
	}
	if s.prober == nil {
		s.prober = ProberFunc(func(context.Context, *Spec, Target) Result {
			return Result{Verdict: Failure, Reason: "no prober configured"}
		})
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.work.wake = make(chan struct{}, 1)
	s.jobs = make(chan job, s.maxConcurrent)
	go s.loop()
	return s
}

// Close stops every check, cancels probes in flight and waits for every
// goroutine the Scheduler started. No Change is reported after it returns.
func (s *Scheduler) Close() error {
	s.closeOnce.Do(func() {
		s.work.close()
		close(s.done)
		<-s.loopDone
		s.mu.Lock()
		s.closing = true
		for _, c := range s.checks {
			for _, mon := range c.mons {
				s.stopLocked(mon)
			}
		}
		close(s.jobs) // the workers finish what is queued (cancelled) and end
		s.mu.Unlock()
		s.cancel()
		s.probes.Wait()
	})
	return nil
}

// WaitIdle blocks until the Scheduler has nothing to do until its clock
// moves: no event queued or running and no probe executing (results with a
// simulated future End count as waiting for the clock). With a clock.Manual
// use it as the settle step of Manual.AdvanceSettled.
func (s *Scheduler) WaitIdle(ctx context.Context) error {
	ch := s.work.idleChan()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-s.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Update replaces the set of checks. Monitors whose (key, target, monitor
// name) persists with an Equal Spec keep their state, timing and trace;
// changed monitors start over (checking); removed checks stop, their probes
// in flight are cancelled and their results ignored, and no Change is
// reported for them. A new check starts in Checking, also without a
// Change (the caller knows it added it). New monitors start with a
// staggered first probe (see StaggerOffset). A check whose target changed restarts as new, and its
// Change (to checking) is reported. On a validation error nothing changes.
func (s *Scheduler) Update(checks []Check) error {
	if err := validateChecks(checks); err != nil {
		return err
	}
	return s.call(func() { s.updateLocked(checks) })
}

// Resume lifts a manual-resume hold on every monitor of the member (the
// operator enabled it). The member comes up at once when its monitors'
// last verdicts allow, otherwise at the next good probe.
func (s *Scheduler) Resume(key string) error {
	var err error
	cerr := s.call(func() {
		c, ok := s.checks[key]
		if !ok {
			err = fmt.Errorf("monitors: resume %s: no such check", key)
			return
		}
		now := s.clock.Now()
		for _, mon := range c.mons {
			if mon.m.resume(now) {
				s.monitorChangedLocked(mon, now)
			}
			s.armDownLocked(mon)
		}
	})
	if cerr != nil {
		return cerr
	}
	return err
}

// Status returns one member's status.
func (s *Scheduler) Status(key string) (MemberStatus, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.checks[key]
	if !ok {
		return MemberStatus{}, false
	}
	return c.status(), true
}

// Statuses returns every member's status, sorted by key.
func (s *Scheduler) Statuses() []MemberStatus {
	s.mu.RLock()
	out := make([]MemberStatus, 0, len(s.checks))
	for _, c := range s.checks {
		out = append(out, c.status())
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b MemberStatus) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// Trace returns the last TraceDepth results of each of the member's
// monitors, merged oldest first. The results share their Packets slices
// with the Scheduler: do not modify them.
func (s *Scheduler) Trace(key string) []Result {
	s.mu.RLock()
	var out []Result
	if c, ok := s.checks[key]; ok {
		for _, mon := range c.mons {
			out = append(out, mon.trace...)
		}
	}
	s.mu.RUnlock()
	slices.SortStableFunc(out, func(a, b Result) int { return a.End.Compare(b.End) })
	return out
}

// LastProbe returns the last result of one monitor on a member.
func (s *Scheduler) LastProbe(key, monitor string) (Result, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.checks[key]
	if !ok {
		return Result{}, false
	}
	for _, mon := range c.mons {
		if mon.spec.Name == monitor && len(mon.trace) > 0 {
			return mon.trace[len(mon.trace)-1], true
		}
	}
	return Result{}, false
}

// StaggerOffset is the delay of a new monitor's first probe: a hash of the
// member's key and the monitor's name, within one interval (to the
// millisecond when the interval allows), so members do not probe in
// lockstep and a restart probes them at the same phase again.
func StaggerOffset(key, monitor string, interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write([]byte(monitor))
	unit := time.Duration(1)
	if interval >= time.Millisecond {
		unit = time.Millisecond
	}
	return time.Duration(h.Sum64()%uint64(interval/unit)) * unit
}

func validateChecks(checks []Check) error {
	seen := make(map[string]bool, len(checks))
	for _, c := range checks {
		if c.Key == "" {
			return errors.New("monitors: check with empty key")
		}
		if seen[c.Key] {
			return fmt.Errorf("monitors: check %s: duplicate key", c.Key)
		}
		seen[c.Key] = true
		if len(c.Rule.Specs) == 0 {
			return fmt.Errorf("monitors: check %s: rule has no monitor", c.Key)
		}
		if c.Rule.Min < 0 || c.Rule.Min > len(c.Rule.Specs) {
			return fmt.Errorf("monitors: check %s: min %d of %d monitors", c.Key, c.Rule.Min, len(c.Rule.Specs))
		}
		names := make(map[string]bool, len(c.Rule.Specs))
		for _, sp := range c.Rule.Specs {
			if err := sp.Validate(); err != nil {
				return fmt.Errorf("monitors: check %s: %w", c.Key, err)
			}
			if names[sp.Name] {
				return fmt.Errorf("monitors: check %s: monitor %s listed twice", c.Key, sp.Name)
			}
			names[sp.Name] = true
		}
	}
	return nil
}

func (c *check) status() MemberStatus {
	st := MemberStatus{Key: c.key, Member: c.target, Min: c.min, State: c.state, Reason: c.reason, Since: c.since}
	for _, mon := range c.mons {
		m := &mon.m
		st.Monitors = append(st.Monitors, MonitorStatus{
			Name: mon.spec.Name, Type: mon.spec.Type, Target: mon.spec.Resolve(c.target),
			State: m.state, Reason: m.reason, Since: m.since, AwaitingResume: m.held,
			Probed: m.probed, LastVerdict: m.lastVerdict, LastReason: m.lastReason, LastProbe: m.lastProbe,
			Successes: m.successes, Failures: m.failures, InFlight: mon.inflight != nil,
			LastDuration: mon.lastDuration(),
		})
	}
	return st
}

// --- the loop and its work queue ---

// work is the loop's queue of events and the count of unfinished work
// (queued events plus executing probes) that WaitIdle waits on.
type work struct {
	mu      sync.Mutex
	queue   []func()
	pending int
	idle    chan struct{} // closed when pending drops to zero; nil while idle
	closed  bool
	wake    chan struct{}
}

func (w *work) addLocked() {
	if w.pending == 0 {
		w.idle = make(chan struct{})
	}
	w.pending++
}

func (w *work) doneOne() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending--
	if w.pending == 0 {
		close(w.idle)
		w.idle = nil
	}
}

func (w *work) begin() {
	w.mu.Lock()
	w.addLocked()
	w.mu.Unlock()
}

func (w *work) post(fn func()) bool {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return false
	}
	w.queue = append(w.queue, fn)
	w.addLocked()
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return true
}

func (w *work) next() (func(), bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		return nil, false
	}
	fn := w.queue[0]
	w.queue[0] = nil
	w.queue = w.queue[1:]
	return fn, true
}

func (w *work) idleChan() chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.idle
}

func (w *work) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}

// post queues fn to run on the loop with mu held.
func (s *Scheduler) post(fn func()) bool { return s.work.post(fn) }

// call runs fn on the loop and waits for it.
func (s *Scheduler) call(fn func()) error {
	ran := make(chan struct{})
	if !s.post(func() { fn(); close(ran) }) {
		return ErrClosed
	}
	select {
	case <-ran:
		return nil
	case <-s.done:
		select {
		case <-ran:
			return nil
		default:
			return ErrClosed
		}
	}
}

func (s *Scheduler) loop() {
	defer close(s.loopDone)
	for {
		fn, ok := s.work.next()
		if !ok {
			select {
			case <-s.work.wake:
				continue
			case <-s.done:
				return
			}
		}
		select {
		case <-s.done:
			return
		default:
		}
		s.mu.Lock()
		fn()
		changes := s.changes
		s.changes = nil
		s.mu.Unlock()
		for _, ch := range changes {
			s.report(ch)
		}
		s.work.doneOne()
	}
}

func (s *Scheduler) report(ch Change) {
	level := slog.LevelInfo
	if ch.To == Down {
		level = slog.LevelWarn
	}
	s.log.Log(context.Background(), level, "member health changed",
		"key", ch.Key, "member", ch.Member.String(), "from", ch.From.String(), "to", ch.To.String(),
		"monitor", ch.Monitor, "reason", ch.Reason)
	if s.onChange != nil {
		s.onChange(ch)
	}
}

// arm (re)schedules sl to run fn on the loop after d.
func (s *Scheduler) arm(sl *slot, d time.Duration, fn func()) {
	sl.stop()
	gen := sl.gen
	sl.t = s.clock.AfterFunc(d, func() {
		s.post(func() {
			if sl.gen != gen {
				return
			}
			sl.t = nil
			fn()
		})
	})
}

// --- everything below runs on the loop with mu held ---

func (s *Scheduler) updateLocked(checks []Check) {
	now := s.clock.Now()
	next := make(map[string]*check, len(checks))
	for _, nc := range checks {
		old, ok := s.checks[nc.Key]
		if ok && old.target != nc.Target {
			s.stopCheckLocked(old)
			c := s.newCheckLocked(nc, now)
			if old.state != c.state {
				s.changes = append(s.changes, Change{Key: c.key, Member: c.target, From: old.state, To: c.state,
					Reason: "member address changed", At: now})
			}
			next[nc.Key] = c
			continue
		}
		if !ok {
			next[nc.Key] = s.newCheckLocked(nc, now)
			continue
		}
		// Keep the monitors whose spec is unchanged.
		byName := make(map[string]*monitor, len(old.mons))
		for _, mon := range old.mons {
			byName[mon.spec.Name] = mon
		}
		mons := make([]*monitor, 0, len(nc.Rule.Specs))
		var fresh []*monitor
		for _, sp := range nc.Rule.Specs {
			if mon, ok := byName[sp.Name]; ok && mon.spec.Equal(sp) {
				mon.spec = sp
				mon.m.spec = sp
				delete(byName, sp.Name)
				mons = append(mons, mon)
				continue
			}
			mon := &monitor{chk: old, spec: sp, m: newMachine(sp, now)}
			mons = append(mons, mon)
			fresh = append(fresh, mon)
		}
		for _, mon := range byName {
			s.stopLocked(mon)
		}
		old.mons = mons
		old.min = nc.Rule.Min
		for _, mon := range fresh {
			s.startMonitorLocked(mon, now)
		}
		s.recombineLocked(old, now, "", "monitors changed")
		next[nc.Key] = old
	}
	for key, c := range s.checks {
		if _, ok := next[key]; !ok {
			s.stopCheckLocked(c)
		}
	}
	s.checks = next
}

func (s *Scheduler) newCheckLocked(nc Check, now time.Time) *check {
	c := &check{key: nc.Key, target: nc.Target, min: nc.Rule.Min, state: Checking, reason: "no verdict yet", since: now}
	for _, sp := range nc.Rule.Specs {
		c.mons = append(c.mons, &monitor{chk: c, spec: sp, m: newMachine(sp, now)})
	}
	for _, mon := range c.mons {
		s.startMonitorLocked(mon, now)
	}
	return c
}

// startMonitorLocked arms a new monitor: the staggered first probe and,
// under BIG-IP semantics, the deadline of its first verdict.
func (s *Scheduler) startMonitorLocked(mon *monitor, now time.Time) {
	s.armDownLocked(mon)
	off := StaggerOffset(mon.chk.key, mon.spec.Name, mon.spec.Interval)
	if off == 0 {
		s.launchLocked(mon)
		return
	}
	s.arm(&mon.tick, off, func() { s.launchLocked(mon) })
}

func (s *Scheduler) stopCheckLocked(c *check) {
	for _, mon := range c.mons {
		s.stopLocked(mon)
	}
}

func (s *Scheduler) stopLocked(mon *monitor) {
	mon.stopped = true
	mon.tick.stop()
	mon.down.stop()
	if mon.queued {
		mon.queued = false
		s.waiting = slices.DeleteFunc(s.waiting, func(m *monitor) bool { return m == mon })
	}
	if p := mon.inflight; p != nil {
		mon.inflight = nil
		p.cancel()
		if p.deliver != nil {
			p.deliver.stop()
			s.finishLocked(p)
		}
		// A probe still executing releases its slot when it returns.
	}
}

// armDownLocked (re)arms the BIG-IP deadline of mon.
func (s *Scheduler) armDownLocked(mon *monitor) {
	at, ok := mon.m.downAt()
	if !ok {
		mon.down.stop()
		return
	}
	expire := func() {
		now := s.clock.Now()
		if mon.m.expire(now) {
			s.monitorChangedLocked(mon, now)
		}
	}
	if d := at.Sub(s.clock.Now()); d > 0 {
		s.arm(&mon.down, d, expire)
		return
	}
	mon.down.stop()
	expire()
}

// launchLocked starts a probe of mon, or queues it for a free slot.
func (s *Scheduler) launchLocked(mon *monitor) {
	if mon.stopped || mon.inflight != nil || s.closing {
		return
	}
	if s.running >= s.maxConcurrent {
		if !mon.queued {
			mon.queued = true
			s.waiting = append(s.waiting, mon)
		}
		return
	}
	s.running++
	now := s.clock.Now()
	deadline := now.Add(mon.spec.probeTimeout(mon.m.interval()))
	ctx, cancel := clock.WithDeadline(s.ctx, s.clock, deadline)
	p := &probe{cancel: cancel, start: now, deadline: deadline}
	mon.inflight = p
	spec, member := mon.spec, mon.chk.target
	target := spec.Resolve(member)
	s.work.begin()
	if s.workers < s.running {
		// Every worker is busy or has a job waiting: one more, up to
		// MaxConcurrent. Workers live until Close, their stacks grown.
		s.workers++
		s.probes.Add(1)
		go s.worker()
	}
	s.jobs <- job{ctx: ctx, mon: mon, p: p, spec: spec, target: target}
}

// worker runs probes until Close closes the job queue.
func (s *Scheduler) worker() {
	defer s.probes.Done()
	for j := range s.jobs {
		s.runJob(j)
	}
}

func (s *Scheduler) runJob(j job) {
	defer s.work.doneOne()
	res := s.prober.Probe(j.ctx, j.spec, j.target)
	mon, p, target := j.mon, j.p, j.target
	s.post(func() { s.returnedLocked(mon, p, res, target) })
}

// returnedLocked takes a Prober's result back on the loop.
func (s *Scheduler) returnedLocked(mon *monitor, p *probe, res Result, target Target) {
	p.cancel()
	if mon.inflight != p {
		s.finishLocked(p) // stopped meanwhile
		return
	}
	now := s.clock.Now()
	res.Monitor, res.Target = mon.spec.Name, target
	if res.Start.IsZero() {
		res.Start = p.start
	}
	if res.End.IsZero() || res.End.Before(res.Start) {
		res.End = now
	}
	if res.End.After(now) {
		// A simulated latency; never beyond the probe's deadline.
		if res.End.After(p.deadline) {
			res.End = p.deadline
		}
		p.deliver = &slot{}
		s.arm(p.deliver, res.End.Sub(now), func() { s.deliverLocked(mon, p, res) })
		return
	}
	s.deliverLocked(mon, p, res)
}

// deliverLocked applies a result to the monitor's state and schedules the
// next probe at the later of now and the last start plus the interval.
func (s *Scheduler) deliverLocked(mon *monitor, p *probe, res Result) {
	s.finishLocked(p)
	if mon.inflight != p {
		return
	}
	mon.inflight = nil
	now := s.clock.Now()
	mon.record(res, s.traceDepth)
	s.observeLatencyLocked(mon.spec, res.End.Sub(res.Start))
	if mon.m.observe(now, res.Verdict, res.Reason) {
		s.monitorChangedLocked(mon, now)
	}
	s.armDownLocked(mon)
	d := p.start.Add(mon.m.interval()).Sub(now)
	if d <= 0 {
		s.launchLocked(mon)
		return
	}
	s.arm(&mon.tick, d, func() { s.launchLocked(mon) })
}

// finishLocked releases p's concurrency slot, once, and starts a waiter.
func (s *Scheduler) finishLocked(p *probe) {
	if p.finished {
		return
	}
	p.finished = true
	s.running--
	for len(s.waiting) > 0 && s.running < s.maxConcurrent {
		mon := s.waiting[0]
		s.waiting[0] = nil
		s.waiting = s.waiting[1:]
		mon.queued = false
		s.launchLocked(mon)
	}
}

func (mon *monitor) lastDuration() time.Duration {
	if len(mon.trace) == 0 {
		return 0
	}
	r := &mon.trace[len(mon.trace)-1]
	return r.End.Sub(r.Start)
}

func (mon *monitor) record(res Result, depth int) {
	if len(mon.trace) >= depth {
		n := copy(mon.trace, mon.trace[len(mon.trace)-depth+1:])
		clear(mon.trace[n:])
		mon.trace = mon.trace[:n]
	}
	mon.trace = append(mon.trace, res)
}

func (s *Scheduler) monitorChangedLocked(mon *monitor, now time.Time) {
	s.log.Debug("monitor state changed", "key", mon.chk.key, "monitor", mon.spec.Name,
		"state", mon.m.state.String(), "reason", mon.m.reason)
	reason := mon.spec.Name + ": " + mon.m.reason
	s.recombineLocked(mon.chk, now, mon.spec.Name, reason)
}

// recombineLocked recomputes a member's state under its rule and records a
// Change when it moved.
func (s *Scheduler) recombineLocked(c *check, now time.Time, monitor, reason string) {
	states := make([]State, len(c.mons))
	up := 0
	for i, mon := range c.mons {
		states[i] = mon.m.state
		if states[i] == Up {
			up++
		}
	}
	st := combine(states, c.min)
	if st == c.state {
		return
	}
	if c.min > 0 {
		reason = fmt.Sprintf("%s (%d of %d monitors up, min %d)", reason, up, len(c.mons), c.min)
	}
	s.changes = append(s.changes, Change{Key: c.key, Member: c.target, From: c.state, To: st,
		Monitor: monitor, Reason: reason, At: now})
	c.state, c.reason, c.since = st, reason, now
}
