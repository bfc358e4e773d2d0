package ha

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"lbx/internal/clock"
)

// Failsafe is what makes a unit give traffic-group-1 up besides a dead
// peer, in BIG-IP's words: a VLAN fail-safe (a data port's link down), a
// gateway fail-safe (a pool with too few members up) and the appliance's
// own health (a port worker stuck in a batch). While any of them holds,
// the unit fails over: priority 0 if it was active, then it stays out of
// the election, standby; when none holds any more it rejoins as backup
// and preempts again if its settings say so.
type Failsafe struct {
	// VLANs are data ports whose link going down fails the unit over.
	VLANs []string
	// GatewayPool names a pool (its full path) that must keep at least
	// GatewayMinUp members up by its monitor.
	GatewayPool  string
	GatewayMinUp int
	// Watchdog fails the unit over when a port worker has been inside one
	// batch for this long; 0 turns it off.
	Watchdog time.Duration
}

// Enabled reports whether any fail-safe is configured.
func (f Failsafe) Enabled() bool {
	return len(f.VLANs) > 0 || f.GatewayPool != "" || f.Watchdog > 0
}

// FailsafeInterval is how often the fail-safes are checked.
const FailsafeInterval = 100 * time.Millisecond

// Health is what the fail-safes read of the dataplane: *dataplane.Engine.
type Health interface {
	LinkUp(port string) (bool, error)
	Heartbeats(dst []uint64) []uint64
}

// PoolUp reports how many of a pool's members are up and how many it
// has; ok is false when there is no such pool.
type PoolUp func(pool string) (up, total int, ok bool)

// failsafe is a unit's fail-safe state.
type failsafe struct {
	cfg    Failsafe
	health Health // nil: the dataplane cannot tell (no VLAN or watchdog checks)
	ticker *clock.Ticker

	// checkMu serializes the checks and guards what they read and keep.
	// The checks call out (the dataplane, the pools' status, which takes
	// the config store's lock) with it held, so it is never taken with
	// mu held: a show command runs under the store's lock and takes mu.
	checkMu sync.Mutex
	poolUp  PoolUp
	beats   []uint64 // each worker's heartbeat at the last check
	scratch []uint64
	moved   []time.Time // when each worker's heartbeat last moved

	// mu serializes the unit's moves in and out of the election
	// (fail-safes, offline, online) and guards the fields below. It is
	// taken before the router's lock, never inside it.
	mu      sync.Mutex
	conds   []string // the conditions holding, as show cm failover-status prints them
	shown   Failsafe // cfg as Status reads it (cfg is checkMu's)
	tripped bool
	closed  bool
	online  bool // run sys failover online came while tripped
}

// SetPoolUp gives the gateway fail-safe its view of the pools' members;
// call it before Start. The checks call f one at a time.
func (u *Unit) SetPoolUp(f PoolUp) {
	u.fs.checkMu.Lock()
	u.fs.poolUp = f
	u.fs.checkMu.Unlock()
}

// startFailsafe checks the fail-safes once, starts the router unless one
// holds, and then checks them every FailsafeInterval (Start), also when
// none is configured: SetFailsafe may add one.
func (u *Unit) startFailsafe() {
	u.fs.mu.Lock()
	u.fs.shown = u.fs.cfg
	u.fs.mu.Unlock()
	u.fs.checkMu.Lock()
	conds := u.conditions(u.clk.Now())
	u.fs.checkMu.Unlock()
	u.fs.mu.Lock()
	u.fs.conds = conds
	u.fs.tripped = len(u.fs.conds) > 0
	if u.fs.tripped {
		u.log.Warn("ha: fail-safe: traffic-group-1 stays standby", "unit", u.cfg.Unit, "conditions", strings.Join(u.fs.conds, "; "))
	} else {
		u.r.Start()
	}
	u.fs.mu.Unlock()
	u.fs.ticker = clock.Every(u.clk, FailsafeInterval, u.checkFailsafe)
}

// stopFailsafe stops the checks (Close); a check under way finds closed.
func (u *Unit) stopFailsafe() {
	u.fs.mu.Lock()
	u.fs.closed = true
	u.fs.mu.Unlock()
	if u.fs.ticker != nil {
		u.fs.ticker.Stop()
	}
}

// conditions returns the fail-safe conditions that hold now; checkMu is
// held.
func (u *Unit) conditions(now time.Time) []string {
	fs := &u.fs
	var conds []string
	if fs.health != nil {
		for _, port := range fs.cfg.VLANs {
			up, err := fs.health.LinkUp(port)
			switch {
			case err != nil:
				conds = append(conds, fmt.Sprintf("vlan-failsafe %s: link state unknown: %v", port, err))
			case !up:
				conds = append(conds, fmt.Sprintf("vlan-failsafe %s: link down", port))
			}
		}
	}
	if p := fs.cfg.GatewayPool; p != "" {
		switch {
		case fs.poolUp == nil:
			conds = append(conds, fmt.Sprintf("gateway-failsafe %s: no pool status", p))
		default:
			up, total, ok := fs.poolUp(p)
			switch {
			case !ok:
				conds = append(conds, fmt.Sprintf("gateway-failsafe %s: no such pool", p))
			case up < fs.cfg.GatewayMinUp:
				conds = append(conds, fmt.Sprintf("gateway-failsafe %s: %d of %d members up, min-up-members %d", p, up, total, fs.cfg.GatewayMinUp))
			}
		}
	}
	if fs.cfg.Watchdog > 0 && fs.health != nil {
		beats := fs.health.Heartbeats(fs.scratch[:0])
		if len(fs.moved) != len(beats) {
			fs.moved = make([]time.Time, len(beats))
			for i := range fs.moved {
				fs.moved[i] = now
			}
		}
		for i, b := range beats {
			if i >= len(fs.beats) || b != fs.beats[i] {
				fs.moved[i] = now
			}
		}
		for i, b := range beats {
			if stuck := now.Sub(fs.moved[i]); b%2 == 1 && stuck >= fs.cfg.Watchdog {
				conds = append(conds, fmt.Sprintf("dataplane-watchdog: worker %d stuck in a batch for %v", i, stuck.Round(time.Millisecond)))
			}
		}
		fs.beats, fs.scratch = beats, fs.beats
	}
	return conds
}

