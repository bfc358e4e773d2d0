package alteon

import (
	"testing"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/ctrltest"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/store"
	"lbx/ctrlplane/tmsh"
)

// testStore is a store with the Alteon dialect over it, and tmsh for the
// commands another operator types.
type testStore struct {
	*Dialect
	st *store.Store
	tm *tmsh.Dialect
}

func (s *testStore) Running() *config.Config          { return s.st.Running() }
func (s *testStore) Exec(text string) (string, error) { return s.tm.Exec(text) }
func (s *testStore) Version() uint64                  { return s.st.Version() }

// newTestStore returns a stack loaded with conf (none when empty).
func newTestStore(t testing.TB, conf string) (*testStore, *ctrltest.Dataplane) {
	t.Helper()
	dp := &ctrltest.Dataplane{}
	st := store.New(dp, ctrltest.Net, tmsh.Codec{}, "", nil)
	src := status.FromDataplane(dp, nil)
	s := &testStore{Dialect: New(st, src), st: st, tm: tmsh.New(st, src)}
	if conf != "" {
		if err := st.LoadText(conf); err != nil {
			t.Fatalf("LoadText: %v", err)
		}
	}
	return s, dp
}
