package vrrp

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"lbx/internal/clock"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// lan joins routers on one segment: an advert reaches every other
// connected router 1ms after it is sent, through the manual clock (so no
// router's lock is held when another receives).
type lan struct {
	t       *testing.T
	clk     *clock.Manual
	routers map[string]*Router
	up      map[string]bool
	log     []string // state transitions and sent priorities, with times
}

func newLAN(t *testing.T) *lan {
	return &lan{t: t, clk: clock.NewManual(t0), routers: map[string]*Router{}, up: map[string]bool{}}
}

func (l *lan) at() string { return l.clk.Now().Sub(t0).String() }

func (l *lan) add(name string, cfg Config) *Router {
	l.t.Helper()
	var r *Router
	r, err := New(cfg, l.clk, Hooks{
		Send: func(a Advert) {
			if !l.up[name] {
				return
			}
			src := cfg.Primary
			l.clk.AfterFunc(time.Millisecond, func() {
				for n, o := range l.routers {
					if n != name && l.up[n] {
						o.Receive(src, a)
					}
				}
			})
		},
		OnState: func(from, to State) {
			l.log = append(l.log, fmt.Sprintf("%s %s>%s@%s", name, from, to, l.at()))
		},
	})
	if err != nil {
		l.t.Fatal(err)
	}
	l.routers[name] = r
	l.up[name] = true
	return r
}

func cfg(prio uint8, last byte) Config {
	return Config{VRID: 51, Priority: prio, Preempt: true, Interval: time.Second,
		Primary: netip.AddrFrom4([4]byte{198, 18, 1, last}), Addrs: []netip.Addr{vip1}}
}

func (l *lan) expect(want ...string) {
	l.t.Helper()
	if !reflect.DeepEqual(l.log, want) {
		l.t.Fatalf("transitions\n got %q\nwant %q", l.log, want)
	}
	l.log = nil
}

func TestMasterDownTimerWithSkew(t *testing.T) {
	l := newLAN(t)
	r := l.add("a", cfg(100, 2))
	r.Start()
	l.expect("a initialize>backup@0s")
	// Master_Down_Interval = 3×1s + (256-100)×1s/256 = 3.609375s.
	if got := r.Status().MasterDownInterval; got != 3609375*time.Microsecond {
		t.Fatalf("master down interval %v", got)
	}
	l.clk.Advance(3609374 * time.Microsecond)
	l.expect()
	l.clk.Advance(time.Microsecond)
	l.expect("a backup>master@3.609375s")
}

func TestOwnerBecomesMasterAtOnce(t *testing.T) {
	l := newLAN(t)
	var sent []Advert
	r, err := New(cfg(255, 2), l.clk, Hooks{Send: func(a Advert) { sent = append(sent, a) }})
	if err != nil {
		t.Fatal(err)
	}
	r.Start()
	if r.State() != Master || len(sent) != 1 || sent[0].Priority != 255 || sent[0].Interval != 100 {
		t.Fatalf("state %v sent %+v", r.State(), sent)
	}
	l.clk.Advance(10 * time.Second) // one advert per interval
	if len(sent) != 11 {
		t.Fatalf("%d adverts in 10s", len(sent))
	}
	r.Shutdown() // priority 0 on the way out, then silence
	l.clk.Advance(10 * time.Second)
	if len(sent) != 12 || sent[11].Priority != 0 || r.State() != Initialize {
		t.Fatalf("after shutdown: state %v, %d adverts, last %+v", r.State(), len(sent), sent[len(sent)-1])
	}
}

func TestElectionPreemptionAndShutdown(t *testing.T) {
	l := newLAN(t)
	a := l.add("a", cfg(200, 2))
	b := l.add("b", cfg(100, 3))
	a.Start()
	b.Start()
	l.expect("a initialize>backup@0s", "b initialize>backup@0s")
	// a's skew is shorter: master at 3s + 56/256 s.
	l.clk.Advance(10 * time.Second)
	l.expect("a backup>master@3.21875s")
	if st := b.Status(); st.Master != a.cfg.Primary || st.MasterPriority != 200 {
		t.Fatalf("b sees master %v/%d", st.Master, st.MasterPriority)
	}

	// a shuts down: its priority-0 advert lets b take over after b's skew
	// (156/256 s) instead of the master-down interval.
	a.Shutdown()
	l.clk.Advance(5 * time.Second)
	l.expect("a master>initialize@10s", "b backup>master@10.610375s")

	// a returns with the higher priority and preempts: it ignores b's
	// adverts, its master-down timer runs out, its advert sends b back.
	a.Start()
	l.clk.Advance(10 * time.Second)
	l.expect("a initialize>backup@15s", "a backup>master@18.21875s", "b master>backup@18.21975s")
}

