package alteon

import (
	"net/netip"
	"strings"
	"testing"

	"lbx/ctrlplane/tmsh"
)

// /c/l3 sets net self and net route objects; the dump prints them back as
// the menus, and pushing the dump into an empty appliance gives the same
// configuration.
func TestAlteonL3(t *testing.T) {
	s, _ := newTestStore(t, "")
	ss := s.NewSession()
	altExec(t, ss, `/c/l3/if 3/ena/addr 198.18.2.5/mask 255.255.255.128/vlan server/descr "second server-side self"
/c/l3/gw 1/addr 198.18.1.1
/c/l3/route/ip4/add 198.19.0.0 255.255.0.0 198.18.2.254 3
/c/l3/route/ip4/add 10.1.0.0 255.255.255.0 198.18.2.253
apply`)
	run := s.Running()
	self := run.Selfs["/Common/if3"]
	if self == nil || self.Address != netip.MustParsePrefix("198.18.2.5/25") || self.VLAN != "/Common/server" || self.Description != "second server-side self" {
		t.Fatalf("net self /Common/if3 = %+v", self)
	}
	if r := run.Routes["/Common/gw1"]; r == nil || r.Network.Bits() != 0 || r.Gateway != netip.MustParseAddr("198.18.1.1") {
		t.Fatalf("net route /Common/gw1 = %+v", r)
	}
	if r := run.Routes["/Common/route_198.19.0.0_16"]; r == nil || r.Gateway != netip.MustParseAddr("198.18.2.254") {
		t.Fatalf("net route for 198.19.0.0/16 = %+v", r)
	}

	dump := altExec(t, ss, "/c/dump")
	for _, want := range []string{
		"/c/l3/if 3\n\tena\n\tipver v4\n\taddr 198.18.2.5\n\tmask 255.255.255.128\n\tvlan server\n",
		"/c/l3/gw 1\n\tena\n\tipver v4\n\taddr 198.18.1.1\n",
		"/c/l3/route/ip4\n\tadd 10.1.0.0 255.255.255.0 198.18.2.253\n\tadd 198.19.0.0 255.255.0.0 198.18.2.254\n",
		"net self /Common/self_client 198.18.1.2/24 vlan client (from the boot config",
	} {
		if !strings.Contains(dump, want) {
			t.Errorf("dump lacks %q:\n%s", want, dump)
		}
	}
	if i, j := strings.Index(dump, "/c/l3/if 3"), strings.Index(dump, "/c/slb\n"); i < 0 || j < i {
		t.Errorf("dump does not list /c/l3 before /c/slb:\n%s", dump)
	}
	s2, _ := newTestStore(t, "")
	if out, err := s2.Push(dump); err != nil {
		t.Fatalf("push of the dump: %v\n%s", err, out)
	}
	if a, b := tmsh.Text(s.Running()), tmsh.Text(s2.Running()); a != b {
		t.Errorf("configs differ after a dump round trip:\n%s\n---\n%s", a, b)
	}
	// The dump pushed again over itself changes nothing.
	if out, err := s2.Push(dump); err != nil {
		t.Fatalf("second push of the dump: %v\n%s", err, out)
	}

	// diff shows a route removed and one added as rem and add.
	altExec(t, ss, "/c/l3/route/ip4/rem 10.1.0.0 255.255.255.0/add 10.2.0.0 255.255.0.0 198.18.2.253")
	diff := altExec(t, ss, "diff")
	if want := "/c/l3/route/ip4\n\trem 10.1.0.0 255.255.255.0\n\tadd 10.2.0.0 255.255.0.0 198.18.2.253\n"; !strings.Contains(diff, want) {
		t.Errorf("diff = %q, want it to contain %q", diff, want)
	}
	altExec(t, ss, "apply")
	if routeFor(s.Running(), netip.MustParsePrefix("10.1.0.0/24")) != nil || routeFor(s.Running(), netip.MustParsePrefix("10.2.0.0/16")) == nil {
		t.Errorf("routes after rem/add and apply:\n%s", tmsh.Text(s.Running()))
	}
	altExec(t, ss, "/c/l3/gw 1/del\n/c/l3/if 3/del\napply")
	if run := s.Running(); run.Routes["/Common/gw1"] != nil || run.Selfs["/Common/if3"] != nil {
		t.Errorf("gw 1 / if 3 left after del:\n%s", tmsh.Text(run))
	}
}

// Bad input is refused naming what is wrong, and nothing changes.
func TestAlteonL3Errors(t *testing.T) {
	s, _ := newTestStore(t, "")
	ss := s.NewSession()
	altExec(t, ss, "/c/l3/route/ip4/add 198.19.0.0 255.255.0.0 198.18.2.254\napply")
	before := tmsh.Text(s.Running())
	for _, tc := range []struct{ line, want string }{
		{"/c/l3/if 0", "if 0"},
		{"/c/l3/if 257", "if 257"},
		{"/c/l3/gw 5", "gw 5"},
		{"/c/l3/if 1/addr 300.1.1.1", "if 1: addr"},
		{"/c/l3/if 1/mask 255.255.255.0", "set addr first"},
		{"/c/l3/if 1/addr 198.18.2.9/mask 255.0.255.0", "if 1: mask"},
		{"/c/l3/if 1/vlan 10", "data ports"},
		{"/c/l3/if 1/dis", "cannot be disabled"},
		{"/c/l3/gw 1/addr fe80::1", "want an IPv4 address"},
		{"/c/l3/route/ip4/add 198.19.1.0 255.255.0.0 198.18.2.254", "host bits"},
		{"/c/l3/route/ip4/add 198.19.0.0 255.255.0.0 198.18.2.253", "exists"},
		{"/c/l3/route/ip4/rem 10.9.0.0 255.255.0.0", "no route"},
		{"/c/l3/gw 2/del", "does not exist"},
	} {
		ss := s.NewSession()
		if out, err := ss.Exec(tc.line); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v (out %q), want one containing %q", tc.line, err, out, tc.want)
		}
	}
	// An interface without a VLAN is refused at apply, naming the field.
	ss = s.NewSession()
	altExec(t, ss, "/c/l3/if 2/addr 198.18.2.9")
	if out, err := ss.Exec("apply"); err == nil || !strings.Contains(err.Error(), "/Common/if2") || !strings.Contains(err.Error(), "vlan") {
		t.Errorf("apply of an interface without vlan: err %v (out %q)", err, out)
	}
	if after := tmsh.Text(s.Running()); after != before {
		t.Errorf("running config changed:\n%s\n---\n%s", before, after)
	}
}
