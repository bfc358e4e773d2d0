package rest

import (
	"strings"
	"testing"
)

// TestSysFileREST: /mgmt/tm/sys/file/ssl-cert and ssl-key list the objects
// with their source paths, read only.
func TestSysFileREST(t *testing.T) {
	f := newFixture(t)
	f.push(`create sys file ssl-cert www.crt source-path file:/etc/lbx/www.crt
create sys file ssl-key www.key source-path /etc/lbx/www.key
`)
	its := items(t, f.must(asAdmin, "GET", "/mgmt/tm/sys/file/ssl-cert", nil, 200))
	if len(its) != 1 || its[0]["fullPath"] != "/Common/www.crt" || its[0]["sourcePath"] != "file:/etc/lbx/www.crt" || its[0]["kind"] != "tm:sys:file:ssl-cert:ssl-certstate" {
		t.Fatalf("ssl-cert items = %v", its)
	}
	k := f.must(asAdmin, "GET", "/mgmt/tm/sys/file/ssl-key/~Common~www.key", nil, 200)
	if k["sourcePath"] != "file:/etc/lbx/www.key" {
		t.Fatalf("ssl-key = %v", k)
	}
	for key := range k {
		if strings.Contains(strings.ToLower(key), "content") || strings.Contains(strings.ToLower(key), "pem") {
			t.Fatalf("ssl-key shows %q", key)
		}
	}
	f.must(asAdmin, "GET", "/mgmt/tm/sys/file/ssl-cert/www.key", nil, 404) // a key, not a cert
	f.must(asAdmin, "GET", "/mgmt/tm/sys/file/ifile", nil, 404)
	f.must(asAdmin, "DELETE", "/mgmt/tm/sys/file/ssl-cert/www.crt", nil, 400)
}
