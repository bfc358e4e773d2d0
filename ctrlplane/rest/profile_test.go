package rest

import (
	"strings"
	"testing"
)

// TestProfileREST: ltm/profile/http, one-connect, client-ssl and
// server-ssl and ltm/persistence/cookie and universal are read with every
// property in effect and created, changed and deleted through the
// transactional apply; bad bodies get F5's error JSON and change nothing.
func TestProfileREST(t *testing.T) {
	f := newFixture(t)
	f.push("create sys file ssl-cert www.crt source-path file:/etc/lbx/www.crt\ncreate sys file ssl-key www.key source-path file:/etc/lbx/www.key\n")
	h := f.must(asAdmin, "GET", "/mgmt/tm/ltm/profile/http/~Common~http", nil, 200)
	if h["insertXforwardedFor"] != "disabled" || h["maxHeaderSize"] != float64(32768) || h["serverAgentName"] != "BigIP" {
		t.Fatalf("built-in http = %v", h)
	}
	p := f.must(asAdmin, "POST", "/mgmt/tm/ltm/profile/http", `{"name":"web_http","insertXforwardedFor":"enabled","headerInsert":"X-Via: lbx","redirectRewrite":"matching"}`, 200)
	if p["fullPath"] != "/Common/web_http" || p["insertXforwardedFor"] != "enabled" || p["headerInsert"] != "X-Via: lbx" || p["maxHeaderSize"] != float64(32768) || p["defaultsFrom"] != "/Common/http" {
		t.Fatalf("created http profile = %v", p)
	}
	if !strings.Contains(f.running(), "ltm profile http /Common/web_http {") {
		t.Fatalf("running config lacks the profile:\n%s", f.running())
	}
	p = f.must(asAdmin, "PATCH", "/mgmt/tm/ltm/profile/http/web_http", `{"maxHeaderSize":4096}`, 200)
	if p["maxHeaderSize"] != float64(4096) || p["insertXforwardedFor"] != "enabled" {
		t.Fatalf("patched = %v", p)
	}
	oc := f.must(asAdmin, "POST", "/mgmt/tm/ltm/profile/one-connect", `{"name":"oc","sourceMask":"255.255.255.0","maxReuse":10}`, 200)
	if oc["sourceMask"] != "255.255.255.0" || oc["maxReuse"] != float64(10) || oc["idleTimeoutOverride"] != "disabled" {
		t.Fatalf("one-connect = %v", oc)
	}
	cs := f.must(asAdmin, "POST", "/mgmt/tm/ltm/profile/client-ssl", `{"name":"ssl_www","cert":"/Common/www.crt","key":"/Common/www.key","serverName":"www.example.com","sniDefault":true}`, 200)
	if cs["cert"] != "/Common/www.crt" || cs["key"] != "/Common/www.key" || cs["sniDefault"] != "true" {
		t.Fatalf("client-ssl = %v", cs)
	}
	if its := items(t, f.must(asAdmin, "GET", "/mgmt/tm/ltm/profile/client-ssl", nil, 200)); len(its) != 2 || its[1]["fullPath"] != "/Common/ssl_www" {
		t.Fatalf("client-ssl collection = %v", its)
	}
	before := f.running()
	for _, tc := range []struct {
		method, path, body string
		code               int
		msg                string
	}{
		{"POST", "/mgmt/tm/ltm/profile/http", `{"name":"bad","maxReuse":3}`, 400, "unexpected json pair"},                // a one-connect property
		{"POST", "/mgmt/tm/ltm/profile/http", `{"name":"bad","redirectRewrite":"sometimes"}`, 400, "want one of"},        // a bad word
		{"POST", "/mgmt/tm/ltm/profile/http", `{"name":"bad","maxHeaderSize":"lots"}`, 400, "whole number"},              // a wrong type
		{"POST", "/mgmt/tm/ltm/profile/http", `{"name":"bad","headerInsert":"no colon"}`, 400, "header-insert"},          // validation
		{"POST", "/mgmt/tm/ltm/profile/http", `{"name":"web_http"}`, 409, "already exists"},                              // taken
		{"POST", "/mgmt/tm/ltm/profile/client-ssl", `{"name":"bad","cert":"www.key"}`, 400, "no such sys file ssl-cert"}, // a key as cert
		{"PATCH", "/mgmt/tm/ltm/profile/one-connect/oc", `{"sourceMask":"255.0.255.0"}`, 400, "source-mask"},             // not a netmask
		{"POST", "/mgmt/tm/ltm/profile/http", `{"name":`, 400, ""},                                                       // bad JSON
		{"DELETE", "/mgmt/tm/ltm/profile/http/nope", "", 404, ""},
	} {
		ans := f.do(asAdmin, tc.method, tc.path, tc.body)
		if ans.code != tc.code || ans.body["code"] != float64(tc.code) || ans.body["errorStack"] == nil || !strings.Contains(string(ans.raw), tc.msg) {
			t.Fatalf("%s %s %s: %d %s, want %d with %q", tc.method, tc.path, tc.body, ans.code, ans.raw, tc.code, tc.msg)
		}
		if got := f.running(); got != before {
			t.Fatalf("%s %s changed the running config:\n%s", tc.method, tc.path, got)
		}
	}
	// A profile a virtual uses cannot be deleted; an unused one can.
	f.push("create ltm virtual rest_l7 destination 198.18.1.150:80 ip-protocol tcp profiles { tcp web_http } source-address-translation { type automap }\n")
	if ans := f.do(asAdmin, "DELETE", "/mgmt/tm/ltm/profile/http/web_http", nil); ans.code != 400 || !strings.Contains(string(ans.raw), "in use") {
		t.Fatalf("delete a used profile: %d %s", ans.code, ans.raw)
	}
	f.must(asAdmin, "DELETE", "/mgmt/tm/ltm/profile/one-connect/oc", nil, 200)

	// Persistence: universal on a header, cookie hash.
	u := f.must(asAdmin, "POST", "/mgmt/tm/ltm/persistence/universal", `{"name":"host_aff","headerName":"Host","timeout":600}`, 200)
	if u["headerName"] != "Host" || u["timeout"] != float64(600) || u["rule"] != "none" || u["method"] != nil {
		t.Fatalf("universal = %v", u)
	}
	ck := f.must(asAdmin, "POST", "/mgmt/tm/ltm/persistence/cookie", `{"name":"sess","method":"hash","cookieName":"JSESSIONID","expiration":"1:0:0"}`, 200)
	if ck["method"] != "hash" || ck["cookieName"] != "JSESSIONID" || ck["expiration"] != "1:0:0" || ck["headerName"] != nil {
		t.Fatalf("cookie = %v", ck)
	}
	f.must(asAdmin, "PATCH", "/mgmt/tm/ltm/persistence/universal/host_aff", `{"headerName":"X:bad"}`, 400)
	f.must(asAdmin, "PATCH", "/mgmt/tm/ltm/persistence/cookie/sess", `{"expiration":"soon"}`, 400)
	f.must(asAdmin, "DELETE", "/mgmt/tm/ltm/persistence/universal/host_aff", nil, 200)
	if strings.Contains(f.running(), "host_aff") {
		t.Fatal("deleted universal profile still in the running config")
	}
}