func TestPreemptDelayAndNoPreempt(t *testing.T) {
	for _, tc := range []struct {
		name    string
		preempt bool
		delay   time.Duration
		want    []string
	}{
		// a starts at 5s. Within its 10s of preempt delay b's adverts
		// (heard at 3.610375s + k) reset a's master-down timer; the last
		// one before 15s is heard at 14.610375s, so a takes over 3.21875s
		// later.
		{"delay", true, 10 * time.Second, []string{"a initialize>backup@5s", "a backup>master@17.829125s", "b master>backup@17.830125s"}},
		{"no delay", true, 0, []string{"a initialize>backup@5s", "a backup>master@8.21875s", "b master>backup@8.21975s"}},
		{"no preempt", false, 0, []string{"a initialize>backup@5s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLAN(t)
			b := l.add("b", cfg(100, 3))
			b.Start()
			l.clk.Advance(5 * time.Second)
			l.expect("b initialize>backup@0s", "b backup>master@3.609375s")
			ca := cfg(200, 2)
			ca.Preempt, ca.PreemptDelay = tc.preempt, tc.delay
			l.add("a", ca).Start()
			l.clk.Advance(30 * time.Second)
			l.expect(tc.want...)
		})
	}
}

func TestTieGoesToHigherPrimary(t *testing.T) {
	l := newLAN(t)
	lo := l.add("lo", cfg(100, 2))
	hi := l.add("hi", cfg(100, 3))
	// Both become master at the same instant (same skew); each hears the
	// other's advert and the lower address yields.
	lo.Start()
	hi.Start()
	l.clk.Advance(10 * time.Second)
	l.expect("lo initialize>backup@0s", "hi initialize>backup@0s",
		"lo backup>master@3.609375s", "hi backup>master@3.609375s", "lo master>backup@3.610375s")
}

func TestStandbyYieldsUntilMasterLost(t *testing.T) {
	l := newLAN(t)
	a := l.add("a", cfg(200, 2))
	b := l.add("b", cfg(100, 3))
	a.Start()
	b.Start()
	l.clk.Advance(5 * time.Second)
	l.log = nil
	a.Standby()
	l.clk.Advance(20 * time.Second) // a does not preempt back
	l.expect("a master>backup@5s", "b backup>master@5.610375s")
	if !a.Status().Yielding {
		t.Fatal("a not yielding")
	}
	// b dies silently (kill -9: no priority 0): a takes over after its
	// master-down interval from b's last advert (heard at 24.611375s).
	l.up["b"] = false
	l.clk.Advance(10 * time.Second)
	l.expect("a backup>master@27.830125s")
	if a.Status().Yielding {
		t.Fatal("a still yielding after taking over")
	}
	// b returns and stays backup (lower priority).
	l.up["b"] = true
	b.Shutdown()
	l.log = nil
	b.Start()
	l.clk.Advance(10 * time.Second)
	l.expect("b initialize>backup@35s")
}

func TestOnlineEndsYield(t *testing.T) {
	l := newLAN(t)
	a := l.add("a", cfg(200, 2))
	b := l.add("b", cfg(100, 3))
	a.Start()
	b.Start()
	l.clk.Advance(5 * time.Second)
	a.Standby()
	l.clk.Advance(5 * time.Second)
	l.log = nil
	a.Online() // preempts again: b's advert heard at 9.611375s was the last one a took
	l.clk.Advance(5 * time.Second)
	l.expect("a backup>master@12.830125s", "b master>backup@12.831125s")
}

func TestConfigValidate(t *testing.T) {
	good := cfg(100, 2)
	for _, tc := range []struct {
		field string
		mod   func(c *Config)
	}{
		{"vrid", func(c *Config) { c.VRID = 0 }},
		{"priority", func(c *Config) { c.Priority = 0 }},
		{"advert-interval", func(c *Config) { c.Interval = 5 * time.Millisecond }},
		{"advert-interval", func(c *Config) { c.Interval = 41 * time.Second }},
		{"advert-interval", func(c *Config) { c.Interval = 15 * time.Millisecond }},
		{"preempt-delay", func(c *Config) { c.PreemptDelay = -1 }},
		{"primary", func(c *Config) { c.Primary = netip.Addr{} }},
		{"addresses", func(c *Config) { c.Addrs = []netip.Addr{netip.MustParseAddr("::1")} }},
	} {
		c := good
		tc.mod(&c)
		_, err := New(c, clock.NewManual(t0), Hooks{})
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: %v", tc.field, err)
		}
	}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
}

