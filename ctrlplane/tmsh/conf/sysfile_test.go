package conf

import (
	"strings"
	"testing"

	"lbx/ctrlplane/config"
	"lbx/internal/pemfile"
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

// inlinePair is a certificate and a key encrypted with "s3cret", as
// bigip.conf text with the PEM inline.
func inlinePair(t *testing.T) (text, certPEM, keyPEM string) {
	t.Helper()
	c, k, err := pemfile.SelfSigned("www.example.com")
	if err != nil {
		t.Fatal(err)
	}
	ek, err := pemfile.Encrypt(k, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	text = "sys file ssl-cert /Common/www.crt {\n    content \"" + string(c) + "\"\n}\n" +
		"sys file ssl-key /Common/www.key {\n    content \"" + string(ek) + "\"\n    passphrase s3cret\n}\n"
	return text, string(c), string(ek)
}

// A key given inline never prints back: list and bigip.conf show its
// fingerprint and <hidden>; the store's codec keeps it in the filestore so
// the saved text loads back to the same key; config sync's codec carries
// it in full.
func TestSysFileInlineHidden(t *testing.T) {
	text, certPEM, keyPEM := inlinePair(t)
	c := mustParse(t, text)
	if k := c.Files["/Common/www.key"]; k.Content != keyPEM || k.Passphrase != "s3cret" {
		t.Fatalf("key = %+v", k)
	}
	if cr := c.Files["/Common/www.crt"]; cr.Content != certPEM {
		t.Fatalf("cert content = %q", cr.Content)
	}
	if err := config.Validate(c, config.Env{}); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	shown := Text(c)
	hidden := pemfile.Hidden([]byte(keyPEM))
	for _, leak := range []string{"PRIVATE KEY", "s3cret", keyPEM[40:80]} {
		if strings.Contains(shown, leak) {
			t.Fatalf("Text shows %q:\n%s", leak, shown)
		}
	}
	for _, want := range []string{`content "` + hidden + `"`, `passphrase "<hidden>"`, "-----BEGIN CERTIFICATE-----\n"} {
		if !strings.Contains(shown, want) {
			t.Fatalf("Text lacks %q:\n%s", want, shown)
		}
	}

	if _, err := (Codec{}).Format(c); err == nil {
		t.Fatal("Codec{} formatted an inline key with no filestore to keep it in")
	}
	dir := t.TempDir()
	codec := Codec{Filestore: dir + "/filestore"}
	saved, err := codec.Format(c)
	if err != nil {
		t.Fatal(err)
	}
	if saved != shown {
		t.Fatalf("saved text differs from Text:\n%s", saved)
	}
	back, _, err := codec.Parse(saved)
	if err != nil {
		t.Fatal(err)
	}
	if k := back.Files["/Common/www.key"]; k.Content != keyPEM || k.Passphrase != "s3cret" {
		t.Fatalf("loaded back: %+v", k)
	}
	if _, _, err := (Codec{Filestore: t.TempDir()}).Parse(saved); err == nil || !strings.Contains(err.Error(), "sys file ssl-key /Common/www.key content "+hidden) {
		t.Fatalf("loaded on another unit: %v", err)
	}
	// Without a filestore the hidden value stays, and validation refuses it.
	plain := mustParse(t, saved)
	if err := config.Validate(plain, config.Env{}); err == nil || !strings.Contains(err.Error(), "sys file ssl-key /Common/www.key") {
		t.Fatalf("Validate of a hidden key: %v", err)
	}

	sync, err := (Codec{Reveal: true}).Format(c)
	if err != nil || !strings.Contains(sync, "ENCRYPTED") || !strings.Contains(sync, "s3cret") {
		t.Fatalf("config sync's text: %v\n%s", err, sync)
	}
	if got, _, err := (Codec{}).Parse(sync); err != nil || got.Files["/Common/www.key"].Content != keyPEM {
		t.Fatalf("config sync's text parsed: %v", err)
	}
}

// Bad PEM is refused at validation, naming the object and the field.
func TestSysFileInlineErrors(t *testing.T) {
	_, certPEM, keyPEM := inlinePair(t)
	for _, tc := range []struct{ name, text, want string }{
		{"not pem", "sys file ssl-cert c { content hello }", "sys file ssl-cert /Common/c: content: not PEM"},
		{"key as cert", "sys file ssl-cert c { content " + quote(keyPEM) + " }", "sys file ssl-cert /Common/c: content: not a certificate"},
		{"cert as key", "sys file ssl-key k { content " + quote(certPEM) + " }", "sys file ssl-key /Common/k: content: not a private key"},
		{"wrong passphrase", "sys file ssl-key k { content " + quote(keyPEM) + " passphrase guess }", "sys file ssl-key /Common/k: passphrase: wrong passphrase"},
		{"no passphrase", "sys file ssl-key k { content " + quote(keyPEM) + " }", "sys file ssl-key /Common/k: passphrase: the key is encrypted"},
		{"cert passphrase", "sys file ssl-cert c { content " + quote(certPEM) + " passphrase x }", "sys file ssl-cert /Common/c: passphrase: only a key"},
		{"nothing", "sys file ssl-cert c { }", "sys file ssl-cert /Common/c: source-path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := config.Validate(mustParse(t, tc.text+"\n"), config.Env{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "guess") || strings.Contains(err.Error(), "PRIVATE KEY-----") {
				t.Fatalf("the error quotes a secret: %v", err)
			}
		})
	}
}
