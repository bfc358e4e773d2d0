package store

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lbx/ctrlplane/config"
)

// A dry run reports the diff and the errors a commit would, and leaves
// the running configuration, its version and the dataplane untouched.
func TestCheckChangesNothing(t *testing.T) {
	s, dp := newTestStore(t)
	n := config.NewNode("/Common/n1")
	n.Address = netip.MustParseAddr("198.18.2.11")
	if _, err := s.Update(func(t *Txn) error { return t.Create(n) }); err != nil {
		t.Fatal(err)
	}
	before, version, installs := s.Running(), s.Version(), len(dp.installs)
	unchanged := func(when string) {
		t.Helper()
		if !reflect.DeepEqual(before, s.Running()) {
			t.Errorf("%s: running configuration changed", when)
		}
		if s.Version() != version || len(dp.installs) != installs {
			t.Errorf("%s: version %d installs %d, want %d and %d", when, s.Version(), len(dp.installs), version, installs)
		}
	}

	p := config.NewPool("/Common/web")
	p.Members = []config.Member{config.NewMember(n.Name, 80)}
	diff, _, err := s.Check(func(t *Txn) error {
		if err := t.Create(p); err != nil {
			return err
		}
		if err := t.Delete(n.Ref()); !errors.As(err, new(*config.InUseError)) {
			return errors.New("deleting a node in use was not refused")
		}
		return t.Modify(n.Ref(), func(o config.Object) error {
			o.(*config.Node).Description = "web 1"
			return nil
		})
	})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	want := []Change{{n.Ref(), OpModify}, {p.Ref(), OpCreate}}
	if d := cmp.Diff(want, diff); d != "" {
		t.Errorf("diff (-want +got):\n%s", d)
	}
	if got, want := FormatDiff(diff), "~ ltm node /Common/n1\n+ ltm pool /Common/web\n"; got != want {
		t.Errorf("FormatDiff = %q, want %q", got, want)
	}
	unchanged("after a good check")

	bad := config.NewVirtual("/Common/vs")
	bad.Destination = netip.MustParseAddrPort("198.18.1.100:80")
	bad.Pool = "/Common/nope"
	_, _, err = s.Check(func(t *Txn) error {
		if err := t.Create(bad); err != nil {
			return err
		}
		t.MarkLine(7)
		return nil
	})
	var le *config.LineError
	if !errors.Is(err, config.ErrNoSuchPool) || !errors.As(err, &le) || le.Line != 7 {
		t.Errorf("Check of a dangling pool: %v, want ErrNoSuchPool at line 7", err)
	}
	unchanged("after a failed check")
}
