package alteon

import (
	"errors"
	"strings"
	"testing"
	"time"

	"lbx/ctrlplane/config"
)

// TestBootResetAndHalt: /boot/reset and /boot/halt are admin only, refused
// on a process appliance, and call the VM's power hook.
func TestBootResetAndHalt(t *testing.T) {
	s, _ := newTestStore(t, "")
	admin := config.Access{User: "ann", Role: config.RoleAdmin}
	guest := config.Access{User: "bob", Role: config.RoleGuest}
	if _, err := s.NewSessionAs(admin).Exec("/boot/reset"); err == nil || !strings.Contains(err.Error(), "runs here as a process") {
		t.Fatalf("/boot/reset on a process appliance: %v", err)
	}
	calls := make(chan bool, 1)
	s.st.SetPower(func(reboot bool) error { calls <- reboot; return nil })
	var ad *config.AccessDeniedError
	if _, err := s.NewSessionAs(guest).Exec("/boot/halt"); !errors.As(err, &ad) {
		t.Fatalf("/boot/halt as guest: %v, want access denied", err)
	}
	if out, err := s.NewSessionAs(admin).Exec("/boot/reset"); err != nil || !strings.Contains(out, "reboot") {
		t.Fatalf("/boot/reset as admin: %q, %v", out, err)
	}
	select {
	case reboot := <-calls:
		if !reboot {
			t.Fatal("/boot/reset asked for a power off")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("/boot/reset: the power hook was not called within 10 s")
	}
}
