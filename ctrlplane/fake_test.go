package ctrlplane

import (
	"log/slog"
	"path/filepath"
	"testing"

	"lbx/ctrlplane/alteon"
	"lbx/ctrlplane/config"
	"lbx/ctrlplane/ctlsock"
	"lbx/ctrlplane/ctrltest"
	"lbx/ctrlplane/health"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/store"
	"lbx/ctrlplane/tmsh"
)

// testStack is a store with both dialects over it, as the appliance wires
// them, on a recording fake dataplane.
type testStack struct {
	st  *store.Store
	dp  *ctrltest.Dataplane
	tm  *tmsh.Dialect
	alt *alteon.Dialect
}

// newTestStore returns a stack loaded with conf (none when empty).
func newTestStore(t testing.TB, conf string) (*testStack, *ctrltest.Dataplane) {
	t.Helper()
	dp := &ctrltest.Dataplane{}
	s := &testStack{st: store.New(dp, ctrltest.Net, tmsh.Codec{}, "", nil), dp: dp}
	s.wire(nil)
	if conf != "" {
		if err := s.st.LoadText(conf); err != nil {
			t.Fatalf("LoadText: %v", err)
		}
	}
	return s, dp
}

// wire makes the dialects read status from the dataplane and h.
func (s *testStack) wire(h *health.Monitoring) {
	src := status.FromDataplane(s.dp, h)
	s.tm, s.alt = tmsh.New(s.st, src), alteon.New(s.st, src)
}

// AttachMonitoring makes h check every apply's monitors and show read it.
func (s *testStack) AttachMonitoring(h *health.Monitoring) {
	s.st.AttachChecker(h)
	s.wire(h)
}

func (s *testStack) Exec(text string) (string, error) { return s.tm.Exec(text) }
func (s *testStack) NewSession() *tmsh.Session        { return s.tm.NewSession() }
func (s *testStack) Running() *config.Config          { return s.st.Running() }
func (s *testStack) LoadText(text string) error       { return s.st.LoadText(text) }

// Push sends a script to the dialect that claims it, as the control
// socket does.
func (s *testStack) Push(text string) (string, error) {
	if alteon.IsScript(text) {
		return s.alt.Push(text)
	}
	return s.tm.Push(text)
}

func mustParse(t testing.TB, text string) *config.Config {
	t.Helper()
	c, err := tmsh.ParseConfig(text)
	if err != nil {
		t.Fatalf("ParseConfig: %v\n%s", err, text)
	}
	return c
}

// DefaultConfigText is the testbed's default traffic config.
func DefaultConfigText() string { return ctrltest.DefaultConfigText() }

// serve serves the stack's dialects on a control socket of its own,
// closed when the test ends, and returns the socket's path.
func (s *testStack) serve(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lbx.sock")
	srv, err := ctlsock.Listen(path, slog.New(slog.DiscardHandler), Dialects(s.st, status.FromDataplane(s.dp, nil))...)
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	t.Cleanup(func() { srv.Close() })
	return path
}
