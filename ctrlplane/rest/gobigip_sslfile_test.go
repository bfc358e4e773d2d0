package rest

import (
	"strings"
	"testing"

	bigip "github.com/f5devcentral/go-bigip"

	"lbx/internal/pemfile"
)

// TestGoBigIPSSLFiles: go-bigip (the Terraform provider's library)
// installs a certificate and an encrypted key as it does on a BIG-IP
// (upload in chunks, then sys/file with the upload's sourcePath), makes a
// client-ssl profile of them, replaces both, reads them back (the key
// hidden, BIG-IP's checksum) and deletes everything.
func TestGoBigIPSSLFiles(t *testing.T) {
	f := newFixture(t)
	b, err := bigip.NewTokenSession(&bigip.Config{Address: f.srv.URL, Username: "admin", Password: "admin-pw", CertVerifyDisable: true})
	if err != nil {
		t.Fatalf("token session: %v", err)
	}
	check := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	pair := func() (string, string) {
		c, k, err := pemfile.SelfSigned("www.example.com")
		check("pair", err)
		ek, err := pemfile.Encrypt(k, "s3cret")
		check("encrypt", err)
		return string(c), string(ek)
	}
	certPEM, keyPEM := pair()

	check("upload certificate", b.UploadCertificate(certPEM, &bigip.Certificate{Name: "www.crt", Partition: "Common"}))
	src, err := b.UploadKey("www.key", keyPEM)
	check("upload key", err)
	check("add key", b.AddKey(&bigip.Key{Name: "www.key", Partition: "Common", SourcePath: src, Passphrase: "s3cret"}))
	check("client-ssl profile", b.CreateClientSSLProfile(&bigip.ClientSSLProfile{Name: "ssl_www", DefaultsFrom: "/Common/clientssl", Cert: "/Common/www.crt", Key: "/Common/www.key"}))

	c, err := b.GetCertificate("/Common/www.crt")
	check("get certificate", err)
	if c == nil || c.Checksum != pemfile.Checksum([]byte(certPEM)) || c.Size != uint64(len(certPEM)) {
		t.Fatalf("certificate %+v", c)
	}
	k, err := b.GetKey("/Common/www.key")
	check("get key", err)
	if k == nil || k.Passphrase != "<hidden>" || k.SourcePath != src {
		t.Fatalf("key %+v", k)
	}
	keys, err := b.Keys()
	check("keys", err)
	if len(keys.Keys) != 1 {
		t.Fatalf("keys %+v", keys)
	}
	if strings.Contains(f.running(), "ENCRYPTED") || strings.Contains(f.running(), "s3cret") {
		t.Fatalf("the running configuration shows the key:\n%s", f.running())
	}

	newCert, newKey := pair()
	check("update key", b.UpdateKey("www.key", newKey, "Common"))
	check("update certificate", b.UpdateCertificate(newCert, &bigip.Certificate{Name: "www.crt", Partition: "Common"}))
	run := f.st.Running()
	if run.Files["/Common/www.key"].Content != newKey || run.Files["/Common/www.crt"].Content != newCert || run.Files["/Common/www.key"].Passphrase != "s3cret" {
		t.Fatal("the update did not replace the PEM")
	}
	if err := b.DeleteKey("/Common/www.key"); err == nil || !strings.Contains(err.Error(), "ssl_www") {
		t.Fatalf("deleting a key a profile uses: %v", err)
	}
	check("delete profile", b.DeleteClientSSLProfile("/Common/ssl_www"))
	check("delete key", b.DeleteKey("/Common/www.key"))
	check("delete certificate", b.DeleteCertificate("/Common/www.crt"))
	if k, err := b.GetKey("/Common/www.key"); k != nil || err == nil || !strings.Contains(err.Error(), "was not found") {
		t.Fatalf("after delete: %+v, %v", k, err)
	}
}
