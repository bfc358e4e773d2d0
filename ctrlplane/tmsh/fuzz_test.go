package tmsh

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"lbx/ctrlplane/compile"
	"lbx/ctrlplane/status"
	"lbx/dataplane"

	"github.com/google/go-cmp/cmp"
)

func FuzzParseConfig(f *testing.F) {
	for _, tt := range roundTripConfigs {
		f.Add(tt.text)
	}
	for _, s := range []string{
		"ltm pool p { members { 10.0.0.1:80 { address 10.0.0.1 } } }",
		"ltm virtual v { destination 2001:db8::1.80 mask ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff }",
		"ltm node n { description \"a\\\\b\\q\\\"\" }",
		"ltm pool p { members { n:80 { address 10.0.0.1 } } }\nltm node n { address 10.0.0.2 }",
		"ltm virtual v { profiles { tcp { context all } } source-address-translation { pool none type automap } }",
		"ltm pool p {\n}\n}",
		"ltm pool \"/Common/p\" { members none description none }",
		"ltm monitor http m { send \"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n\" adaptive disabled }\nltm pool p { monitor min 1 of { m tcp } }",
		"ltm persistence cookie c { method insert x-y { a } }\nltm virtual v { persist { c { default yes } } }",
		"sys x { a { b } } \nnet self s { address 10.0.0.1/24 vlan v }\nnet route r { network default gw 1.1.1.1 }",
		"auth user u { role admin encrypted-password \"$2a$10$x\" partition-access { all-partitions { role guest } } }",
		"ltm snatpool s { members { /Common/10.0.0.1 10.0.0.2 } }\nltm node n { address 10.0.0.3; foo bar { baz } ; ratio 3 }",
	} {
		f.Add(s)
	}
	corpus, _ := filepath.Glob("testdata/*.conf")
	for _, name := range corpus {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(string(b))
		}
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ParseConfig(text)
		if err != nil {
			return
		}
		_, _ = compile.Compile(c, testNet)
		if c2, err := ParseConfig(Text(c)); err != nil {
			t.Fatalf("printed config does not parse: %v\ninput:\n%q\nprinted:\n%s", err, text, Text(c))
		} else if diff := cmp.Diff(c, c2, cmpOpts...); diff != "" {
			t.Fatalf("parse(print(c)) != c (-want +got):\n%s\ninput:\n%q\nprinted:\n%s", diff, text, Text(c))
		}
		for _, all := range []bool{false, true} {
			t1 := format(c, all)
			c2, err := ParseConfig(t1)
			if err != nil {
				t.Fatalf("all=%v: printed config does not parse: %v\ninput:\n%q\nprinted:\n%s", all, err, text, t1)
			}
			if t2 := format(c2, all); t2 != t1 {
				t.Fatalf("all=%v: print→parse→print is not a fixed point\ninput:\n%q\nfirst:\n%s\nsecond:\n%s", all, text, t1, t2)
			}
		}
	})
}

func FuzzExec(f *testing.F) {
	for _, s := range []string{
		"list ltm", "list ltm pool web all-properties", "show ltm virtual", "show ltm pool web",
		"create ltm node n3 address 10.0.0.3", "create ltm pool p2 members add { 10.0.0.3:http }",
		"create ltm virtual v2 destination 198.18.1.100:7 ip-protocol udp pool web",
		"modify ltm pool web members add { 10.0.0.3:80 }", "modify ltm pool web members delete { all }",
		"modify ltm pool web members replace-all-with { a:80 { address 10.0.0.9 } }",
		"modify ltm virtual vs disabled profiles add { tcp }", "delete ltm virtual vs", "delete ltm pool web",
		"ltm pool web { members { 10.0.0.9:80 } }", "save sys config", "modify ltm pool web members {\n10.0.0.1:80\n}",
		"create ltm pool p members add { 1.1.1.1:80", "}", "{", "\"", "list ltm pool \"\"",
		"list ltm monitor", "show ltm monitor http", "list ltm virtual vs destination pool one-line", "list ltm pool *we* recursive",
		"list ltm pool /Common/[", "modify ltm pool web members modify { all { session user-disabled } }", "show running-config",
		"show sys version", "cd /Common", "cd /X", "cd", "run util bash", "list gtm", "sys", "modify sys ntp", "list sys",
		"show ltm pool web members { 10.0.0.1:80 } detail", "reset-stats ltm virtual vs", "show sys connection cs-client-addr 1.2.3.4",
		"delete sys connection ss-server-addr 10.0.0.1", "show net interface", "list net vlan",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		s, dp := newTestStore(t, baseConf)
		before, beforeProg := Text(s.Running()), dp.Program()
		// Exec applies each command at once, as tmsh -c: only a text of
		// one statement is left as it was when it fails.
		stmts, _ := statements(line)
		if _, err := s.Exec(line); err != nil && len(stmts) <= 1 {
			if Text(s.Running()) != before || dp.Program() != beforeProg {
				t.Fatalf("failed Exec(%q) changed the store: %v", line, err)
			}
		}
		before, beforeProg = Text(s.Running()), dp.Program()
		if _, err := s.Push(line); err != nil {
			if Text(s.Running()) != before || dp.Program() != beforeProg {
				t.Fatalf("failed Push(%q) changed the store: %v", line, err)
			}
		}
		// With every status source (a flow table, port counters) too:
		// the runtime commands never panic either.
		full := New(s.st, status.Sources{Program: dp.Program, Runtime: &fakeConns{fakeDataplane: dp, conns: slices.Clone(fuzzConns)}, Counters: fuzzCounters})
		_, _ = full.Exec(line)
		// Whatever was applied still prints and parses back.
		if _, err := ParseConfig(Text(s.Running())); err != nil {
			t.Fatalf("running config after %q does not parse: %v\n%s", line, err, Text(s.Running()))
		}
	})
}

// fuzzConns and fuzzCounters are the flow table and port counters FuzzExec
// runs the runtime commands on.
var (
	fuzzConns = []dataplane.Connection{{
		CSClient: netip.MustParseAddrPort("198.18.0.10:40000"), CSServer: netip.MustParseAddrPort("198.18.1.100:80"),
		SSClient: netip.MustParseAddrPort("198.18.2.1:40000"), SSServer: netip.MustParseAddrPort("10.0.0.1:80"),
		Protocol: dataplane.ProtoTCP, Virtual: "/Common/vs",
	}}
	fuzzCounters = fakeCounters{{Name: "port.client.rx_packets", Value: 1}, {Name: "port.server.tx_packets", Value: 2}, {Name: "port.x", Value: 3}}
)
