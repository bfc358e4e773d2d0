package rest

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzHandlers sends arbitrary bodies to every writing handler: the
// answer is always a JSON object with a status the API gives (never a
// panic, never a 5xx), and a refused request changes nothing.
func FuzzHandlers(f *testing.F) {
	paths := []string{
		"POST /mgmt/tm/ltm/node", "PATCH /mgmt/tm/ltm/node/n1", "PUT /mgmt/tm/ltm/node/n1",
		"POST /mgmt/tm/ltm/pool", "PATCH /mgmt/tm/ltm/pool/web", "PUT /mgmt/tm/ltm/pool/web",
		"POST /mgmt/tm/ltm/pool/web/members", "PATCH /mgmt/tm/ltm/pool/web/members/~Common~n1:80",
		"POST /mgmt/tm/ltm/virtual", "PATCH /mgmt/tm/ltm/virtual/vs",
		"POST /mgmt/tm/ltm/monitor/http", "PATCH /mgmt/tm/ltm/monitor/http/m1",
		"POST /mgmt/tm/util/bash", "POST /mgmt/tm/sys/config", "POST /mgmt/shared/authn/login",
		"PATCH /mgmt/shared/authz/tokens/x", "POST /mgmt/tm/transaction",
		"POST /mgmt/tm/ltm/profile/http", "PATCH /mgmt/tm/ltm/profile/http/http", "POST /mgmt/tm/ltm/profile/one-connect",
		"POST /mgmt/tm/ltm/profile/client-ssl", "POST /mgmt/tm/ltm/persistence/universal", "PATCH /mgmt/tm/ltm/persistence/cookie/cookie",
	}
	seeds := []string{
		`{}`, `{"name":"n9","address":"198.18.2.19"}`, `{"session":"user-disabled","state":"user-down"}`,
		`{"members":[{"name":"n1:80"},{"name":"198.18.2.20:81","priorityGroup":3}]}`,
		`{"monitor":"min 1 of { /Common/m1 /Common/http }"}`, `{"monitor":"/Common/m1 and /Common/http "}`,
		`{"name":"v9","destination":"/Common/198.18.1.101:80","ipProtocol":6,"profiles":["tcp"],"persist":null,"pool":""}`,
		`{"interval":5,"timeout":16,"send":"GET /\\r\\n","recv":"200"}`, `{"command":"run","utilCmdArgs":"-c \"tmsh list ltm node\""}`,
		`{"enabled":true,"disabled":true}`, `{"profiles":[{"name":"/Common/tcp","context":"serverside"}]}`,
		`{"timeout":1200}`, `[`, `null`, `{"name":{}}`, `{"address":"::1"}`, `{"mask":"any"}`,
		`{"name":"h9","insertXforwardedFor":"enabled","headerInsert":"X-A: 1","maxHeaderSize":512}`, `{"sourceMask":"255.255.0.0","maxReuse":0}`,
		`{"name":"s9","cert":"/etc/x.crt","key":"none","sniDefault":"enabled"}`, `{"name":"u9","headerName":"Host","rule":"none"}`,
		`{"method":"hash","cookieName":"J","expiration":"1:2:3:4:5"}`,
	}
	for i, s := range seeds {
		f.Add(i%len(paths), s)
		f.Add((i*7+3)%len(paths), s)
	}
	fx := newFixture(f)
	fx.push(setup)
	f.Fuzz(func(t *testing.T, which int, body string) {
		if which < 0 {
			which = -which
		}
		method, path, _ := strings.Cut(paths[which%len(paths)], " ")
		fx.t = t
		before := fx.running()
		ans := fx.do(asAdmin, method, path, body)
		if ans.code >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, path, body, ans.code, ans.raw)
		}
		if ans.raw != "" && !json.Valid([]byte(ans.raw)) {
			t.Fatalf("not JSON: %s", ans.raw)
		}
		if ans.code >= 400 && fx.running() != before {
			t.Fatalf("%s %s %q refused (%d) but changed the configuration", method, path, body, ans.code)
		}
		if ans.code < 400 && strings.HasPrefix(method, "P") && path != "/mgmt/tm/transaction" {
			// Undo what was applied so later inputs start alike.
			if err := fx.st.LoadText(setup + usersText(fx)); err != nil {
				t.Fatalf("reset: %v", err)
			}
		}
	})
}

// usersText is the test users as tmsh prints them, so a reset keeps them.
func usersText(f *fixture) string {
	text := f.running()
	if i := strings.Index(text, "auth user"); i >= 0 {
		return text[i:]
	}
	return ""
}
