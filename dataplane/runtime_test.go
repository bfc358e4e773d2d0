package dataplane

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"lbx/pools"
)

// programWith is the standard test program changed by edit (before it is
// finalized again), at generation gen. It is deterministic: two calls with
// the same arguments return equal programs.
func programWith(t testing.TB, gen uint64, edit func(p *Program)) *Program {
	t.Helper()
	p := testProgram(t, progOpts{})
	p.Generation = gen
	if edit != nil {
		edit(p)
	}
	if err := p.Finalize(); err != nil {
		t.Fatalf("Finalize: %v", err)
	}
	return p
}

// addVirtual adds vs_new (VIP:84) with a pool of its own: a change that
// leaves the web pool alone.
func addVirtual(p *Program) {
	p.Virtuals = append(p.Virtuals, &Virtual{Name: "/Common/vs_new", Addr: vip, Port: 84, Proto: ProtoTCP, Enabled: true,
		Pool: &pools.PoolConfig{Name: "/Common/new", Members: []pools.Member{{Name: "/Common/198.18.1.13:84", Addr: members[2], Port: 84}}}})
}

// synTo opens a connection to VIP:80 from client port sport and returns
// the member address:port it went to.
func synTo(t *testing.T, h *harness, sport uint16) string {
	t.Helper()
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	h.send(portExt, tcpFrame(cl, sport, 80, fSYN, ""))
	out := h.ports[portInt].drain()
	if len(out) != 1 {
		t.Fatalf("SYN from port %d: int sent %d frames, want 1", sport, len(out))
	}
	return decodeWire(t, out[0]).Dst
}

// Neither Install nor the traffic, health changes and sweeps that follow
// write into an installed Program or what it points to: each one still
// equals a twin built the same way and never installed.
func TestInstallDoesNotWriteProgram(t *testing.T) {
	sticky := func(disabled bool) func(p *Program) {
		return func(p *Program) {
			web := virtualOf(p, "/Common/vs_web")
			// No Table: the engine uses its own, without writing it here.
			web.Persist = &pools.Persist{Mode: pools.PersistSourceAddr, Profile: pools.NameHash("/Common/sticky"),
				Scope: pools.NameHash(web.Name), Virtual: web.Name, Timeout: time.Minute}
			web.Pool.Members[1].Disabled = disabled
			web.Pool.SlowRamp = 10 * time.Second
		}
	}
	steps := []struct {
		name string
		edit func(p *Program)
	}{
		{"member 1 disabled", sticky(true)},
		{"member 1 re-enabled (slow ramp starts)", sticky(false)},
		{"unrelated virtual added (web pool kept)", func(p *Program) { sticky(false)(p); addVirtual(p) }},
		{"web pool changed (rebuilt)", func(p *Program) { sticky(false)(p); virtualOf(p, "/Common/vs_web").Pool.Members[2].Ratio = 3 }},
	}
	opts := []cmp.Option{
		cmp.Exporter(func(reflect.Type) bool { return true }),
		cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}),
	}
	var h *harness
	var installed, twins []*Program
	for i, st := range steps {
		p, twin := programWith(t, uint64(i+1), st.edit), programWith(t, uint64(i+1), st.edit)
		if h == nil {
			h = newHarness(t, p)
			h.learnAll()
		} else if err := h.e.Install(p); err != nil {
			t.Fatalf("%s: Install: %v", st.name, err)
		}
		installed, twins = append(installed, p), append(twins, twin)
		name := h.member("/Common/web", 0).Name
		h.e.MemberHealth("/Common/web", name).Set(pools.HealthUp, h.e.Mono())
		for c := range 4 {
			synTo(t, h, uint16(40000+10*i+c))
		}
		h.clock.Advance(time.Second)
		h.e.Sweep(h.clock.Now())
		for j := range installed {
			if diff := cmp.Diff(twins[j], installed[j], opts...); diff != "" {
				t.Fatalf("after step %q, the program of step %q was written (-built +installed):\n%s", st.name, steps[j].name, diff)
			}
		}
	}
	if len(h.e.PersistRecords(pools.PersistFilter{})) == 0 {
		t.Error("no persistence records: the engine's table was not used")
	}
	if h.member("/Common/web", 1).EnabledAt == 0 {
		t.Error("re-enabled member has no slow-ramp start")
	}
}

// A change that leaves a pool's spec alone keeps the running pool, so
// round-robin carries on where it was; a change to the pool rebuilds it
// and the rotation starts over. Counters survive both.
func TestUnchangedPoolKeepsSelectionState(t *testing.T) {
	h := newHarness(t, programWith(t, 1, nil))
	h.learnAll()
	member := []string{"198.18.1.11:8080", "198.18.1.12:8080", "198.18.1.13:80"}
	expect := func(sport uint16, want int) {
		t.Helper()
		if got := synTo(t, h, sport); got != member[want] {
			t.Fatalf("SYN from port %d went to %s, want member %d (%s)", sport, got, want, member[want])
		}
	}
	expect(40000, 0)
	expect(40001, 1)
	pool, stats := h.e.Pool("/Common/web"), h.member("/Common/web", 0).Stats

	if err := h.e.Install(programWith(t, 2, addVirtual)); err != nil {
		t.Fatal(err)
	}
	if h.e.Pool("/Common/web") != pool {
		t.Error("an apply that leaves the web pool alone rebuilt it")
	}
	expect(40002, 2)
	expect(40003, 0)

	if err := h.e.Install(programWith(t, 3, func(p *Program) {
		addVirtual(p)
		virtualOf(p, "/Common/vs_web").Pool.Members[2].Ratio = 3
	})); err != nil {
		t.Fatal(err)
	}
	if h.e.Pool("/Common/web") == pool {
		t.Error("a changed web pool was not rebuilt")
	}
	if h.member("/Common/web", 0).Stats != stats {
		t.Error("member counters not kept across the rebuild")
	}
	expect(40004, 0)
	expect(40005, 1)
	if got := stats.TotalConns.Load(); got != 3 {
		t.Errorf("member 0 total connections %d, want 3", got)
	}
}

