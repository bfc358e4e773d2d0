package ctrltest

import (
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"lbx/ctrlplane/compile"
	"lbx/dataplane"
	"lbx/pools"
)

// Dataplane is a recording fake of the dataplane the store installs into:
// it keeps every installed program, and its runtime state (counters,
// member Health by identity, runtime pools, slow-ramp starts) is the
// dataplane's own Runtime, as in the Engine. SetFail makes Install
// refuse; SetMono sets the install time slow ramp starts from.
type Dataplane struct {
	mu       sync.Mutex
	Installs []*dataplane.Program
	fail     error
	mono     int64
	rt       *dataplane.Runtime // made on first use
}

// SetFail makes every later Install fail with err (nil: succeed).
func (f *Dataplane) SetFail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = err
}

// SetMono sets the dataplane's monotonic time, which installs record as
// the start of slow ramp.
func (f *Dataplane) SetMono(ns int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mono = ns
}

func (f *Dataplane) runtime() *dataplane.Runtime {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.runtimeLocked()
}

func (f *Dataplane) runtimeLocked() *dataplane.Runtime {
	if f.rt == nil {
		f.rt = dataplane.NewRuntime(nil)
	}
	return f.rt
}

// MemberHealth is the runtime's member Health, as the engine's.
func (f *Dataplane) MemberHealth(pool, member string) *pools.Health {
	return f.runtime().MemberHealth(pool, member)
}

// VirtualStats is the runtime's virtual counters.
func (f *Dataplane) VirtualStats(name string) *dataplane.VirtualStats {
	return f.runtime().VirtualStats(name)
}

// Pool is the runtime's pool.
func (f *Dataplane) Pool(name string) *pools.Pool { return f.runtime().Pool(name) }

// Member is the runtime's member.
func (f *Dataplane) Member(pool, member string) *pools.Member {
	return f.runtime().Member(pool, member)
}

// SetOperDisabled is the runtime's operator disable of a node.
func (f *Dataplane) SetOperDisabled(node string, disabled bool) {
	f.runtime().SetOperDisabled(node, disabled)
}

// OperDisabled is the runtime's operator disable of a node.
func (f *Dataplane) OperDisabled(node string) bool { return f.runtime().OperDisabled(node) }

// Install records p, unless Fail is set.
func (f *Dataplane) Install(p *dataplane.Program) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	if err := f.runtimeLocked().Install(p, f.mono); err != nil {
		return err
	}
	f.Installs = append(f.Installs, p)
	return nil
}

// Program is the last installed program, nil before the first.
func (f *Dataplane) Program() *dataplane.Program {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.Installs) == 0 {
		return nil
	}
	return f.Installs[len(f.Installs)-1]
}

// Count is how many programs were installed.
func (f *Dataplane) Count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.Installs)
}

// Net is the testbed's self IPs, which tests compile against.
var Net = compile.NetConfig{SelfIPs: []dataplane.SelfIP{
	{Name: "/Common/self_client", Prefix: netip.MustParsePrefix("198.18.1.2/24"), Port: "client"},
	{Name: "/Common/self_server", Prefix: netip.MustParsePrefix("198.18.2.2/24"), Port: "server"},
}, Ports: []string{"client", "server"}}

// DefaultConfigText is the testbed's default traffic config, which the
// appliance of `lbx testbed up` and `make demo` boots with; tests use it as
// a realistic config.
func DefaultConfigText() string {
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "testbed", "default.conf"))
	if err != nil {
		panic(err)
	}
	return string(b)
}

// ResetVirtualStats is the runtime's.
func (f *Dataplane) ResetVirtualStats(name string) int { return f.runtime().ResetVirtualStats(name) }

// ResetPoolStats is the runtime's.
func (f *Dataplane) ResetPoolStats(name string) int { return f.runtime().ResetPoolStats(name) }

// ResetNodeStats is the runtime's.
func (f *Dataplane) ResetNodeStats(addr netip.Addr) int { return f.runtime().ResetNodeStats(addr) }
