package appliance_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lbx/ctrlplane/appliance"
	"lbx/dataplane"
	"lbx/dataplane/porttest"
)

// oneArmed boots an appliance with cfg on one porttest port, lbx-ext, with
// the self IP ext 198.18.1.2/24 on it: the management tests' appliance.
// Closing it is the caller's.
func oneArmed(tb testing.TB, cfg appliance.Config) *appliance.Appliance {
	tb.Helper()
	p, err := porttest.NewSwitch().Port(porttest.Config{Name: "lbx-ext", MAC: porttest.MustMAC("02:00:5e:00:00:01")})
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Ports = []dataplane.Port{p}
	cfg.SelfIPs = []dataplane.SelfIP{{Name: "ext", Prefix: netip.MustParsePrefix("198.18.1.2/24"), Port: "lbx-ext"}}
	app, err := appliance.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return app
}

// With RESTListen the appliance serves iControl REST over HTTPS with a
// self-signed certificate made at the first start and kept across a
// restart; a member forced offline through REST is forced offline in the
// installed program at once, and /metrics serves the given handler.
func TestApplianceServesREST(t *testing.T) {
	dir := t.TempDir()
	start := func() *appliance.Appliance {
		return oneArmed(t, appliance.Config{
			SavedPath:     filepath.Join(dir, "bigip.conf"),
			RESTListen:    "127.0.0.1:0",
			RESTStateDir:  dir,
			AdminPassword: "first-admin-pw",
			Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				io.WriteString(w, "lbx_test 1\n")
			}),
		})
	}
	var certSum [32]byte
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			certSum = sha256.Sum256(cs.PeerCertificates[0].Raw)
			return nil
		},
	}, DisableKeepAlives: true}}
	call := func(app *appliance.Appliance, method, path string, body any, want int) map[string]any {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequest(method, "https://"+app.RESTAddr()+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("admin", "first-admin-pw")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, raw)
		}
		var out map[string]any
		json.Unmarshal(raw, &out)
		return out
	}
	forced := func(app *appliance.Appliance) bool {
		prog := app.Engine().Program()
		for _, v := range prog.Virtuals {
			if v.Pool != nil && len(v.Pool.Members) == 1 {
				return v.Pool.Members[0].ForcedOffline
			}
		}
		t.Fatal("no installed pool with one member")
		return false
	}

	app := start()
	call(app, "POST", "/mgmt/tm/ltm/pool", map[string]any{"name": "web", "members": []any{map[string]any{"name": "198.18.1.11:80"}}}, 200)
	call(app, "POST", "/mgmt/tm/ltm/virtual", map[string]any{"name": "vs", "destination": "/Common/198.18.1.100:80", "ipProtocol": "tcp", "pool": "/Common/web"}, 200)
	if forced(app) {
		t.Fatal("member forced offline before the PATCH")
	}
	// An HTTP virtual's stats carry its proxy's counters.
	call(app, "POST", "/mgmt/tm/ltm/virtual", map[string]any{"name": "vs7", "destination": "/Common/198.18.1.107:80", "ipProtocol": "tcp", "pool": "/Common/web",
		"profiles": []any{"tcp", "http"}, "sourceAddressTranslation": map[string]any{"type": "automap"}}, 200)
	st := call(app, "GET", "/mgmt/tm/ltm/virtual/~Common~vs7/stats", nil, 200)
	nested := st["entries"].(map[string]any)["https://localhost/mgmt/tm/ltm/virtual/~Common~vs7/~Common~vs7/stats"].(map[string]any)["nestedStats"].(map[string]any)["entries"].(map[string]any)
	for _, k := range []string{"totRequests", "http.resp_2xxCnt", "http.badRequests", "serverside.totConns", "serverside.reusedRequests"} {
		if e, ok := nested[k].(map[string]any); !ok || e["value"] != float64(0) {
			t.Fatalf("HTTP virtual stats lack %s: %v", k, nested)
		}
	}
	call(app, "DELETE", "/mgmt/tm/ltm/virtual/vs7", nil, 200)
	m := call(app, "PATCH", "/mgmt/tm/ltm/pool/~Common~web/members/~Common~198.18.1.11:80", map[string]any{"session": "user-disabled", "state": "user-down"}, 200)
	if m["session"] != "user-disabled" || m["state"] != "user-down" || !forced(app) {
		t.Fatalf("after force offline: %v, installed forced %v", m, forced(app))
	}
	call(app, "PATCH", "/mgmt/tm/ltm/pool/~Common~web/members/~Common~198.18.1.11:80", map[string]any{"session": "user-enabled", "state": "user-up"}, 200)
	if forced(app) {
		t.Fatal("member still forced offline after the enable")
	}
	call(app, "POST", "/mgmt/tm/sys/config", map[string]any{"command": "save"}, 200)
	first := certSum

	// /metrics wants a login, as every other path does.
	resp, err := client.Get("https://" + app.RESTAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" || !strings.Contains(string(b), `"code":401`) {
		t.Errorf("/metrics without a login: %s %q %s", resp.Status, resp.Header.Get("WWW-Authenticate"), b)
	}
	req, _ := http.NewRequest("GET", "https://"+app.RESTAddr()+"/metrics", nil)
	req.SetBasicAuth("admin", "first-admin-pw")
	if resp, err = client.Do(req); err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "lbx_test 1\n" {
		t.Errorf("/metrics: %q", b)
	}
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"rest.crt", "rest.key"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("kept certificate: %v", err)
		}
	}

	app = start()
	defer app.Close()
	p := call(app, "GET", "/mgmt/tm/ltm/pool/web?expandSubcollections=true", nil, 200)
	if !strings.Contains(p["membersReference"].(map[string]any)["link"].(string), "~Common~web/members") {
		t.Errorf("pool after restart: %v", p)
	}
	if certSum != first {
		t.Error("the certificate changed across a restart")
	}
}

