package appliance_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lbx/dataplane/porttest"
	"lbx/internal/pemfile"
)

// A client-ssl profile whose certificate and encrypted key came inline
// (content, passphrase) terminates TLS; list and the saved bigip.conf show
// the key only as its fingerprint; after the objects are gone, loading the
// saved file brings the key back from the filestore and TLS works again.
// A wrong passphrase is refused naming the object and field, and changes
// nothing.
func TestSysFileInlineSaveLoad(t *testing.T) {
	tb := newTestbed(t, testbedConfig(t))
	certPEM, keyPEM, err := pemfile.SelfSigned("inline.example")
	if err != nil {
		t.Fatal(err)
	}
	enc, err := pemfile.Encrypt(keyPEM, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	q := func(s []byte) string { return `"` + string(s) + `"` }
	before := tb.app.Store().Running()
	_, err = tb.app.Exec("create sys file ssl-key bad.key content " + q(enc) + " passphrase guess")
	if err == nil || !strings.Contains(err.Error(), "sys file ssl-key /Common/bad.key: passphrase: wrong passphrase") || strings.Contains(err.Error(), "ENCRYPTED") {
		t.Fatalf("a wrong passphrase: %v", err)
	}
	if tb.app.Store().Running().Files["/Common/bad.key"] != nil || len(tb.app.Store().Running().Files) != len(before.Files) {
		t.Fatal("the refused key is in the running configuration")
	}
	setup := []string{
		"create sys file ssl-cert inline.crt content " + q(certPEM),
		"create sys file ssl-key inline.key content " + q(enc) + " passphrase s3cret",
		"create ltm profile client-ssl ssl_inline cert inline.crt key inline.key",
		"create ltm virtual vs_inline destination 198.18.1.106:443 ip-protocol tcp pool web_pool profiles { tcp http ssl_inline } source-address-translation { type automap }",
	}
	tb.exec(setup...)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialTLSContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			raw, err := tb.client.DialTCP(ctx, netip.MustParseAddrPort(addr))
			if err != nil {
				return nil, err
			}
			conn := tls.Client(raw, &tls.Config{ServerName: "inline.example", InsecureSkipVerify: true})
			if err := conn.HandshakeContext(ctx); err != nil {
				raw.Close()
				return nil, err
			}
			return conn, nil
		},
		DisableKeepAlives: true,
	}}
	check := func(when string) {
		t.Helper()
		resp, body := fetch(t, c, "https://198.18.1.106:443/")
		if resp.TLS == nil || resp.TLS.PeerCertificates[0].Subject.CommonName != "inline.example" || porttest.ServerName(body) == "" {
			t.Fatalf("%s: TLS %+v, answer %q", when, resp.TLS, body)
		}
	}
	check("inline key")

	for _, cmd := range []string{"list sys file ssl-key inline.key", "list sys file ssl-key inline.key all-properties", "show running-config"} {
		out, err := tb.app.Exec(cmd)
		if err != nil || strings.Contains(out, "ENCRYPTED") || strings.Contains(out, "s3cret") {
			t.Fatalf("%s (%v) shows the key:\n%s", cmd, err, out)
		}
		if !strings.Contains(out, pemfile.Hidden(enc)) {
			t.Fatalf("%s (%v) lacks the key's fingerprint:\n%s", cmd, err, out)
		}
	}
	tb.exec("save sys config")
	saved := tb.app.Store().SavedPath()
	text, err := os.ReadFile(saved)
	if err != nil || strings.Contains(string(text), "ENCRYPTED") || strings.Contains(string(text), "s3cret") || !strings.Contains(string(text), pemfile.Hidden(enc)) {
		t.Fatalf("bigip.conf (%v):\n%s", err, text)
	}
	kept := filepath.Join(filepath.Dir(saved), "filestore", strings.TrimPrefix(pemfile.Fingerprint(enc), "sha256:")+".pem")
	if fi, err := os.Stat(kept); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("filestore %s: %v", kept, err)
	}

	tb.exec("delete ltm virtual vs_inline", "delete ltm profile client-ssl ssl_inline", "delete sys file ssl-key inline.key", "delete sys file ssl-cert inline.crt")
	if tb.app.Store().Running().Files["/Common/inline.key"] != nil {
		t.Fatal("the key is still running")
	}
	tb.exec("load sys config file " + saved)
	if k := tb.app.Store().Running().Files["/Common/inline.key"]; k == nil || k.Content != string(enc) || k.Passphrase != "s3cret" {
		t.Fatalf("the key after loading the saved file: %+v", k)
	}
	check("after load sys config")
}
