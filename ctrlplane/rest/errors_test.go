package rest

import (
	"strings"
	"testing"
)

// setup is the configuration the error tests start from.
const setup = `
ltm node /Common/n1 { address 198.18.2.11 }
ltm monitor http /Common/m1 { defaults-from /Common/http }
ltm pool /Common/web { members { /Common/n1:80 { } } monitor /Common/m1 }
ltm virtual /Common/vs { destination /Common/198.18.1.100:80 ip-protocol tcp pool /Common/web profiles { /Common/tcp { } } }
`

// Every error path answers F5's error JSON with the right status and
// message, and changes nothing.
func TestErrors(t *testing.T) {
	f := newFixture(t)
	f.push(setup)
	big := `{"name":"` + strings.Repeat("a", 2<<20) + `"}`
	for _, tc := range []struct {
		name, method, path string
		body               any
		code               int
		msg                string // a substring of the message
	}{
		{"malformed JSON", "POST", "/mgmt/tm/ltm/node", `{"name":`, 400, "Malformed JSON body"},
		{"not an object", "POST", "/mgmt/tm/ltm/node", `[1,2]`, 400, "Malformed JSON body"},
		{"trailing data", "PATCH", "/mgmt/tm/ltm/node/n1", `{} {}`, 400, "data after the object"},
		{"wrong type", "POST", "/mgmt/tm/ltm/node", map[string]any{"name": "n9", "address": 7}, 400, `Invalid value for property "address" of /ltm/node: want a string`},
		{"wrong type of a number", "PATCH", "/mgmt/tm/ltm/pool/web", map[string]any{"minActiveMembers": "lots"}, 400, `Invalid value for property "minActiveMembers"`},
		{"unknown property", "PATCH", "/mgmt/tm/ltm/pool/web", map[string]any{"frobnicate": 1}, 400, `Found unexpected json pair at configuration item /ltm/pool: "frobnicate".`},
		{"invalid value", "PATCH", "/mgmt/tm/ltm/pool/web", map[string]any{"loadBalancingMode": "random"}, 400, `"random": not a load balancing mode`},
		{"unsupported value", "PATCH", "/mgmt/tm/ltm/pool/web", map[string]any{"minUpMembers": 2}, 400, "not supported yet"},
		{"missing name", "POST", "/mgmt/tm/ltm/pool", map[string]any{"description": "x"}, 400, "The property name is required."},
		{"bad name", "POST", "/mgmt/tm/ltm/pool", map[string]any{"name": "a b"}, 400, `character ' ' not allowed in a name`},
		{"node without address", "POST", "/mgmt/tm/ltm/node", map[string]any{"name": "n9"}, 400, "address is required"},
		{"duplicate node", "POST", "/mgmt/tm/ltm/node", map[string]any{"name": "n1", "address": "198.18.2.11"}, 409, "01020066:3: The requested Node (/Common/n1) already exists in partition Common."},
		{"duplicate member", "POST", "/mgmt/tm/ltm/pool/web/members", map[string]any{"name": "n1:80"}, 409, "already exists"},
		{"node address change", "PATCH", "/mgmt/tm/ltm/node/n1", map[string]any{"address": "198.18.2.99"}, 400, "cannot be changed"},
		{"missing monitor", "POST", "/mgmt/tm/ltm/pool", map[string]any{"name": "p2", "monitor": "/Common/nope"}, 400, "no such monitor"},
		{"missing pool", "PATCH", "/mgmt/tm/ltm/virtual/vs", map[string]any{"pool": "/Common/nope"}, 400, "no such pool"},
		{"member of a missing node", "POST", "/mgmt/tm/ltm/pool/web/members", map[string]any{"name": "ghost:80"}, 404, "The requested Node (/Common/ghost) was not found."},
		{"member address not its node's", "POST", "/mgmt/tm/ltm/pool/web/members", map[string]any{"name": "n1:81", "address": "198.18.2.99"}, 400, "is not its node's address"},
		{"node in use", "DELETE", "/mgmt/tm/ltm/node/n1", nil, 400, "01070110:3: Node address '/Common/n1' is referenced by a member of pool '/Common/web'."},
		{"pool in use", "DELETE", "/mgmt/tm/ltm/pool/web", nil, 400, "in use by a Virtual Server (/Common/vs)"},
		{"monitor in use", "DELETE", "/mgmt/tm/ltm/monitor/http/m1", nil, 400, "Monitor /Common/m1 is in use"},
		{"builtin monitor", "DELETE", "/mgmt/tm/ltm/monitor/http/~Common~http", nil, 400, "is built in"},
		{"monitor parent of another type", "POST", "/mgmt/tm/ltm/monitor/http", map[string]any{"name": "m2", "defaultsFrom": "/Common/tcp"}, 400, "is a tcp monitor, not http"},
		{"missing object", "GET", "/mgmt/tm/ltm/pool/~Common~nope", nil, 404, "01020036:3: The requested Pool (/Common/nope) was not found."},
		{"missing object patch", "PATCH", "/mgmt/tm/ltm/virtual/nope", map[string]any{"description": "x"}, 404, "The requested Virtual Server (/Common/nope) was not found."},
		{"missing member", "PATCH", "/mgmt/tm/ltm/pool/web/members/~Common~n1:81", map[string]any{"session": "user-disabled"}, 404, "The requested Pool Member (/Common/n1:81) was not found."},
		{"bad session", "PATCH", "/mgmt/tm/ltm/pool/web/members/~Common~n1:80", map[string]any{"session": "sleepy"}, 400, `"sleepy": want one of`},
		{"overlapping virtual", "POST", "/mgmt/tm/ltm/virtual", map[string]any{"name": "vs2", "destination": "/Common/198.18.1.100:80", "ipProtocol": "tcp"}, 400, "overlaps virtual /Common/vs"},
		{"route domain", "POST", "/mgmt/tm/ltm/virtual", map[string]any{"name": "vs3", "destination": "/Common/198.18.1.100%2:80"}, 400, "want an IP address"},
		{"oversize body", "POST", "/mgmt/tm/ltm/node", big, 413, "larger than 1048576 bytes"},
		{"dot segment", "GET", "/mgmt/tm/ltm/pool/../node", nil, 400, "dot segment"},
		{"encoded slash", "GET", "/mgmt/tm/ltm/pool/~Common%2fweb", nil, 400, "encoded slash"},
		{"encoded dots", "GET", "/mgmt/tm/ltm/%2e%2e/node", nil, 400, "encoded slash, dot"},
		{"huge id", "GET", "/mgmt/tm/ltm/pool/" + strings.Repeat("x", 600), nil, 400, "longer than 512"},
		{"long name", "GET", "/mgmt/tm/ltm/pool/" + strings.Repeat("x", 300), nil, 400, "name longer than 255"},
		{"folder", "GET", "/mgmt/tm/ltm/pool/~Other~web", nil, 400, "partition Other: not supported yet"},
		{"unknown path", "GET", "/mgmt/tm/ltm/frob", nil, 404, "Public URI path not registered"},
		{"not mgmt", "GET", "/etc/passwd", nil, 404, "Public URI path not registered"},
		{"wrong method", "PUT", "/mgmt/tm/ltm/node", map[string]any{}, 405, "Method PUT is not supported"},
		{"read-only collection", "POST", "/mgmt/tm/net/tunnels/gre", map[string]any{"name": "t"}, 405, "not supported"},
		{"bash shell refused", "POST", "/mgmt/tm/util/bash", map[string]any{"command": "run", "utilCmdArgs": "-c 'cat /etc/passwd'"}, 400, "lbx has no shell"},
		{"bash separators refused", "POST", "/mgmt/tm/util/bash", map[string]any{"command": "run", "utilCmdArgs": `-c "tmsh list ltm pool; rm -rf /"`}, 400, "lbx has no shell"},
		{"bash bad tmsh", "POST", "/mgmt/tm/util/bash", map[string]any{"command": "run", "utilCmdArgs": `-c "tmsh delete ltm pool web"`}, 400, "in use"},
		{"bad filter", "GET", "/mgmt/tm/ltm/pool?$filter=name+eq+web", nil, 400, "only \"partition eq NAME\""},
		{"bad top", "GET", "/mgmt/tm/ltm/pool?$top=-1", nil, 400, "want a number >= 0"},
		{"transaction unknown", "PATCH", "/mgmt/tm/transaction/12345", map[string]any{"state": "VALIDATING"}, 404, "Transaction 12345 not found."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, version := f.running(), f.st.Version()
			ans := f.do(asAdmin, tc.method, tc.path, tc.body)
			if ans.code != tc.code {
				t.Fatalf("status %d, want %d: %s", ans.code, tc.code, ans.raw)
			}
			if ans.body["code"] != float64(tc.code) || ans.body["errorStack"] == nil || ans.body["apiError"] == nil {
				t.Errorf("not F5 error JSON: %s", ans.raw)
			}
			if msg, _ := ans.body["message"].(string); !strings.Contains(msg, tc.msg) {
				t.Errorf("message %q, want it to contain %q", msg, tc.msg)
			}
			if after := f.running(); after != before || f.st.Version() != version {
				t.Errorf("the configuration changed (version %d → %d):\n%s", version, f.st.Version(), after)
			}
		})
	}
}
