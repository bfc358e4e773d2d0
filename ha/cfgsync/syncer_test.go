package cfgsync

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// memLocal is a unit's configuration reduced to its shared text, applied
// all or nothing: a text containing "invalid" is refused.
type memLocal struct {
	mu      sync.Mutex
	version uint64
	shared  string
}

func (m *memLocal) Version() uint64 { m.mu.Lock(); defer m.mu.Unlock(); return m.version }
func (m *memLocal) Shared() (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.shared, nil
}

func (m *memLocal) ApplyShared(text string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if strings.Contains(text, "invalid") {
		return "", errors.New("ltm pool /Common/invalid: refused by validation")
	}
	m.shared = text
	m.version++
	return text, nil
}

func (m *memLocal) Authenticate(user, password string) error {
	if user == "admin" && password == "secret" {
		return nil
	}
	return fmt.Errorf("user %q: bad password", user)
}

// tlog writes the units' logs to the test's.
type tlog struct{ t *testing.T }

func (w tlog) Write(p []byte) (int, error) { w.t.Log(strings.TrimSpace(string(p))); return len(p), nil }

// set is an operator's commit on this unit.
func (m *memLocal) set(text string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.shared = text
	m.version++
}

func (m *memLocal) get() string { s, _ := m.Shared(); return s }

func newUnit(t *testing.T, name, dir, listen string, l *memLocal) *Syncer {
	t.Helper()
	s, err := New(Config{Device: name, Listen: listen, StateDir: dir, Poll: 50 * time.Millisecond, Timeout: 5 * time.Second,
		Logger: slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))}, l)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { s.Close() })
	return s
}

// waitFor polls cond every 20ms for at most 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func status(t *testing.T, s *Syncer) SyncStatus {
	t.Helper()
	st, err := s.Status()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// pair is two trusted units in device group dg1.
