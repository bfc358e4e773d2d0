package tmsh

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"lbx/ctrlplane/status"
	"lbx/dataplane"

	"github.com/google/go-cmp/cmp"
)

// jsonConf has an object of every kind -o json prints.
const jsonConf = baseConf + `
ltm monitor http /Common/web_http { defaults-from /Common/http interval 7 recv "200 OK" }
ltm monitor tcp /Common/legacy_tcp { defaults-from /Common/tcp close-check legacy }
ltm snatpool /Common/snat1 { members { 198.18.1.50 198.18.1.51 } }
ltm virtual /Common/vs_snat { destination 198.18.1.101:80 pool web source-address-translation { type snat pool /Common/snat1 } profiles { fastL4 } }
net self /Common/s_extra { address 10.9.0.2/24 vlan /Common/server }
net route /Common/r_lab { network 10.20.0.0/16 gw 10.9.0.1 }
net route /Common/r_far { network 10.30.0.0/16 gw 192.0.2.1 }
auth user olga { role operator encrypted-password "$2a$10$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01" }
`

// jsonOf runs cmd with -o json on a dialect over jsonConf (web's members
// monitored by web_http) and decodes the array into []T.
func jsonOf[T any](t *testing.T, d interface{ ShowJSON(string) (string, error) }, cmd string) []T {
	t.Helper()
	out, err := d.ShowJSON(cmd)
	if err != nil {
		t.Fatalf("%s -o json: %v", cmd, err)
	}
	var v []T
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields() // every key is a field of the struct
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s -o json does not decode into %T: %v\n%s", cmd, v, err, out)
	}
	return v
}

func newJSONDialect(t *testing.T) *Dialect {
	t.Helper()
	s, dp := newTestStore(t, jsonConf)
	if _, err := s.Exec("modify ltm pool web monitor web_http"); err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort
	fc := &fakeConns{fakeDataplane: dp, conns: []dataplane.Connection{
		{CSClient: ap("198.18.1.10:40000"), CSServer: ap("198.18.1.100:80"), SSClient: ap("198.18.2.2:40000"), SSServer: ap("10.0.0.1:80"), Protocol: dataplane.ProtoTCP, Virtual: "/Common/vs", Idle: 3 * time.Second},
		{CSClient: ap("198.18.1.11:5353"), CSServer: ap("198.18.1.100:53"), SSClient: ap("198.18.1.11:5353"), SSServer: ap("10.0.0.2:53"), Protocol: dataplane.ProtoUDP, Virtual: "/Common/dns", Idle: time.Second},
	}}
	ctrs := fakeCounters{
		{Name: "port.client.rx_packets", Value: 100}, {Name: "port.client.tx_packets", Value: 90}, {Name: "port.client.rx_lost", Value: 5},
		{Name: "port.client.arp_replies", Value: 2}, {Name: "port.client.icmp_echo_replies", Value: 3},
		{Name: "port.server.rx_packets", Value: 80},
	}
	return New(s.st, status.Sources{Program: dp.Program, Runtime: fc, Counters: ctrs})
}

