package rest

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lbx/internal/pemfile"
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
	f.must(asAdmin, "DELETE", "/mgmt/tm/sys/file/ssl-cert/www.crt", nil, 200)
	if strings.Contains(f.running(), "www.crt") {
		t.Fatal("DELETE left the cert")
	}
}

// upload sends data to /mgmt/shared/file-transfer/uploads/NAME in chunks
// of at most chunk bytes with Content-Range, as the clients do.
func (f *fixture) upload(a auth, name string, data []byte, chunk int) answer {
	f.t.Helper()
	var ans answer
	for start := 0; start < len(data); start += chunk {
		end := min(start+chunk, len(data))
		ans = f.do(a, "POST", "/mgmt/shared/file-transfer/uploads/"+name, data[start:end],
			"Content-Type", "application/octet-stream", "Content-Range", fmt.Sprintf("%d-%d/%d", start, end-1, len(data)))
		if ans.code != 200 {
			return ans
		}
	}
	return ans
}

// TestSysFileRESTUpload: the way Ansible and go-bigip install a cert and a
// key: upload in chunks, POST sys/file with sourcePath naming the upload
// (read in as the object's content), a client-ssl profile naming them. A
// key never comes back (content and passphrase hidden, nor in the saved
// file); bad PEM, a wrong passphrase and a mismatched pair are refused
// with F5's error JSON naming the object and field, and change nothing.
func TestSysFileRESTUpload(t *testing.T) {
	f := newFixture(t)
	certPEM, keyPEM, err := pemfile.SelfSigned("www.example.com")
	if err != nil {
		t.Fatal(err)
	}
	encKey, err := pemfile.Encrypt(keyPEM, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	otherCert, _, _ := pemfile.SelfSigned("other.example.com")

	if a := f.upload(asAdmin, "www.crt", certPEM, 100); a.code != 200 || a.body["remainingByteCount"] != float64(0) ||
		a.body["localFilePath"] != "/var/config/rest/downloads/www.crt" {
		t.Fatalf("upload: %d %s", a.code, a.raw)
	}
	if a := f.upload(asAdmin, "www.key", encKey, 1<<20); a.code != 200 {
		t.Fatalf("upload key: %d %s", a.code, a.raw)
	}
	f.upload(asAdmin, "other.crt", otherCert, 1<<20)
	if a := f.upload(asOlga, "x.crt", certPEM, 1<<20); a.code != 401 {
		t.Fatalf("an operator's upload: %d %s", a.code, a.raw)
	}
	if a := f.do(asAdmin, "POST", "/mgmt/shared/file-transfer/uploads/www.crt", certPEM[:10], "Content-Range", "5-14/100"); a.code != 400 || a.body["code"] != float64(400) {
		t.Fatalf("a chunk that does not continue the file: %d %s", a.code, a.raw)
	}
	if a := f.do(asAdmin, "POST", "/mgmt/shared/file-transfer/uploads/y.crt", "abc", "Content-Range", "0-9/10"); a.code != 400 {
		t.Fatalf("a chunk of the wrong size: %d %s", a.code, a.raw)
	}

	before := f.running()
	for _, tc := range []struct {
		name string
		body map[string]any
		want string
	}{
		{"ssl-key", map[string]any{"name": "bad.key", "partition": "Common", "sourcePath": "file:///var/config/rest/downloads/www.key", "passphrase": "guess"}, "sys file ssl-key /Common/bad.key: passphrase: wrong passphrase"},
		{"ssl-key", map[string]any{"name": "bad.key", "sourcePath": "file:///var/config/rest/downloads/www.crt"}, "sys file ssl-key /Common/bad.key: content: not a private key"},
		{"ssl-cert", map[string]any{"name": "bad.crt", "content": "hello"}, "sys file ssl-cert /Common/bad.crt: content: not PEM"},
		{"ssl-cert", map[string]any{"name": "bad.crt", "sourcePath": "file:///var/config/rest/downloads/missing.crt"}, "upload it first"},
		{"ssl-cert", map[string]any{"name": "bad.crt", "sourcePath": 7}, `Invalid value for property "sourcePath"`},
		{"ssl-cert", map[string]any{"name": "bad.crt", "colour": "red"}, "unexpected json pair"},
	} {
		a := f.do(asAdmin, "POST", "/mgmt/tm/sys/file/"+tc.name, tc.body)
		if a.code != 400 || a.body["code"] != float64(400) || !strings.Contains(fmt.Sprint(a.body["message"]), tc.want) {
			t.Errorf("POST %v: %d %s, want 400 with %q", tc.body, a.code, a.raw, tc.want)
		}
		if strings.Contains(a.raw, "guess") || strings.Contains(a.raw, "PRIVATE KEY-----") {
			t.Errorf("the error shows a secret: %s", a.raw)
		}
	}
	if f.running() != before {
		t.Fatalf("a refused POST changed the configuration:\n%s", f.running())
	}

	c := f.must(asAdmin, "POST", "/mgmt/tm/sys/file/ssl-cert", map[string]any{"name": "www.crt", "partition": "Common", "sourcePath": "file:///var/config/rest/downloads/www.crt"}, 200)
	sum := sha1.Sum(certPEM)
	if c["checksum"] != fmt.Sprintf("SHA1:%d:%s", len(certPEM), hex.EncodeToString(sum[:])) || c["sourcePath"] != "file:///var/config/rest/downloads/www.crt" {
		t.Fatalf("ssl-cert = %v", c)
	}
	k := f.must(asAdmin, "POST", "/mgmt/tm/sys/file/ssl-key", map[string]any{"name": "www.key", "partition": "Common", "sourcePath": "file:///var/config/rest/downloads/www.key", "passphrase": "s3cret"}, 200)
	if k["content"] != pemfile.Hidden(encKey) || k["passphrase"] != "<hidden>" {
		t.Fatalf("ssl-key = %v", k)
	}
	f.must(asAdmin, "POST", "/mgmt/tm/sys/file/ssl-cert", map[string]any{"name": "other.crt", "sourcePath": "file:///var/config/rest/downloads/other.crt"}, 200)
	// The upload may go: the object holds its content.
	f.must(asAdmin, "POST", "/mgmt/tm/util/unix-rm", map[string]any{"command": "run", "utilCmdArgs": "/var/config/rest/downloads/www.key"}, 200)
	f.must(asAdmin, "POST", "/mgmt/tm/util/unix-rm", map[string]any{"command": "run", "utilCmdArgs": "/etc/passwd"}, 400)
	if _, err := os.Stat(filepath.Join(f.dir, "uploads", "www.key")); !os.IsNotExist(err) {
		t.Fatalf("unix-rm left the upload: %v", err)
	}

	f.must(asAdmin, "POST", "/mgmt/tm/ltm/profile/client-ssl", map[string]any{"name": "ssl_www", "cert": "/Common/www.crt", "key": "/Common/www.key"}, 200)
	// A mismatched pair is the profile's problem when a virtual uses it;
	// a key given back as shown is kept, garbage is refused.
	f.must(asAdmin, "PATCH", "/mgmt/tm/sys/file/ssl-key/~Common~www.key", map[string]any{"content": k["content"], "passphrase": "<hidden>", "description": "web"}, 200)
	a := f.do(asAdmin, "PUT", "/mgmt/tm/sys/file/ssl-key/~Common~www.key", map[string]any{"content": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "passphrase": ""})
	if a.code != 400 || !strings.Contains(a.raw, "sys file ssl-key /Common/www.key: content") {
		t.Fatalf("PUT of a broken key: %d %s", a.code, a.raw)
	}
	for _, path := range []string{"/mgmt/tm/sys/file/ssl-key", "/mgmt/tm/sys/file/ssl-key/~Common~www.key"} {
		if a := f.do(asAdmin, "GET", path, nil); strings.Contains(a.raw, "PRIVATE KEY") || strings.Contains(a.raw, "ENCRYPTED") || strings.Contains(a.raw, "s3cret") {
			t.Fatalf("GET %s shows the key: %s", path, a.raw)
		}
	}
	f.must(asAdmin, "DELETE", "/mgmt/tm/sys/file/ssl-key/~Common~www.key", nil, 400) // in use

	// Saved: the key is in the filestore, not in bigip.conf, and loads back.
	f.must(asAdmin, "POST", "/mgmt/tm/sys/config", map[string]any{"command": "save"}, 200)
	saved, err := os.ReadFile(filepath.Join(f.dir, "bigip.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(saved), "PRIVATE KEY") || strings.Contains(string(saved), "s3cret") || !strings.Contains(string(saved), pemfile.Hidden(encKey)) {
		t.Fatalf("bigip.conf:\n%s", saved)
	}
	if err := f.st.LoadText(string(saved)); err != nil {
		t.Fatalf("loading the saved file back: %v", err)
	}
	if got := f.st.Running().Files["/Common/www.key"]; got == nil || got.Content != string(encKey) || got.Passphrase != "s3cret" {
		t.Fatalf("loaded back: %+v", got)
	}
}
