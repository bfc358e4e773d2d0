package testbed

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// An HTTP virtual (http and oneconnect profiles) through real namespaces:
// curl's requests over one keep-alive connection are balanced one by one,
// the servers see the self IP, and cookie persistence pins a client that
// sends its cookie back.
func TestIntegrationHTTPVirtual(t *testing.T) {
	tb := upTestbed(t)
	for _, cmd := range []string{
		"create ltm profile http http_xff defaults-from http insert-xforwarded-for enabled",
		"modify ltm virtual vs_http profiles replace-all-with { tcp http_xff oneconnect }",
	} {
		if _, err := tb.Client().Exec(cmd); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
	}
	url := "http://" + tb.Topo.VIP.String() + "/"
	args := []string{"-w", "connects=%{num_connects}\n"}
	for range 6 {
		args = append(args, url)
	}
	out := curl(t, tb, args...)
	var servers []string
	connects := 0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		switch {
		case strings.HasPrefix(l, "server="):
			servers = append(servers, ServerName(l))
			if m := peerRe.FindStringSubmatch(l); m == nil || m[1] != "198.18.2.2" {
				t.Errorf("server saw %q, want the self IP 198.18.2.2", l)
			}
		case strings.HasPrefix(l, "connects="):
			if l != "connects=0" {
				connects++
			}
		}
	}
	if len(servers) != 6 || connects != 1 {
		t.Fatalf("want 6 answers over 1 connection, got %d answers, %d connections:\n%s", len(servers), connects, out)
	}
	for i := 1; i < len(servers); i++ {
		if servers[i] == servers[i-1] || i >= 3 && servers[i] != servers[i-3] {
			t.Fatalf("answers over one keep-alive connection %v: want per-request round robin", servers)
		}
	}

	// Cookie persistence: the first answer sets BIGipServer~Common~web_pool,
	// and every later connection that sends it reaches the same server.
	if _, err := tb.Client().Exec("modify ltm virtual vs_http persist replace-all-with { cookie }"); err != nil {
		t.Fatal(err)
	}
	jar := filepath.Join(t.TempDir(), "jar")
	first := ServerName(curl(t, tb, "-c", jar, url))
	b, err := os.ReadFile(jar)
	if err != nil || !strings.Contains(string(b), "BIGipServer~Common~web_pool") {
		t.Fatalf("cookie jar after the first answer (%v):\n%s", err, b)
	}
	for i := range 6 {
		if got := ServerName(curl(t, tb, "-b", jar, url)); got != first {
			t.Fatalf("request %d with the cookie answered by %s, want %s", i, got, first)
		}
	}
	// Without the cookie the client is balanced again.
	seen := map[string]bool{}
	for range 3 {
		seen[ServerName(curl(t, tb, url))] = true
	}
	if len(seen) < 2 {
		t.Fatalf("without the cookie three requests reached %v: want balancing", seen)
	}

	// Host-name affinity (universal persistence on Host): each host name
	// stays on one server across curl's separate connections.
	for _, cmd := range []string{
		"create ltm persistence universal host_aff header-name Host",
		"modify ltm virtual vs_http persist replace-all-with { host_aff }",
	} {
		if _, err := tb.Client().Exec(cmd); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
	}
	for _, host := range []string{"a.example.com", "b.example.com", "c.example.com"} {
		owner := ServerName(curl(t, tb, "-H", "Host: "+host, url))
		for i := range 3 {
			if got := ServerName(curl(t, tb, "-H", "Host: "+host, url)); got != owner {
				t.Fatalf("host %s request %d answered by %s, want %s", host, i, got, owner)
			}
		}
	}
	// Cookie persistence, method hash: the server's own session cookie
	// (set here through ?set-cookie) keeps the client on that server.
	for _, cmd := range []string{
		"create ltm persistence cookie sess_hash method hash cookie-name JSESSIONID",
		"modify ltm virtual vs_http persist replace-all-with { sess_hash }",
	} {
		if _, err := tb.Client().Exec(cmd); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
	}
	sjar := filepath.Join(t.TempDir(), "sjar")
	owner := ServerName(curl(t, tb, "-c", sjar, url+"?set-cookie=JSESSIONID%3Dsess42"))
	for i := range 4 {
		if got := ServerName(curl(t, tb, "-b", sjar, url)); got != owner {
			t.Fatalf("session request %d answered by %s, want %s (who set JSESSIONID)", i, got, owner)
		}
	}

	// A SNAT pool on the HTTP virtual: the servers see its address, not
	// the self IP.
	for _, cmd := range []string{
		"create ltm snatpool /Common/l7_sp members add { 198.18.2.60 }",
		"modify ltm virtual vs_http source-address-translation { type snat pool /Common/l7_sp }",
	} {
		if _, err := tb.Client().Exec(cmd); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
	}
	for i := range 3 {
		l := curl(t, tb, url)
		if m := peerRe.FindStringSubmatch(l); m == nil || m[1] != "198.18.2.60" {
			t.Fatalf("request %d through the SNAT pool: server saw %q, want 198.18.2.60", i, l)
		}
	}

	// The servers see the client's address in X-Forwarded-For.
	if h := curl(t, tb, "-o", "/dev/null", "-D", "-", url); !strings.Contains(h, "X-Seen-Xff: 198.18.1.10\r\n") {
		t.Fatalf("server did not see X-Forwarded-For 198.18.1.10; response headers:\n%s", h)
	}
	// A malformed request gets a 400 from the appliance.
	if got := curl(t, tb, "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host:", "--http1.1", url); got != "400" {
		t.Fatalf("request without Host: %s, want 400", got)
	}
}

