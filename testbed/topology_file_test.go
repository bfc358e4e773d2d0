package testbed

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A topology file by path: its appliances' configs are read next to it,
// the emulated servers' modes are checked, and the result is what Up
// builds from.
func TestLoadTopologyFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	topo := `
name: tiny
segments: [br-a, br-b]
vip: 198.18.1.100
appliances:
  - name: lb
    config: lb.conf
    ports:
      - {device: lb-a, segment: br-a, mac: "02:00:5e:30:01:02", self: 198.18.1.2/24}
      - {device: lb-b, segment: br-b, mac: "02:00:5e:30:02:02", self: 198.18.2.2/24}
hosts:
  - {name: client, segment: br-a, address: 198.18.1.10/24, gateway: 198.18.1.2, routes: [{to: 10.9.0.0/16, via: 198.18.1.2}]}
  - {name: web1, segment: br-b, address: 198.18.2.11/24, serve: {listen: ["80:http", "83:slow=2s"]}}
`
	write("tiny.yaml", topo)
	write("lb.conf", "ltm pool /Common/p { }\n")
	got, err := LoadTopology(filepath.Join(dir, "tiny.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	a := got.Appliances[0]
	if got.Name != "tiny" || a.Name != "lb" || a.Config != "ltm pool /Common/p { }\n" || a.Flows != 65536 || a.EmbeddedBoot {
		t.Fatalf("appliance %+v", a)
	}
	if got.TAPs["lb-a"] != "br-a" || got.PortMACs["lb-b"] != "02:00:5e:30:02:02" {
		t.Fatalf("first appliance's ports %v %v", got.TAPs, got.PortMACs)
	}
	web, ok := got.Host("web1")
	if !ok || web.NS != "lbx-web1" || web.SwEnd != "v-web1" || web.Serve == nil || len(web.Serve.Listen) != 2 || web.Serve.Name != "web1" {
		t.Fatalf("host web1 %+v", web)
	}
	if c, _ := got.Host("client"); len(c.Routes) != 1 || c.Routes[0].Via.String() != "198.18.1.2" {
		t.Fatalf("client routes %+v", c.Routes)
	}
	ports, err := a.bootPorts("tap")
	if err != nil || !strings.Contains(ports, `"device":"lb-a"`) {
		t.Fatalf("boot ports %s %v", ports, err)
	}
	selfs, err := a.bootSelfIPs()
	if err != nil || selfs != `[{"name":"/Common/self_lb-a","address":"198.18.1.2/24","port":"lb-a"},{"name":"/Common/self_lb-b","address":"198.18.2.2/24","port":"lb-b"}]` {
		t.Fatalf("boot self IPs %s %v", selfs, err)
	}

	// A mode the emulated server does not have names the host and field;
	// a config file that is missing names the appliance.
	write("tiny.yaml", strings.Replace(topo, "83:slow=2s", "83:sloww", 1))
	if _, err := LoadTopology(filepath.Join(dir, "tiny.yaml")); err == nil || !strings.Contains(err.Error(), "hosts[1] (web1).serve.listen[1]") {
		t.Fatalf("bad mode: %v", err)
	}
	write("tiny.yaml", strings.Replace(topo, "lb.conf", "nosuch.conf", 1))
	if _, err := LoadTopology(filepath.Join(dir, "tiny.yaml")); err == nil || !strings.Contains(err.Error(), "appliances[0] (lb).config") {
		t.Fatalf("missing config: %v", err)
	}
	// The built-in ha: both units name their ports ext and int, and
	// their ha: sections become --ha.* boot flags.
	ha, err := LoadTopology("ha")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ unit, priority, mirror string }{{"lbx1", "200", "127.0.0.1:4801"}, {"lbx2", "100", "127.0.0.2:4801"}} {
		a, _, ok := ha.Appliance(c.unit)
		if !ok {
			t.Fatalf("ha: no appliance %s", c.unit)
		}
		ports, _ := a.bootPorts("tap")
		selfs, _ := a.bootSelfIPs()
		boot := strings.Join(a.Boot, " ")
		if !strings.Contains(ports, `"name":"ext"`) || !strings.Contains(selfs, `"port":"int"`) ||
			!strings.Contains(boot, "--ha.unit "+c.unit+" ") || !strings.Contains(boot, "--ha.priority "+c.priority+" ") ||
			!strings.Contains(boot, "--ha.mirror_addr "+c.mirror+" ") || !strings.Contains(a.Config, "mirror enabled") {
			t.Fatalf("ha: %s: ports %s, self IPs %s, boot flags %s", c.unit, ports, selfs, boot)
		}
	}
	// The built-in arr translates its ARR config at load.
	arr, err := LoadTopology("arr")
	if err != nil {
		t.Fatal(err)
	}
	if a, _, ok := arr.Appliance("arr2"); !ok || !strings.Contains(a.Config, "ltm policy /Common/arr_rules") || !strings.Contains(a.Config, "198.18.3.102:80") {
		t.Fatalf("arr2's config:\n%s", a.Config)
	}
	if d, err := LoadTopology("default"); err != nil || len(d.Appliances) != 1 || !d.Appliances[0].EmbeddedBoot {
		t.Fatalf("default: %v %+v", err, d.Appliances)
	}
}
