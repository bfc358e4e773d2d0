package tmsh

import (
	"net/netip"
	"slices"
	"testing"

	"lbx/ctrlplane/status"
	"lbx/ctrlplane/tmsh/conf"
	"lbx/dataplane"
)

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
		before, beforeProg := conf.Text(s.Running()), dp.Program()
		// Exec applies each command at once, as tmsh -c: only a text of
		// one statement is left as it was when it fails.
		stmts, _ := conf.Statements(line)
		if _, err := s.Exec(line); err != nil && len(stmts) <= 1 {
			if conf.Text(s.Running()) != before || dp.Program() != beforeProg {
				t.Fatalf("failed Exec(%q) changed the store: %v", line, err)
			}
		}
		before, beforeProg = conf.Text(s.Running()), dp.Program()
		if _, err := s.Push(line); err != nil {
			if conf.Text(s.Running()) != before || dp.Program() != beforeProg {
				t.Fatalf("failed Push(%q) changed the store: %v", line, err)
			}
		}
		// With every status source (a flow table, port counters) too:
		// the runtime commands never panic either.
		full := New(s.st, status.Sources{Program: dp.Program, Runtime: &fakeConns{fakeDataplane: dp, conns: slices.Clone(fuzzConns)}, Counters: fuzzCounters})
		_, _ = full.Exec(line)
		// Whatever was applied still prints and parses back.
		if _, err := conf.ParseConfig(conf.Text(s.Running())); err != nil {
			t.Fatalf("running config after %q does not parse: %v\n%s", line, err, conf.Text(s.Running()))
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
