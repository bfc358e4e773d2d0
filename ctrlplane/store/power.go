package store

import (
	"fmt"
	"sync/atomic"
	"time"

	"lbx/ctrlplane/config"
)

// PowerFunc stops the machine: reboot, or power off.
type PowerFunc func(reboot bool) error

// powerHook holds the PowerFunc the VM appliance's init sets; nil on a
// process appliance.
type powerHook struct{ fn atomic.Pointer[PowerFunc] }

// SetPower sets what tmsh `reboot` and `shutdown` and Alteon
// `/boot/reset` and `/boot/halt` call (the VM appliance's clean stop).
func (s *Store) SetPower(fn PowerFunc) { s.power.fn.Store(&fn) }

// powerDelay lets the command's answer reach its user before the stop.
const powerDelay = 300 * time.Millisecond

// Power runs the reboot (or power off) a user asked for: admin only; on
// a process appliance (no PowerFunc) it is refused, since stopping the
// process is its service manager's job. It returns at once, the stop
// follows on its own goroutine after powerDelay.
func (s *Store) Power(who config.Access, command string, reboot bool) (string, error) {
	if err := who.Check(config.RoleAdmin, command); err != nil {
		return "", err
	}
	p := s.power.fn.Load()
	if p == nil || *p == nil {
		return "", fmt.Errorf("%s: lbx runs here as a process, not as the VM appliance: stop it where it was started (SIGTERM, Ctrl-C, its service manager)", command)
	}
	fn := *p
	go func() {
		time.Sleep(powerDelay)
		if err := fn(reboot); err != nil {
			s.logger.Error(command, "err", err)
		}
	}()
	if reboot {
		return "The system is going down for reboot now.\n", nil
	}
	return "The system is going down for power off now.\n", nil
}
