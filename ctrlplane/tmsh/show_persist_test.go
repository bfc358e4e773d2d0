package tmsh

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"lbx/ctrlplane/compile"
	"lbx/dataplane"
	"lbx/pools"
)

// persistingDataplane adds a real persistence table to the recording fake.
type persistingDataplane struct {
	fakeDataplane
	table *pools.PersistTable
}

func (p *persistingDataplane) PersistRecords(f pools.PersistFilter) []pools.PersistRecordView {
	return p.table.Records(0, f)
}
func (p *persistingDataplane) DeletePersistRecords(f pools.PersistFilter) int {
	return p.table.Delete(f)
}

const persistConf = `ltm node /Common/198.18.2.11 { address 198.18.2.11 }
ltm node /Common/198.18.2.12 { address 198.18.2.12 }
ltm pool /Common/web { service-down-action reset members { /Common/198.18.2.11:80 { } /Common/198.18.2.12:80 { } } }
ltm persistence source-addr /Common/sticky { defaults-from /Common/source_addr timeout 60 mask 255.255.255.0 }
ltm virtual /Common/vs { destination /Common/198.18.1.100:80 ip-protocol tcp pool /Common/web persist { /Common/sticky { default yes } } }
`

func TestPersistenceCompiledAndRecordsShown(t *testing.T) {
	dp := &persistingDataplane{table: pools.NewPersistTable(64)}
	net := testNet
	net.Persist = dp.table
	s := NewStore(dp, net, "", nil)
	if _, err := s.Push(persistConf); err != nil {
		t.Fatal(err)
	}
	v := dp.Program().Virtuals[0]
	ps := v.Persist
	if ps == nil || ps.Mode != pools.PersistSourceAddr || ps.MaskBits != 24 || ps.Timeout != time.Minute ||
		ps.Table != dp.table || ps.Scope != pools.NameHash("/Common/vs") || ps.MatchNode || ps.Virtual != "/Common/vs" {
		t.Fatalf("compiled persistence %+v", ps)
	}
	if v.ServiceDown != dataplane.ServiceDownReset {
		t.Fatalf("service-down %s, want reset", v.ServiceDown)
	}

	// A connection from the client records its member; show lists it.
	var sc pools.Scratch
	m, ok := dp.Pool(v.Pool.Name).Pick(&pools.Request{Client: netip.MustParseAddr("198.18.1.10")}, ps, &sc)
	if !ok {
		t.Fatal("no member picked")
	}
	out, err := s.Exec("show ltm persistence persist-records")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"source-address", "198.18.1.0/24", "/Common/vs", "/Common/web", m.Name, "60s", "Total records returned: 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	for filter, want := range map[string]int{
		"client-addr 198.18.1.77": 1, "client-addr 10.0.0.1": 0, "pool web": 1, "pool other": 0, "virtual vs": 1,
	} {
		out, err := s.Exec("show ltm persistence persist-records " + filter)
		if err != nil {
			t.Fatalf("%s: %v", filter, err)
		}
		if got := strings.Contains(out, "Total records returned: 1"); got != (want == 1) {
			t.Errorf("filter %s: want %d records:\n%s", filter, want, out)
		}
	}
	if _, err := s.Exec("show ltm persistence persist-records client-addr nope"); err == nil || !strings.Contains(err.Error(), `client-addr "nope"`) {
		t.Errorf("bad client-addr: %v", err)
	}
	out, err = s.Exec("delete ltm persistence persist-records pool other")
	if err != nil || !strings.Contains(out, "Deleted 0") {
		t.Fatalf("delete with a filter matching nothing: %q %v", out, err)
	}
	out, err = s.Exec("delete ltm persistence persist-records")
	if err != nil || !strings.Contains(out, "Deleted 1") || dp.table.Len() != 0 {
		t.Fatalf("delete all: %q %v, %d left", out, err, dp.table.Len())
	}
	if got := dp.Count(); got != 1 {
		t.Errorf("%d installs: show and delete of records must not apply config", got)
	}
}

