package ctrlplane

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sync"
	"testing"

	"lbx/ctrlplane/config"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"lbx/dataplane"
	"lbx/pools"
)

// fakeDataplane records every installed program; fail makes Install refuse.
// Its runtime state (counters, member Health by identity, runtime pools,
// slow-ramp starts) is the dataplane's own Runtime, as in the Engine.
type fakeDataplane struct {
	mu       sync.Mutex
	installs []*dataplane.Program
	fail     error
	rt       *dataplane.Runtime // made on first use
	mono     int64              // the install time, as the engine's Mono: slow ramp starts then
}

func (f *fakeDataplane) runtime() *dataplane.Runtime {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.runtimeLocked()
}

func (f *fakeDataplane) runtimeLocked() *dataplane.Runtime {
	if f.rt == nil {
		f.rt = dataplane.NewRuntime(nil)
	}
	return f.rt
}

func (f *fakeDataplane) MemberHealth(pool, member string) *pools.Health {
	return f.runtime().MemberHealth(pool, member)
}

func (f *fakeDataplane) VirtualStats(name string) *dataplane.VirtualStats {
	return f.runtime().VirtualStats(name)
}

func (f *fakeDataplane) Pool(name string) *pools.Pool { return f.runtime().Pool(name) }

func (f *fakeDataplane) Member(pool, member string) *pools.Member {
	return f.runtime().Member(pool, member)
}

var (
	_ Dataplane     = (*fakeDataplane)(nil)
	_ RuntimeSource = (*fakeDataplane)(nil)
)

func (f *fakeDataplane) Install(p *dataplane.Program) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	if err := f.runtimeLocked().Install(p, f.mono); err != nil {
		return err
	}
	f.installs = append(f.installs, p)
	return nil
}

func (f *fakeDataplane) Program() *dataplane.Program {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.installs) == 0 {
		return nil
	}
	return f.installs[len(f.installs)-1]
}

func (f *fakeDataplane) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.installs)
}

// cmpOpts compares Configs: netip values by ==, nil and empty alike.
var cmpOpts = []cmp.Option{
	cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{}, netip.Prefix{}),
	cmpopts.EquateEmpty(),
}

// progVirtual is an installed virtual in comparable form.
type progVirtual struct {
	Name    string
	Dest    string // addr:port/proto
	Pool    string
	Members []string // name=addr:port
	SNAT    bool
	Enabled bool
}

func summarize(p *dataplane.Program) []progVirtual {
	if p == nil {
		return nil
	}
	var out []progVirtual
	for _, v := range p.Virtuals {
		pv := progVirtual{
			Name:    v.Name,
			Dest:    fmt.Sprintf("%s:%d/%d", v.Addr, v.Port, v.Proto),
			SNAT:    v.SNATAutomap,
			Enabled: v.Enabled,
		}
		if v.Pool != nil {
			pv.Pool = v.Pool.Name
			for _, m := range v.Pool.Members {
				pv.Members = append(pv.Members, fmt.Sprintf("%s=%s:%d", m.Name, m.Addr, m.Port))
			}
		}
		out = append(out, pv)
	}
	slices.SortFunc(out, func(a, b progVirtual) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}

// newTestStore returns a store loaded with conf (none when empty).
func newTestStore(t testing.TB, conf string) (*Store, *fakeDataplane) {
	t.Helper()
	dp := &fakeDataplane{}
	s := NewStore(dp, NetConfig{SelfIPs: []dataplane.SelfIP{
		{Name: "/Common/self_client", Prefix: netip.MustParsePrefix("198.18.1.2/24"), Port: "client"},
		{Name: "/Common/self_server", Prefix: netip.MustParsePrefix("198.18.2.2/24"), Port: "server"},
	}}, "", nil)
	if conf != "" {
		if err := s.LoadText(conf); err != nil {
			t.Fatalf("LoadText: %v", err)
		}
	}
	return s, dp
}

func mustParse(t testing.TB, text string) *config.Config {
	t.Helper()
	c, err := ParseConfig(text)
	if err != nil {
		t.Fatalf("ParseConfig: %v\n%s", err, text)
	}
	return c
}

// DefaultConfigText is the testbed's default traffic config, which the
// appliance of `lbx testbed up` and `make demo` boots with; the ctrlplane
// tests use it as a realistic config.
func DefaultConfigText() string {
	b, err := os.ReadFile("../testbed/default.conf")
	if err != nil {
		panic(err)
	}
	return string(b)
}
