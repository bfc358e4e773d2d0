package appliance_test

import (
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"lbx/dataplane/porttest"
)

// setCookieNames are the names of the cookies a response sets.
func setCookieNames(resp *http.Response) []string {
	var out []string
	for _, c := range resp.Cookies() {
		out = append(out, c.Name)
	}
	return out
}

// One cookie persistence profile with a fixed cookie-name on a virtual
// whose policy forwards to two pools: as on BIG-IP, both pools write the
// same cookie, so a browser's request to one pool overwrites the other's
// and its next request there is balanced again. With the lbx extension
// cookie-name ARRAffinity_%pool% each pool keeps its own cookie (ARR's
// per-farm affinity) and the client stays on its member across requests
// to the other pool. A browser's cookie jar carries the cookies.
func TestHTTPVirtualCookiePerPool(t *testing.T) {
	tb := newTestbed(t, testbedConfig(t))
	tb.exec("create ltm pool app_pool members add { 198.18.2.11:80 198.18.2.12:80 }",
		"create ltm pool static_pool members add { 198.18.2.13:80 }",
		"create ltm policy split rules { static { conditions { 0 { http-uri path starts-with values { /static/ } } } actions { 0 { forward select pool static_pool } } } }",
		"create ltm persistence cookie arr_aff cookie-name ARRAffinity",
		"create ltm virtual vs_pp destination 198.18.1.105:80 ip-protocol tcp pool app_pool profiles { tcp http oneconnect } persist { arr_aff } policies { split } source-address-translation { type automap }")
	browser := func() *http.Client {
		c := keepAlive(tb.client)
		jar, err := cookiejar.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Jar = jar
		return c
	}
	const app, static = "http://198.18.1.105/app", "http://198.18.1.105/static/logo.css"

	// BIG-IP's behaviour: one name, overwritten.
	c := browser()
	resp, _ := fetch(t, c, app)
	if n := setCookieNames(resp); len(n) != 1 || n[0] != "ARRAffinity" {
		t.Fatalf("app answer sets %v, want ARRAffinity", n)
	}
	resp, body := fetch(t, c, static)
	if n := setCookieNames(resp); porttest.ServerName(body) != "server3" || len(n) != 1 || n[0] != "ARRAffinity" {
		t.Fatalf("static answer from %s sets %v: want server3 overwriting ARRAffinity", porttest.ServerName(body), n)
	}
	resp, _ = fetch(t, c, app)
	if n := setCookieNames(resp); len(n) != 1 || n[0] != "ARRAffinity" {
		t.Fatalf("after the static request the app cookie named server3, so the app request is balanced again and the cookie set again; it set %v", n)
	}

	// The opt-in: one cookie per pool.
	tb.exec("modify ltm persistence cookie arr_aff cookie-name ARRAffinity_%pool%")
	c = browser()
	resp, body = fetch(t, c, app)
	owner := porttest.ServerName(body)
	if n := setCookieNames(resp); len(n) != 1 || n[0] != "ARRAffinity_app_pool" {
		t.Fatalf("app answer sets %v, want ARRAffinity_app_pool", n)
	}
	resp, _ = fetch(t, c, static)
	if n := setCookieNames(resp); len(n) != 1 || n[0] != "ARRAffinity_static_pool" {
		t.Fatalf("static answer sets %v, want ARRAffinity_static_pool", n)
	}
	for i := range 4 {
		resp, body := fetch(t, c, app)
		if n := porttest.ServerName(body); n != owner || len(resp.Cookies()) != 0 {
			t.Fatalf("app request %d after a static one: answered by %s (want %s), set %v (want none: the cookie is honoured)", i, n, owner, setCookieNames(resp))
		}
		if _, body := fetch(t, c, static); porttest.ServerName(body) != "server3" {
			t.Fatalf("static request %d answered by %s", i, porttest.ServerName(body))
		}
	}
	// A cookie-name that is no cookie name is refused, naming profile and
	// property; the running profile stays.
	if _, err := tb.app.Exec("modify ltm persistence cookie arr_aff cookie-name \"a,b\""); err == nil || !strings.Contains(err.Error(), "cookie-name") {
		t.Fatalf("bad cookie-name: %v", err)
	}
	if out, _ := tb.app.Exec("list ltm persistence cookie arr_aff"); !strings.Contains(out, "cookie-name ARRAffinity_%pool%") {
		t.Fatalf("profile after a refused modify:\n%s", out)
	}
}
