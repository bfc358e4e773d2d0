package tmsh

import (
	"errors"
	"strings"
	"testing"
	"time"

	"lbx/ctrlplane/config"
)

// TestPowerCommands: reboot and shutdown are admin only; a process
// appliance (no power hook) refuses them; the VM's hook is called once
// with the right action.
func TestPowerCommands(t *testing.T) {
	s, _ := newTestStore(t, accessConf)
	admin := config.Access{User: "ann", Role: config.RoleAdmin}
	op := config.Access{User: "olga", Role: config.RoleOperator}
	if _, err := s.NewSessionAs(admin).Exec("reboot"); err == nil || !strings.Contains(err.Error(), "runs here as a process") {
		t.Fatalf("reboot on a process appliance: %v", err)
	}
	calls := make(chan bool, 2)
	s.Store().SetPower(func(reboot bool) error { calls <- reboot; return nil })
	var ad *config.AccessDeniedError
	if _, err := s.NewSessionAs(op).Exec("shutdown"); !errors.As(err, &ad) {
		t.Fatalf("shutdown as operator: %v, want access denied", err)
	}
	out, err := s.NewSessionAs(admin).Exec("shutdown")
	if err != nil || !strings.Contains(out, "power off") {
		t.Fatalf("shutdown as admin: %q, %v", out, err)
	}
	select {
	case reboot := <-calls:
		if reboot {
			t.Fatal("shutdown asked for a reboot")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown: the power hook was not called within 10 s")
	}
	select {
	case r := <-calls:
		t.Fatalf("a second power call (%v)", r)
	case <-time.After(2 * powerTestSettle):
	}
}

const powerTestSettle = 300 * time.Millisecond
