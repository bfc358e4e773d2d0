package store

import (
	"net/netip"
	"sync"
	"testing"

	"lbx/ctrlplane/compile"
	"lbx/dataplane"
)

// fakeDataplane records every installed program.
type fakeDataplane struct {
	mu       sync.Mutex
	installs []*dataplane.Program
}

var _ Dataplane = (*fakeDataplane)(nil)

func (f *fakeDataplane) Install(p *dataplane.Program) error {
	f.mu.Lock()
	defer f.mu.Unlock()
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

// newTestStore returns an empty store on a fake dataplane with the
// testbed's self IPs. It has no codec: the typed API needs none.
func newTestStore(t testing.TB) (*Store, *fakeDataplane) {
	t.Helper()
	dp := &fakeDataplane{}
	return New(dp, compile.NetConfig{SelfIPs: []dataplane.SelfIP{
		{Name: "/Common/self_client", Prefix: netip.MustParsePrefix("198.18.1.2/24"), Port: "client"},
		{Name: "/Common/self_server", Prefix: netip.MustParsePrefix("198.18.2.2/24"), Port: "server"},
	}}, nil, "", nil), dp
}
