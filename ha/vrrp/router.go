package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"lbx/internal/clock"
)

// State is a virtual router's state (RFC 5798 §6.4).
type State uint8

// The states.
const (
	Initialize State = iota
	Backup
	Master
)

func (s State) String() string {
	switch s {
	case Initialize:
		return "initialize"
	case Backup:
		return "backup"
	case Master:
		return "master"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Config is one virtual router.
type Config struct {
	VRID     uint8
	Priority uint8 // 1..255; 255 only for the address owner
	// Preempt lets a higher-priority Backup take over from a lower-priority
	// Master (RFC 5798's Preempt_Mode; true by default there).
	Preempt bool
	// PreemptDelay holds preemption off for this long after the router
	// starts (keepalived's preempt_delay, BIG-IP's failback delay): a
	// restarted unit first learns who is master.
	PreemptDelay time.Duration
	// Interval is the Advertisement_Interval: a multiple of 10ms, from
	// 10ms to 40.95s.
	Interval time.Duration
	// Primary is the address advertisements are sent from (the port's
	// self IP); it breaks priority ties.
	Primary netip.Addr
	// Addrs are the virtual addresses advertised.
	Addrs []netip.Addr
}

// Validate checks c, naming the field at fault.
func (c Config) Validate() error {
	switch {
	case c.VRID == 0:
		return errors.New("vrid: must be 1..255")
	case c.Priority == 0:
		return errors.New("priority: must be 1..255 (0 is sent only on shutdown)")
	case c.Interval < 10*time.Millisecond || c.Interval > MaxInterval*10*time.Millisecond:
		return fmt.Errorf("advert-interval: %v, must be 10ms..40.95s", c.Interval)
	case c.Interval%(10*time.Millisecond) != 0:
		return fmt.Errorf("advert-interval: %v is not a whole number of centiseconds", c.Interval)
	case c.PreemptDelay < 0:
		return fmt.Errorf("preempt-delay: %v is negative", c.PreemptDelay)
	case !c.Primary.Is4():
		return fmt.Errorf("primary address: %v is not IPv4", c.Primary)
	case len(c.Addrs) > MaxAddrs:
		return fmt.Errorf("addresses: %d, at most %d", len(c.Addrs), MaxAddrs)
	}
	for _, a := range c.Addrs {
		if !a.Is4() {
			return fmt.Errorf("addresses: %v is not IPv4", a)
		}
	}
	return nil
}

// centis returns d in centiseconds.
func centis(d time.Duration) uint16 { return uint16(d / (10 * time.Millisecond)) }

// Hooks are a Router's outputs. Both are called with the Router's lock
// held and must not call back into it.
type Hooks struct {
	// Send puts an advertisement on the wire.
	Send func(Advert)
	// OnState reports a transition. On entering Master the caller sends
	// gratuitous ARP for the virtual addresses and starts answering for
	// them; on leaving it, it stops at once.
	OnState func(from, to State)
}

// Router is one VRRP virtual router.
type Router struct {
	clk   clock.Clock
	hooks Hooks

	mu                  sync.Mutex
	cfg                 Config
	state               State
	masterAdverInterval time.Duration
	started             time.Time // when Start ran: the preempt delay counts from here
	yield               bool      // Standby: behave as non-preempting and stay out of Master until the master is lost
	gen                 uint64    // bumped on every timer change; stale callbacks see a newer value and return
	timer               clock.Timer
	masterAddr          netip.Addr // the current master's primary address, as last heard
	masterPrio          uint8
}

// New returns a Router in Initialize. It sends nothing until Start.
func New(cfg Config, clk clock.Clock, hooks Hooks) (*Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("vrrp vrid %d: %w", cfg.VRID, err)
	}
	if hooks.Send == nil {
		hooks.Send = func(Advert) {}
	}
	if hooks.OnState == nil {
		hooks.OnState = func(State, State) {}
	}
	cfg.Addrs = append([]netip.Addr(nil), cfg.Addrs...)
	return &Router{clk: clk, hooks: hooks, cfg: cfg}, nil
}

// State returns the router's state.
func (r *Router) State() State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

// Status is a snapshot for show commands.
type Status struct {
	State                         State
	Priority                      uint8
	Interval, MasterAdverInterval time.Duration
	MasterDownInterval            time.Duration
	Master                        netip.Addr // the master's primary address (ours when Master)
	MasterPriority                uint8
	Yielding                      bool
}

// Status returns the router's status.
func (r *Router) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := Status{State: r.state, Priority: r.cfg.Priority, Interval: r.cfg.Interval,
		MasterAdverInterval: r.masterAdverInterval, MasterDownInterval: r.masterDownIntervalLocked(),
		Master: r.masterAddr, MasterPriority: r.masterPrio, Yielding: r.yield}
	if r.state == Master {
		st.Master, st.MasterPriority = r.cfg.Primary, r.cfg.Priority
	}
	return st
}

