package tmsh

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"lbx/ctrlplane/compile"
	"lbx/ctrlplane/config"
	"lbx/ctrlplane/ctrltest"
	"lbx/ctrlplane/health"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/store"
	"lbx/ctrlplane/tmsh/conf"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"lbx/dataplane"
)

// fakeDataplane records every installed program (ctrltest.Dataplane).
type fakeDataplane = ctrltest.Dataplane

var (
	_ store.Dataplane = (*fakeDataplane)(nil)
	_ status.Runtime  = (*fakeDataplane)(nil)
)

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

// testStore is a store with the tmsh dialect over it, as the tests drive
// it: commands, pushes and sessions, and the store's own reads.
type testStore struct {
	*Dialect
	st *store.Store
}

func (s *testStore) Running() *config.Config               { return s.st.Running() }
func (s *testStore) Version() uint64                       { return s.st.Version() }
func (s *testStore) LoadText(text string) error            { return s.st.LoadText(text) }
func (s *testStore) Boot() error                           { return s.st.Boot() }
func (s *testStore) BootWithFallback(useBackup bool) error { return s.st.BootWithFallback(useBackup) }
func (s *testStore) AttachChecker(c store.Checker)         { s.st.AttachChecker(c) }

// testNet is the testbed's self IPs, which the tests compile against.
var testNet = ctrltest.Net

// newTestStoreAt returns a store saving to savedPath, with the tmsh
// dialect over it, status read from dp and h (nil for none).
func newTestStoreAt(t testing.TB, dp *fakeDataplane, savedPath string, h *health.Monitoring) *testStore {
	t.Helper()
	return NewStore(dp, testNet, savedPath, h)
}

// NewStore is a store on dp compiling against n, with the tmsh dialect
// over it and status read from dp and h (nil for none).
func NewStore(dp store.Dataplane, n compile.NetConfig, savedPath string, h *health.Monitoring) *testStore {
	st := store.New(dp, n, conf.Codec{Filestore: conf.FilestoreFor(savedPath)}, savedPath, nil)
	if h != nil {
		st.AttachChecker(h)
	}
	return &testStore{Dialect: New(st, status.FromDataplane(dp, h)), st: st}
}

// newTestStore returns a store loaded with conf (none when empty).
func newTestStore(t testing.TB, conf string) (*testStore, *fakeDataplane) {
	t.Helper()
	dp := &fakeDataplane{}
	s := newTestStoreAt(t, dp, "", nil)
	if conf != "" {
		if err := s.LoadText(conf); err != nil {
			t.Fatalf("LoadText: %v", err)
		}
	}
	return s, dp
}

func mustParse(t testing.TB, text string) *config.Config {
	t.Helper()
	c, err := conf.ParseConfig(text)
	if err != nil {
		t.Fatalf("ParseConfig: %v\n%s", err, text)
	}
	return c
}

// DefaultConfigText is the testbed's default traffic config.
func DefaultConfigText() string { return ctrltest.DefaultConfigText() }
