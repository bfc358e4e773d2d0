package store

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"lbx/ctrlplane/config"
)

// A committed transaction's candidate is applied without a second
// ApplyDefaults (every edit completed it): what runs is what a whole
// ApplyDefaults of it gives, for edits that each lean on a default made
// by another — a member naming a node by its address (the node is made),
// a member of a node created after its pool (its address is filled in
// then), a virtual without protocol or mask, a pool edited after.
func TestCommitRunsCompletedCandidate(t *testing.T) {
	s, dp := newTestStore(t)
	tx := s.Begin()
	byAddr := config.NewPool("/Common/byaddr")
	byAddr.Members = []config.Member{config.NewMember("/Common/198.18.2.11", 80)}
	later := config.NewPool("/Common/later")
	later.Members = []config.Member{config.NewMember("/Common/n2", 8080)}
	n2 := config.NewNode("/Common/n2")
	n2.Address = netip.MustParseAddr("198.18.2.12")
	v := config.NewVirtual("/Common/vs")
	v.Destination = netip.MustParseAddrPort("198.18.1.100:80")
	v.Pool = later.Name
	for _, o := range []config.Object{byAddr, later, n2, v} {
		if err := tx.Create(o); err != nil {
			t.Fatalf("Create %v: %v", o.Ref(), err)
		}
	}
	err := tx.Modify(config.Ref{Kind: config.KindPool, Name: byAddr.Name}, func(o config.Object) error {
		p := o.(*config.Pool)
		p.Members = append(p.Members, config.NewMember("/Common/198.18.2.13", 443))
		return nil
	})
	if err != nil {
		t.Fatalf("Modify: %v", err)
	}
	if _, err := tx.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	run := s.Running()
	want := run.Clone()
	want.ApplyDefaults()
	opts := []cmp.Option{cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{}, netip.Prefix{}), cmpopts.EquateEmpty()}
	if diff := cmp.Diff(want, run, opts...); diff != "" {
		t.Errorf("the running configuration is not complete (-ApplyDefaults +running):\n%s", diff)
	}
	for _, n := range []string{"/Common/198.18.2.11", "/Common/198.18.2.13"} {
		if run.Nodes[n] == nil {
			t.Errorf("node %s was not made from its member", n)
		}
	}
	if got := run.Pools[later.Name].Members[0].Address; got != n2.Address {
		t.Errorf("member of /Common/n2: address %v, want %v", got, n2.Address)
	}
	if got := run.Virtuals[v.Name].Protocol; got != config.ProtocolTCP {
		t.Errorf("virtual protocol %v, want tcp", got)
	}
	prog := dp.Program()
	if prog == nil || len(prog.Virtuals) != 1 || len(prog.Virtuals[0].Pool.Members) != 1 ||
		prog.Virtuals[0].Pool.Members[0].Addr != n2.Address {
		t.Errorf("installed program %+v: want the virtual with its member on %v", prog, n2.Address)
	}
}