func pair(t *testing.T, auto bool) (a, b *Syncer, la, lb *memLocal, dirB string) {
	la, lb = &memLocal{shared: "a0"}, &memLocal{shared: "b0"}
	dirB = t.TempDir()
	a = newUnit(t, "lbx1", t.TempDir(), "127.0.0.1:0", la)
	b = newUnit(t, "lbx2", dirB, "127.0.0.1:0", lb)
	if _, err := a.Trust(b.Addr(), "lbx2", "admin", "wrong"); err == nil || !strings.Contains(err.Error(), `authentication of "admin" on lbx2 failed`) {
		t.Fatalf("trust with a bad password: %v", err)
	}
	if _, err := a.Trust(b.Addr(), "lbx9", "admin", "secret"); err == nil || !strings.Contains(err.Error(), "this device is lbx2, not lbx9") {
		t.Fatalf("trust under the wrong name: %v", err)
	}
	fp, err := a.Trust(b.Addr(), "lbx2", "admin", "secret")
	if err != nil {
		t.Fatal(err)
	}
	if fp != b.Fingerprint() {
		t.Fatalf("fingerprint %s, want lbx2's %s", fp, b.Fingerprint())
	}
	if len(b.Peers()) != 1 || b.Peers()[0].Name != "lbx1" {
		t.Fatalf("lbx2 trusts %+v", b.Peers())
	}
	if err := a.PutGroup(Group{Name: "dg1", Type: TypeSyncFailover, AutoSync: auto, Devices: []string{"lbx1", "lbx2"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "lbx2 to take the group definition", func() bool { return len(b.Groups()) == 1 })
	if st := status(t, a); st.Status != AwaitingInitial {
		t.Fatalf("before the first sync: %+v", st)
	}
	return a, b, la, lb, dirB
}

func TestTrustPinsCertificates(t *testing.T) {
	a, b, _, _, _ := pair(t, false)
	// A third unit that was never trusted is refused by lbx2, whatever
	// name it gives.
	c := newUnit(t, "lbx1", "", "127.0.0.1:0", &memLocal{})
	_, err := c.call("lbx2", b.Addr(), nil, nil, &Message{Kind: KindStatus, From: "lbx1"})
	if err == nil || !strings.Contains(err.Error(), "is not in the trust domain of lbx2") {
		t.Fatalf("an impostor's request: %v", err)
	}
	// And lbx1 refuses a server that is not the pinned lbx2.
	a.mu.Lock()
	p := *a.peers["lbx2"]
	a.mu.Unlock()
	_, err = a.call("lbx2", c.Addr(), p.Cert, nil, &Message{Kind: KindStatus, From: "lbx1"})
	if err == nil || !strings.Contains(err.Error(), "not the trusted one") {
		t.Fatalf("an impostor server: %v", err)
	}
}

func TestManualSyncRefusalAndConflict(t *testing.T) {
	a, b, la, lb, _ := pair(t, false)
	if err := a.ToGroup("dg1"); err != nil {
		t.Fatal(err)
	}
	if lb.get() != "a0" {
		t.Fatalf("lbx2 has %q after to-group", lb.get())
	}
	if st := status(t, a); st.Status != InSync {
		t.Fatalf("after to-group: %+v", st)
	}
	// A change on lbx1 without auto-sync: Changes Pending on both.
	la.set("a1")
	st := status(t, a)
	if st.Status != ChangesPending || st.Peers[0].Pending != "local" {
		t.Fatalf("after a change on lbx1: %+v", st)
	}
	if st := status(t, b); st.Status != ChangesPending || st.Peers[0].Pending != "peer" {
		t.Fatalf("lbx2 after a change on lbx1: %+v", st)
	}
	// An invalid configuration is refused, with the reason, and lbx2
	// keeps its own.
	la.set("a2 invalid")
	err := a.ToGroup("dg1")
	if err == nil || !strings.Contains(err.Error(), "lbx2 refused: lbx2 kept its configuration: ltm pool /Common/invalid: refused by validation") {
		t.Fatalf("to-group of an invalid configuration: %v", err)
	}
	if lb.get() != "a0" {
		t.Fatalf("lbx2 changed to %q", lb.get())
	}
	// Both change: a possible change conflict, never merged.
	la.set("a3")
	lb.set("b3")
	for _, s := range []*Syncer{a, b} {
		st := status(t, s)
		if st.Status != ChangesPending || st.Peers[0].Pending != "both" || !strings.Contains(st.Summary, "possible change conflict") {
			t.Fatalf("%s in a conflict: %+v", s.Device(), st)
		}
	}
	if la.get() != "a3" || lb.get() != "b3" {
		t.Fatalf("merged: %q %q", la.get(), lb.get())
	}
	// The operator chooses lbx2's.
	if err := a.FromGroup("dg1"); err != nil {
		t.Fatal(err)
	}
	if la.get() != "b3" {
		t.Fatalf("lbx1 has %q after from-group", la.get())
	}
	for _, s := range []*Syncer{a, b} {
		if st := status(t, s); st.Status != InSync {
			t.Fatalf("%s after from-group: %+v", s.Device(), st)
		}
	}
}

func TestAutoSyncAndCatchUp(t *testing.T) {
	a, b, la, lb, dirB := pair(t, true)
	if err := a.ToGroup("dg1"); err != nil {
		t.Fatal(err)
	}
	la.set("a1")
	waitFor(t, "auto-sync of a1", func() bool { return lb.get() == "a1" })
	lb.set("b2")
	waitFor(t, "auto-sync of b2 back", func() bool { return la.get() == "b2" })
	waitFor(t, "In Sync", func() bool { return a.PromptStatus() == InSync && b.PromptStatus() == InSync })

	// An invalid change is refused by the peer and not retried.
	la.set("a3 invalid")
	waitFor(t, "the refusal", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return !a.refused["lbx2"].IsZero()
	})
	if lb.get() != "b2" {
		t.Fatalf("lbx2 took %q", lb.get())
	}
	la.set("a4")
	waitFor(t, "auto-sync of a4", func() bool { return lb.get() == "a4" })

	// lbx2 goes down; lbx1 changes; lbx2 comes back and catches up.
	addrB := b.Addr()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	la.set("a5")
	waitFor(t, "Disconnected", func() bool { return a.PromptStatus() == Disconnected })
	b2 := newUnit(t, "lbx2", dirB, addrB, lb)
	waitFor(t, "catch-up", func() bool { return lb.get() == "a5" })
	waitFor(t, "In Sync after catch-up", func() bool { return b2.PromptStatus() == InSync })
}

// A group deleted on one unit is not taken back from the other; a newer
// definition (created again) is.
func TestDeleteGroupStays(t *testing.T) {
	a, b, _, _, _ := pair(t, false)
	if err := a.DeleteGroup("dg1"); err != nil {
		t.Fatal(err)
	}
	// lbx2 still has it and asks lbx1 every poll: lbx1 refuses, as the
	// two share no group now.
	waitFor(t, "lbx2 refused", func() bool {
		st := status(t, b)
		return st.Status == Disconnected && strings.Contains(st.Peers[0].Err, "share no device group")
	})
	if len(a.Groups()) != 0 {
		t.Fatalf("lbx1 took the deleted group back: %+v", a.Groups())
	}
	if err := b.PutGroup(Group{Name: "dg1", Type: TypeSyncOnly, Devices: []string{"lbx1", "lbx2"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "lbx1 takes the new definition", func() bool { g := a.Groups(); return len(g) == 1 && g[0].Type == TypeSyncOnly })
}
