package conf

import (
	"net/netip"
	"strings"
	"testing"

	"lbx/ctrlplane/config"

	"github.com/google/go-cmp/cmp"
)

// lexTok is a token without its source offsets (checked apart).
type lexTok struct {
	kind TokKind
	text string
	line int
}

func TestLex(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []lexTok
	}{
		{
			name: "words braces and lines",
			in:   "ltm pool p {\n  members { a:80 }\n}",
			want: []lexTok{
				{TokWord, "ltm", 1}, {TokWord, "pool", 1}, {TokWord, "p", 1}, {TokLBrace, "{", 1}, {TokEOL, "\n", 1},
				{TokWord, "members", 2}, {TokLBrace, "{", 2}, {TokWord, "a:80", 2}, {TokRBrace, "}", 2}, {TokEOL, "\n", 2},
				{TokRBrace, "}", 3},
			},
		},
		{
			name: "escapes",
			in:   `description "a \"b\" \\ \n\r\t \q"`,
			want: []lexTok{{TokWord, "description", 1}, {TokString, "a \"b\" \\ \n\r\t \\q", 1}},
		},
		{
			name: "comments and semicolons",
			in:   "# whole line\naddress 1.2.3.4; description x#y # trailing\n",
			want: []lexTok{
				{TokEOL, "\n", 1},
				{TokWord, "address", 2}, {TokWord, "1.2.3.4", 2}, {TokEOL, ";", 2},
				{TokWord, "description", 2}, {TokWord, "x#y", 2}, {TokEOL, "\n", 2},
			},
		},
		{
			name: "multi-line string counts lines",
			in:   "\"a\nb\" c",
			want: []lexTok{{TokString, "a\nb", 1}, {TokWord, "c", 2}},
		},
		{
			name: "crlf",
			in:   "a\r\nb",
			want: []lexTok{{TokWord, "a", 1}, {TokEOL, "\n", 1}, {TokWord, "b", 2}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			toks, err := lex(tt.in)
			if err != nil {
				t.Fatalf("lex: %v", err)
			}
			var got []lexTok
			for _, tk := range toks {
				got = append(got, lexTok{tk.Kind, tk.Text, tk.Line})
				if tk.Kind != TokString && tt.in[tk.pos:tk.end] != tk.Text {
					t.Errorf("token %q: source [%d:%d] is %q", tk.Text, tk.pos, tk.end, tt.in[tk.pos:tk.end])
				}
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(lexTok{})); diff != "" {
				t.Errorf("lex(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// roundTripConfigs are configs that must survive parse → print → parse.
var roundTripConfigs = []struct {
	name string
	text string
}{
	{"empty", ""},
	{"default", DefaultConfigText()},
	{"node only", "ltm node n1 { address 10.0.0.1; description \"web one\" }"},
	{"member by node name", `
ltm node /Common/web1 { address 198.18.2.11 }
ltm pool /Common/p { members { web1:http { description "first \"one\"" } web1:443 } }`},
	{"auto-created nodes and service ports", `
ltm pool p {
    members {
        198.18.2.11:http
        198.18.2.12:https { address 198.18.2.12 }
        198.18.2.13:any
    }
}`},
	{"disabled virtual without pool", `
ltm virtual vs { destination 198.18.1.100:domain ip-protocol udp disabled description none }`},
	{"profiles with context", `
ltm virtual vs {
    destination /Common/198.18.1.100:22
    profiles { /Common/tcp { context all } fastL4 }
    source-address-translation { type none }
}`},
	{"ipv6 names parse (compile refuses them)", `
ltm pool p6 { members { 2001:db8::1.80 } }
ltm virtual vs6 { destination /Common/2001:db8::100.80 }`},
	{"floating self IP", `
net self s { address 198.18.2.2/24 vlan lbx-int traffic-group traffic-group-local-only }
net self f { address 198.18.2.1/24 vlan lbx-int traffic-group /Common/traffic-group-1 }`},
	{"odd descriptions", "ltm node n { address 10.0.0.1 description \"none\" }\nltm node m { address 10.0.0.2 description \"tab\\there\\\\ # not a comment; {x}\" }"},
}

func TestParseConfigRoundTrip(t *testing.T) {
	for _, tt := range roundTripConfigs {
		t.Run(tt.name, func(t *testing.T) {
			c1 := mustParse(t, tt.text)
			for _, all := range []bool{false, true} {
				text1 := Format(c1, all)
				c2 := mustParse(t, text1)
				if diff := cmp.Diff(c1, c2, cmpOpts...); diff != "" {
					t.Errorf("all=%v: parse(print(c)) != c (-want +got):\n%s\nprinted:\n%s", all, diff, text1)
				}
				if text2 := Format(c2, all); text2 != text1 {
					t.Errorf("all=%v: print is not a fixed point:\nfirst:\n%s\nsecond:\n%s", all, text1, text2)
				}
			}
		})
	}
}

func TestParseConfigModel(t *testing.T) {
	a := netip.MustParseAddr
	mask := a("255.255.255.255")
	tests := []struct {
		name string
		text string
		want *config.Config
	}{
		{
			name: "one-line stanzas with semicolons",
			text: `ltm node n1 { address 10.0.0.1; description "web one" }`,
			want: &config.Config{Nodes: map[string]*config.Node{"/Common/n1": {Name: "/Common/n1", Address: a("10.0.0.1"), Ratio: 1, Description: "web one"}}},
		},
		{
			name: "member auto-creates its node, service name becomes a number",
			text: "ltm pool /Common/web { members { /Common/198.18.2.11:http { address 198.18.2.11 } } load-balancing-mode round-robin }",
			want: &config.Config{
				Nodes: map[string]*config.Node{"/Common/198.18.2.11": {Name: "/Common/198.18.2.11", Address: a("198.18.2.11"), Ratio: 1}},
				Pools: map[string]*config.Pool{"/Common/web": {Name: "/Common/web", SlowRampTime: 10, AllowSNAT: true, AllowNAT: true, Members: []config.Member{
					{Node: "/Common/198.18.2.11", Port: 80, Address: a("198.18.2.11"), Ratio: 1},
				}}},
			},
		},
		{
			name: "member by node name takes the node's address",
			text: "ltm pool p { members { web1:8080 } }\nltm node web1 { address 10.1.1.1 }",
			want: &config.Config{
				Nodes: map[string]*config.Node{"/Common/web1": {Name: "/Common/web1", Address: a("10.1.1.1"), Ratio: 1}},
				Pools: map[string]*config.Pool{"/Common/p": {Name: "/Common/p", SlowRampTime: 10, AllowSNAT: true, AllowNAT: true, Members: []config.Member{
					{Node: "/Common/web1", Port: 8080, Address: a("10.1.1.1"), Ratio: 1},
				}}},
			},
		},
		{
			name: "member named after a missing node creates it from its address",
			text: "ltm pool p { members { app:80 { address 10.2.2.2 } } }",
			want: &config.Config{
				Nodes: map[string]*config.Node{"/Common/app": {Name: "/Common/app", Address: a("10.2.2.2"), Ratio: 1}},
				Pools: map[string]*config.Pool{"/Common/p": {Name: "/Common/p", SlowRampTime: 10, AllowSNAT: true, AllowNAT: true, Members: []config.Member{
					{Node: "/Common/app", Port: 80, Address: a("10.2.2.2"), Ratio: 1},
				}}},
			},
		},
		{
			name: "virtual defaults",
			text: "ltm virtual vs { destination 198.18.1.100:http pool web }",
			want: &config.Config{Virtuals: map[string]*config.Virtual{"/Common/vs": {
				Name: "/Common/vs", Destination: netip.MustParseAddrPort("198.18.1.100:80"),
				Protocol: config.ProtocolTCP, Mask: mask, Pool: "/Common/web", TranslateAddress: true, TranslatePort: true,
			}}},
		},
		{
			name: "virtual with everything",
			text: `ltm virtual /Common/vs {
    description "the web"
    destination /Common/198.18.1.100:7
    disabled
    ip-protocol udp
    mask 255.255.255.255
    pool none
    profiles { /Common/udp { context clientside } /Common/fastL4 { } }
    source-address-translation { pool none type automap }
}`,
			want: &config.Config{Virtuals: map[string]*config.Virtual{"/Common/vs": {
				Name: "/Common/vs", Description: "the web", Destination: netip.MustParseAddrPort("198.18.1.100:7"),
				Protocol: config.ProtocolUDP, Mask: mask, Disabled: true, SNAT: config.SNATAutomap, TranslateAddress: true, TranslatePort: true,
				Profiles: []config.Profile{{Name: "/Common/fastL4"}, {Name: "/Common/udp", Context: "clientside"}},
			}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustParse(t, tt.text)
			if diff := cmp.Diff(tt.want, got, cmpOpts...); diff != "" {
				t.Errorf("ParseConfig mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

const knownKinds = "ltm node, ltm monitor TYPE, ltm persistence TYPE, ltm profile TYPE, ltm pool, ltm policy, ltm snatpool, ltm virtual, net self, net route, auth user, sys file TYPE"

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		wantErr string
	}{
		{"unknown mode", "ltm node n { address 10.0.0.1 }\n\n\n\n\nltm pool /Common/web {\n    load-balancing-mode foo\n}",
			`line 7: ltm pool /Common/web: load-balancing-mode "foo": unknown mode`},
		{"bad service-down-action", "ltm pool web { service-down-action restart }",
			`line 1: ltm pool /Common/web: service-down-action "restart": want none, reset, drop or reselect`},
		{"bad pool monitor rule", "ltm pool web {\n monitor http and\n}",
			`line 3: ltm pool /Common/web: monitor: missing monitor after "and"`},
		{"bad node ratio", "ltm node n { address 10.0.0.1 ratio 0 }",
			`line 1: ltm node /Common/n: ratio "0": want a number from 1 to 100`},
		{"bad translate-address", "ltm virtual vs {\n destination 1.2.3.4:80\n translate-address maybe\n}",
			`line 3: ltm virtual /Common/vs: translate-address "maybe": want enabled or disabled`},
		{"unknown object without a block", "sys global-settings",
			`line 1: "sys global-settings": not a configuration stanza (want MODULE KIND NAME { … }; known: ` + knownKinds + `)`},
		{"built-in monitor", "\nltm monitor http /Common/http { }",
			`line 2: 01070712:3: The Monitor (/Common/http) is built in; it cannot be modified or deleted.`},
		{"bad node address", "ltm node n { address 10.0.0.300 }",
			`line 1: ltm node /Common/n: address "10.0.0.300": not an IP address`},
		{"missing value", "ltm node n { address }",
			`line 1: ltm node /Common/n: address: missing value`},
		{"bad member port", "ltm pool p { members { 10.0.0.1:99999 } }",
			`line 1: ltm pool /Common/p: members: port "99999": want a number 0-65535 or a service name`},
		{"member without port", "ltm pool p {\n members {\n  10.0.0.1\n }\n}",
			`line 3: ltm pool /Common/p: members: "10.0.0.1": want NAME:PORT`},
		{"duplicate member", "ltm pool p { members { 10.0.0.1:80 10.0.0.1:http } }",
			`line 1: ltm pool /Common/p: members /Common/10.0.0.1:80: listed twice`},
		{"bad member address", "ltm pool p { members { 10.0.0.1:80 { address x } } }",
			`line 1: ltm pool /Common/p: members /Common/10.0.0.1:80: address "x": not an IP address`},
		{"bad protocol", "ltm virtual vs { ip-protocol sctp }",
			`line 1: ltm virtual /Common/vs: ip-protocol "sctp": not supported yet (tcp, udp or any)`},
		{"unknown protocol", "ltm virtual vs { ip-protocol tcpp }",
			`line 1: ltm virtual /Common/vs: ip-protocol "tcpp": unknown protocol`},
		{"bad destination", "ltm virtual vs { destination web:80 }",
			`line 1: ltm virtual /Common/vs: destination: "web:80": want an IP address (virtual-address objects are not supported yet)`},
		{"snat lsn", "ltm virtual vs { source-address-translation { type lsn } }",
			`line 1: ltm virtual /Common/vs: source-address-translation: type "lsn": not supported yet (automap, none or snat)`},
		{"bad context", "ltm virtual vs { profiles { tcp { context both } } }",
			`line 1: ltm virtual /Common/vs: profiles /Common/tcp: context "both": want all, clientside or serverside`},
		{"other partition", "ltm pool /Tenant/web { }",
			`line 1: ltm pool "/Tenant/web": partition Tenant: not supported yet (only Common)`},
		{"bad name", "ltm pool we$b { }",
			`line 1: ltm pool "we$b": character '$' not allowed in a name`},
		{"defined twice", "ltm pool p { }\nltm pool /Common/p { }",
			`line 2: ltm pool /Common/p: defined twice (first at line 1)`},
		{"unclosed brace", "ltm pool p {\n members {\n}",
			`line 1: "{" is never closed`},
		{"stray brace", "ltm pool p { }\n}",
			`line 2: unexpected "}"`},
		{"unterminated string", "ltm node n {\n description \"abc\n}",
			`line 2: unterminated quoted string`},
		{"trailing tokens", "ltm pool p { } extra",
			`line 1: ltm pool /Common/p: unexpected "extra" after "}"`},
		{"no block", "ltm pool p",
			`line 1: ltm pool /Common/p: want "{", got nothing`},
		{"command in a config file", "create ltm pool p",
			`line 1: "create ltm pool p": not a configuration stanza (want MODULE KIND NAME { … }; known: ` + knownKinds + `)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig(tt.text)
			if err == nil {
				t.Fatalf("ParseConfig succeeded, want error %q; got:\n%s", tt.wantErr, Text(c))
			}
			if diff := cmp.Diff(tt.wantErr, err.Error()); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTextFormat(t *testing.T) {
	c := mustParse(t, `ltm virtual vs { destination 198.18.1.100:http pool web_pool profiles { fastL4 } source-address-translation { type automap } description "Web VIP" }
ltm pool web_pool { members { 198.18.2.11:80 } }`)
	want := strings.TrimLeft(`
ltm node /Common/198.18.2.11 {
    address 198.18.2.11
}
ltm pool /Common/web_pool {
    load-balancing-mode round-robin
    members {
        /Common/198.18.2.11:80 {
            address 198.18.2.11
        }
    }
}
ltm virtual /Common/vs {
    description "Web VIP"
    destination /Common/198.18.1.100:80
    ip-protocol tcp
    mask 255.255.255.255
    pool /Common/web_pool
    profiles {
        /Common/fastL4 { }
    }
    source-address-translation {
        type automap
    }
}
`, "\n")
	if diff := cmp.Diff(want, Text(c)); diff != "" {
		t.Errorf("Text mismatch (-want +got):\n%s", diff)
	}
}

func TestCloneIsDeep(t *testing.T) {
	c := mustParse(t, DefaultConfigText())
	before := Text(c)
	d := c.Clone()
	d.Pools["/Common/web_pool"].Members[0].Port = 81
	d.Virtuals["/Common/vs_http"].Profiles[0].Name = "/Common/tcp"
	d.Nodes["/Common/198.18.2.11"].Description = "changed"
	delete(d.Virtuals, "/Common/vs_udp")
	if diff := cmp.Diff(before, Text(c)); diff != "" {
		t.Errorf("editing a clone changed the original (-want +got):\n%s", diff)
	}
}
