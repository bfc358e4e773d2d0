package ctrlplane

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"lbx/ctrlplane/tmsh"
)

// One setup written in tmsh and in the Alteon dialect makes equal running
// configurations: the Alteon menus are a view of the same model, not a
// second one.
func TestDialectsEquivalent(t *testing.T) {
	const alteonScript = `/c/slb/real 1/ena/rip 198.18.2.11
/c/slb/real 2/ena/rip 198.18.2.12/maxcon 100
/c/slb/group 1/metric roundrobin/add 1/add 2
/c/slb/virt 1/ena/vip 198.18.1.100/service 80/group 1
/c/slb/virt 1/service 80/pip/mode egress
`
	const tmshScript = `create ltm node /Common/1 address 198.18.2.11
create ltm node /Common/2 address 198.18.2.12 connection-limit 100
create ltm pool /Common/1 load-balancing-mode round-robin slow-ramp-time 0 members add { /Common/1:0 /Common/2:0 }
create ltm virtual /Common/1_80 destination 198.18.1.100:80 ip-protocol tcp pool /Common/1 source-address-translation { type automap }
`
	alt, _ := newTestStore(t, "")
	if _, err := alt.alt.Push(alteonScript); err != nil {
		t.Fatalf("Alteon push: %v", err)
	}
	tm, _ := newTestStore(t, "")
	if _, err := tm.tm.Push(tmshScript); err != nil {
		t.Fatalf("tmsh push: %v", err)
	}
	a, b := tmsh.Text(alt.Running()), tmsh.Text(tm.Running())
	if a == "" {
		t.Fatal("the Alteon push made an empty configuration")
	}
	t.Logf("running config:\n%s", a)
	if diff := cmp.Diff(b, a); diff != "" {
		t.Errorf("running configs differ (-tmsh +alteon):\n%s", diff)
	}
}
