package tmsh

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lbx/ctrlplane/compile"
	"lbx/ctrlplane/store"
	"lbx/ctrlplane/tmsh/conf"

	"github.com/google/go-cmp/cmp"
)

// baseConf is the running config the command tests start from.
const baseConf = `
ltm pool web { members { 10.0.0.1:80 10.0.0.2:80 } }
ltm virtual vs { destination 198.18.1.100:80 pool web source-address-translation { type automap } profiles { fastL4 } }
`

// knownKinds is how errors list the object kinds.
const knownKinds = "ltm node, ltm monitor TYPE, ltm persistence TYPE, ltm profile TYPE, ltm pool, ltm policy, ltm snatpool, ltm virtual, net self, net route, auth user, sys file TYPE"

var (
	baseMembers = []string{"/Common/10.0.0.1:80=10.0.0.1:80", "/Common/10.0.0.2:80=10.0.0.2:80"}
	baseProg    = []progVirtual{{Name: "/Common/vs", Dest: "198.18.1.100:80/6", Pool: "/Common/web", Members: baseMembers, SNAT: true, Enabled: true}}
)

// withConf returns the running text for baseConf plus extra stanzas, which
// replace objects of the same name.
func withConf(t *testing.T, extra string) string {
	t.Helper()
	c := mustParse(t, baseConf)
	x := &execCtx{Txn: store.Offline(c)}
	stmts, err := conf.Statements(extra)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range stmts {
		if _, err := runStatement(x, st); err != nil {
			t.Fatalf("withConf: %v", err)
		}
	}
	return conf.Text(x.cand())
}