func (r *Router) skewLocked() time.Duration {
	return time.Duration(256-int(r.cfg.Priority)) * r.masterAdverInterval / 256
}

func (r *Router) masterDownIntervalLocked() time.Duration {
	return 3*r.masterAdverInterval + r.skewLocked()
}

// armLocked replaces the one pending timer (Adver_Timer in Master,
// Master_Down_Timer in Backup) with one firing f after d.
func (r *Router) armLocked(d time.Duration, f func()) {
	r.stopLocked()
	gen := r.gen
	r.timer = r.clk.AfterFunc(d, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.gen != gen {
			return
		}
		f()
	})
}

func (r *Router) stopLocked() {
	r.gen++
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
}

func (r *Router) setStateLocked(s State) {
	if s == r.state {
		return
	}
	from := r.state
	r.state = s
	r.hooks.OnState(from, s)
}

func (r *Router) advertLocked(prio uint8) {
	r.hooks.Send(Advert{VRID: r.cfg.VRID, Priority: prio, Interval: centis(r.cfg.Interval), Addrs: r.cfg.Addrs})
}

// Start is the Startup event: the address owner (priority 255) becomes
// Master at once, any other router Backup with the master-down timer
// running. Start on a started router does nothing.
func (r *Router) Start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state != Initialize {
		return
	}
	r.started = r.clk.Now()
	r.masterAdverInterval = r.cfg.Interval
	if r.cfg.Priority == 255 {
		r.becomeMasterLocked()
		return
	}
	r.becomeBackupLocked(r.masterDownIntervalLocked())
}

func (r *Router) becomeMasterLocked() {
	r.advertLocked(r.cfg.Priority)
	r.masterAddr, r.masterPrio = netip.Addr{}, 0
	r.armLocked(r.cfg.Interval, r.adverTimerLocked)
	r.setStateLocked(Master)
}

func (r *Router) becomeBackupLocked(down time.Duration) {
	r.armLocked(down, r.masterDownLocked)
	r.setStateLocked(Backup)
}

func (r *Router) adverTimerLocked() {
	r.advertLocked(r.cfg.Priority)
	r.armLocked(r.cfg.Interval, r.adverTimerLocked)
}

func (r *Router) masterDownLocked() {
	r.yield = false // the master is gone: a yielded unit takes over again
	r.becomeMasterLocked()
}

// Shutdown is the Shutdown event: a Master sends one advertisement with
// priority 0, so a Backup takes over after its skew time instead of the
// whole master-down interval; every timer stops and the router returns to
// Initialize (Start starts it again).
func (r *Router) Shutdown() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopLocked()
	if r.state == Master {
		r.advertLocked(0)
	}
	r.setStateLocked(Initialize)
}

// Standby hands mastership over (tmsh `run sys failover standby`): a
// Master sends priority 0 and becomes Backup, and the router then behaves
// as a non-preempting one until the master it yielded to is lost (its
// master-down timer fires) or Online is called. A Backup just yields.
func (r *Router) Standby() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.yield = true
	if r.state == Master {
		r.advertLocked(0)
		r.becomeBackupLocked(r.masterDownIntervalLocked())
	}
}

