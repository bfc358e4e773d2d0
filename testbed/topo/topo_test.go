package topo

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

const small = `
name: tiny
segments: [br-a, br-b]
vip: 198.18.1.100
appliances:
  - name: lb
    mgmt: true
    ports:
      - {device: lb-a, segment: br-a, mac: "02:00:5e:30:01:02", self: 198.18.1.2/24}
      - {device: lb-b, segment: br-b, mac: "02:00:5e:30:02:02", self: 198.18.2.2/24}
hosts:
  - {name: client, segment: br-a, address: 198.18.1.10/24, gateway: 198.18.1.2,
     routes: [{to: 10.9.0.0/16, via: 198.18.1.2}]}
  - {name: web1, segment: br-b, address: 198.18.2.11/24, serve: {udp: ":7", listen: ["80:http", "83:slow=2s"]}}
`

// haSmall is an ha: section for small's appliance, whose first port is
// named ext.
const haSmall = `    ha: {vrid: 7, priority: 200, advert_interval: 10, ports: [ext],
         mirror_addr: "127.0.0.1:4801", mirror_peer: "127.0.0.2:4801", configsync: 127.0.0.1}`

// withHA is small with the ha: section and lb-a named ext.
var withHA = strings.Replace(strings.Replace(small, "    mgmt: true\n", "    mgmt: true\n"+haSmall+"\n", 1), "device: lb-a,", "device: lb-a, name: ext,", 1)

// An ha: section parses, and becomes the boot flags of `lbx run`.
func TestParseHA(t *testing.T) {
	f, err := Parse([]byte(withHA))
	if err != nil {
		t.Fatal(err)
	}
	a := f.Appliances[0]
	if a.Ports[0].PortName() != "ext" || a.Ports[1].PortName() != "lb-b" || a.HA == nil {
		t.Fatalf("parsed %+v", a)
	}
	got := strings.Join(a.HA.Flags(a.Name), " ")
	want := "--ha.unit lb --ha.vrid 7 --ha.priority 200 --ha.preempt=false --ha.advert_interval 10 --ha.ports ext " +
		"--ha.mirror_addr 127.0.0.1:4801 --ha.mirror_peer 127.0.0.2:4801 --ha.configsync 127.0.0.1"
	if got != want {
		t.Fatalf("flags\n%s\nwant\n%s", got, want)
	}
}

func TestParseSmall(t *testing.T) {
	f, err := Parse([]byte(small))
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "tiny" || len(f.Appliances) != 1 || len(f.Appliances[0].Ports) != 2 || len(f.Hosts) != 2 {
		t.Fatalf("parsed %+v", f)
	}
	if r := f.Hosts[0].Routes; len(r) != 1 || r[0].To != "10.9.0.0/16" || r[0].Via != "198.18.1.2" {
		t.Fatalf("routes %+v", r)
	}
	if s := f.Hosts[1].Serve; s == nil || s.UDP != ":7" || len(s.Listen) != 2 {
		t.Fatalf("serve %+v", s)
	}
}

