package tmsh

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"lbx/ctrlplane/compile"
	"lbx/ctrlplane/config"
	"lbx/ctrlplane/tmsh/conf"

	"github.com/google/go-cmp/cmp"

	"lbx/dataplane"
	"lbx/pools"
)

func TestDefaultConfig(t *testing.T) {
	c := mustParse(t, DefaultConfigText())
	prog, err := compile.Compile(c, testNet)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	members := func(port string) []string {
		var m []string
		for _, a := range []string{"198.18.2.11", "198.18.2.12", "198.18.2.13"} {
			m = append(m, "/Common/"+a+":"+port+"="+a+":"+port)
		}
		return m
	}
	want := []progVirtual{
		{Name: "/Common/vs_http", Dest: "198.18.1.100:80/6", Pool: "/Common/web_pool", Members: members("80"), SNAT: true, Enabled: true},
		{Name: "/Common/vs_udp", Dest: "198.18.1.100:7/17", Pool: "/Common/udp_pool", Members: members("7"), SNAT: true, Enabled: true},
	}
	if diff := cmp.Diff(want, summarize(prog)); diff != "" {
		t.Errorf("program mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(testNet.SelfIPs, prog.SelfIPs, cmpOpts...); diff != "" {
		t.Errorf("self IPs mismatch (-want +got):\n%s", diff)
	}
	if v := prog.LookupVirtual(netip.MustParseAddr("198.18.1.100"), 7, dataplane.ProtoUDP); v == nil || v.Name != "/Common/vs_udp" {
		t.Errorf("LookupVirtual(198.18.1.100:7/udp) = %v, want /Common/vs_udp (program not finalized?)", v)
	}
	if m := prog.Virtuals[0].Pool.Method; m != pools.MethodRoundRobin {
		t.Errorf("method = %v, want round-robin", m)
	}
	for _, v := range prog.Virtuals {
		for _, m := range v.Pool.Members {
			if m.Stats != nil || m.NodeStats != nil || m.Health != nil || m.EnabledAt != 0 {
				t.Errorf("%s: member %s: Compile attached runtime state; it belongs to the dataplane", v.Name, m.Name)
			}
		}
	}
	// Both virtuals of one pool share it, and its rotation.
	shared := mustParse(t, DefaultConfigText()+"ltm virtual vs2 { destination 198.18.1.101:80 pool web_pool }")
	prog, err = compile.Compile(shared, testNet)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	if virtualNamed(prog, "/Common/vs2").Pool != virtualNamed(prog, "/Common/vs_http").Pool {
		t.Errorf("virtuals of one pool got different *pools.PoolConfig")
	}
}

func virtualNamed(p *dataplane.Program, name string) *dataplane.Virtual {
	for _, v := range p.Virtuals {
		if v.Name == name {
			return v
		}
	}
	return nil
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		want   []string // every error, in order
		wantIs error
	}{
		{
			name:   "virtual to missing pool",
			text:   "ltm virtual vs { destination 198.18.1.100:80 pool nope }",
			want:   []string{"ltm virtual /Common/vs: pool /Common/nope: no such pool"},
			wantIs: config.ErrNoSuchPool,
		},
		{
			name:   "virtual without destination",
			text:   "ltm virtual vs { }",
			want:   []string{"ltm virtual /Common/vs: destination: missing"},
			wantIs: config.ErrMissing,
		},
		{
			name: "ipv6 destination and member",
			text: "ltm pool p6 { members { 2001:db8::1.80 } }\nltm virtual vs6 { destination 2001:db8::100.80 pool p6 }",
			want: []string{
				"ltm node /Common/2001:db8::1: address 2001:db8::1: IPv6: not supported yet",
				"ltm virtual /Common/vs6: destination /Common/2001:db8::100.80: IPv6: not supported yet",
			},
			wantIs: config.ErrNotSupportedYet,
		},
		{
			name:   "member of an unknown node",
			text:   "ltm pool p { members { web1:80 } }",
			want:   []string{"ltm pool /Common/p: members /Common/web1:80: node /Common/web1: no such node"},
			wantIs: config.ErrNoSuchNode,
		},
		{
			name: "member address differs from its node",
			text: "ltm node web1 { address 10.0.0.1 }\nltm pool p { members { web1:80 { address 10.0.0.2 } } }",
			want: []string{"ltm pool /Common/p: members /Common/web1:80: address 10.0.0.2 does not match node /Common/web1 address 10.0.0.1"},
		},
		{
			name: "node without address",
			text: "ltm node n { description x }",
			want: []string{"ltm node /Common/n: address: missing"},
		},
		{
			name: "two nodes with one address",
			text: "ltm node a { address 10.0.0.1 }\nltm node b { address 10.0.0.1 }",
			want: []string{"ltm node /Common/b: address 10.0.0.1: already used by node /Common/a"},
		},
		{
			name: "overlapping destinations",
			text: "ltm virtual a { destination 198.18.1.100:http }\nltm virtual b { destination 198.18.1.100:80 ip-protocol tcp }\nltm virtual c { destination 198.18.1.100:80 ip-protocol udp }",
			want: []string{"ltm virtual /Common/b: destination /Common/198.18.1.100:80: ip-protocol tcp: overlaps virtual /Common/a"},
		},
		{
			name: "destination on a self IP",
			text: "ltm virtual vs { destination 198.18.1.2:80 }",
			want: []string{"ltm virtual /Common/vs: destination /Common/198.18.1.2:80: address is self IP /Common/self_client"},
		},
		{
			name: "network mask with host bits",
			text: "ltm virtual vs { destination 198.18.7.1:80 mask 255.255.255.0 }",
			want: []string{"ltm virtual /Common/vs: mask 255.255.255.0: destination 198.18.7.1 has host bits outside the mask (the network is 198.18.7.0)"},
		},
		{
			name: "network mask not contiguous",
			text: "ltm virtual vs { destination 198.0.7.0:80 mask 255.0.255.0 }",
			want: []string{"ltm virtual /Common/vs: mask 255.0.255.0: not a contiguous netmask"},
		},
		{
			name: "network virtuals on one network",
			text: "ltm virtual a { destination 198.18.7.0:80 mask 255.255.255.0 }\nltm virtual b { destination 198.18.7.0:80 mask 255.255.255.0 }\nltm virtual c { destination 198.18.0.0:80 mask 255.255.0.0 }",
			want: []string{"ltm virtual /Common/b: destination /Common/198.18.7.0:80: ip-protocol tcp: overlaps virtual /Common/a"},
		},
		{
			name: "forwarding virtual with a pool",
			text: "ltm pool p { }\nltm virtual vs { destination 0.0.0.0:any mask any ip-forward pool p }",
			want: []string{"ltm virtual /Common/vs: ip-forward: a forwarding virtual routes and has no pool (pool /Common/p)"},
		},
		{
			name: "profiles",
			text: "ltm virtual vs { destination 198.18.1.100:53 ip-protocol udp profiles { tcp http clientssl http2 } }",
			want: []string{
				"ltm virtual /Common/vs: profiles /Common/clientssl: a client-ssl profile needs cert and key",
				"ltm virtual /Common/vs: profiles /Common/http: needs ip-protocol tcp",
				"ltm virtual /Common/vs: profiles /Common/http2: not supported yet",
				"ltm virtual /Common/vs: profiles /Common/tcp: needs ip-protocol tcp",
			},
		},
		{
			name: "every problem reported",
			text: "ltm pool p { members { web1:80 } }\nltm virtual a { destination 198.18.1.100:80 pool nope }\nltm virtual b { pool p }",
			want: []string{
				"ltm pool /Common/p: members /Common/web1:80: node /Common/web1: no such node",
				"ltm virtual /Common/a: pool /Common/nope: no such pool",
				"ltm virtual /Common/b: destination: missing",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.text)
			prog, err := compile.Compile(c, testNet)
			if err == nil {
				t.Fatalf("Compile succeeded with %d virtuals, want errors %q", len(prog.Virtuals), tt.want)
			}
			if prog != nil {
				t.Errorf("Compile returned a program with its error")
			}
			if diff := cmp.Diff(strings.Join(tt.want, "\n"), err.Error()); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(err, %v) = false", tt.wantIs)
			}
			var ve *config.ValidationError
			if !errors.As(err, &ve) || ve.Object == "" {
				t.Errorf("error is not a *ValidationError naming its object: %#v", err)
			}
		})
	}
}

