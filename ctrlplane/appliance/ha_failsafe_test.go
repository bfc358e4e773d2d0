package appliance_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"lbx/dataplane"
	"lbx/dataplane/porttest"
	"lbx/ha"
)

// stallPort is a port whose writes of TCP frames can be held: the worker
// that forwards a connection's packet to it then hangs inside its batch,
// as a dataplane wedged on a dead device would. VRRP and ARP still pass.
type stallPort struct {
	dataplane.Port
	mu    sync.Mutex
	stall chan struct{} // non-nil: TCP writes wait until it is closed
}

func (s *stallPort) hold() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stall == nil {
		s.stall = make(chan struct{})
	}
}

func (s *stallPort) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stall != nil {
		close(s.stall)
		s.stall = nil
	}
}

func (s *stallPort) WriteBatch(frames [][]byte) (int, error) {
	s.mu.Lock()
	stall := s.stall
	s.mu.Unlock()
	if stall != nil {
		for _, f := range frames {
			if len(f) > 23 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 6 {
				<-stall
				break
			}
		}
	}
	return s.Port.WriteBatch(frames)
}

// The appliance's own health: when a port worker of the active unit hangs
// inside a batch (its write to the server side never returns), the
// watchdog sees its heartbeat stop mid-batch and the unit fails over; the
// peer carries new connections; when the worker moves again the unit
// rejoins and, with the higher priority, preempts.
func TestHAWatchdogFailover(t *testing.T) {
	l := newLab(t)
	csw, ssw := porttest.NewSwitch(), porttest.NewSwitch()
	l.server(ssw, "server1", "198.18.2.11/24", "198.18.2.1")
	client := l.host(csw, "client", "198.18.1.10/24", "")
	var stalled *stallPort
	lbx1 := l.haUnitWith(csw, ssw, "lbx1", 2, 200, haOpts{
		wrapInt:  func(p dataplane.Port) dataplane.Port { stalled = &stallPort{Port: p}; return stalled },
		failsafe: ha.Failsafe{Watchdog: 300 * time.Millisecond},
	})
	t.Cleanup(stalled.release) // before lbx1 closes (cleanups run last first)
	lbx2 := l.haUnit(csw, ssw, "lbx2", 3, 100)
	waitFor(t, "lbx1 active, lbx2 standby", func() bool { return haState(lbx1) == ha.Active && haState(lbx2) == ha.Standby })
	if name := porttest.ServerName(get(t, client, "http://198.18.1.100/")); name != "server1" {
		t.Fatalf("through lbx1: served by %q", name)
	}

	// The next SYN towards the server wedges lbx1's ext worker.
	stalled.hold()
	wedged := make(chan struct{})
	go func() {
		defer close(wedged)
		// Answered by lbx2 after the failover, or failing: either way it
		// only carries the SYN that wedges lbx1.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		client.Get(ctx, "http://198.18.1.100/")
	}()
	waitFor(t, "lbx1 fails over on its stuck worker", func() bool {
		st := lbx1.HA().Status()
		return st.State == ha.Standby && len(st.Conditions) == 1 && strings.HasPrefix(st.Conditions[0], "dataplane-watchdog: worker 0 stuck in a batch for ")
	})
	waitFor(t, "lbx2 active", func() bool { return haState(lbx2) == ha.Active })
	out := exec(t, lbx1, "show cm failover-status")
	if !strings.Contains(out, "Failover Conditions") || !strings.Contains(out, "dataplane-watchdog: worker 0 stuck") {
		t.Errorf("lbx1 show cm failover-status:\n%s", out)
	}
	if name := porttest.ServerName(getWithin(t, client, "http://198.18.1.100/", 5*time.Second)); name != "server1" {
		t.Fatalf("through lbx2: served by %q", name)
	}

	// The worker moves again: lbx1 rejoins and preempts.
	stalled.release()
	waitFor(t, "lbx1 active again", func() bool { return haState(lbx1) == ha.Active && haState(lbx2) == ha.Standby })
	if st := lbx1.HA().Status(); len(st.Conditions) != 0 {
		t.Errorf("lbx1 active with conditions %q", st.Conditions)
	}
	select {
	case <-wedged:
	case <-time.After(15 * time.Second):
		t.Error("the wedging request did not end within 15s")
	}
}

// Two units advertising unicast to each other (keepalived's unicast_peer)
// elect, hand over on run sys failover standby and take over when the
// active one leaves, as with multicast.
func TestHAPairUnicast(t *testing.T) {
	l := newLab(t)
	csw, ssw := porttest.NewSwitch(), porttest.NewSwitch()
	l.server(ssw, "server1", "198.18.2.11/24", "198.18.2.1")
	client := l.host(csw, "client", "198.18.1.10/24", "")
	lbx1 := l.haUnitWith(csw, ssw, "lbx1", 2, 200, haOpts{peer: 3})
	lbx2 := l.haUnitWith(csw, ssw, "lbx2", 3, 100, haOpts{peer: 2})
	// lbx2 is standby from its start, before lbx1's first advertisement
	// reaches it: wait for that too.
	waitFor(t, "lbx1 active, lbx2 standby and heard lbx1", func() bool {
		return haState(lbx1) == ha.Active && haState(lbx2) == ha.Standby && lbx2.HA().Status().PeerPriority == 200
	})
	if st := lbx2.HA().Status(); st.Strangers != 0 || st.AddrMismatches != 0 {
		t.Errorf("lbx2 status %+v", st)
	}
	exec(t, lbx1, "run sys failover standby")
	waitFor(t, "lbx2 active after lbx1 went standby", func() bool { return haState(lbx2) == ha.Active && haState(lbx1) == ha.Standby })
	if name := porttest.ServerName(getWithin(t, client, "http://198.18.1.100/", 5*time.Second)); name != "server1" {
		t.Fatalf("through lbx2: served by %q", name)
	}
	exec(t, lbx1, "run sys failover online")
	waitFor(t, "lbx1 active again", func() bool { return haState(lbx1) == ha.Active && haState(lbx2) == ha.Standby })
	if err := lbx1.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "lbx2 active after lbx1 closed", func() bool { return haState(lbx2) == ha.Active })
}