// Every bad input is refused with an error that names the field at fault.
func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ name, old, new, want string }{
		{"unknown field", "vip: ", "vipp: ", "field vipp not found"},
		{"bad vip", "198.18.1.100", "198.18.1.300", "vip \"198.18.1.300\""},
		{"bad self", "self: 198.18.1.2/24", "self: 198.18.1.2", "appliances[0] (lb).ports[0].self \"198.18.1.2\""},
		{"bad mac", "02:00:5e:30:01:02", "03:00:5e:30:01:02", "appliances[0] (lb).ports[0].mac \"03:00:5e:30:01:02\": a multicast"},
		{"dup mac", "02:00:5e:30:02:02", "02:00:5e:30:01:02", "ports[1].mac \"02:00:5e:30:01:02\": also"},
		{"bad segment", "segment: br-b, mac", "segment: br-c, mac", "ports[1].segment \"br-c\": not one of segments"},
		{"bad address", "198.18.2.11/24", "198.18.2.311/24", "hosts[1] (web1).address \"198.18.2.311/24\""},
		{"gateway off subnet", "gateway: 198.18.1.2,", "gateway: 198.18.9.2,", "hosts[0] (client).gateway 198.18.9.2: not on the host's subnet"},
		{"bad route", "10.9.0.0/16", "10.9.0.0/99", "hosts[0] (client).routes[0].to \"10.9.0.0/99\""},
		{"bad name", "name: web1", "name: Web1", "hosts[1] (Web1): name \"Web1\""},
		{"dup name", "name: web1", "name: lb", "hosts[1] (lb): name \"lb\" is also appliances[0] (lb)"},
		{"long device", "device: lb-a", "device: lb-aaaaaaaaaaaaaaaaaa", "ports[0].device \"lb-aaaaaaaaaaaaaaaaaa\""},
		{"device is a bridge", "device: lb-a", "device: br-a", "link name \"br-a\" is also segments[0]"},
		{"no serve ports", `udp: ":7", listen: ["80:http", "83:slow=2s"]`, `listen: []`, "hosts[1] (web1).serve: neither listen nor udp"},
		{"bad port name", "device: lb-a,", "device: lb-a, name: 9x,", "appliances[0] (lb).ports[0].name \"9x\""},
		{"dup port name", "device: lb-b,", "device: lb-b, name: lb-a,", "ports[1].name \"lb-a\": another port of lb has it"},
		{"ha vrid", "vrid: 7", "vrid: 256", "appliances[0] (lb).ha.vrid 256: want 1 to 255"},
		{"ha priority", "priority: 200", "priority: 255", "ha.priority 255: want 1 to 254"},
		{"ha interval", "advert_interval: 10", "advert_interval: 0", "ha.advert_interval 0"},
		{"ha port", "ports: [ext]", "ports: [lb-a]", "ha.ports: \"lb-a\": not a port name of the appliance"},
		{"ha mirror alone", ", mirror_peer: \"127.0.0.2:4801\"", "", "ha.mirror_peer: mirror_addr and mirror_peer go together"},
		{"ha mirror addr", "127.0.0.1:4801", "127.0.0.1", "ha.mirror_addr \"127.0.0.1\": want ADDR:PORT"},
		{"ha configsync", "configsync: 127.0.0.1", "configsync: host", "ha.configsync \"host\": want IP or IP:PORT"},
		{"ha mirror without trust", ", configsync: 127.0.0.1", "", "ha.mirror_addr: mirroring is authenticated with config sync's device trust"},
		{"ha unknown key", "vrid: 7", "vrid: 7, unit: x", "field unit not found"},
		{"config outside", "mgmt: true", "mgmt: true\n    config: ../x.conf", "appliances[0] (lb).config \"../x.conf\": want a path relative"},
	} {
		t.Run(c.name, func(t *testing.T) {
			base := small
			if strings.HasPrefix(c.name, "ha ") {
				base = withHA
			}
			text := strings.Replace(base, c.old, c.new, 1)
			if text == base {
				t.Fatalf("edit %q changed nothing", c.name)
			}
			_, err := Parse([]byte(text))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	noSelf := strings.NewReplacer("ports: [ext]", "ports: [ext, int]", "self: 198.18.2.2/24", "name: int").Replace(withHA)
	if _, err := Parse([]byte(noSelf)); err == nil || !strings.Contains(err.Error(), `ha.ports: "int": the port has no self IP`) {
		t.Errorf("ha on a port without a self IP: error %v", err)
	}
	for _, text := range []string{"", "name: x\n---\nname: y\n", "[1, 2]"} {
		if _, err := Parse([]byte(text)); err == nil {
			t.Errorf("Parse(%q): no error", text)
		}
	}
}

// The built-in topologies parse, and Load finds them by name.
func TestBuiltins(t *testing.T) {
	names := Builtins()
	if len(names) == 0 {
		t.Fatal("no built-in topology")
	}
	for _, n := range names {
		f, files, err := Load(n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		for _, a := range f.Appliances {
			for _, p := range []string{a.Config, a.ImportARR} {
				if p == "" {
					continue
				}
				if _, err := files.Open(p); err != nil {
					t.Errorf("%s: appliance %s: %v", n, a.Name, err)
				}
			}
		}
	}
	if _, _, err := Load("nosuch"); err == nil || !strings.Contains(err.Error(), "no such built-in") {
		t.Fatalf("Load(nosuch): %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(small))
	b, err := builtin.ReadFile("builtin/arr/topology.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	if b, err = builtin.ReadFile("builtin/ha/topology.yaml"); err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("name: x\nsegments: [a]\n"))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tf, err := Parse(data)
		if err != nil {
			return
		}
		// What Parse accepts holds what its checks promise.
		if len(tf.Appliances) == 0 || len(tf.Hosts) == 0 || len(tf.Segments) == 0 {
			t.Fatalf("accepted a topology without appliances, hosts or segments: %+v", tf)
		}
		for _, h := range tf.Hosts {
			if !nameRe.MatchString(h.Name) {
				t.Fatalf("accepted host name %q", h.Name)
			}
		}
	})
}

// The topology examples of docs/TESTBED.md (```yaml topology blocks) parse.
func TestDocExamples(t *testing.T) {
	b, err := os.ReadFile("../../docs/TESTBED.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml topology\n(.*?)```").FindAllSubmatch(b, -1)
	if len(blocks) == 0 {
		t.Fatal("docs/TESTBED.md has no ```yaml topology example")
	}
	for _, m := range blocks {
		if _, err := Parse(m[1]); err != nil {
			t.Errorf("docs/TESTBED.md example does not parse: %v\n%s", err, m[1])
		}
	}
}
