package appliance_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"lbx/dataplane"
	"lbx/dataplane/porttest"
	"lbx/monitors"
)

// hasSelf reports whether the running program and the local stack both
// have the self IP p.
func hasSelf(app interface {
	Selfs() ([]dataplane.SelfIP, []netip.Prefix)
}, p netip.Prefix) (prog, stack bool) {
	ps, ss := app.Selfs()
	return slices.ContainsFunc(ps, func(s dataplane.SelfIP) bool { return s.Prefix == p }), slices.Contains(ss, p)
}

type selfsOf struct{ tb *testbed }

func (s selfsOf) Selfs() ([]dataplane.SelfIP, []netip.Prefix) {
	return s.tb.app.Engine().Program().SelfIPs, s.tb.app.Stack().Selfs()
}

// A net self is configuration that reaches the dataplane: created, the
// appliance reaches a server on the new network (SNAT automap leaves from
// the new self IP) and monitors it from there through the local stack;
// modified, traffic leaves from the new address; deleted, it is gone from
// the dataplane and the local stack. The boot config's self IPs are listed
// and cannot be changed by a command.
func TestNetSelfAppliesToDataplane(t *testing.T) {
	l := newLab(t)
	csw, ssw := porttest.NewSwitch(), porttest.NewSwitch()
	tb := &testbed{lab: l}
	tb.app = l.appliance([]dataplane.Port{l.port(csw, "lbx-ext"), l.port(ssw, "lbx-int")}, "",
		"ext 198.18.1.2/24 lbx-ext", "int 198.18.2.2/24 lbx-int")
	tb.client = l.host(csw, "client", "198.18.1.10/24", "198.18.1.2")
	// server4 is on a network the boot config does not have, on the
	// server port's segment; its gateway is the self IP to be created.
	l.server(ssw, "server4", "198.18.3.11/24", "198.18.3.2")

	out, err := tb.app.Exec("list net self")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"net self /Common/ext {\n    address 198.18.1.2/24\n    description \"from the boot config (selfips)\"\n    vlan /Common/lbx-ext\n}",
		"net self /Common/int {\n    address 198.18.2.2/24\n    description \"from the boot config (selfips)\"\n    vlan /Common/lbx-int\n}"} {
		if !strings.Contains(out, want) {
			t.Errorf("list net self lacks the boot self IP:\n%s\nin:\n%s", want, out)
		}
	}

	s3 := netip.MustParsePrefix("198.18.3.2/24")
	tb.exec(
		"create net self s3 address 198.18.3.2/24 vlan lbx-int",
		"create ltm monitor tcp m3 defaults-from tcp interval 1 timeout 3",
		"create ltm pool p3 monitor m3 members add { 198.18.3.11:80 }",
		"create ltm virtual vs3 destination 198.18.1.103:80 ip-protocol tcp pool p3 source-address-translation { type automap }",
	)
	if prog, stack := hasSelf(selfsOf{tb}, s3); !prog || !stack {
		t.Fatalf("after create net self: in program %v, in local stack %v; want both", prog, stack)
	}
	l.stepUntil(time.Second, 10*time.Second, "member on the new network up (probed from the new self IP)", func() bool {
		return memberState(tb, "/Common/p3", "/Common/198.18.3.11:80") == monitors.Up
	})
	peer := func() string {
		t.Helper()
		m := peerRe.FindStringSubmatch(get(t, tb.client, "http://198.18.1.103/"))
		if m == nil {
			t.Fatal("no peer in answer")
		}
		return m[1]
	}
	if got := peer(); got != "198.18.3.2" {
		t.Errorf("server4 saw %s, want the new self IP 198.18.3.2 (SNAT automap)", got)
	}

	tb.exec("modify net self s3 address 198.18.3.3/24")
	if prog, stack := hasSelf(selfsOf{tb}, s3); prog || stack {
		t.Errorf("after modify: old self IP in program %v, in local stack %v; want neither", prog, stack)
	}
	if prog, stack := hasSelf(selfsOf{tb}, netip.MustParsePrefix("198.18.3.3/24")); !prog || !stack {
		t.Errorf("after modify: new self IP in program %v, in local stack %v; want both", prog, stack)
	}
	if got := peer(); got != "198.18.3.3" {
		t.Errorf("after modify net self, server4 saw %s, want 198.18.3.3", got)
	}

	tb.exec("delete ltm virtual vs3", "delete ltm pool p3", "delete net self s3")
	if prog, stack := hasSelf(selfsOf{tb}, netip.MustParsePrefix("198.18.3.3/24")); prog || stack {
		t.Errorf("after delete: self IP in program %v, in local stack %v; want neither", prog, stack)
	}

	for _, tt := range []struct{ cmd, want string }{
		{"modify net self ext address 198.18.1.5/24", "01070734:3: The Self IP (/Common/ext) comes from the boot config (selfips); it cannot be modified or deleted here: change it in the boot config and restart lbx."},
		{"delete net self int", "01070734:3: The Self IP (/Common/int) comes from the boot config (selfips); it cannot be modified or deleted here: change it in the boot config and restart lbx."},
		{"create net self s4 address 198.18.2.2/24 vlan lbx-int", "net self /Common/s4: address 198.18.2.2/24: already used by self /Common/int of the boot config (selfips)"},
	} {
		if _, err := tb.app.Exec(tt.cmd); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s:\n got: %v\nwant: %s", tt.cmd, err, tt.want)
		}
	}
	if prog, stack := hasSelf(selfsOf{tb}, netip.MustParsePrefix("198.18.1.2/24")); !prog || !stack {
		t.Errorf("boot self IP ext: in program %v, in local stack %v; want both", prog, stack)
	}
}