func TestCompileIsPure(t *testing.T) {
	// Not defaulted on purpose: Compile must default a copy, not c.
	c := &config.Config{
		Pools:    map[string]*config.Pool{"/Common/p": {Name: "/Common/p", Members: []config.Member{{Node: "/Common/10.0.0.1", Port: 80}}}},
		Virtuals: map[string]*config.Virtual{"/Common/vs": {Name: "/Common/vs", Destination: netip.MustParseAddrPort("198.18.1.100:80"), Pool: "/Common/p"}},
	}
	before := c.Clone()
	prog, err := compile.Compile(c, testNet)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	if diff := cmp.Diff(before, c, cmpOpts...); diff != "" {
		t.Errorf("Compile changed its input (-before +after):\n%s", diff)
	}
	want := []progVirtual{{Name: "/Common/vs", Dest: "198.18.1.100:80/6", Pool: "/Common/p", Members: []string{"/Common/10.0.0.1:80=10.0.0.1:80"}, Enabled: true}}
	if diff := cmp.Diff(want, summarize(prog)); diff != "" {
		t.Errorf("program mismatch (-want +got):\n%s", diff)
	}
	if _, err := compile.Compile(nil, compile.NetConfig{}); err != nil {
		t.Errorf("compile.Compile(nil) = %v, want an empty program", err)
	}
}