func TestJSONMonitor(t *testing.T) {
	d := newJSONDialect(t)
	for _, cmd := range []string{"show ltm monitor web_http", "list ltm monitor web_http", "show ltm monitor http web_http", "list ltm monitor *web*"} {
		got := jsonOf[status.Monitor](t, d, cmd)
		if len(got) != 1 {
			t.Fatalf("%s: %d monitors, want 1: %+v", cmd, len(got), got)
		}
		m := got[0]
		want := status.Monitor{Name: "/Common/web_http", Type: "http", DefaultsFrom: "/Common/http", Interval: 7, Timeout: 16,
			Send: "GET /\r\n", Recv: "200 OK", Destination: "*:*", CloseCheck: "lenient",
			Instances: []status.Instance{
				{Owner: "pool /Common/web", Target: "/Common/10.0.0.1:80", State: "unchecked", Reason: "no monitor engine attached"},
				{Owner: "pool /Common/web", Target: "/Common/10.0.0.2:80", State: "unchecked", Reason: "no monitor engine attached"},
			}}
		if diff := cmp.Diff(want, m); diff != "" {
			t.Errorf("%s (-want +got):\n%s", cmd, diff)
		}
	}
	// Every type, built-ins included; the type of each is given.
	all := jsonOf[status.Monitor](t, d, "list ltm monitor")
	types := map[string]string{}
	for _, m := range all {
		types[m.Name] = m.Type
	}
	if types["/Common/legacy_tcp"] != "tcp" || types["/Common/http"] != "http" || types["/Common/icmp"] != "icmp" {
		t.Errorf("list ltm monitor -o json types: %v", types)
	}
	for _, m := range jsonOf[status.Monitor](t, d, "show ltm monitor tcp") {
		if m.Type != "tcp" {
			t.Errorf("show ltm monitor tcp gave a %s monitor %s", m.Type, m.Name)
		}
		if m.Name == "/Common/legacy_tcp" && m.CloseCheck != "legacy" {
			t.Errorf("legacy_tcp close_check %q", m.CloseCheck)
		}
	}
}

func TestJSONSNATPool(t *testing.T) {
	d := newJSONDialect(t)
	for _, verb := range []string{"list", "show"} {
		got := jsonOf[status.SNATPool](t, d, verb+" ltm snatpool")
		want := []status.SNATPool{{Name: "/Common/snat1", Members: []netip.Addr{netip.MustParseAddr("198.18.1.50"), netip.MustParseAddr("198.18.1.51")}, Virtuals: []string{"/Common/vs_snat"}}}
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
			t.Errorf("%s ltm snatpool (-want +got):\n%s", verb, diff)
		}
	}
}

func TestJSONSelf(t *testing.T) {
	d := newJSONDialect(t)
	for _, verb := range []string{"list", "show"} {
		got := jsonOf[status.Self](t, d, verb+" net self s_extra")
		want := []status.Self{{Name: "/Common/s_extra", Address: netip.MustParsePrefix("10.9.0.2/24"), VLAN: "/Common/server", Active: true, Port: "server"}}
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
			t.Errorf("%s net self (-want +got):\n%s", verb, diff)
		}
	}
}

func TestJSONRoute(t *testing.T) {
	d := newJSONDialect(t)
	for _, verb := range []string{"list", "show"} {
		got := jsonOf[status.Route](t, d, verb+" net route")
		want := []status.Route{
			{Name: "/Common/r_far", Network: netip.MustParsePrefix("10.30.0.0/16"), Gateway: netip.MustParseAddr("192.0.2.1")},
			{Name: "/Common/r_lab", Network: netip.MustParsePrefix("10.20.0.0/16"), Gateway: netip.MustParseAddr("10.9.0.1"), Reachable: true, Connected: netip.MustParsePrefix("10.9.0.0/24"), Port: "server"},
		}
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
			t.Errorf("%s net route (-want +got):\n%s", verb, diff)
		}
	}
}

// A user's JSON has its role and password scheme, never the hash.
func TestJSONUser(t *testing.T) {
	d := newJSONDialect(t)
	for _, verb := range []string{"list", "show"} {
		out, err := d.ShowJSON(verb + " auth user olga")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, "$2a$") || strings.Contains(out, "abcdefghijklmnop") {
			t.Fatalf("%s auth user -o json prints the password hash:\n%s", verb, out)
		}
		got := jsonOf[status.User](t, d, verb+" auth user olga")
		if diff := cmp.Diff([]status.User{{Name: "olga", Role: "operator", Password: "bcrypt"}}, got); diff != "" {
			t.Errorf("%s auth user (-want +got):\n%s", verb, diff)
		}
	}
}

