package tmsh

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"lbx/ctrlplane/compile"
	"lbx/ctrlplane/config"
	"lbx/dataplane"
	"lbx/pools"
)

// Neither the store nor the dataplane writes into an installed Program:
// after every later apply (re-enabling a member starts its slow ramp, an
// unrelated object is added, the pool changes), health changes and show
// commands, each program still equals what compiling its configuration
// again gives.
func TestApplyDoesNotWriteProgram(t *testing.T) {
	s, dp := newTestStore(t, persistConf)
	type applied struct {
		cmd  string
		cfg  *config.Config
		prog *dataplane.Program
	}
	history := []applied{{"load", s.Running(), dp.Program()}}
	opts := []cmp.Option{
		cmp.Exporter(func(reflect.Type) bool { return true }),
		cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}),
	}
	for i, cmd := range []string{
		"modify ltm pool web members modify { 198.18.2.11:80 { session user-disabled } }",
		"modify ltm pool web members modify { 198.18.2.11:80 { session user-enabled } }",
		"create ltm pool other members add { 198.18.2.12:81 }",
		"create ltm virtual vs2 destination 198.18.1.101:80 pool other",
		"modify ltm pool web slow-ramp-time 30",
		"modify ltm node 198.18.2.11 state user-down",
		"modify ltm node 198.18.2.11 state user-up",
	} {
		dp.SetMono(int64(100 * (i + 1)))
		if _, err := s.Exec(cmd); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		dp.MemberHealth("/Common/web", "/Common/198.18.2.12:80").Set(pools.HealthUp, int64(100*(i+1)))
		for _, show := range []string{"show ltm pool", "show ltm virtual", "show ltm node"} {
			if _, err := s.Exec(show); err != nil {
				t.Fatalf("%s: %v", show, err)
			}
		}
		history = append(history, applied{cmd, s.Running(), dp.Program()})
		for _, h := range history {
			want, err := compile.Compile(h.cfg, testNet)
			if err != nil {
				t.Fatalf("compile again: %v", err)
			}
			want.Generation = h.prog.Generation
			if diff := cmp.Diff(want, h.prog, opts...); diff != "" {
				t.Fatalf("after %q, the program of %q was written (-compiled +installed):\n%s", cmd, h.cmd, diff)
			}
		}
	}
	if m := dp.Member("/Common/web", "/Common/198.18.2.11:80"); m == nil || m.EnabledAt != 700 {
		t.Errorf("member back online: %+v, want EnabledAt 700 in the dataplane's runtime", m)
	}
}