// TLS termination through namespaces with real curl: two client-ssl
// profiles on one HTTP virtual, the SNI choosing the certificate, TLS 1.2
// and 1.3. The virtual is on port 8443: on hosts whose bridges pass
// through iptables, a transparent egress proxy may take port 443
// connections that carry an SNI name.
func TestIntegrationHTTPSVirtual(t *testing.T) {
	tb := upTestbed(t)
	dir := t.TempDir()
	for _, cn := range []string{"a.example", "b.example"} {
		out, err := exec.Command("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
			"-keyout", filepath.Join(dir, cn+".key"), "-out", filepath.Join(dir, cn+".crt"), "-days", "1",
			"-subj", "/CN="+cn, "-addext", "subjectAltName=DNS:"+cn).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl: %v\n%s", err, out)
		}
	}
	for _, cmd := range []string{
		"create ltm profile client-ssl ssl_a cert " + dir + "/a.example.crt key " + dir + "/a.example.key server-name a.example sni-default enabled",
		// ssl_a names its files by path (lbx's older form), ssl_b through
		// sys file objects.
		"create sys file ssl-cert b.crt source-path file:" + dir + "/b.example.crt",
		"create sys file ssl-key b.key source-path file:" + dir + "/b.example.key",
		"create ltm profile client-ssl ssl_b cert b.crt key b.key server-name b.example",
		"create ltm virtual vs_https destination " + tb.Topo.VIP.String() + ":8443 ip-protocol tcp pool web_pool profiles { tcp http ssl_a ssl_b } source-address-translation { type automap }",
	} {
		if _, err := tb.Client().Exec(cmd); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
	}
	vip := tb.Topo.VIP.String()
	for _, tc := range []struct{ host, version, cn string }{
		{"", "--tlsv1.3", "a.example"}, // no SNI: the sni-default profile
		{"", "--tlsv1.2", "a.example"},
		{"b.example", "--tlsv1.3", "b.example"},
		{"a.example", "--tlsv1.2", "a.example"},
		{"c.example", "--tlsv1.3", "a.example"}, // no match: the sni-default profile
	} {
		args := []string{"-k", "-v", tc.version, "https://" + vip + ":8443/"}
		if tc.host != "" {
			args = []string{"-k", "-v", tc.version, "--resolve", tc.host + ":8443:" + vip, "https://" + tc.host + ":8443/"}
		}
		if tc.version == "--tlsv1.2" {
			args = append(args, "--tls-max", "1.2")
		}
		c, err := tb.Command("client", append([]string{"curl", "-sS", "--max-time", "5"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
		s := string(out)
		i := strings.LastIndex(s, "server=")
		if !strings.Contains(s, "subject: CN="+tc.cn) || i < 0 || ServerName(s[i:]) == "" {
			t.Fatalf("SNI %q: want certificate CN=%s and a server's answer:\n%s", tc.host, tc.cn, s)
		}
		want := map[string]string{"--tlsv1.3": "SSL connection using TLSv1.3", "--tlsv1.2": "SSL connection using TLSv1.2"}[tc.version]
		if !strings.Contains(s, want) {
			t.Fatalf("SNI %q: want %s:\n%s", tc.host, want, s)
		}
	}
}

// An HTTPS virtual whose certificate and encrypted key came inline in a
// pushed script, through namespaces with real curl; the key made by
// openssl. openssl's default encrypted key (encrypted PKCS#8) is refused
// with the way out named; its traditional form (openssl ec -aes256)
// works. list shows the key only as its fingerprint.
func TestIntegrationHTTPSInlineKey(t *testing.T) {
	tb := upTestbed(t)
	dir := t.TempDir()
	key, crt := filepath.Join(dir, "k.pem"), filepath.Join(dir, "c.pem")
	for _, args := range [][]string{
		{"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-passout", "pass:s3cret",
			"-keyout", key, "-out", crt, "-days", "1", "-subj", "/CN=inline.example", "-addext", "subjectAltName=DNS:inline.example"},
		{"ec", "-in", key, "-passin", "pass:s3cret", "-aes256", "-passout", "pass:s3cret", "-out", key + ".trad"},
	} {
		if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
	}
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	pkcs8, trad, cert := read(key), read(key+".trad"), read(crt)
	if !strings.Contains(pkcs8, "ENCRYPTED PRIVATE KEY") || !strings.Contains(trad, "Proc-Type: 4,ENCRYPTED") {
		t.Fatalf("openssl's keys are not the forms under test:\n%s\n%s", pkcs8, trad)
	}
	_, err := tb.Client().Push("create sys file ssl-key /Common/inline.key content \"" + pkcs8 + "\" passphrase s3cret\n")
	if err == nil || !strings.Contains(err.Error(), "sys file ssl-key /Common/inline.key: content: encrypted PKCS#8") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("an encrypted PKCS#8 key: %v", err)
	}
	script := "create sys file ssl-cert /Common/inline.crt content \"" + cert + "\"\n" +
		"create sys file ssl-key /Common/inline.key content \"" + trad + "\" passphrase s3cret\n" +
		"create ltm profile client-ssl /Common/ssl_inline cert /Common/inline.crt key /Common/inline.key\n" +
		"create ltm virtual vs_inline destination " + tb.Topo.VIP.String() + ":8444 ip-protocol tcp pool web_pool profiles { tcp http ssl_inline } source-address-translation { type automap }\n"
	if _, err := tb.Client().Push(script); err != nil {
		t.Fatalf("push: %v", err)
	}
	c, err := tb.Command("client", "curl", "-sS", "--max-time", "5", "-k", "-v", "--resolve", "inline.example:8444:"+tb.Topo.VIP.String(), "https://inline.example:8444/")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, raw)
	}
	out := string(raw)
	i := strings.LastIndex(out, "server=")
	if !strings.Contains(out, "subject: CN=inline.example") || i < 0 || ServerName(out[i:]) == "" {
		t.Fatalf("curl through the inline key:\n%s", out)
	}
	listed, err := tb.Client().Exec("list sys file ssl-key /Common/inline.key")
	if err != nil || strings.Contains(listed, "ENCRYPTED") || strings.Contains(listed, "s3cret") || !strings.Contains(listed, "<hidden sha256:") {
		t.Fatalf("list sys file ssl-key (%v):\n%s", err, listed)
	}
}