// Online ends a Standby's yielding (and starts a router in Initialize).
func (r *Router) Online() {
	r.mu.Lock()
	r.yield = false
	init := r.state == Initialize
	r.mu.Unlock()
	if init {
		r.Start()
	}
}

// preemptsLocked reports whether a Backup should ignore an advert of
// priority p from a lower-priority master and so let its master-down timer
// run out.
func (r *Router) preemptsLocked(p uint8) bool {
	if !r.cfg.Preempt || r.yield || p >= r.cfg.Priority {
		return false
	}
	return !r.clk.Now().Before(r.started.Add(r.cfg.PreemptDelay))
}

// Receive handles an advertisement from src (already decoded and checked:
// TTL, checksum, version). Adverts of another VRID are ignored.
func (r *Router) Receive(src netip.Addr, a Advert) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a.VRID != r.cfg.VRID || src == r.cfg.Primary {
		return
	}
	switch r.state {
	case Backup:
		if a.Priority == 0 {
			r.masterAddr, r.masterPrio = netip.Addr{}, 0
			r.armLocked(r.skewLocked(), r.masterDownLocked)
			return
		}
		if r.preemptsLocked(a.Priority) {
			return
		}
		r.masterAddr, r.masterPrio = src, a.Priority
		r.masterAdverInterval = time.Duration(a.Interval) * 10 * time.Millisecond
		if r.masterAdverInterval == 0 {
			r.masterAdverInterval = r.cfg.Interval
		}
		r.armLocked(r.masterDownIntervalLocked(), r.masterDownLocked)
	case Master:
		if a.Priority == 0 {
			r.advertLocked(r.cfg.Priority)
			r.armLocked(r.cfg.Interval, r.adverTimerLocked)
			return
		}
		if a.Priority > r.cfg.Priority || (a.Priority == r.cfg.Priority && src.Compare(r.cfg.Primary) > 0) {
			r.masterAddr, r.masterPrio = src, a.Priority
			r.masterAdverInterval = time.Duration(a.Interval) * 10 * time.Millisecond
			if r.masterAdverInterval == 0 {
				r.masterAdverInterval = r.cfg.Interval
			}
			r.becomeBackupLocked(r.masterDownIntervalLocked())
		}
	}
}

// Settings are the router's settings an operator changes at run time.
type Settings struct {
	Priority     uint8 // 1..254: run-time changes never make the address owner
	Preempt      bool
	PreemptDelay time.Duration
	Interval     time.Duration
}

// Settings returns the router's current settings.
func (r *Router) Settings() Settings {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Settings{Priority: r.cfg.Priority, Preempt: r.cfg.Preempt, PreemptDelay: r.cfg.PreemptDelay, Interval: r.cfg.Interval}
}

// Reconfigure changes the settings of a running router without
// restarting it, or refuses them (naming the field) and keeps the old
// ones. A Master with a new priority or interval advertises at once and
// then at the new interval, so a Backup that now outranks it and preempts
// takes over as RFC 5798 has it (its master-down timer runs out). A Backup
// keeps listening: the new priority and preemption decide on the next
// advertisement, and its skew follows the new priority from then on; its
// own interval matters once it is Master (a Backup times the master by
// the interval the master advertises). The preempt delay still counts
// from the router's start.
func (r *Router) Reconfigure(s Settings) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.cfg
	c.Priority, c.Preempt, c.PreemptDelay, c.Interval = s.Priority, s.Preempt, s.PreemptDelay, s.Interval
	if s.Priority == 255 {
		return errors.New("priority: 255 (the address owner): must be 1..254")
	}
	if err := c.Validate(); err != nil {
		return err
	}
	old := r.cfg
	r.cfg = c
	if r.state == Master && (old.Priority != c.Priority || old.Interval != c.Interval) {
		r.advertLocked(r.cfg.Priority)
		r.armLocked(r.cfg.Interval, r.adverTimerLocked)
	}
	return nil
}
