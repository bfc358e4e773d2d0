package rest

import (
	"strings"
	"testing"
)

// A setup made through REST and the same one typed in tmsh give the same
// running configuration: the API is a translator onto the same model.
func TestRESTAndTmshAgree(t *testing.T) {
	viaTmsh := newFixture(t)
	viaTmsh.push(`
create ltm node /Common/n1 address 198.18.2.11 description first
create ltm monitor http /Common/m1 defaults-from /Common/http interval 3 timeout 10 send "GET / HTTP/1.1\r\nHost: x\r\n\r\n" recv "200 OK"
create ltm pool /Common/web monitor /Common/m1 min-active-members 1 load-balancing-mode least-connections-member members add { /Common/n1:80 { priority-group 2 } /Common/198.18.2.12:80 { session user-disabled } }
create ltm virtual /Common/vs destination /Common/198.18.1.100:80 ip-protocol tcp pool /Common/web profiles add { /Common/tcp } source-address-translation { type automap } description front
modify ltm pool /Common/web members modify { /Common/n1:80 { state user-down session user-disabled } }
`)
	viaREST := newFixture(t)
	viaREST.run(t, []step{
		{method: "POST", path: "/mgmt/tm/ltm/node", body: map[string]any{"name": "n1", "partition": "Common", "address": "198.18.2.11", "description": "first"}, code: 200},
		{method: "POST", path: "/mgmt/tm/ltm/monitor/http", body: map[string]any{"name": "m1", "defaultsFrom": "/Common/http", "interval": 3, "timeout": 10, "send": `GET / HTTP/1.1\r\nHost: x\r\n\r\n`, "recv": "200 OK"}, code: 200},
		{method: "POST", path: "/mgmt/tm/ltm/pool", body: map[string]any{"name": "web", "monitor": "/Common/m1", "minActiveMembers": 1, "loadBalancingMode": "least-connections-member"}, code: 200},
		{method: "POST", path: "/mgmt/tm/ltm/pool/web/members", body: map[string]any{"name": "n1:80", "priorityGroup": 2}, code: 200},
		{method: "POST", path: "/mgmt/tm/ltm/pool/web/members", body: map[string]any{"name": "198.18.2.12:80", "session": "user-disabled"}, code: 200},
		{method: "POST", path: "/mgmt/tm/ltm/virtual", body: map[string]any{"name": "vs", "destination": "198.18.1.100:80", "ipProtocol": 6, "pool": "web", "profiles": []any{"tcp"}, "sourceAddressTranslation": map[string]any{"type": "automap"}, "description": "front"}, code: 200},
		{method: "PATCH", path: "/mgmt/tm/ltm/pool/web/members/~Common~n1:80", body: map[string]any{"session": "user-disabled", "state": "user-down"}, code: 200},
	})
	traffic := func(f *fixture) string { s, _, _ := strings.Cut(f.running(), "auth user"); return s }
	if a, b := traffic(viaTmsh), traffic(viaREST); a != b {
		t.Errorf("tmsh made\n%s\nREST made\n%s", a, b)
	}
}