// checkFailsafe is one round of checks: it fails the unit over when a
// condition starts to hold and brings it back when none does.
func (u *Unit) checkFailsafe() {
	fs := &u.fs
	fs.checkMu.Lock()
	defer fs.checkMu.Unlock()
	conds := u.conditions(u.clk.Now())
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.closed {
		return
	}
	changed := strings.Join(conds, "\n") != strings.Join(fs.conds, "\n")
	fs.conds = conds
	switch {
	case len(conds) > 0 && !fs.tripped:
		fs.tripped = true
		u.log.Warn("ha: fail-safe: traffic-group-1 fails over", "unit", u.cfg.Unit, "conditions", strings.Join(conds, "; "))
		u.r.Shutdown() // priority 0 if active, then silence
		u.dp.SetStandby(true)
	case len(conds) == 0 && fs.tripped:
		fs.tripped = false
		u.log.Info("ha: fail-safe conditions cleared: traffic-group-1 rejoins the election", "unit", u.cfg.Unit)
		if u.isOffline() {
			return
		}
		if fs.online {
			fs.online = false
			u.r.Online()
		} else {
			u.r.Start()
		}
	case changed && len(conds) > 0:
		u.log.Warn("ha: fail-safe conditions", "unit", u.cfg.Unit, "conditions", strings.Join(conds, "; "))
	}
}

func (u *Unit) isOffline() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.offline
}

// failsafeConditions returns the conditions holding and the fail-safes
// configured, for Status.
func (u *Unit) failsafeConditions() ([]string, Failsafe) {
	u.fs.mu.Lock()
	defer u.fs.mu.Unlock()
	return append([]string(nil), u.fs.conds...), u.fs.shown
}

// SetFailsafe replaces the fail-safes while the unit runs (Alteon's
// /c/l3/vrrp/vr 1/track), or refuses them (naming the setting) and keeps
// the old ones. The next check, within FailsafeInterval, applies them: a
// condition that now holds fails the unit over, and a unit held out only
// by a fail-safe that is gone rejoins the election. A port is checked to
// exist (its link state is readable); a gateway pool may not exist yet
// (it counts as failed until it does, as at start).
func (u *Unit) SetFailsafe(f Failsafe) error {
	f.VLANs = slices.Clone(f.VLANs)
	switch {
	case f.GatewayPool != "" && !strings.HasPrefix(f.GatewayPool, "/"):
		return fmt.Errorf("ha: gateway fail-safe pool %q: want a pool's full path (/Common/NAME)", f.GatewayPool)
	case f.GatewayPool == "" && f.GatewayMinUp != 0:
		return fmt.Errorf("ha: gateway fail-safe min-up %d: set without a pool", f.GatewayMinUp)
	case f.GatewayMinUp < 0 || f.GatewayMinUp > 1024:
		return fmt.Errorf("ha: gateway fail-safe min-up %d: want 0 to 1024", f.GatewayMinUp)
	case f.Watchdog != 0 && (f.Watchdog < 200*time.Millisecond || f.Watchdog > time.Minute):
		return fmt.Errorf("ha: watchdog %v: want 0s (off) or 200ms to 1m", f.Watchdog)
	}
	if f.GatewayPool != "" && f.GatewayMinUp == 0 {
		f.GatewayMinUp = 1
	}
	if (len(f.VLANs) > 0 || f.Watchdog > 0) && u.fs.health == nil {
		return errors.New("ha: VLAN fail-safe and watchdog: this dataplane reports no link state or heartbeats")
	}
	for _, v := range f.VLANs {
		if _, err := u.fs.health.LinkUp(v); err != nil {
			return fmt.Errorf("ha: VLAN fail-safe %q: %w", v, err)
		}
	}
	u.fs.checkMu.Lock()
	defer u.fs.checkMu.Unlock()
	u.fs.cfg = f
	u.fs.beats, u.fs.moved = nil, nil // the watchdog starts afresh
	u.fs.mu.Lock()
	u.fs.shown = f
	u.fs.mu.Unlock()
	u.log.Info("ha: fail-safes changed at run time", "unit", u.cfg.Unit, "vlans", f.VLANs, "gateway_pool", f.GatewayPool,
		"gateway_min_up", f.GatewayMinUp, "watchdog", f.Watchdog)
	return nil
}
