package conf

import (
	"os"
	"path/filepath"
	"testing"

	"lbx/ctrlplane/compile"

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
		"sys file ssl-cert /Common/a.crt { source-path file:/x.crt cache-path /y }\nsys file ssl-key k { source-path rel }\nltm profile client-ssl s { cert a.crt key k }",
		"ltm persistence universal u { header-name Host rule none }\nltm persistence cookie h { method hash cookie-name J }",
		"ltm profile http h { defaults-from http insert-xforwarded-for enabled header-insert \"X-A: 1\" max-header-size 1024 unknown-x { y } }\nltm virtual v { destination 10.0.0.9:80 profiles { tcp h oc } }",
		"ltm profile one-connect oc { source-mask 255.255.0.0 max-reuse 3 idle-timeout-override 9 }",
		"ltm profile client-ssl s { cert /a.crt key /a.key server-name a.example sni-default enabled }\nltm profile server-ssl t { }",
		"sys x { a { b } } \nnet self s { address 10.0.0.1/24 vlan v }\nnet route r { network default gw 1.1.1.1 }",
		"sys file ssl-cert c { content \"-----BEGIN CERTIFICATE-----\nAA\\n\\\"\r\n-----END CERTIFICATE-----\n\" }\nsys file ssl-key k { content \"-----BEGIN PRIVATE KEY-----\nAA\n-----END PRIVATE KEY-----\" passphrase \"p w\" source-path none }",
		"sys file ssl-key k { content \"<hidden sha256:0000000000000000000000000000000000000000000000000000000000000000>\" passphrase \"<hidden>\" }",
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
	f.Fuzz(checkParsePrint)
}

// checkParsePrint checks that a config that parses prints to text that
// parses back to it, and that printing is a fixed point.
func checkParsePrint(t *testing.T, text string) {
	{
		c, err := ParseConfig(text)
		if err != nil {
			return
		}
		_, _ = compile.Compile(c, testNet)
		// Keys print hidden but for config sync, whose text is the one
		// that must carry everything.
		full, err := (Codec{Reveal: true}).Format(c)
		if err != nil {
			t.Fatal(err)
		}
		if c2, err := ParseConfig(full); err != nil {
			t.Fatalf("printed config does not parse: %v\ninput:\n%q\nprinted:\n%s", err, text, full)
		} else if diff := cmp.Diff(c, c2, cmpOpts...); diff != "" {
			t.Fatalf("parse(print(c)) != c (-want +got):\n%s\ninput:\n%q\nprinted:\n%s", diff, text, full)
		}
		if _, err := ParseConfig(Text(c)); err != nil {
			t.Fatalf("printed config does not parse: %v\ninput:\n%q\nprinted:\n%s", err, text, Text(c))
		}
		for _, all := range []bool{false, true} {
			t1 := Format(c, all)
			c2, err := ParseConfig(t1)
			if err != nil {
				t.Fatalf("all=%v: printed config does not parse: %v\ninput:\n%q\nprinted:\n%s", all, err, text, t1)
			}
			if t2 := Format(c2, all); t2 != t1 {
				t.Fatalf("all=%v: print→parse→print is not a fixed point\ninput:\n%q\nfirst:\n%s\nsecond:\n%s", all, text, t1, t2)
			}
		}
	}
}
