package conf

import (
	"strings"
	"testing"

	"lbx/ctrlplane/config"
)

// A BIG-IP bigip.conf's sys file stanzas load: source-path is the file,
// the properties lbx does not use (cache-path, checksum, revision) are kept
// and printed back, and a key object prints its path only.
func TestSysFileStanzas(t *testing.T) {
	text := `sys file ssl-cert /Common/www.crt {
    cache-path /config/filestore/files_d/Common_d/certificate_d/:Common:www.crt_1
    checksum SHA1:1234:abcd
    revision 1
    source-path file:/etc/lbx/www.crt
}
sys file ssl-key /Common/www.key {
    source-path file:/etc/lbx/www.key
}
`
	c := mustParse(t, text)
	f := c.Files["/Common/www.crt"]
	if f == nil || f.Type != config.FileSSLCert || f.Path() != "/etc/lbx/www.crt" || len(f.Extras.Extra) != 3 {
		t.Fatalf("ssl-cert = %+v", f)
	}
	if k := c.Files["/Common/www.key"]; k == nil || k.Type != config.FileSSLKey {
		t.Fatalf("ssl-key = %+v", k)
	}
	var b strings.Builder
	for _, k := range SysFileKinds {
		for _, name := range c.Names(config.KindSysFile, k.Kind[len("file "):]) {
			printSysFile(&b, c, c.Files[name], false)
		}
	}
	out := b.String()
	for _, want := range []string{"sys file ssl-cert /Common/www.crt {", "checksum SHA1:1234:abcd", "source-path file:/etc/lbx/www.crt", "sys file ssl-key /Common/www.key {"} {
		if !strings.Contains(out, want) {
			t.Fatalf("printed back without %q:\n%s", want, out)
		}
	}
	if _, err := ParseConfig("sys file ssl-key k { source-path relative.key }\n"); err == nil || !strings.Contains(err.Error(), "source-path") {
		t.Fatalf("a relative source-path: %v", err)
	}
}