// Re-enabling a member (or its node) starts its slow ramp at the install;
// later installs keep that start, whether they keep the pool or rebuild it.
func TestReenableStartsSlowRampAtInstall(t *testing.T) {
	const m = "/Common/198.18.1.12:8080"
	state := func(disabled, offline bool, ratio uint32) func(p *Program) {
		return func(p *Program) {
			web := virtualOf(p, "/Common/vs_web").Pool
			web.Members[1].Disabled, web.Members[1].ForcedOffline = disabled, offline
			web.Members[2].Ratio = ratio
		}
	}
	h := newHarness(t, programWith(t, 1, state(true, false, 0)))
	steps := []struct {
		name    string
		edit    func(p *Program)
		advance time.Duration
		want    time.Duration // EnabledAt, as time since the harness started
	}{
		{"still disabled", state(true, false, 0), time.Second, 0},
		{"re-enabled", state(false, false, 0), time.Second, 2 * time.Second},
		{"unrelated change, pool kept", func(p *Program) { state(false, false, 0)(p); addVirtual(p) }, time.Second, 2 * time.Second},
		{"pool changed, start carried", state(false, false, 5), time.Second, 2 * time.Second},
		{"forced offline", state(false, true, 5), time.Second, 2 * time.Second},
		{"back online", state(false, false, 5), time.Second, 6 * time.Second},
	}
	for i, st := range steps {
		h.clock.Advance(st.advance)
		if err := h.e.Install(programWith(t, uint64(i+2), st.edit)); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got := h.e.Member("/Common/web", m).EnabledAt
		if got != int64(st.want) {
			t.Errorf("%s: EnabledAt %v, want %v", st.name, time.Duration(got), st.want)
		}
		if p := h.e.Program(); virtualOf(p, "/Common/vs_web").Pool.Members[1].EnabledAt != 0 {
			t.Errorf("%s: EnabledAt written into the program", st.name)
		}
	}
}

// Finalize refuses pool specs the engine could not keep apart or that
// carry runtime state.
func TestFinalizeChecksPoolSpecs(t *testing.T) {
	tests := []struct {
		name string
		edit func(p *Program)
		want string
	}{
		{"two specs of one name", func(p *Program) {
			virtualOf(p, "/Common/vs_off").Pool = rrPool(t, "/Common/web", pools.Member{Name: "/Common/198.18.1.11:1", Addr: members[0], Port: 1})
		}, "virtual /Common/vs_off: pool /Common/web: differs from the pool of that name of virtual /Common/vs_web"},
		{"runtime state", func(p *Program) {
			virtualOf(p, "/Common/vs_web").Pool.Members[0].Stats = new(pools.MemberStats)
		}, "member /Common/198.18.1.11:8080: runtime state"},
		{"invalid pool", func(p *Program) {
			virtualOf(p, "/Common/vs_web").Pool.SlowRamp = -1
		}, "virtual /Common/vs_web: pool /Common/web: slow-ramp-time"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := testProgram(t, progOpts{})
			tc.edit(p)
			err := p.Finalize()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Finalize = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// An operator's runtime disable of a node (Alteon /oper/slb/dis) stops
// new connections to its members at once, survives installs that rebuild
// the pool or drop it, and ends with SetOperDisabled(false); the program
// is never written.
func TestOperDisableSurvivesInstalls(t *testing.T) {
	const node = "/Common/198.18.1.12"
	// The compiler names each member's node; the test program does not.
	withNodes := func(edit func(p *Program)) func(p *Program) {
		return func(p *Program) {
			if edit != nil {
				edit(p)
			}
			for _, v := range p.Virtuals {
				if v.Pool == nil {
					continue
				}
				for i := range v.Pool.Members {
					v.Pool.Members[i].Node = "/Common/" + v.Pool.Members[i].Addr.String()
				}
			}
		}
	}
	h := newHarness(t, programWith(t, 1, withNodes(nil)))
	web := func() *pools.Pool { return h.e.Pool("/Common/web") }
	idx := -1
	for i, m := range web().Members {
		if m.Node == node {
			idx = i
		}
	}
	if idx < 0 {
		t.Fatalf("no member of node %s in the web pool", node)
	}
	h.e.SetOperDisabled(node, true)
	if got := web().Reason(idx, 0); got != pools.ReasonOperDisabled {
		t.Fatalf("Reason after SetOperDisabled: %q", got)
	}
	steps := []struct {
		name string
		edit func(p *Program)
	}{
		{"pool kept", addVirtual},
		{"pool rebuilt", func(p *Program) { virtualOf(p, "/Common/vs_web").Pool.Members[2].Ratio = 3 }},
	}
	for i, st := range steps {
		if err := h.e.Install(programWith(t, uint64(i+2), withNodes(st.edit))); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if !h.e.OperDisabled(node) || web().Available(idx, 0) {
			t.Errorf("%s: the operator's disable was lost", st.name)
		}
		if virtualOf(h.e.Program(), "/Common/vs_web").Pool.Members[idx].Oper != nil {
			t.Errorf("%s: Oper written into the program", st.name)
		}
	}
	h.e.SetOperDisabled(node, false)
	if got := web().Reason(idx, 0); got != pools.ReasonAvailable {
		t.Errorf("Reason after enabling: %q", got)
	}
}
