package testbed

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Election and preemption between two lbx units, in the mirroring lab's
// namespaces with real VRRP on its bridges: the lower-priority unit
// started alone becomes active; the higher-priority one, with preemption
// on, takes over when it starts; after kill -9 of it the other takes over;
// when it comes back it preempts again. A client's request through the
// VIP is answered after every step, so the floating addresses (and the
// servers' gateway) followed the active unit each time.
func TestIntegrationHAElectionPreempt(t *testing.T) {
	l := newMirrorLab(t)
	for _, u := range l.units {
		p := filepath.Join(u.dir, "boot.yaml")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "preempt: false") {
			t.Fatalf("%s: no preempt setting to turn on:\n%s", p, b)
		}
		if err := os.WriteFile(p, []byte(strings.Replace(string(b), "preempt: false", "preempt: true", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	answered := func(step string) {
		t.Helper()
		l.waitUntil(step+": a request through the VIP answered", 10*time.Second, func() bool {
			return exec.Command("ip", "netns", "exec", mrCL, "curl", "-sf", "-o", "/dev/null", "--max-time", "1", "http://"+mrVIPPlain+"/").Run() == nil
		})
	}
	l.start(1)
	took := l.waitUntil("lbx2 (priority 100) active alone", 10*time.Second, func() bool { return l.is(1, "ACTIVE") })
	t.Logf("lbx2 alone: active after %v", took.Round(time.Millisecond))
	answered("lbx2 alone")

	l.start(0)
	took = l.waitUntil("lbx1 (priority 200, preempt) takes over from lbx2", 10*time.Second, func() bool {
		return l.is(0, "ACTIVE") && l.is(1, "STANDBY")
	})
	t.Logf("lbx1 started: preempted lbx2 after %v", took.Round(time.Millisecond))
	answered("lbx1 preempted")

	l.stopUnit(l.units[0], syscall.SIGKILL)
	took = l.waitUntil("lbx2 takes over after kill -9 of lbx1", 10*time.Second, func() bool { return l.is(1, "ACTIVE") })
	t.Logf("lbx1 killed: lbx2 active after %v", took.Round(time.Millisecond))
	answered("lbx1 killed")

	l.start(0)
	took = l.waitUntil("lbx1 back preempts lbx2 again", 10*time.Second, func() bool {
		return l.is(0, "ACTIVE") && l.is(1, "STANDBY")
	})
	t.Logf("lbx1 restarted: preempted lbx2 after %v", took.Round(time.Millisecond))
	answered("lbx1 back")
}