// Settings change on running routers: a Backup raised above the Master
// preempts it; a Master lowered below a preempting Backup advertises its
// new priority at once and is taken over; a new interval takes effect on
// the next advertisement; bad settings are refused, naming the field,
// and change nothing.
func TestReconfigureAtRunTime(t *testing.T) {
	l := newLAN(t)
	a := l.add("a", cfg(200, 2))
	b := l.add("b", cfg(100, 3))
	a.Start()
	b.Start()
	l.clk.Advance(10 * time.Second)
	l.expect("a initialize>backup@0s", "b initialize>backup@0s", "a backup>master@3.21875s")

	// b to 250: it ignores a's adverts from now on, so its master-down
	// timer runs out and it takes over; a, hearing 250, steps back.
	if err := b.Reconfigure(Settings{Priority: 250, Preempt: true, Interval: time.Second}); err != nil {
		t.Fatal(err)
	}
	if st := b.Status(); st.Priority != 250 {
		t.Fatalf("b's priority %d after Reconfigure", st.Priority)
	}
	l.clk.Advance(10 * time.Second)
	if a.State() != Backup || b.State() != Master || a.Status().MasterPriority != 250 {
		t.Fatalf("after b was raised to 250: a %v (hears %d), b %v (%q)", a.State(), a.Status().MasterPriority, b.State(), l.log)
	}
	l.log = nil

	// b down to 150 with a 500 ms interval: a (200, preempting) ignores
	// b's adverts from the one sent at once and takes over.
	if err := b.Reconfigure(Settings{Priority: 150, Preempt: true, Interval: 500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	l.clk.Advance(10 * time.Second)
	if a.State() != Master || b.State() != Backup || b.Status().MasterPriority != 200 {
		t.Fatalf("after b was lowered to 150: a %v, b %v hearing %d (%q)", a.State(), b.State(), b.Status().MasterPriority, l.log)
	}
	if st := b.Settings(); st.Interval != 500*time.Millisecond || st.Priority != 150 {
		t.Fatalf("b's settings %+v", st)
	}

	// Refusals keep the settings.
	for _, c := range []struct {
		s    Settings
		want string
	}{
		{Settings{Priority: 0, Interval: time.Second}, "priority: must be 1..255"},
		{Settings{Priority: 255, Interval: time.Second}, "priority: 255 (the address owner): must be 1..254"},
		{Settings{Priority: 100, Interval: 5 * time.Millisecond}, "advert-interval: 5ms, must be 10ms..40.95s"},
		{Settings{Priority: 100, Interval: 15 * time.Millisecond}, "advert-interval: 15ms is not a whole number of centiseconds"},
		{Settings{Priority: 100, Interval: time.Second, PreemptDelay: -time.Second}, "preempt-delay: -1s is negative"},
	} {
		before := a.Settings()
		if err := a.Reconfigure(c.s); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Reconfigure(%+v): %v, want %q", c.s, err, c.want)
		}
		if a.Settings() != before {
			t.Errorf("Reconfigure(%+v) refused but changed the settings to %+v", c.s, a.Settings())
		}
	}
}

// A Master's new interval: one advertisement at once with it, then one
// per new interval.
func TestReconfigureInterval(t *testing.T) {
	l := newLAN(t)
	var sent []Advert
	r, err := New(cfg(200, 2), l.clk, Hooks{Send: func(a Advert) { sent = append(sent, a) }})
	if err != nil {
		t.Fatal(err)
	}
	r.Start()
	l.clk.Advance(5 * time.Second) // master at 3.21875s, adverts each second
	if r.State() != Master {
		t.Fatal("not master")
	}
	n := len(sent)
	if err := r.Reconfigure(Settings{Priority: 200, Preempt: true, Interval: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if len(sent) != n+1 || sent[n].Interval != 10 {
		t.Fatalf("no advertisement at once with the new interval: %+v", sent[n:])
	}
	l.clk.Advance(time.Second)
	if got := len(sent) - (n + 1); got != 10 {
		t.Fatalf("%d advertisements in the second after, want 10", got)
	}
	// The same settings again: nothing sent out of turn.
	m := len(sent)
	if err := r.Reconfigure(r.Settings()); err != nil || len(sent) != m {
		t.Fatalf("unchanged settings: %v, %d adverts sent", err, len(sent)-m)
	}
}
