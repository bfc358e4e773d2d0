package conf

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"lbx/ctrlplane/compile"
	"lbx/ctrlplane/config"

	"github.com/google/go-cmp/cmp"
)

// materialize fills in every inherited property, as all-properties prints
// them, so a config printed with all-properties compares equal after parsing.
func materialize(c *config.Config) *config.Config {
	c = c.Clone()
	for _, m := range c.Monitors {
		eff := c.EffectiveMonitor(m)
		for _, f := range monitorFields {
			if f.appliesTo(uint8(m.Type)) {
				f.inherit(m, &eff)
			}
		}
	}
	for _, p := range c.Persistence {
		eff := c.EffectivePersistence(p)
		for _, f := range persistFields {
			if f.appliesTo(uint8(p.Type)) {
				f.inherit(p, &eff)
			}
		}
	}
	for _, p := range c.Profiles {
		eff := c.EffectiveProfile(p)
		for _, f := range profileFields {
			if f.appliesTo(uint8(p.Type)) {
				f.inherit(p, &eff)
			}
		}
	}
	return c
}

// checkRoundTrip asserts parse(print(c)) == c and that printing is a fixed
// point, for the saved form and for all-properties.
func checkRoundTrip(t *testing.T, c *config.Config) {
	t.Helper()
	for _, all := range []bool{false, true} {
		text1 := Format(c, all)
		c2, err := ParseConfig(text1)
		if err != nil {
			t.Fatalf("all=%v: printed config does not parse: %v\n%s", all, err, text1)
		}
		want := c
		if all {
			want = materialize(c)
		}
		if diff := cmp.Diff(want, c2, cmpOpts...); diff != "" {
			t.Fatalf("all=%v: parse(print(c)) != c (-want +got):\n%s\nprinted:\n%s", all, diff, text1)
		}
		if text2 := Format(c2, all); text2 != text1 {
			t.Fatalf("all=%v: print is not a fixed point:\nfirst:\n%s\nsecond:\n%s", all, text1, text2)
		}
	}
}