func TestPersistenceCompileVariants(t *testing.T) {
	base := `ltm node /Common/198.18.2.11 { address 198.18.2.11 }
ltm pool /Common/web { members { /Common/198.18.2.11:80 { } } }
`
	vs := func(persist string) string {
		return "ltm virtual /Common/vs { destination /Common/198.18.1.100:80 ip-protocol tcp pool /Common/web " + persist + " }\n"
	}
	for _, tc := range []struct {
		name, conf string
		check      func(t *testing.T, v *dataplane.Virtual)
		warn, err  string
	}{{
		name: "match-across-services",
		conf: "ltm persistence source-addr /Common/sa { match-across-services enabled }\n" + vs("persist { /Common/sa { default yes } }"),
		check: func(t *testing.T, v *dataplane.Virtual) {
			if v.Persist.Scope != pools.NameHash("address 198.18.1.100") || !v.Persist.MatchNode {
				t.Errorf("scope %x matchNode %v", v.Persist.Scope, v.Persist.MatchNode)
			}
		},
	}, {
		name: "match-across-virtuals",
		conf: "ltm persistence source-addr /Common/sa { match-across-virtuals enabled timeout 0 }\n" + vs("persist { /Common/sa { default yes } }"),
		check: func(t *testing.T, v *dataplane.Virtual) {
			if v.Persist.Scope != 0 || !v.Persist.MatchNode || v.Persist.Timeout != 0 {
				t.Errorf("%+v", v.Persist)
			}
		},
	}, {
		name: "hash",
		conf: "ltm persistence hash /Common/h { hash-offset 1 hash-length 2 }\n" + vs("persist { /Common/h { default yes } }"),
		check: func(t *testing.T, v *dataplane.Virtual) {
			if v.Persist.Mode != pools.PersistHash || v.HashOffset != 1 || v.HashLength != 2 {
				t.Errorf("%+v offset %d length %d", v.Persist, v.HashOffset, v.HashLength)
			}
		},
	}, {
		name: "cookie falls back",
		conf: vs("persist { /Common/cookie { default yes } } fallback-persistence /Common/source_addr"),
		warn: "ltm virtual /Common/vs: persist /Common/cookie: not implemented yet, cookie persistence needs an HTTP (layer 7) virtual; fallback-persistence /Common/source_addr is used",
		check: func(t *testing.T, v *dataplane.Virtual) {
			if v.Persist == nil || v.Persist.Mode != pools.PersistSourceAddr || v.Persist.Profile != pools.NameHash("/Common/source_addr") {
				t.Errorf("%+v", v.Persist)
			}
		},
	}, {
		name: "cookie alone",
		conf: vs("persist { /Common/cookie { default yes } }"),
		warn: "connections are not persisted",
		check: func(t *testing.T, v *dataplane.Virtual) {
			if v.Persist != nil {
				t.Errorf("%+v", v.Persist)
			}
		},
	}, {
		name: "bad mask",
		conf: "ltm persistence source-addr /Common/sa { mask 255.0.255.0 }\n" + vs("persist { /Common/sa { default yes } }"),
		err:  "ltm virtual /Common/vs: persist /Common/sa: mask 255.0.255.0: not a contiguous netmask",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, base+tc.conf)
			prog, warnings, err := compile.CompileWithWarnings(c, testNet)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.warn != "" && !strings.Contains(strings.Join(warnings, "\n"), tc.warn) {
				t.Errorf("warnings %q lack %q", warnings, tc.warn)
			}
			tc.check(t, prog.Virtuals[0])
		})
	}
}

// Re-enabling a member (or its node) starts its slow ramp at the apply;
// later applies keep that start.
func TestReenableStartsSlowRamp(t *testing.T) {
	s, dp := newTestStore(t, persistConf)
	member := func() pools.Member { return *dp.Member("/Common/web", "/Common/198.18.2.11:80") }
	exec := func(cmd string) {
		t.Helper()
		if _, err := s.Exec(cmd); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
	}
	dp.SetMono(100)
	exec("modify ltm pool web members modify { 198.18.2.11:80 { session user-disabled } }")
	if m := member(); !m.Disabled || m.EnabledAt != 0 {
		t.Fatalf("disabled member: %+v", m)
	}
	dp.SetMono(200)
	exec("modify ltm pool web members modify { 198.18.2.11:80 { session user-enabled } }")
	if m := member(); m.Disabled || m.EnabledAt != 200 {
		t.Fatalf("re-enabled member: EnabledAt %d, want 200", m.EnabledAt)
	}
	dp.SetMono(300)
	exec("modify ltm pool web slow-ramp-time 30")
	if m := member(); m.EnabledAt != 200 {
		t.Fatalf("after an unrelated apply: EnabledAt %d, want 200 kept", m.EnabledAt)
	}
	exec("modify ltm node 198.18.2.11 state user-down")
	exec("modify ltm node 198.18.2.11 state user-up")
	if m := member(); m.EnabledAt != 300 {
		t.Fatalf("after the node came back: EnabledAt %d, want 300", m.EnabledAt)
	}
}