func TestExec(t *testing.T) {
	base := mustParse(t, baseConf)
	tests := []struct {
		name        string
		setup       string // replaces baseConf when set
		cmd         string
		wantOut     string
		wantRunning string           // Text of the running config; "" means unchanged
		wantProg    []progVirtual    // installed virtuals; nil means unchanged
		check       func(*testing.T) // extra checks
	}{
		{name: "list ltm", cmd: "list ltm", wantOut: conf.Text(base)},
		{name: "list ltm all-properties", cmd: "list ltm all-properties", wantOut: conf.Format(base, true)},
		{name: "list ltm pool NAME", cmd: "list ltm pool web", wantOut: "ltm pool /Common/web {\n    load-balancing-mode round-robin\n    members {\n        /Common/10.0.0.1:80 {\n            address 10.0.0.1\n        }\n        /Common/10.0.0.2:80 {\n            address 10.0.0.2\n        }\n    }\n}\n"},
		{name: "list ltm node (all)", cmd: "list ltm node", wantOut: "ltm node /Common/10.0.0.1 {\n    address 10.0.0.1\n}\nltm node /Common/10.0.0.2 {\n    address 10.0.0.2\n}\n"},
		{name: "list ltm node NAME all-properties", cmd: "list ltm node /Common/10.0.0.1 all-properties", wantOut: "ltm node /Common/10.0.0.1 {\n    address 10.0.0.1\n    connection-limit 0\n    description none\n    monitor none\n    ratio 1\n    session user-enabled\n    state user-up\n}\n"},
		{name: "list ltm virtual NAME all-properties", cmd: "list ltm virtual vs all-properties", wantOut: `ltm virtual /Common/vs {
    connection-limit 0
    description none
    destination /Common/198.18.1.100:80
    enabled
    fallback-persistence none
    ip-protocol tcp
    mask 255.255.255.255
    mirror disabled
    persist none
    policies none
    pool /Common/web
    profiles {
        /Common/fastL4 { }
    }
    source-address-translation {
        pool none
        type automap
    }
    translate-address enabled
    translate-port enabled
}
`},
		{name: "list ltm pool all-properties, empty pool", setup: "ltm pool empty { }", cmd: "list ltm pool all-properties",
			wantOut: "ltm pool /Common/empty {\n    allow-nat yes\n    allow-snat yes\n    description none\n    load-balancing-mode round-robin\n    members none\n" +
				"    min-active-members 0\n    monitor none\n    reselect-tries 0\n    service-down-action none\n    slow-ramp-time 10\n}\n"},
		{name: "empty line", cmd: "  # nothing\n"},
		{
			name:        "create ltm node",
			cmd:         `create ltm node n3 address 10.0.0.3 description "third one"`,
			wantRunning: withConf(t, `ltm node n3 { address 10.0.0.3 description "third one" }`),
		},
		{
			name:        "create ltm pool with members add, auto-creating nodes",
			cmd:         "create ltm pool p2 members add { 10.0.0.3:http 10.0.0.1:443 } load-balancing-mode round-robin",
			wantRunning: withConf(t, "ltm pool p2 { members { 10.0.0.3:80 10.0.0.1:443 } }"),
		},
		{
			name:        "create ltm virtual",
			cmd:         "create ltm virtual /Common/vs2 destination /Common/198.18.1.100:7 ip-protocol udp pool web source-address-translation { type automap }",
			wantRunning: withConf(t, "ltm virtual vs2 { destination 198.18.1.100:7 ip-protocol udp pool web source-address-translation { type automap } }"),
			wantProg:    append(baseProg[:1:1], progVirtual{Name: "/Common/vs2", Dest: "198.18.1.100:7/17", Pool: "/Common/web", Members: baseMembers, SNAT: true, Enabled: true}),
		},
		{
			name:        "modify ltm node description",
			cmd:         "modify ltm node 10.0.0.1 description none",
			wantRunning: conf.Text(base),
		},
		{
			name:        "modify ltm node description text",
			cmd:         "modify ltm node 10.0.0.1 description db",
			wantRunning: withConf(t, "ltm node 10.0.0.1 { address 10.0.0.1 description db }"),
		},
		{
			name:        "modify ltm pool members add",
			cmd:         "modify ltm pool web members add { 10.0.0.3:80 { description new } }",
			wantRunning: withConf(t, "ltm pool web { members { 10.0.0.1:80 10.0.0.2:80 10.0.0.3:80 { description new } } }"),
			wantProg:    []progVirtual{{Name: "/Common/vs", Dest: "198.18.1.100:80/6", Pool: "/Common/web", Members: append(baseMembers[:2:2], "/Common/10.0.0.3:80=10.0.0.3:80"), SNAT: true, Enabled: true}},
		},
		{
			name:        "modify ltm pool members add over lines",
			cmd:         "modify ltm pool web members add {\n    10.0.0.3:80\n}",
			wantRunning: withConf(t, "ltm pool web { members { 10.0.0.1:80 10.0.0.2:80 10.0.0.3:80 } }"),
			wantProg:    []progVirtual{{Name: "/Common/vs", Dest: "198.18.1.100:80/6", Pool: "/Common/web", Members: append(baseMembers[:2:2], "/Common/10.0.0.3:80=10.0.0.3:80"), SNAT: true, Enabled: true}},
		},
		{
			name:        "modify ltm pool members delete",
			cmd:         "modify ltm pool web members delete { 10.0.0.1:http }",
			wantRunning: withConf(t, "ltm pool web { members { 10.0.0.2:80 } }"),
			wantProg:    []progVirtual{{Name: "/Common/vs", Dest: "198.18.1.100:80/6", Pool: "/Common/web", Members: baseMembers[1:], SNAT: true, Enabled: true}},
		},
		{
			name:        "modify ltm pool members delete all",
			cmd:         "modify ltm pool web members delete { all }",
			wantRunning: withConf(t, "ltm pool web { }"),
			wantProg:    []progVirtual{{Name: "/Common/vs", Dest: "198.18.1.100:80/6", Pool: "/Common/web", SNAT: true, Enabled: true}},
		},
		{
			name:        "modify ltm pool members replace-all-with",
			cmd:         "modify ltm pool web members replace-all-with { 10.0.0.5:8080 }",
			wantRunning: withConf(t, "ltm pool web { members { 10.0.0.5:8080 } }"),
			wantProg:    []progVirtual{{Name: "/Common/vs", Dest: "198.18.1.100:80/6", Pool: "/Common/web", Members: []string{"/Common/10.0.0.5:8080=10.0.0.5:8080"}, SNAT: true, Enabled: true}},
		},
		{
			name:        "modify ltm pool members none",
			cmd:         "modify ltm pool web members none",
			wantRunning: withConf(t, "ltm pool web { }"),
			wantProg:    []progVirtual{{Name: "/Common/vs", Dest: "198.18.1.100:80/6", Pool: "/Common/web", SNAT: true, Enabled: true}},
		},
		{
			name:        "modify ltm pool members bare block replaces",
			cmd:         "modify ltm pool web members { 10.0.0.2:80 10.0.0.1:80 }",
			wantRunning: withConf(t, "ltm pool web { members { 10.0.0.2:80 10.0.0.1:80 } }"),
			wantProg:    []progVirtual{{Name: "/Common/vs", Dest: "198.18.1.100:80/6", Pool: "/Common/web", Members: []string{baseMembers[1], baseMembers[0]}, SNAT: true, Enabled: true}},
		},
		{
			name:        "modify ltm pool members modify",
			cmd:         "modify ltm pool web members modify { 10.0.0.2:80 { description spare } } description \"web tier\"",
			wantRunning: withConf(t, "ltm pool web { description \"web tier\" members { 10.0.0.1:80 10.0.0.2:80 { description spare } } }"),
		},
		{
			name:        "modify ltm virtual disabled",
			cmd:         "modify ltm virtual vs disabled",
			wantRunning: withConf(t, "ltm virtual vs { destination 198.18.1.100:80 pool web source-address-translation { type automap } profiles { fastL4 } disabled }"),
			wantProg:    []progVirtual{{Name: "/Common/vs", Dest: "198.18.1.100:80/6", Pool: "/Common/web", Members: baseMembers, SNAT: true, Enabled: false}},
		},
		{
			name:        "modify ltm virtual snat none, pool none, profiles",
			cmd:         "modify ltm virtual vs source-address-translation { type none } pool none profiles replace-all-with { tcp { context all } }",
			wantRunning: withConf(t, "ltm virtual vs { destination 198.18.1.100:80 profiles { tcp { context all } } }"),
			wantProg:    []progVirtual{{Name: "/Common/vs", Dest: "198.18.1.100:80/6", Enabled: true}},
		},
		{
			name:        "modify ltm virtual profiles add and delete",
			cmd:         "modify ltm virtual vs profiles add { tcp } profiles delete { fastL4 }",
			wantRunning: withConf(t, "ltm virtual vs { destination 198.18.1.100:80 pool web source-address-translation { type automap } profiles { tcp } }"),
		},
		{
			name:        "modify ltm virtual destination",
			cmd:         "modify ltm virtual vs destination 198.18.1.100:https",
			wantRunning: withConf(t, "ltm virtual vs { destination 198.18.1.100:443 pool web source-address-translation { type automap } profiles { fastL4 } }"),
			wantProg:    []progVirtual{{Name: "/Common/vs", Dest: "198.18.1.100:443/6", Pool: "/Common/web", Members: baseMembers, SNAT: true, Enabled: true}},
		},
		{
			name:        "delete ltm virtual",
			cmd:         "delete ltm virtual vs",
			wantRunning: strings.Split(conf.Text(base), "ltm virtual")[0],
			wantProg:    []progVirtual{},
		},
		{
			name:        "delete ltm pool not in use",
			setup:       "ltm pool web { members { 10.0.0.1:80 } }\nltm pool other { }",
			cmd:         "delete ltm pool other",
			wantRunning: conf.Text(mustParse(t, "ltm pool web { members { 10.0.0.1:80 } }")),
		},
		{
			name:        "delete ltm node not in use",
			setup:       "ltm node a { address 10.9.9.9 }\nltm node b { address 10.9.9.8 }",
			cmd:         "delete ltm node a /Common/b",
			wantRunning: "",
			wantProg:    []progVirtual{},
			check:       nil,
		},
		{
			name:        "stanza merges: replaces the object",
			cmd:         "ltm pool /Common/web { members { 10.0.0.9:80 } }",
			wantRunning: withConf(t, "ltm pool web { members { 10.0.0.9:80 } }"),
			wantProg:    []progVirtual{{Name: "/Common/vs", Dest: "198.18.1.100:80/6", Pool: "/Common/web", Members: []string{"/Common/10.0.0.9:80=10.0.0.9:80"}, SNAT: true, Enabled: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setup := baseConf
			if tt.setup != "" {
				setup = tt.setup
			}
			s, dp := newTestStore(t, setup)
			before := conf.Text(s.Running())
			beforeProg := summarize(dp.Program())
			beforeVersion := s.Version()
			out, err := s.Exec(tt.cmd)
			if err != nil {
				t.Fatalf("Exec(%q): %v", tt.cmd, err)
			}
			if diff := cmp.Diff(tt.wantOut, out); diff != "" {
				t.Errorf("output mismatch (-want +got):\n%s", diff)
			}
			wantRunning := tt.wantRunning
			mutates := tt.wantRunning != "" || tt.wantProg != nil
			if !mutates {
				wantRunning = before
			}
			if diff := cmp.Diff(wantRunning, conf.Text(s.Running())); diff != "" {
				t.Errorf("running config mismatch (-want +got):\n%s", diff)
			}
			wantProg := tt.wantProg
			if wantProg == nil {
				wantProg = beforeProg
			}
			if diff := cmp.Diff(wantProg, summarize(dp.Program()), cmpOpts...); diff != "" {
				t.Errorf("installed program mismatch (-want +got):\n%s", diff)
			}
			wantVersion := beforeVersion
			if mutates {
				wantVersion++
			}
			if got := s.Version(); got != wantVersion {
				t.Errorf("Version() = %d, want %d", got, wantVersion)
			}
			if p := dp.Program(); p != nil && p.Generation != s.Version() {
				t.Errorf("installed Generation %d, Version %d", p.Generation, s.Version())
			}
			if tt.check != nil {
				tt.check(t)
			}
		})
	}
}

func TestExecErrors(t *testing.T) {
	tests := []struct {
		name    string
		cmd     string
		wantErr string
	}{
		{"create existing pool", "create ltm pool web", "01020066:3: The requested Pool (/Common/web) already exists in partition Common."},
		{"create existing virtual", "create ltm virtual /Common/vs destination 1.1.1.1:80", "01020066:3: The requested Virtual Server (/Common/vs) already exists in partition Common."},
		{"create existing node", "create ltm node 10.0.0.1 address 10.0.0.1", "01020066:3: The requested Node (/Common/10.0.0.1) already exists in partition Common."},
		{"modify missing pool", "modify ltm pool x description y", "01020036:3: The requested Pool (/Common/x) was not found."},
		{"modify missing node", "modify ltm node x description y", "01020036:3: The requested Node (/Common/x) was not found."},
		{"delete missing virtual", "delete ltm virtual nope", "01020036:3: The requested Virtual Server (/Common/nope) was not found."},
		{"delete pool in use", "delete ltm pool web", "01070265:3: The Pool (/Common/web) cannot be deleted because it is in use by a Virtual Server (/Common/vs)."},
		{"delete node in use", "delete ltm node 10.0.0.1", "01070110:3: Node address '/Common/10.0.0.1' is referenced by a member of pool '/Common/web'."},
		{"delete without name", "delete ltm pool", "delete ltm pool: name: missing value"},
		{"member add existing", "modify ltm pool web members add { 10.0.0.1:http }", "01020066:3: The requested Pool Member (/Common/web /Common/10.0.0.1 80) already exists in partition Common."},
		{"member delete missing", "modify ltm pool web members delete { 10.0.0.9:80 }", "01020036:3: The requested Pool Member (/Common/web /Common/10.0.0.9 80) was not found."},
		{"member modify missing", "modify ltm pool web members modify { 10.0.0.9:80 { description x } }", "01020036:3: The requested Pool Member (/Common/web /Common/10.0.0.9 80) was not found."},
		{"members bad operation", "modify ltm pool web members remove { 10.0.0.1:80 }", `ltm pool /Common/web: members "remove": want add, delete, modify, replace-all-with, none or {`},
		{"bad mode", "modify ltm pool web load-balancing-mode foo", `ltm pool /Common/web: load-balancing-mode "foo": unknown mode`},
		{"unknown property", "modify ltm virtual vs rules { r1 }", `ltm virtual /Common/vs: unknown property "rules"`},
		{"no property", "modify ltm pool web", "ltm pool /Common/web: no property to modify"},
		{"node address is fixed", "modify ltm node 10.0.0.1 address 10.0.0.9", "ltm node /Common/10.0.0.1: address 10.0.0.9: cannot be modified (delete and create the node)"},
		{"compile: no such pool", "modify ltm virtual vs pool nope", "ltm virtual /Common/vs: pool /Common/nope: no such pool"},
		{"compile: overlap", "create ltm virtual vs2 destination 198.18.1.100:http", "ltm virtual /Common/vs2: destination /Common/198.18.1.100:80: ip-protocol tcp: overlaps virtual /Common/vs"},
		{"compile: unknown node", "create ltm pool p2 members add { web1:80 }", "ltm pool /Common/p2: members /Common/web1:80: node /Common/web1: no such node"},
		{"compile: every problem", "ltm virtual vs { pool nope mask 255.0.0.0 }", "ltm virtual /Common/vs: destination: missing\nltm virtual /Common/vs: pool /Common/nope: no such pool"},
		{"unknown verb", "frob ltm pool", `"frob": unknown command (want one of list, show, create, modify, delete, submit, load, save, run, cd, reset-stats)`},
		{"unknown module", "list foo", `list: want ltm or net or auth or sys or cm or cli, got "foo"`},
		{"unknown kind", "list ltm rule", `list ltm rule: not implemented in lbx (stanzas of this kind in a loaded configuration are kept and listed; there are none)`},
		{"monitor of an unknown type", "create ltm monitor smtp m", `create ltm monitor: want icmp, gateway-icmp, tcp, tcp-half-open, http, https, udp, external, got "smtp"`},
		{"show unknown kind", "show ltm rule", `show ltm rule: not implemented in lbx (show ltm: want node, pool, monitor-trace, virtual, monitor, persistence, profile, snatpool, got "rule")`},
		{"list missing", "list ltm pool nope", "01020036:3: The requested Pool (/Common/nope) was not found."},
		{"show missing", "show ltm virtual nope", "01020036:3: The requested Virtual Server (/Common/nope) was not found."},
		{"save without a path", "save sys config", "save sys config: no saved config path is configured"},
		{"save with arguments", "save sys config file x", `save sys config: unexpected "file"`},
		{"create without name", "create ltm pool", "create ltm pool: name: missing value"},
		{"create bad name", "create ltm pool a/b", `ltm pool "a/b": character '/' not allowed in a name`},
		{"unbalanced", "create ltm pool p members add { 1.1.1.1:80", `"{" is never closed`},
		{"stanza unknown type", "ltm rule r { }", `"ltm rule": unknown object type (want one of ` + knownKinds + `)`},
		{"starts with brace", "{ }", `"{": unknown command (want one of list, show, create, modify, delete, submit, load, save, run, cd, reset-stats)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dp := newTestStore(t, baseConf)
			before := conf.Text(s.Running())
			beforeProg, beforeCount, beforeVersion := dp.Program(), dp.Count(), s.Version()
			out, err := s.Exec(tt.cmd)
			if err == nil {
				t.Fatalf("Exec(%q) succeeded with output %q, want error %q", tt.cmd, out, tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantErr, err.Error()); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, conf.Text(s.Running())); diff != "" {
				t.Errorf("failed command changed the running config (-before +after):\n%s", diff)
			}
			if dp.Program() != beforeProg || dp.Count() != beforeCount {
				t.Errorf("failed command installed a program")
			}
			if s.Version() != beforeVersion {
				t.Errorf("failed command changed the version")
			}
		})
	}
}

func TestShow(t *testing.T) {
	s, dp := newTestStore(t, baseConf+"ltm pool empty { }\nltm virtual off { destination 198.18.1.100:7 ip-protocol udp disabled }\n"+
		"ltm virtual fwd { destination 0.0.0.0:any mask any ip-forward ip-protocol any }")
	vs := dp.VirtualStats("/Common/vs")
	vs.PktsIn.Store(123)
	vs.PktsOut.Store(120)
	vs.BytesIn.Store(10240)
	vs.BytesOut.Store(1234567890123)
	vs.CurConns.Store(2)
	vs.TotalConns.Store(30)
	web := dp.Pool("/Common/web")
	for i := range web.Members {
		m := &web.Members[i]
		m.Stats.CurConns.Store(int64(i + 1))
		m.Stats.TotalConns.Store(uint64(10 * (i + 1)))
		m.Stats.PktsIn.Store(uint64(100 * (i + 1)))
		m.Stats.PktsOut.Store(uint64(90 * (i + 1)))
		m.Stats.BytesIn.Store(uint64(1000 * (i + 1)))
		m.Stats.BytesOut.Store(uint64(900 * (i + 1)))
	}
	tests := []struct {
		name string
		cmd  string
		want string
	}{
		{
			name: "virtual with counters",
			cmd:  "show ltm virtual vs",
			want: `---------------------------------------------------------------
Ltm::Virtual Server: /Common/vs
---------------------------------------------------------------
Status
  Availability     : unknown
  State            : enabled
  Reason           : The children pool member(s) either don't have service checking enabled, or service check results are not available yet
  Destination      : 198.18.1.100:80
  Protocol         : tcp
  Pool             : /Common/web

Traffic                         ClientSide
  Packets In                           123
  Packets Out                          120
  Bytes In                           10240
  Bytes Out                  1234567890123
  Current Connections                    2
  Total Connections                     30

`,
		},
		{
			name: "disabled virtual without pool, nil stats",
			cmd:  "show ltm virtual /Common/off",
			want: `---------------------------------------------------------------
Ltm::Virtual Server: /Common/off
---------------------------------------------------------------
Status
  Availability     : offline
  State            : disabled
  Reason           : The virtual server has no pool
  Destination      : 198.18.1.100:7
  Protocol         : udp
  Pool             : none

Traffic                         ClientSide
  Packets In                             0
  Packets Out                            0
  Bytes In                               0
  Bytes Out                              0
  Current Connections                    0
  Total Connections                      0

`,
		},
		{
			name: "forwarding virtual",
			cmd:  "show ltm virtual /Common/fwd",
			want: `---------------------------------------------------------------
Ltm::Virtual Server: /Common/fwd
---------------------------------------------------------------
Status
  Availability     : available
  State            : enabled
  Reason           : The virtual server forwards (ip-forward): no pool, routed by the routing table
  Destination      : 0.0.0.0:0
  Mask             : any
  Type             : ip-forward
  Protocol         : any
  Pool             : none

Traffic                         ClientSide
  Packets In                             0
  Packets Out                            0
  Bytes In                               0
  Bytes Out                              0
  Current Connections                    0
  Total Connections                      0

`,
		},
		{
			name: "pool with member table",
			cmd:  "show ltm pool web",
			want: `---------------------------------------------------------------
Ltm::Pool: /Common/web
---------------------------------------------------------------
Status
  Availability     : unknown
  State            : enabled
  Reason           : The children pool member(s) either don't have service checking enabled, or service check results are not available yet
  Load Balancing   : round-robin
  Total Members    : 2

Traffic                         ServerSide
  Packets In                           300
  Packets Out                          270
  Bytes In                            3000
  Bytes Out                           2700
  Current Connections                    3
  Total Connections                     30

Members
  Member               Address      Status      Cur Conns  Tot Conns   Packets In  Packets Out  Reason
  /Common/10.0.0.1:80  10.0.0.1:80  unknown             1         10          100           90  no monitor
  /Common/10.0.0.2:80  10.0.0.2:80  unknown             2         20          200          180  no monitor

`,
		},
		{
			name: "empty pool not installed",
			cmd:  "show ltm pool empty",
			want: `---------------------------------------------------------------
Ltm::Pool: /Common/empty
---------------------------------------------------------------
Status
  Availability     : offline
  State            : enabled
  Reason           : The pool has no members
  Load Balancing   : round-robin
  Total Members    : 0

Traffic                         ServerSide
  Packets In                             0
  Packets Out                            0
  Bytes In                               0
  Bytes Out                              0
  Current Connections                    0
  Total Connections                      0

`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Exec(tt.cmd)
			if err != nil {
				t.Fatalf("Exec(%q): %v", tt.cmd, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("output mismatch (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("all virtuals, in name order", func(t *testing.T) {
		got, err := s.Exec("show ltm virtual")
		if err != nil {
			t.Fatal(err)
		}
		if i, j := strings.Index(got, "Ltm::Virtual Server: /Common/off"), strings.Index(got, "Ltm::Virtual Server: /Common/vs"); i < 0 || j < i {
			t.Errorf("show ltm virtual: want off then vs, got:\n%s", got)
		}
	})
	t.Run("no program installed", func(t *testing.T) {
		s := NewStore(&fakeDataplane{}, compile.NetConfig{}, "", nil)
		if got, err := s.Exec("show ltm virtual"); err != nil || got != "" {
			t.Errorf("show on an empty store = %q, %v; want empty", got, err)
		}
	})
}

func TestCommandTable(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Commands() {
		key := c.Verb + " " + c.Module + " " + c.Kind
		if seen[key] {
			t.Errorf("%s: listed twice", key)
		}
		seen[key] = true
		if c.Help == "" {
			t.Errorf("%s: no help", key)
		}
		if c.run == nil {
			t.Errorf("%s: no handler", key)
		}
		// persist-records act on the dataplane's records, not on objects.
		records := c.Kind == "persistence persist-records"
		if c.Kind != "" && c.Module == "ltm" && !records && len(c.Properties()) == 0 {
			t.Errorf("%s: no properties", key)
		}
		if c.ReadOnly != (c.Verb == "list" || c.Verb == "show" || c.Verb == "cd" || c.Verb == "reset-stats" || c.Kind == "connection" || c.Kind == "preference" || records) {
			t.Errorf("%s: ReadOnly = %v", key, c.ReadOnly)
		}
	}
	for _, want := range []string{"list ltm ", "list ltm node", "list ltm pool", "list ltm virtual", "show ltm pool", "show ltm virtual",
		"create ltm node", "create ltm pool", "create ltm virtual", "modify ltm node", "modify ltm pool", "modify ltm virtual",
		"delete ltm node", "delete ltm pool", "delete ltm virtual", "save sys config"} {
		if !seen[want] {
			t.Errorf("command %q missing from the table", want)
		}
	}
}

// TestListKept: what a loaded bigip.conf keeps verbatim is listed by its
// kind words, all of them or by name, and printed as it was read.
func TestListKept(t *testing.T) {
	const rule = "ltm rule /Common/r1 {\n    when HTTP_REQUEST { HTTP::redirect https://[HTTP::host][HTTP::uri] }\n}"
	const rule2 = "ltm rule /Common/r2 {\n    when CLIENT_ACCEPTED { log local0. hi }\n}"
	const global = "sys global-settings {\n    hostname lbx.example\n}"
	s, _ := newTestStore(t, "")
	file := filepath.Join(t.TempDir(), "kept.conf")
	if err := os.WriteFile(file, []byte(rule+"\n"+rule2+"\n"+global+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Exec("load sys config merge file " + file); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ cmd, want, wantErr string }{
		{cmd: "list ltm rule r1", want: rule + "\n"},
		{cmd: "list ltm rule /Common/r2", want: rule2 + "\n"},
		{cmd: "list ltm rule", want: rule + "\n" + rule2 + "\n"},
		{cmd: "list ltm rule r2 r1", want: rule2 + "\n" + rule + "\n"},
		{cmd: "list sys global-settings", want: global + "\n"},
		{cmd: "list ltm rule nope", wantErr: "01020036:3: The requested ltm rule (/Common/nope) was not found."},
		{cmd: "list ltm bogus", wantErr: `list ltm: want node, monitor, persistence, profile, pool, policy, snatpool, virtual, got "bogus"`},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			out, err := s.Exec(tt.cmd)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, out); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}
