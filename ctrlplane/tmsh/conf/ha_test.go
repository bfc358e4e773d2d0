package conf

import (
	"strings"
	"testing"

	"lbx/ctrlplane/config"
)

func TestSelfTrafficGroup(t *testing.T) {
	c := mustParse(t, `
net self s { address 198.18.2.2/24 vlan lbx-int traffic-group traffic-group-local-only }
net self f { address 198.18.2.1/24 vlan lbx-int traffic-group traffic-group-1 }`)
	s, f := c.Selfs["/Common/s"], c.Selfs["/Common/f"]
	if s.Floating() || s.TrafficGroup != "" {
		t.Errorf("s: traffic group %q, floating %v", s.TrafficGroup, s.Floating())
	}
	if !f.Floating() || f.TrafficGroup != config.TrafficGroup1 {
		t.Errorf("f: traffic group %q, floating %v", f.TrafficGroup, f.Floating())
	}
	if err := config.Validate(c, config.Env{}); err != nil {
		t.Fatal(err)
	}
	out := Format(c, false)
	want := "net self /Common/f {\n    address 198.18.2.1/24\n    traffic-group /Common/traffic-group-1\n    vlan /Common/lbx-int\n}\n"
	if !strings.Contains(out, want) {
		t.Errorf("printed\n%s\nwant it to contain\n%s", out, want)
	}
	if strings.Contains(out, "traffic-group-local-only") {
		t.Errorf("the default printed without all:\n%s", out)
	}
	if all := Format(c, true); strings.Count(all, "traffic-group /Common/traffic-group-local-only") != 1 {
		t.Errorf("all: want the default once (self s):\n%s", all)
	}
}
