package store

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"lbx/ctrlplane/config"
)

// TestTxnTypedEdits changes the configuration through the store's typed
// API alone, as the REST API will: no tmsh text is generated, and the
// errors are the same typed ones the dialects get.
func TestTxnTypedEdits(t *testing.T) {
	s, dp := newTestStore(t)
	tx := s.Begin()
	n := config.NewNode("/Common/n1")
	n.Address = netip.MustParseAddr("198.18.2.11")
	p := config.NewPool("/Common/web")
	p.Members = []config.Member{config.NewMember(n.Name, 80)}
	v := config.NewVirtual("/Common/vs")
	v.Destination = netip.MustParseAddrPort("198.18.1.100:80")
	v.Pool = p.Name
	for _, o := range []config.Object{n, p, v} {
		if err := tx.Create(o); err != nil {
			t.Fatalf("Create %v: %v", o.Ref(), err)
		}
	}
	// The caller's objects are copied in: changing them changes nothing.
	v.Pool = "/Common/elsewhere"
	if err := tx.Create(config.NewPool("/Common/web")); !errors.Is(err, config.ErrExists) {
		t.Errorf("Create of a taken name: %v, want ErrExists", err)
	}
	if _, err := tx.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if got := len(dp.installs); got != 1 {
		t.Errorf("installs after Commit = %d, want 1", got)
	}
	run := s.Running()
	if run.Virtuals["/Common/vs"].Pool != "/Common/web" {
		t.Errorf("running vs pool = %q", run.Virtuals["/Common/vs"].Pool)
	}

	// A partial change, a refused delete, and a conflict.
	tx2 := s.Begin()
	err := tx2.Modify(config.Ref{Kind: config.KindPool, Name: "/Common/web"}, func(o config.Object) error {
		o.(*config.Pool).Mode = config.LBLeastConnectionsMember
		return nil
	})
	if err != nil {
		t.Fatalf("Modify: %v", err)
	}
	var iu *config.InUseError
	if err := tx2.Delete(config.Ref{Kind: config.KindPool, Name: "/Common/web"}); !errors.As(err, &iu) || iu.By.Name != "/Common/vs" {
		t.Errorf("Delete of a used pool: %v, want an InUseError by /Common/vs", err)
	}
	if err := tx2.Delete(config.Ref{Kind: config.KindMonitor, Type: "http", Name: "/Common/http"}); !errors.Is(err, config.ErrBuiltin) {
		t.Errorf("Delete of a built-in: %v, want ErrBuiltin", err)
	}
	if err := tx2.Modify(config.Ref{Kind: config.KindPool, Name: "/Common/nope"}, func(config.Object) error { return nil }); !errors.Is(err, config.ErrNotFound) {
		t.Errorf("Modify of a missing pool: %v, want ErrNotFound", err)
	}
	if diff := cmp.Diff([]Change{{config.Ref{Kind: config.KindPool, Name: "/Common/web"}, OpModify}}, tx2.Diff()); diff != "" {
		t.Errorf("Diff (-want +got):\n%s", diff)
	}
	other := s.Begin()
	if err := other.Delete(config.Ref{Kind: config.KindVirtual, Name: "/Common/vs"}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Commit(); err != nil {
		t.Fatal(err)
	}
	var ce *config.ConflictError
	if _, err := tx2.Commit(); !errors.As(err, &ce) || ce.Base != 1 || ce.Current != 2 {
		t.Fatalf("Commit after another commit: %v, want ConflictError 1 → 2", err)
	}
	if got := s.Running().Pools["/Common/web"].Mode; got != config.LBRoundRobin {
		t.Errorf("a refused commit changed the running pool: %v", got)
	}
	tx2.Revert()
	if tx2.Changed() || tx2.Base() != 2 || len(tx2.Diff()) != 0 {
		t.Errorf("after Revert: changed %v base %d diff %v", tx2.Changed(), tx2.Base(), tx2.Diff())
	}

	// Validation happens at Commit, with the typed errors.
	bad := config.NewVirtual("/Common/vs2")
	bad.Destination = netip.MustParseAddrPort("198.18.1.101:80")
	bad.Pool = "/Common/nope"
	if err := tx2.Create(bad); err != nil {
		t.Fatal(err)
	}
	_, err = tx2.Commit()
	var ve *config.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, config.ErrNoSuchPool) || ve.Obj != bad.Ref() {
		t.Fatalf("Commit of a dangling pool: %v, want a ValidationError about %v", err, bad.Ref())
	}
	if !strings.Contains(err.Error(), "ltm virtual /Common/vs2: pool /Common/nope: no such pool") {
		t.Errorf("error text %q", err)
	}
}

// LastApply moves with each successful apply, and only then: a commit
// that fails validation leaves version and time as they were.
func TestLastApply(t *testing.T) {
	s, _ := newTestStore(t)
	if v, at := s.LastApply(); v != 0 || !at.IsZero() {
		t.Fatalf("before any apply: LastApply = %d, %v; want 0 and the zero time", v, at)
	}
	before := time.Now()
	tx := s.Begin()
	n := config.NewNode("/Common/n1")
	n.Address = netip.MustParseAddr("198.18.2.11")
	if err := tx.Create(n); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	v, at := s.LastApply()
	if v != 1 || v != s.Version() || at.Before(before) || at.After(time.Now()) {
		t.Fatalf("after one apply: LastApply = %d, %v; want 1 and a time since %v", v, at, before)
	}
	tx = s.Begin()
	p := config.NewPool("/Common/p")
	p.Members = []config.Member{config.NewMember("/Common/missing", 80)}
	if err := tx.Create(p); err == nil {
		if _, err := tx.Commit(); err == nil {
			t.Fatal("a pool on a missing node was applied")
		}
	}
	if v2, at2 := s.LastApply(); v2 != v || !at2.Equal(at) {
		t.Errorf("after a refused change: LastApply = %d, %v; want %d, %v", v2, at2, v, at)
	}
}
