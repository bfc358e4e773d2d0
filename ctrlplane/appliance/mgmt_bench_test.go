package appliance_test

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lbx/ctrlplane/appliance"
	"lbx/ctrlplane/ctlsock"
)

// mgmtBench is one appliance serving both management ways in: the control
// socket and the REST API, with a pool of three members.
type mgmtBench struct {
	app    *appliance.Appliance
	sock   *ctlsock.Client
	base   string
	client *http.Client
}

const benchAdminPassword = "bench-admin-pw"

func newMgmtBench(b testing.TB, keepAlive bool) *mgmtBench {
	b.Helper()
	dir := b.TempDir()
	app := oneArmed(b, appliance.Config{
		Socket:        filepath.Join(dir, "lbx.sock"),
		RESTListen:    "127.0.0.1:0",
		AdminPassword: benchAdminPassword, // bcrypt at its default cost, as a real admin's
	})
	b.Cleanup(func() { app.Close() })
	if _, err := app.Exec("create ltm pool web members add { 198.18.1.11:80 198.18.1.12:80 198.18.1.13:80 }"); err != nil {
		b.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: !keepAlive}
	m := &mgmtBench{
		app:    app,
		sock:   &ctlsock.Client{Path: filepath.Join(dir, "lbx.sock")},
		base:   "https://" + app.RESTAddr(),
		client: &http.Client{Timeout: 10 * time.Second, Transport: tr},
	}
	b.Cleanup(tr.CloseIdleConnections)
	return m
}

// do sends one request with the token (or Basic auth when token is "")
// and fails unless it answers 200.
func (m *mgmtBench) do(b testing.TB, method, path, token string, body string) []byte {
	req, err := http.NewRequest(method, m.base+path, strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-F5-Auth-Token", token)
	} else {
		req.SetBasicAuth("admin", benchAdminPassword)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := m.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("%s %s: %s\n%s", method, path, resp.Status, raw)
	}
	return raw
}

func (m *mgmtBench) login(b testing.TB) string {
	raw := m.do(b, "POST", "/mgmt/shared/authn/login", "", `{"username":"admin","password":"`+benchAdminPassword+`","loginProviderName":"tmos"}`)
	var ans struct {
		Token struct {
			Token string `json:"token"`
		} `json:"token"`
	}
	if err := json.Unmarshal(raw, &ans); err != nil || ans.Token.Token == "" {
		b.Fatalf("login: %v %s", err, raw)
	}
	return ans.Token.Token
}

const benchMember = "/mgmt/tm/ltm/pool/~Common~web/members/~Common~198.18.1.11:80"

// BenchmarkMgmt compares the ways automation reaches the appliance, on
// one machine, for the two requests it sends most: a read of one pool and
// a member enable/disable (a config apply). docs/BENCHMARKS.md gives the
// figures and the command.
//
//	rest-*       HTTPS with keep-alive and a token (go-bigip's way)
//	rest-ansible a new TLS connection and a token login per request, and
//	             the request (Ansible's way: a process per module)
//	ctlsock-*    the control socket, one connection per command (`lbx -c`)
func BenchmarkMgmt(b *testing.B) {
	b.Run("rest-get-pool", func(b *testing.B) {
		m := newMgmtBench(b, true)
		tok := m.login(b)
		for b.Loop() {
			m.do(b, "GET", "/mgmt/tm/ltm/pool/~Common~web", tok, "")
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})
	b.Run("rest-patch-member", func(b *testing.B) {
		m := newMgmtBench(b, true)
		tok := m.login(b)
		i := 0
		for b.Loop() {
			m.do(b, "PATCH", benchMember, tok, []string{`{"session":"user-disabled"}`, `{"session":"user-enabled"}`}[i%2])
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})
	b.Run("rest-ansible-get-pool", func(b *testing.B) {
		m := newMgmtBench(b, false)
		for b.Loop() {
			tok := m.login(b)
			m.do(b, "GET", "/mgmt/tm/ltm/pool/~Common~web", tok, "")
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})
	b.Run("ctlsock-list-pool", func(b *testing.B) {
		m := newMgmtBench(b, true)
		for b.Loop() {
			if _, err := m.sock.Exec("list ltm pool web"); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})
	b.Run("ctlsock-modify-member", func(b *testing.B) {
		m := newMgmtBench(b, true)
		i := 0
		for b.Loop() {
			s := []string{"user-disabled", "user-enabled"}[i%2]
			i++
			if _, err := m.sock.Exec("modify ltm pool web members modify { 198.18.1.11:80 { session " + s + " } }"); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})
}

// The benchmark's requests do what they say: one of each, checked, and a
// change made on one way in is seen on the other.
func TestMgmtBenchRequests(t *testing.T) {
	m := newMgmtBench(t, false)
	tok := m.login(t)
	m.do(t, "PATCH", benchMember, tok, `{"session":"user-disabled"}`)
	if raw := m.do(t, "GET", benchMember, tok, ""); !bytes.Contains(raw, []byte(`"session":"user-disabled"`)) {
		t.Fatalf("member after the PATCH: %s", raw)
	}
	if out, err := m.sock.Exec("list ltm pool web"); err != nil || !strings.Contains(out, "session user-disabled") {
		t.Fatalf("list ltm pool web after the PATCH: %v\n%s", err, out)
	}
	if out, err := m.sock.Exec("modify ltm pool web members modify { 198.18.1.11:80 { session user-enabled } }"); err != nil {
		t.Fatal(err, out)
	}
	if raw := m.do(t, "GET", benchMember, tok, ""); bytes.Contains(raw, []byte(`"session":"user-disabled"`)) {
		t.Fatalf("member after the control socket's enable: %s", raw)
	}
	if raw := m.do(t, "GET", "/mgmt/tm/ltm/pool/~Common~web", tok, ""); !bytes.Contains(raw, []byte(`"name":"web"`)) {
		t.Fatalf("GET pool: %s", raw)
	}
}
