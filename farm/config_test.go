package farm

import (
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

var seedMacros = map[string]string{"VIRTUAL_IP": "198.18.7.100", "IIS_PORT": "80"}

// The seed's userconfig.xml, unchanged, loads once its two macros are set.
func TestSeedConfig(t *testing.T) {
	data, err := os.ReadFile("testdata/userconfig.xml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig("userconfig.xml", data, seedMacros)
	if err != nil {
		t.Fatal(err)
	}
	if c.VIP != netip.MustParseAddr("198.18.7.100") || c.MaxLoop != 3 || c.LoopInterval != 24*time.Hour ||
		c.LAN != "default" || !c.Check || !c.ARPReroute || c.NiceStop != 300*time.Second || c.ForceStop != 300*time.Second || !c.UserLog {
		t.Errorf("config %+v", c)
	}
	if len(c.Rules) != 1 || c.Rules[0] != (Rule{Group: "IIS", Port: 80, Proto: "tcp", Filter: OnAddr, Line: 24}) {
		t.Errorf("rules %+v", c.Rules)
	}
	if len(c.Checks) != 1 || c.Checks[0].Ident != "HTTP_IIS" || c.Checks[0].Addr != c.VIP || c.Checks[0].Port != 80 ||
		c.Checks[0].Interval != 10*time.Second || c.Checks[0].Timeout != 5*time.Second {
		t.Errorf("checks %+v", c.Checks)
	}
	// Without the macros set, the file's placeholder values are named.
	_, err = ParseConfig("userconfig.xml", data, nil)
	if err == nil || !strings.Contains(err.Error(), `userconfig.xml:17: <virtual_addr addr="VIRTUAL_IP_TO_BE_DEFINED">: an IPv4 address wanted`) {
		t.Errorf("placeholder macros: %v", err)
	}
}

// Malformed variants of the seed's file fail naming the line and what is wrong.
func TestConfigErrors(t *testing.T) {
	data, err := os.ReadFile("testdata/userconfig.xml")
	if err != nil {
		t.Fatal(err)
	}
	seed := string(data)
	cases := []struct{ name, old, new, want string }{
		{"unknown element", `<user `, `<mirror/><user `, `:41: element <mirror> is not supported`},
		{"unknown attribute", `filter="on_addr"`, `filter="on_addr" weight="2"`, `:24: <rule>: attribute "weight" is not supported`},
		{"bad filter", `filter="on_addr"`, `filter="on_cookie"`, `:24: <rule filter="on_cookie">: on_addr or on_port wanted`},
		{"bad proto", `proto="tcp"`, `proto="sctp"`, `:24: <rule proto="sctp">: tcp or udp wanted`},
		{"mode mirror", `mode="farm"`, `mode="mirror"`, `:5: <service mode="mirror">: only farm is supported`},
		{"vmac type", `type="vmac_directed"`, `type="vmac_invisible"`, `:16: <virtual_interface type="vmac_invisible">: only vmac_directed`},
		{"undefined macro", `%IIS_PORT%" proto`, `%HTTP_PORT%" proto`, `:24: <rule port>: macro %HTTP_PORT% is not defined`},
		{"maxloop", `maxloop="3"`, `maxloop="three"`, `:5: <service maxloop="three">: a whole number`},
		{"where", `where="alias"`, `where="physical"`, `:17: <virtual_addr where="physical">: only alias`},
		{"broken xml", `</farm>`, `</farms>`, `:10: XML: element <farm> closed by </farms>`},
		{"check on", `check="on"`, `check="yes"`, `:15: <interface check="yes">: on or off wanted`},
		{"timeout", `timeout="5"`, `timeout="-5"`, `:32: <to timeout="-5">: a whole number`},
		{"to missing", `port="%IIS_PORT%"
         interval`, `interval`, `:32: <to>: attribute "port" missing`},
		{"when", `when="both"`, `when="prim"`, `:31: <tcp when="prim">: only both`},
		{"text", `<farm>`, `<farm>hello`, `:8: <farm>: text "hello" is not supported`},
		{"nested wrong", `<lan name="default" />`, `<lan name="default" /><rule port="1"/>`, `:9: element <rule> is not supported inside <farm>`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(seed, tc.old) {
				t.Fatalf("seed lacks %q", tc.old)
			}
			bad := strings.Replace(seed, tc.old, tc.new, 1)
			_, err := ParseConfig("userconfig.xml", []byte(bad), seedMacros)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// Nodes in <lan>, udp and on_port rules, and --macro overriding the file.
func TestConfigVariants(t *testing.T) {
	x := `<safe><macro name="P" value="53"/>
<service mode="farm">
 <farm><lan name="default"><node name="a" addr="10.0.0.1"/><node addr="10.0.0.2"/></lan></farm>
 <vip><interface_list><interface name="eth1"><virtual_interface type="vmac_directed"><virtual_addr addr="10.0.0.9"/></virtual_interface></interface></interface_list>
 <loadbalancing_list><group name="dns"><rule port="%P%" proto="udp" filter="on_port"/><rule port="%P%" proto="tcp" filter="on_addr"/></group></loadbalancing_list></vip>
</service></safe>`
	c, err := ParseConfig("u.xml", []byte(x), map[string]string{"P": "5353"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Interface != "eth1" || len(c.Nodes) != 2 || c.Nodes[1].Name != "10.0.0.2" || c.Rules[0].Port != 5353 || c.Rules[0].Filter != OnPort || c.Rules[1].Proto != "tcp" {
		t.Errorf("config %+v", c)
	}
	if _, _, err := ParseMacro("1X=2"); err == nil {
		t.Error("ParseMacro accepted 1X")
	}
	if n, v, err := ParseMacro("VIRTUAL_IP=10.0.0.1"); err != nil || n != "VIRTUAL_IP" || v != "10.0.0.1" {
		t.Errorf("ParseMacro = %q %q %v", n, v, err)
	}
}

func FuzzParseConfig(f *testing.F) {
	data, err := os.ReadFile("testdata/userconfig.xml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(data))
	f.Add(`<safe><service mode="farm"/></safe>`)
	f.Add(`<safe><macro name="A" value="%A%"/></safe>`)
	f.Add(`<!DOCTYPE safe><safe><service mode="farm"><vip><loadbalancing_list><group><rule port="1" proto="udp" filter="on_port"/></group></loadbalancing_list></vip></service></safe>`)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseConfig("f.xml", []byte(s), seedMacros)
		if err != nil {
			var ce *ConfigError
			if !errorsAs(err, &ce) || ce.Line < 1 {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		if !c.VIP.Is4() || len(c.Rules) == 0 || len(c.Rules) > maxRules {
			t.Fatalf("accepted config without VIP or rules: %+v", c)
		}
		for _, r := range c.Rules {
			if r.Port == 0 || (r.Proto != "tcp" && r.Proto != "udp") || (r.Filter != OnAddr && r.Filter != OnPort) {
				t.Fatalf("accepted rule %+v", r)
			}
		}
	})
}

func errorsAs(err error, target **ConfigError) bool { return errors.As(err, target) }