// TestCorpus loads the bigip.conf-style files of testdata/: real BIG-IP
// shapes with objects and properties lbx does not implement. Each loads,
// keeps what it does not implement (noticed once each), prints back, parses
// to the same model and compiles.
func TestCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/*.conf")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("found %d corpus files, want at least 4", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			c, notices, err := ParseConfigNotices(string(b))
			if err != nil {
				t.Fatalf("ParseConfigNotices: %v", err)
			}
			checkRoundTrip(t, c)
			// Every unknown stanza and property is kept, and noticed once.
			kept := len(c.Unknown)
			text := Text(c)
			for _, u := range c.Unknown {
				if !strings.Contains(text, u.Text) {
					t.Errorf("unknown stanza %q not printed back", u.Header)
				}
			}
			countExtras(c, func(obj string, e config.Extras) {
				kept += len(e.Extra)
				for _, r := range e.Extra {
					if !strings.Contains(text, r.Text) {
						t.Errorf("%s: unknown property %q not printed back", obj, r.Name)
					}
				}
			})
			if len(notices) != kept {
				t.Errorf("%d notices for %d kept items:\n%s", len(notices), kept, strings.Join(notices, "\n"))
			}
			seen := map[string]bool{}
			for _, n := range notices {
				if seen[n] {
					t.Errorf("notice given twice: %s", n)
				}
				seen[n] = true
				if !strings.HasPrefix(n, "line ") || !strings.HasSuffix(n, "kept as is") {
					t.Errorf("notice %q: want line N: … kept as is", n)
				}
			}
			if _, warnings, err := compile.CompileWithWarnings(c, testNet); err != nil {
				t.Errorf("Compile: %v", err)
			} else {
				t.Logf("warnings: %q", warnings)
			}
		})
	}
}

func countExtras(c *config.Config, f func(obj string, e config.Extras)) {
	for _, n := range c.Nodes {
		f(n.Name, n.Extras)
	}
	for _, p := range c.Pools {
		f(p.Name, p.Extras)
		for _, m := range p.Members {
			f(p.Name+" "+m.Name(), m.Extras)
		}
	}
	for _, v := range c.Virtuals {
		f(v.Name, v.Extras)
	}
	for _, m := range c.Monitors {
		f(m.Name, m.Extras)
	}
	for _, p := range c.Persistence {
		f(p.Name, p.Extras)
	}
	for _, p := range c.SNATPools {
		f(p.Name, p.Extras)
	}
	for _, s := range c.Selfs {
		f(s.Name, s.Extras)
	}
	for _, r := range c.Routes {
		f(r.Name, r.Extras)
	}
	for _, u := range c.Users {
		f(u.Name, u.Extras)
	}
}

func TestParseConfigNotices(t *testing.T) {
	text := `sys global-settings {
    hostname "lb1"
}
ltm node n {
    address 10.0.0.1
    dynamic-ratio 2
}
ltm pool p {
    members {
        n:80 {
            address 10.0.0.1
            monitor { /Common/tcp }
        }
    }
    queue-on-connection-limit enabled
}
ltm monitor smtp /Common/mail { domain example.com }
`
	c, notices, err := ParseConfigNotices(text)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"line 1: sys global-settings: not implemented; kept as is",
		`line 6: ltm node /Common/n: property "dynamic-ratio" is not implemented; kept as is`,
		`line 12: ltm pool /Common/p: members /Common/n:80: property "monitor" is not implemented; kept as is`,
		`line 15: ltm pool /Common/p: property "queue-on-connection-limit" is not implemented; kept as is`,
		"line 17: ltm monitor smtp /Common/mail: not implemented; kept as is",
	}
	if diff := cmp.Diff(want, notices); diff != "" {
		t.Errorf("notices (-want +got):\n%s", diff)
	}
	wantText := `ltm node /Common/n {
    address 10.0.0.1
    dynamic-ratio 2
}
ltm pool /Common/p {
    load-balancing-mode round-robin
    members {
        /Common/n:80 {
            address 10.0.0.1
            monitor { /Common/tcp }
        }
    }
    queue-on-connection-limit enabled
}
sys global-settings {
    hostname "lb1"
}
ltm monitor smtp /Common/mail { domain example.com }
`
	if diff := cmp.Diff(wantText, Text(c)); diff != "" {
		t.Errorf("Text (-want +got):\n%s", diff)
	}
	checkRoundTrip(t, c)

}

// TestValidationErrors has, for every object kind, the problems the parser
// or Compile refuse, each naming object, property and reason.
func TestValidationErrors(t *testing.T) {
	tests := []struct {
		kind string
		text string
		want string // one line of the error
	}{
		// ltm node
		{"node", "ltm node n { address 10.0.0.1 connection-limit -1 }", `ltm node /Common/n: connection-limit "-1": want a number from 0 to 4294967295`},
		{"node", "ltm node n { address 10.0.0.1 session off }", `ltm node /Common/n: session "off": want user-enabled, user-disabled or monitor-enabled`},
		{"node", "ltm node n { address 10.0.0.1 state gone }", `ltm node /Common/n: state "gone": want user-up, user-down, up, down, checking or unchecked`},
		{"node", "ltm node n { address 10.0.0.1 monitor nope }", "ltm node /Common/n: monitor /Common/nope: no such monitor"},
		{"node", "ltm node n { address 10.0.0.1 monitor min 3 of { icmp gateway_icmp } }", "ltm node /Common/n: monitor min 3 of { /Common/icmp /Common/gateway_icmp }: min 3 of 2 monitors"},
		{"node", "ltm node n { address 10.0.0.1 monitor icmp and icmp }", "ltm node /Common/n: monitor /Common/icmp: listed twice"},
		// ltm pool and members
		{"pool", "ltm pool p { load-balancing-mode fastest }", `ltm pool /Common/p: load-balancing-mode "fastest": unknown mode`},
		{"pool", "ltm pool p { allow-snat maybe }", `ltm pool /Common/p: allow-snat "maybe": want yes or no`},
		{"pool", "ltm pool p { reselect-tries 70000 }", `ltm pool /Common/p: reselect-tries "70000": want a number from 0 to 65535`},
		{"pool", "ltm pool p { monitor min 1 of { } }", "ltm pool /Common/p: monitor: min 1 of { }: no monitor"},
		{"pool", "ltm pool p { monitor min 1 { http } }", "ltm pool /Common/p: monitor: want min N of { MONITOR … }"},
		{"pool", "ltm pool p { monitor http and nope }", "ltm pool /Common/p: monitor /Common/nope: no such monitor"},
		{"member", "ltm pool p { members { 10.0.0.1:80 { priority-group x } } }", `ltm pool /Common/p: members /Common/10.0.0.1:80: priority-group "x": want a number from 0 to 65535`},
		{"member", "ltm pool p { members { 10.0.0.1:80 { ratio 101 } } }", `ltm pool /Common/p: members /Common/10.0.0.1:80: ratio "101": want a number from 1 to 100`},
		{"member", "ltm pool p { members { 10.0.0.1:80 { session disabled } } }", `ltm pool /Common/p: members /Common/10.0.0.1:80: session "disabled": want user-enabled, user-disabled or monitor-enabled`},
		// ltm monitor
		{"monitor", "ltm monitor http m { interval 0 }", `ltm monitor http /Common/m: interval "0": want a number from 1 to 86400`},
		{"monitor", "ltm monitor http m { destination 10.0.0.1 }", `ltm monitor http /Common/m: destination "10.0.0.1": want ADDRESS:PORT, * for either`},
		{"monitor", "ltm monitor icmp m { destination *:80 }", `ltm monitor icmp /Common/m: destination "*:80": "*:80": not an IP address or *`},
		{"monitor", "ltm monitor http m { manual-resume yes }", `ltm monitor http /Common/m: manual-resume "yes": want enabled or disabled`},
		{"monitor", "ltm monitor http m { defaults-from nope }", "ltm monitor http /Common/m: defaults-from /Common/nope: no such monitor"},
		{"monitor", "ltm monitor http m { defaults-from tcp }", "ltm monitor http /Common/m: defaults-from /Common/tcp: is a tcp monitor, want http"},
		{"monitor", "ltm monitor http a { defaults-from b }\nltm monitor http b { defaults-from a }", "ltm monitor http /Common/a: defaults-from /Common/b: inherits from itself"},
		{"monitor", "ltm monitor http m { interval 20 }", "ltm monitor http /Common/m: timeout 16: must be greater than interval 20"},
		{"monitor", "ltm monitor external m { }", "ltm monitor external /Common/m: run: missing"},
		{"monitor", "ltm monitor http m { }\nltm monitor tcp m { }", "line 2: 01020066:3: The requested Monitor (/Common/m) already exists in partition Common."},
		// ltm persistence
		{"persistence", "ltm persistence cookie c { method bake }", `ltm persistence cookie /Common/c: method "bake": want insert, rewrite, passive or hash`},
		{"persistence", "ltm persistence cookie c { expiration 1d }", `ltm persistence cookie /Common/c: expiration "1d": want 0 or [[[D:]H:]M:]S`},
		{"persistence", "ltm persistence source-addr s { mask 24 }", `ltm persistence source-addr /Common/s: mask "24": not an IP address`},
		{"persistence", "ltm persistence hash h { defaults-from cookie }", "ltm persistence hash /Common/h: defaults-from /Common/cookie: is a cookie profile, want hash"},
		{"persistence", "ltm persistence hash h { rule /Common/nope }", "ltm persistence hash /Common/h: rule /Common/nope: no such iRule (ltm rule)"},
		// ltm snatpool
		{"snatpool", "ltm snatpool s { members { 10.0.0.300 } }", `ltm snatpool /Common/s: members "10.0.0.300": not an IP address`},
		{"snatpool", "ltm snatpool s { members { 10.0.0.1 /Common/10.0.0.1 } }", "ltm snatpool /Common/s: members 10.0.0.1: listed twice"},
		{"snatpool", "ltm snatpool s { }", "ltm snatpool /Common/s: members: missing"},
		// ltm virtual
		{"virtual", "ltm virtual v { destination 198.18.1.100:80 translate-port no }", `ltm virtual /Common/v: translate-port "no": want enabled or disabled`},
		{"virtual", "ltm virtual v { destination 198.18.1.100:99999 }", `ltm virtual /Common/v: destination: port "99999": want a number 0-65535 or a service name`},
		{"virtual", "ltm virtual v { destination 0.0.0.0:any mask any ip-forward source-address-translation { type automap } }", "ltm virtual /Common/v: ip-forward: a forwarding virtual translates nothing (source-address-translation automap)"},
		{"virtual", "ltm virtual v { destination 198.18.0.0:any mask 255.255.0 }", `ltm virtual /Common/v: mask "255.255.0": not an IP address`},
		{"virtual", "ltm virtual v { destination 198.18.1.100:80 source-address-translation { type snat } }", "ltm virtual /Common/v: source-address-translation pool: missing"},
		{"virtual", "ltm virtual v { destination 198.18.1.100:80 source-address-translation { type snat pool nope } }", "ltm virtual /Common/v: source-address-translation pool /Common/nope: no such snatpool"},
		{"virtual", "ltm virtual v { destination 198.18.1.100:80 persist { nope { default yes } } }", "ltm virtual /Common/v: persist /Common/nope: no such profile"},
		{"virtual", "ltm virtual v { destination 198.18.1.100:80 persist { cookie source_addr } }", "ltm virtual /Common/v: persist: 0 profiles marked default yes, want 1"},
		{"virtual", "ltm virtual v { destination 198.18.1.100:80 persist { cookie { default maybe } } }", `ltm virtual /Common/v: persist /Common/cookie: default "maybe": want yes or no`},
		{"virtual", "ltm virtual v { destination 198.18.1.100:80 fallback-persistence nope }", "ltm virtual /Common/v: fallback-persistence /Common/nope: no such profile"},
		{"virtual", "net self s { address 198.18.1.50/24 vlan internal }\nltm virtual v { destination 198.18.1.50:80 }", "ltm virtual /Common/v: destination /Common/198.18.1.50:80: address is self IP /Common/s"},
		// net self
		{"self", "net self s { address 10.0.0.1 vlan v }", `net self /Common/s: address "10.0.0.1": want ADDRESS/PREFIX`},
		{"self", "net self s { address 10.0.0.1/24 }", "net self /Common/s: vlan: missing"},
		{"self", "net self a { address 10.0.0.1/24 vlan v }\nnet self b { address 10.0.0.1/16 vlan v }", "net self /Common/b: address 10.0.0.1/16: already used by self /Common/a"},
		{"self", "net self s { address 10.0.0.1/24 vlan v traffic-group traffic-group-2 }", "net self /Common/s: traffic-group /Common/traffic-group-2: no such traffic group (there are /Common/traffic-group-1 and /Common/traffic-group-local-only)"},
		{"self", "net self s { address 10.0.0.1/24 vlan v }\nnet self f { address 10.0.1.1/24 vlan v traffic-group traffic-group-1 }", "net self /Common/f: traffic-group /Common/traffic-group-1: a floating self IP needs a non-floating self IP on network 10.0.1.0/24 of vlan /Common/v"},
		{"self", "net self s { address 10.0.0.1/24 vlan v }\nnet self f { address 10.0.0.3/24 vlan w traffic-group traffic-group-1 }", "net self /Common/f: traffic-group /Common/traffic-group-1: a floating self IP needs a non-floating self IP on network 10.0.0.0/24 of vlan /Common/w"},
		// net route
		{"route", "net route r { network 10.1.2.3/16 gw 10.0.0.1 }", "net route /Common/r: network 10.1.2.3/16: host bits set (want 10.1.0.0/16)"},
		{"route", "net route r { network default gw 2001:db8::1 }", "net route /Common/r: gw 2001:db8::1: not of the network's address family"},
		{"route", "net route r { network default }", "net route /Common/r: gw: missing"},
		{"route", "net route a { network default gw 10.0.0.1 }\nnet route b { network 0.0.0.0/0 gw 10.0.0.2 }", "net route /Common/b: network default: already routed by /Common/a"},
		// auth user
		{"user", "auth user u { role root }", `auth user u: role "root": want no-access, guest, operator or admin`},
		{"user", "auth user u { encrypted-password secret }", "auth user u: encrypted-password: want a crypt hash such as $2a$…"},
		{"user", "auth user u { partition-access { Common { role admin } } }", `auth user u: partition-access "Common": partitions: not supported yet (all-partitions)`},
		{"user", "auth user /Common/u { }", `auth user "/Common/u": character '/' not allowed in a name`},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+tt.want, func(t *testing.T) {
			c, err := ParseConfig(tt.text)
			if err == nil {
				_, err = compile.Compile(c, testNet)
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			lines := strings.Split(err.Error(), "\n")
			for i, l := range lines {
				if le := strings.Index(l, ": "); strings.HasPrefix(l, "line ") && le > 0 && !strings.HasPrefix(tt.want, "line ") {
					lines[i] = l[le+2:]
				}
			}
			if !slices.Contains(lines, tt.want) {
				t.Errorf("error lacks %q; got:\n%s", tt.want, err)
			}
		})
	}
}

// TestRoundTripProperty prints random configurations and parses them back.
func TestRoundTripProperty(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 30
	}
	for seed := range uint64(n) {
		c := randomConfig(rand.New(rand.NewPCG(seed, 42)))
		t.Run(fmt.Sprint(seed), func(t *testing.T) { checkRoundTrip(t, c) })
		if t.Failed() {
			break
		}
	}
}

func randomConfig(r *rand.Rand) *config.Config {
	c := config.NewConfig()
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	u32n := func(lo, hi uint32) uint32 { return lo + uint32(r.Int64N(int64(hi-lo)+1)) }
	chance := func() bool { return r.IntN(3) == 0 }
	text := func() string {
		if r.IntN(3) == 0 {
			return ""
		}
		const chars = "abcXYZ09 _-./:\"\\\n\t{}#;$none"
		var b strings.Builder
		for range 1 + r.IntN(12) {
			b.WriteByte(chars[r.IntN(len(chars))])
		}
		return b.String()
	}
	name := func(prefix string, i int) string { return fmt.Sprintf("/Common/%s%d", prefix, i) }
	addr := func() netip.Addr {
		return netip.AddrFrom4([4]byte{10, byte(r.IntN(4)), byte(r.IntN(256)), byte(1 + r.IntN(250))})
	}
	extras := func() config.Extras {
		var e config.Extras
		for i := range r.IntN(3) {
			n := fmt.Sprintf("x-unknown%d", i)
			e.Extra = append(e.Extra, config.RawProp{Name: n, Text: n + pick("", " 1", " { a b { c } }", ` "q \"x\""`)})
		}
		return e
	}
	rule := func(names []string) config.MonitorRule {
		if len(names) == 0 || chance() {
			return config.MonitorRule{}
		}
		k := 1 + r.IntN(len(names))
		perm := r.Perm(len(names))[:k]
		var mr config.MonitorRule
		for _, i := range perm {
			mr.Names = append(mr.Names, names[i])
		}
		if chance() {
			mr.Min = u32n(1, uint32(k))
		}
		return mr
	}

	var monitors []string
	for i := range r.IntN(4) {
		t := config.MonitorType(r.IntN(int(config.MonitorTypeCount)))
		m := &config.Monitor{Name: name("mon", i), Type: t, DefaultsFrom: t.Builtin(), Description: text(), Extras: extras()}
		for _, f := range []func(){
			func() { m.Interval = config.Some(u32n(1, 86400)) },
			func() { m.Timeout = config.Some(u32n(1, 1000)) },
			func() { m.UpInterval = config.Some(u32n(0, 86400)) },
			func() { m.TimeUntilUp = config.Some(u32n(0, 1000)) },
			func() { m.ManualResume = config.Some(r.IntN(2) == 0) },
		} {
			if chance() {
				f()
			}
		}
		if chance() {
			if t.AddressOnly() {
				m.Destination = config.Some(pick("*", "10.1.2.3"))
			} else {
				m.Destination = config.Some(pick("*:*", "*:80", "10.1.2.3:*", "10.1.2.3:8080"))
			}
		}
		switch t {
		case config.MonitorTCP, config.MonitorHTTP, config.MonitorHTTPS, config.MonitorUDP:
			m.Send, m.Recv, m.RecvDisable = config.Some(text()), config.Some(text()), config.Some(text())
		case config.MonitorExternal:
			m.Run, m.Args = config.Some("/Common/check"), config.Some(text())
		}
		c.Monitors[m.Name] = m
		monitors = append(monitors, m.Name)
	}
	monitors = append(monitors, "/Common/icmp", "/Common/http")

	var persists []string
	for i := range r.IntN(3) {
		t := config.PersistType(r.IntN(int(config.PersistTypeCount)))
		p := &config.Persistence{Name: name("persist", i), Type: t, DefaultsFrom: t.Builtin(), Description: text(), Extras: extras()}
		if chance() {
			p.Timeout = config.Some(u32n(0, 100000))
		}
		if chance() {
			p.MatchAcrossServices = config.Some(r.IntN(2) == 0)
		}
		switch t {
		case config.PersistSourceAddr:
			p.Mask = config.Some(pick("", "255.255.255.0"))
			p.HashAlgorithm = config.Some(pick("default", "carp"))
		case config.PersistCookie:
			p.Method = config.Some(pick("insert", "rewrite", "passive", "hash"))
			p.CookieName = config.Some(text())
			p.Expiration = config.Some(pick("0", "1:0:0", "30"))
			p.AlwaysSend = config.Some(r.IntN(2) == 0)
		case config.PersistHash:
			p.HashOffset, p.HashLength = config.Some(u32n(0, 10)), config.Some(u32n(0, 10))
			p.Rule = config.Some(pick("", "/Common/rule1"))
		}
		c.Persistence[p.Name] = p
		persists = append(persists, p.Name)
	}
	persists = append(persists, "/Common/cookie")

	var nodes []*config.Node
	for i := range r.IntN(5) {
		n := &config.Node{Name: name("node", i), Address: addr(), Description: text(), ConnectionLimit: u32n(0, 10),
			Ratio: u32n(1, 100), Monitor: rule(monitors), Session: config.Session(r.IntN(2)), State: config.State(r.IntN(2)), Extras: extras()}
		if _, dup := c.Nodes[n.Name]; !dup {
			c.Nodes[n.Name] = n
			nodes = append(nodes, n)
		}
	}
	var pools []string
	for i := range r.IntN(4) {
		p := &config.Pool{Name: name("pool", i), Description: text(), Mode: config.LBMode(r.IntN(int(config.LBModeCount))),
			MinActiveMembers: u32n(0, 5), Monitor: rule(monitors), SlowRampTime: u32n(0, 100),
			ServiceDownAction: config.ServiceDownAction(r.IntN(4)), ReselectTries: u32n(0, 5),
			AllowSNAT: r.IntN(2) == 0, AllowNAT: r.IntN(2) == 0, Extras: extras()}
		for _, n := range nodes {
			if chance() {
				continue
			}
			m := config.Member{Node: n.Name, Port: uint16(r.IntN(3) * 80), Address: n.Address, Description: text(),
				PriorityGroup: u32n(0, 10), Ratio: u32n(1, 100), ConnectionLimit: u32n(0, 10),
				Session: config.Session(r.IntN(2)), State: config.State(r.IntN(2)), Extras: extras()}
			p.Members = append(p.Members, m)
		}
		c.Pools[p.Name] = p
		pools = append(pools, p.Name)
	}
	var snatpools []string
	for i := range r.IntN(2) {
		sp := &config.SNATPool{Name: name("snat", i), Description: text(), Members: []netip.Addr{netip.MustParseAddr("10.9.9.1")}}
		if chance() {
			sp.Members = append(sp.Members, netip.MustParseAddr("10.9.9.2"))
		}
		c.SNATPools[sp.Name] = sp
		snatpools = append(snatpools, sp.Name)
	}
	for i := range r.IntN(4) {
		v := &config.Virtual{Name: name("vs", i), Description: text(),
			Destination:      netip.AddrPortFrom(addr(), uint16(r.IntN(65536))),
			Protocol:         []config.Protocol{config.ProtocolTCP, config.ProtocolUDP, config.ProtocolAny}[r.IntN(3)],
			Mask:             netip.MustParseAddr(pick("255.255.255.255", "255.255.255.0")),
			TranslateAddress: r.IntN(2) == 0, TranslatePort: r.IntN(2) == 0,
			ConnectionLimit: u32n(0, 10), Disabled: r.IntN(2) == 0, Extras: extras()}
		if len(pools) > 0 && !chance() {
			v.Pool = pools[r.IntN(len(pools))]
		}
		for _, p := range []string{"/Common/fastL4", "/Common/http", "/Common/tcp"} {
			if chance() {
				v.Profiles = append(v.Profiles, config.Profile{Name: p, Context: pick("", "all", "clientside")})
			}
		}
		switch r.IntN(3) {
		case 1:
			v.SNAT = config.SNATAutomap
		case 2:
			if len(snatpools) > 0 {
				v.SNAT, v.SNATPool = config.SNATSnatpool, snatpools[0]
			}
		}
		for j, p := range persists {
			if chance() {
				v.Persist = append(v.Persist, config.PersistRef{Name: p, Default: j == 0})
			}
		}
		slices.SortFunc(v.Persist, func(a, b config.PersistRef) int { return strings.Compare(a.Name, b.Name) })
		if chance() {
			v.FallbackPersistence = persists[r.IntN(len(persists))]
		}
		c.Virtuals[v.Name] = v
	}
	for i := range r.IntN(3) {
		s := &config.SelfIP{Name: name("self", i), Address: netip.PrefixFrom(addr(), 8+r.IntN(25)), VLAN: "/Common/vlan1", Description: text(), Extras: extras()}
		c.Selfs[s.Name] = s
	}
	for i := range r.IntN(3) {
		rt := &config.Route{Name: name("route", i), Network: netip.PrefixFrom(addr(), r.IntN(33)).Masked(), Gateway: addr(), Description: text()}
		if chance() {
			rt.Network = netip.MustParsePrefix("::/0")
			rt.Gateway = netip.MustParseAddr("2001:db8::1")
		}
		c.Routes[rt.Name] = rt
	}
	for i := range r.IntN(3) {
		u := &config.User{Name: fmt.Sprintf("user%d", i), Description: text(), Role: config.Role(r.IntN(4)), Extras: extras()}
		if chance() {
			u.PasswordHash = "$2a$10$abcdefghijklmnopqrstuv0123456789ABCDEFGHIJKLMNOPQRSTU"
		}
		c.Users[u.Name] = u
	}
	if chance() {
		c.Unknown = append(c.Unknown, config.RawStanza{Header: "ltm rule /Common/rule1", Text: "ltm rule /Common/rule1 {\n    when CLIENT_ACCEPTED { log local0. \"hi {\" }\n}"})
	}
	if chance() {
		c.Unknown = append(c.Unknown, config.RawStanza{Header: "sys global-settings", Text: "sys global-settings { hostname lb }"})
	}
	c.ApplyDefaults()
	return c
}

func TestErrorsNameObjectAndProperty(t *testing.T) {
	// Compile's errors are *ValidationError with both parts.
	c := mustParse(t, "ltm pool p { monitor nope }\nnet route r { network default }")
	_, err := compile.Compile(c, testNet)
	var ve *config.ValidationError
	if !errors.As(err, &ve) || ve.Object == "" || ve.Property == "" {
		t.Fatalf("error %v: want a *ValidationError naming object and property", err)
	}
	if !errors.Is(err, config.ErrNoSuchMonitor) || !errors.Is(err, config.ErrMissing) {
		t.Errorf("errors.Is: %v", err)
	}
}
