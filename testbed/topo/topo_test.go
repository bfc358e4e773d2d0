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
		{"config outside", "mgmt: true", "mgmt: true\n    config: ../x.conf", "appliances[0] (lb).config \"../x.conf\": want a path relative"},
	} {
		t.Run(c.name, func(t *testing.T) {
			text := strings.Replace(small, c.old, c.new, 1)
			if text == small {
				t.Fatalf("edit %q changed nothing", c.name)
			}
			_, err := Parse([]byte(text))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
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