func TestJSONConnection(t *testing.T) {
	d := newJSONDialect(t)
	ap := netip.MustParseAddrPort
	got := jsonOf[status.Connection](t, d, "show sys connection cs-client-addr 198.18.1.10")
	want := []status.Connection{{CSClient: ap("198.18.1.10:40000"), CSServer: ap("198.18.1.100:80"), SSClient: ap("198.18.2.2:40000"), SSServer: ap("10.0.0.1:80"), Protocol: "tcp", IdleSeconds: 3, Virtual: "/Common/vs"}}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
		t.Errorf("show sys connection (-want +got):\n%s", diff)
	}
	if got := jsonOf[status.Connection](t, d, "show sys connection"); len(got) != 2 || got[1].Protocol != "udp" {
		t.Errorf("show sys connection: %+v", got)
	}
	if got := jsonOf[status.Connection](t, d, "show sys connection cs-client-port 1"); got == nil || len(got) != 0 {
		t.Errorf("no match: want an empty array, got %#v", got)
	}
}

func TestJSONInterfaceAndVLAN(t *testing.T) {
	d := newJSONDialect(t)
	got := jsonOf[status.Interface](t, d, "show net interface")
	want := []status.Interface{{Name: "client", PktsIn: 100, PktsOut: 90, Drops: 5, ARPReplies: 2, ICMPEchoReplies: 3}, {Name: "server", PktsIn: 80}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("show net interface (-want +got):\n%s", diff)
	}
	vlans := jsonOf[status.VLAN](t, d, "list net vlan server")
	if diff := cmp.Diff([]status.VLAN{{Name: "/Common/server", Interfaces: []string{"server"}}}, vlans); diff != "" {
		t.Errorf("list net vlan (-want +got):\n%s", diff)
	}
}

func TestJSONVersion(t *testing.T) {
	d := newJSONDialect(t)
	out, err := d.ShowJSON("show sys version")
	if err != nil {
		t.Fatal(err)
	}
	var v status.Version
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("show sys version -o json: %v\n%s", err, out)
	}
	if diff := cmp.Diff(status.BuildVersion(), v); diff != "" || v.Product != "lbx" || !strings.HasPrefix(v.Edition, "Go ") {
		t.Errorf("show sys version -o json (-want +got):\n%s", diff)
	}
	// The text shows the same build.
	text, err := d.Exec("show sys version")
	if err != nil || !strings.Contains(text, v.Build) || !strings.Contains(text, v.Edition) {
		t.Errorf("show sys version text (%v) disagrees with its JSON %+v:\n%s", err, v, text)
	}
}

func TestJSONPersistence(t *testing.T) {
	d := newJSONDialect(t)
	if _, err := d.Exec("create ltm persistence source-addr sticky defaults-from source_addr timeout 300 mask 255.255.255.0; modify ltm virtual vs persist replace-all-with { sticky { default yes } }"); err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"list", "show"} {
		got := jsonOf[status.Persistence](t, d, verb+" ltm persistence source-addr sticky")
		want := []status.Persistence{{Name: "/Common/sticky", Type: "source-addr", DefaultsFrom: "/Common/source_addr", Timeout: 300, Mask: "255.255.255.0",
			HashAlgorithm: "default", Method: "insert", Expiration: "0", Virtuals: []string{"/Common/vs"}, FallbackVirtuals: []string{}}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s ltm persistence (-want +got):\n%s", verb, diff)
		}
	}
}

// Commands -o json does not cover say so; a missing name is an error.
func TestJSONRefused(t *testing.T) {
	d := newJSONDialect(t)
	for cmd, want := range map[string]string{
		"create ltm pool p2":                   "not implemented",
		"list ltm persistence":                 "want source-addr",
		"show ltm persistence persist-records": "not implemented",
		"show ltm monitor nope":                "nope",
		"show net route nope":                  "nope",
		"list ltm pool a; list ltm pool b":     "one list or show command",
	} {
		if _, err := d.ShowJSON(cmd); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s -o json = %v, want an error with %q", cmd, err, want)
		}
	}
}
