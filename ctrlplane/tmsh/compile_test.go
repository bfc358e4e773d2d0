package tmsh

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"lbx/ctrlplane/compile"
	"lbx/ctrlplane/config"

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
			name: "network mask",
			text: "ltm virtual vs { destination 198.18.1.0:80 mask 255.255.255.0 }",
			want: []string{"ltm virtual /Common/vs: mask 255.255.255.0: network virtual servers: not supported yet (mask must be 255.255.255.255)"},
		},
		{
			name: "profiles",
			text: "ltm virtual vs { destination 198.18.1.100:53 ip-protocol udp profiles { tcp http clientssl } }",
			want: []string{
				"ltm virtual /Common/vs: profiles /Common/clientssl: not supported yet",
				"ltm virtual /Common/vs: profiles /Common/http: needs ip-protocol tcp",
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
