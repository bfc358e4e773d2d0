package rest

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/ctrltest"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/store"
	"lbx/ctrlplane/tmsh"
	"lbx/internal/clock"
)

// Test users: one of each role.
var testUsers = []struct {
	name, pw string
	role     config.Role
}{
	{"admin", "admin-pw", config.RoleAdmin},
	{"olga", "olga-pw", config.RoleOperator},
	{"gus", "gus-pw", config.RoleGuest},
	{"nobody", "nobody-pw", config.RoleNoAccess},
}

// fixture is the REST server over a store with a fake dataplane, served
// over TLS on loopback and reached with a real net/http client.
type fixture struct {
	t      testing.TB
	st     *store.Store
	dp     *ctrltest.Dataplane
	clk    *clock.Manual
	rs     *Server
	srv    *httptest.Server
	client *http.Client
	logs   *ctrltest.LogBuffer // the server's log
	dir    string              // bigip.conf, filestore/ and uploads/
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	dp := &ctrltest.Dataplane{}
	dir := t.TempDir()
	st := store.New(dp, ctrltest.Net, tmsh.Codec{Filestore: filepath.Join(dir, "filestore")}, filepath.Join(dir, "bigip.conf"), nil)
	if err := st.Boot(); err != nil {
		t.Fatal(err)
	}
	_, err := st.Update(func(tx *store.Txn) error {
		for _, u := range testUsers {
			h, err := bcrypt.GenerateFromPassword([]byte(u.pw), bcrypt.MinCost)
			if err != nil {
				return err
			}
			if err := tx.Create(&config.User{Name: u.name, Role: u.role, PasswordHash: string(h)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	src := status.FromDataplane(dp, nil)
	clk := clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	logs := &ctrltest.LogBuffer{}
	rs, err := NewServer(Config{Store: st, Status: src, Tmsh: tmsh.New(st, src), Clock: clk, Logger: slog.New(slog.NewTextHandler(logs, nil)), UploadDir: filepath.Join(dir, "uploads")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(rs)
	t.Cleanup(srv.Close)
	return &fixture{t: t, st: st, dp: dp, clk: clk, rs: rs, srv: srv, client: srv.Client(), logs: logs, dir: dir}
}

// answer is a response: its status, decoded JSON body and headers.
type answer struct {
	code int
	body map[string]any
	raw  string
	hdr  http.Header
}

// auth is how a request authenticates: Basic as user (with its test
// password, or pw when set), a token, or nothing.
type auth struct {
	user, pw, token string
}

var (
	asAdmin = auth{user: "admin"}
	asOlga  = auth{user: "olga"}
	asGus   = auth{user: "gus"}
	anon    = auth{}
)

func password(user string) string {
	for _, u := range testUsers {
		if u.name == user {
			return u.pw
		}
	}
	return ""
}

func (f *fixture) do(a auth, method, path string, body any, hdr ...string) answer {
	f.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if a.token != "" {
		req.Header.Set("X-F5-Auth-Token", a.token)
	} else if a.user != "" {
		pw := a.pw
		if pw == "" {
			pw = password(a.user)
		}
		req.SetBasicAuth(a.user, pw)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := f.client.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	ans := answer{code: resp.StatusCode, raw: string(b), hdr: resp.Header}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		f.t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &ans.body); err != nil {
			f.t.Errorf("%s %s: body is not a JSON object: %v\n%s", method, path, err, b)
		}
	}
	return ans
}

// must is do that fails the test unless the status is want.
func (f *fixture) must(a auth, method, path string, body any, want int) map[string]any {
	f.t.Helper()
	ans := f.do(a, method, path, body)
	if ans.code != want {
		f.t.Fatalf("%s %s: status %d, want %d: %s", method, path, ans.code, want, ans.raw)
	}
	return ans.body
}

// running is the running configuration as tmsh prints it.
func (f *fixture) running() string { return tmsh.Text(f.st.Running()) }

// push applies tmsh text as admin.
func (f *fixture) push(text string) {
	f.t.Helper()
	d := tmsh.New(f.st, status.FromDataplane(f.dp, nil))
	if _, err := d.Push(text); err != nil {
		f.t.Fatalf("push: %v\n%s", err, text)
	}
}

func items(t testing.TB, body map[string]any) []map[string]any {
	t.Helper()
	raw, ok := body["items"].([]any)
	if !ok {
		t.Fatalf("no items in %v", body)
	}
	var out []map[string]any
	for _, it := range raw {
		out = append(out, it.(map[string]any))
	}
	return out
}

func tmshText(c *config.Config) string { return tmsh.Text(c) }