// routingConf exercises net routes, a forwarding virtual, a network
// virtual beside a host virtual, and ip-protocol any; README's example.
const routingConf = `ltm node /Common/far1 {
    address 198.19.0.11
}
ltm pool /Common/far {
    load-balancing-mode round-robin
    members {
        /Common/far1:80 {
            address 198.19.0.11
        }
    }
}
ltm virtual /Common/vs_any {
    destination /Common/198.18.1.101:80
    ip-protocol any
    mask 255.255.255.255
    pool /Common/far
}
ltm virtual /Common/vs_forward {
    destination /Common/0.0.0.0:0
    ip-forward
    ip-protocol any
    mask any
}
ltm virtual /Common/vs_net {
    destination /Common/198.18.100.0:80
    ip-protocol tcp
    mask 255.255.255.0
    pool /Common/far
}
net route /Common/far {
    gw 198.18.2.254
    network 198.19.0.0/16
}
net route /Common/unreachable {
    gw 10.9.9.9
    network 10.0.0.0/8
}
`

// TestCompileRouting: routes, forwarding and network virtuals and
// ip-protocol any compile without warnings into the Program the dataplane
// runs, and print back as they were read.
func TestCompileRouting(t *testing.T) {
	c := mustParse(t, routingConf)
	prog, warnings, err := compile.CompileWithWarnings(c, testNet)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings %q, want none", warnings)
	}
	wantRoutes := []dataplane.Route{
		{Name: "/Common/far", Network: netip.MustParsePrefix("198.19.0.0/16"), Gateway: netip.MustParseAddr("198.18.2.254")},
		{Name: "/Common/unreachable", Network: netip.MustParsePrefix("10.0.0.0/8"), Gateway: netip.MustParseAddr("10.9.9.9")},
	}
	if diff := cmp.Diff(wantRoutes, prog.Routes, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	fwd := virtualNamed(prog, "/Common/vs_forward")
	if !fwd.Forward || fwd.Proto != dataplane.ProtoAny || fwd.Mask != netip.IPv4Unspecified() || fwd.Pool != nil || fwd.DSR {
		t.Errorf("vs_forward = %+v, want a forwarding virtual on every address and protocol", fwd)
	}
	if v := virtualNamed(prog, "/Common/vs_net"); !v.IsNetwork() {
		t.Errorf("vs_net is not a network virtual: %+v", v)
	}
	if v := virtualNamed(prog, "/Common/vs_any"); v.Proto != dataplane.ProtoAny || v.IsNetwork() {
		t.Errorf("vs_any = %+v, want a host virtual with ip-protocol any", v)
	}
	for _, tt := range []struct {
		dst   string
		port  uint16
		proto uint8
		want  string
	}{
		{"198.18.1.101", 80, dataplane.ProtoUDP, "/Common/vs_any"},
		{"198.18.100.9", 80, dataplane.ProtoTCP, "/Common/vs_net"},
		{"198.18.100.9", 80, dataplane.ProtoUDP, "/Common/vs_forward"},
		{"198.18.2.11", 22, dataplane.ProtoTCP, "/Common/vs_forward"},
	} {
		v := prog.LookupVirtual(netip.MustParseAddr(tt.dst), tt.port, tt.proto)
		if v == nil || v.Name != tt.want {
			t.Errorf("%s:%d proto %d: %v, want %s", tt.dst, tt.port, tt.proto, v, tt.want)
		}
	}
	if got := conf.Text(c); got != routingConf {
		t.Errorf("printed back (-want +got):\n%s", cmp.Diff(routingConf, got))
	}
}