// Without a Metrics handler of its own the appliance serves its metrics
// (package metrics) at /metrics, to a guest as to an admin.
func TestApplianceServesItsMetrics(t *testing.T) {
	app := oneArmed(t, appliance.Config{
		RESTListen:    "127.0.0.1:0",
		AdminPassword: "first-admin-pw",
	})
	defer app.Close()
	if _, err := app.Exec("create auth user watcher password watcher-pw role guest"); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest("GET", "https://"+app.RESTAddr()+"/metrics", nil)
	req.SetBasicAuth("watcher", "watcher-pw")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics as a guest: %s %q\n%.300s", resp.Status, resp.Header.Get("Content-Type"), b)
	}
	for _, want := range []string{"\nlbx_config_version ", "\nlbx_flow_table_capacity "} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %q:\n%.2000s", strings.TrimSpace(want), b)
		}
	}
}

// The console prompt for the first admin's password is asked only when
// neither the boot config nor an existing auth user admin provides one.
func TestAdminPasswordPrompt(t *testing.T) {
	newApp := func(password string, prompt func() (string, error)) *appliance.Appliance {
		t.Helper()
		app := oneArmed(t, appliance.Config{
			AdminPassword:       password,
			AdminPasswordPrompt: prompt,
		})
		t.Cleanup(func() { app.Close() })
		return app
	}
	asked := 0
	app := newApp("", func() (string, error) { asked++; return "typed-at-console", nil })
	if u := app.Store().Running().Users["admin"]; asked != 1 || u == nil || !u.CheckPassword("typed-at-console") {
		t.Fatalf("asked %d times; admin %+v", asked, u)
	}
	newApp("from-boot-config", func() (string, error) { t.Error("asked although the boot config has a password"); return "", nil })
	app = newApp("", func() (string, error) { return "", nil })
	if u := app.Store().Running().Users["admin"]; u != nil {
		t.Fatalf("an empty answer made admin %+v", u)
	}
}
