package rest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// step is one request of a scenario and what its answer must hold.
type step struct {
	name   string
	who    auth
	method string
	path   string
	body   any
	code   int
	want   map[string]any // properties the answer must have, compared as fmt %v
}

func (f *fixture) run(t *testing.T, steps []step) {
	t.Helper()
	for _, s := range steps {
		who := s.who
		if who == (auth{}) {
			who = asAdmin
		}
		ans := f.do(who, s.method, s.path, s.body)
		if ans.code != s.code {
			t.Fatalf("%s: %s %s: status %d, want %d: %s", s.name, s.method, s.path, ans.code, s.code, ans.raw)
		}
		for k, want := range s.want {
			got := lookup(ans.body, k)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: %s = %v, want %v\n%s", s.name, k, got, want, ans.raw)
			}
		}
	}
}

// lookup reads a dotted path ("membersReference.items.0.name") in a
// decoded JSON body; "#items" is the length of items.
func lookup(b map[string]any, path string) any {
	if n, ok := strings.CutPrefix(path, "#"); ok {
		l, _ := lookup(b, n).([]any)
		return len(l)
	}
	var cur any = b
	for _, k := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[k]
			if !ok {
				return "<absent>"
			}
			cur = v
		case []any:
			var i int
			if _, err := fmt.Sscan(k, &i); err != nil || i >= len(c) {
				return "<absent>"
			}
			cur = c[i]
		default:
			return "<absent>"
		}
	}
	return cur
}

// The lifecycle of every resource, with the bodies Ansible (A) and
// go-bigip (G) send, read back as they read it.
func TestCRUD(t *testing.T) {
	f := newFixture(t)
	const (
		node = "/mgmt/tm/ltm/node"
		mon  = "/mgmt/tm/ltm/monitor/http"
		pool = "/mgmt/tm/ltm/pool"
		mem  = "/mgmt/tm/ltm/pool/~Common~web/members"
		vs   = "/mgmt/tm/ltm/virtual"
	)
	f.run(t, []step{
		{name: "A node create", method: "POST", path: node + "/", body: map[string]any{"name": "n1", "partition": "Common", "address": "198.18.2.11", "description": "first", "ratio": 1, "session": "user-enabled", "state": "user-up"}, code: 200,
			want: map[string]any{"name": "n1", "fullPath": "/Common/n1", "address": "198.18.2.11", "session": "user-enabled", "state": "unchecked", "monitor": "default", "fqdn.autopopulate": "disabled", "kind": "tm:ltm:node:nodestate"}},
		{name: "G node create", method: "POST", path: node, body: map[string]any{"name": "n2", "partition": "Common", "address": "198.18.2.12", "description": "", "fqdn": map[string]any{}}, code: 200, want: map[string]any{"address": "198.18.2.12"}},
		{name: "node read bare id", method: "GET", path: node + "/n1", code: 200, want: map[string]any{"description": "first", "selfLink": "https://localhost/mgmt/tm/ltm/node/~Common~n1?ver=15.1.0"}},
		{name: "A node patch", method: "PATCH", path: node + "/~Common~n1", body: map[string]any{"description": "changed"}, code: 200, want: map[string]any{"description": "changed", "address": "198.18.2.11"}},
		{name: "G node disable", method: "PUT", path: node + "/~Common~n2", body: map[string]any{"session": "user-disabled", "fqdn": map[string]any{}}, code: 200, want: map[string]any{"session": "user-disabled"}},
		{name: "A node force offline", method: "PATCH", path: node + "/~Common~n2", body: map[string]any{"session": "user-disabled", "state": "user-down"}, code: 200, want: map[string]any{"session": "user-disabled", "state": "user-down"}},
		{name: "G node enable", method: "PUT", path: node + "/~Common~n2", body: map[string]any{"session": "user-enabled", "state": "user-up", "fqdn": map[string]any{}}, code: 200, want: map[string]any{"session": "user-enabled", "state": "unchecked"}},
		{name: "node list", method: "GET", path: node, code: 200, want: map[string]any{"#items": 2, "items.0.name": "n1", "kind": "tm:ltm:node:nodecollectionstate"}},

		{name: "A monitor create", method: "POST", path: mon + "/", body: map[string]any{"name": "m1", "partition": "Common", "defaultsFrom": "/Common/http", "interval": 5, "timeout": 16, "send": `GET / HTTP/1.1\r\nHost: x\r\n\r\n`, "recv": "200 OK"}, code: 200,
			want: map[string]any{"defaultsFrom": "/Common/http", "interval": 5, "timeout": 16, "send": `GET / HTTP/1.1\r\nHost: x\r\n\r\n`, "destination": "*:*", "reverse": "disabled", "recvDisable": ""}},
		{name: "A monitor patch", method: "PATCH", path: mon + "/~Common~m1", body: map[string]any{"interval": 3, "timeout": 10}, code: 200, want: map[string]any{"interval": 3, "timeout": 10, "recv": "200 OK"}},
		{name: "G monitor put", method: "PUT", path: mon + "/~Common~m1", body: map[string]any{"name": "m1", "defaultsFrom": "/Common/http", "interval": 4, "description": "g"}, code: 200, want: map[string]any{"interval": 4, "timeout": 10, "description": "g"}},
		{name: "builtin monitor listed", method: "GET", path: mon, code: 200, want: map[string]any{"#items": 2, "items.0.fullPath": "/Common/http"}},

		{name: "A pool create", method: "POST", path: pool + "/", body: map[string]any{"name": "web", "partition": "Common", "description": "p", "loadBalancingMode": "round-robin", "monitor": "/Common/m1", "minActiveMembers": 1, "minUpMembers": 0, "minUpMembersAction": "failover", "minUpMembersChecking": "disabled"}, code: 200,
			want: map[string]any{"minActiveMembers": 1, "monitor": "/Common/m1 ", "loadBalancingMode": "round-robin", "membersReference.isSubcollection": true}},
		{name: "A member create", method: "POST", path: mem, body: map[string]any{"name": "n1:80", "partition": "Common", "address": "198.18.2.11", "priorityGroup": 2, "fqdn": map[string]any{"autopopulate": "disabled"}, "session": "user-enabled", "state": "user-up"}, code: 200,
			want: map[string]any{"name": "n1:80", "fullPath": "/Common/n1:80", "priorityGroup": 2, "session": "monitor-enabled", "state": "checking", "ephemeral": "false", "logging": "disabled", "inheritProfile": "enabled", "monitor": "default"}},
		{name: "G member create without address", method: "POST", path: mem, body: map[string]any{"name": "n2:80", "partition": "Common", "priorityGroup": 1, "fqdn": map[string]any{}}, code: 200, want: map[string]any{"address": "198.18.2.12"}},
		{name: "member by address creates its node", method: "POST", path: mem, body: map[string]any{"name": "198.18.2.13:80", "partition": "Common"}, code: 200, want: map[string]any{"address": "198.18.2.13"}},
		{name: "auto-created node", method: "GET", path: node + "/~Common~198.18.2.13", code: 200, want: map[string]any{"address": "198.18.2.13"}},
		{name: "A member disable", method: "PATCH", path: mem + "/~Common~n1:80", body: map[string]any{"session": "user-disabled", "state": "user-up"}, code: 200, want: map[string]any{"session": "user-disabled", "state": "checking"}},
		{name: "A member force offline", method: "PATCH", path: mem + "/~Common~n1:80", body: map[string]any{"session": "user-disabled", "state": "user-down"}, code: 200, want: map[string]any{"session": "user-disabled", "state": "user-down"}},
		{name: "A member enable", method: "PATCH", path: mem + "/~Common~n1:80", body: map[string]any{"session": "user-enabled", "state": "user-up"}, code: 200, want: map[string]any{"session": "monitor-enabled", "state": "checking"}},
		{name: "G member put", method: "PUT", path: mem + "/~Common~n2:80", body: map[string]any{"session": "user-disabled", "fqdn": map[string]any{}}, code: 200, want: map[string]any{"session": "user-disabled"}},
		{name: "member list", method: "GET", path: mem, code: 200, want: map[string]any{"#items": 3}},
		{name: "pool expanded", method: "GET", path: pool + "/~Common~web?expandSubcollections=true", code: 200, want: map[string]any{"#membersReference.items": 3, "membersReference.items.0.name": "n1:80"}},
		{name: "G pool put of the read-back object", method: "PUT", path: pool + "/~Common~web", body: map[string]any{"name": "web", "fullPath": "/Common/web", "generation": 7, "kind": "tm:ltm:pool:poolstate", "loadBalancingMode": "least-connections-member", "monitor": "/Common/m1 ", "reselectTries": 0, "slowRampTime": 0, "membersReference": map[string]any{"link": "x"}}, code: 200,
			want: map[string]any{"loadBalancingMode": "least-connections-member", "slowRampTime": 0, "minActiveMembers": 1}},
		{name: "member delete", method: "DELETE", path: mem + "/~Common~198.18.2.13:80", code: 200},
		{name: "member gone", method: "GET", path: mem + "/~Common~198.18.2.13:80", code: 404},

		{name: "A virtual create", method: "POST", path: vs + "/", body: map[string]any{"name": "vs", "partition": "Common", "description": "v", "destination": "/Common/198.18.1.100:80", "mask": "255.255.255.255", "ipProtocol": 6, "pool": "/Common/web",
			"profiles":                 []any{map[string]any{"name": "tcp", "partition": "Common", "context": "all", "fullPath": "/Common/tcp"}, map[string]any{"name": "http", "partition": "Common", "context": "all", "fullPath": "/Common/http"}},
			"sourceAddressTranslation": map[string]any{"type": "automap"}, "rateLimitMode": "object", "metadata": []any{map[string]any{"name": "f5-ansible.version", "value": "1.25.0", "persist": "true"}}}, code: 200,
			want: map[string]any{"destination": "/Common/198.18.1.100:80", "ipProtocol": "tcp", "pool": "/Common/web", "sourceAddressTranslation.type": "automap", "enabled": true, "disabled": "<absent>", "mask": "255.255.255.255"}},
		{name: "G virtual create", method: "POST", path: vs, body: map[string]any{"name": "vs2", "destination": "/Common/198.18.1.100:81", "ipProtocol": "tcp", "profiles": []any{map[string]any{"name": "/Common/tcp", "context": "all"}}, "persist": nil, "policies": nil, "pool": "", "sourceAddressTranslation": map[string]any{}}, code: 200,
			want: map[string]any{"pool": "<absent>", "sourceAddressTranslation.type": "none"}},
		{name: "virtual expanded", method: "GET", path: vs + "/~Common~vs?expandSubcollections=true", code: 200, want: map[string]any{"#profilesReference.items": 2, "profilesReference.items.1.context": "all", "profilesReference.items.1.fullPath": "/Common/tcp", "#policiesReference.items": 0}},
		{name: "G virtual profiles", method: "GET", path: vs + "/vs/profiles", code: 200, want: map[string]any{"#items": 2}},
		{name: "G virtual policies", method: "GET", path: vs + "/vs/policies", code: 200, want: map[string]any{"#items": 0}},
		{name: "A virtual disable", method: "PATCH", path: vs + "/~Common~vs", body: map[string]any{"enabled": false, "disabled": true}, code: 200, want: map[string]any{"disabled": true, "enabled": "<absent>"}},
		{name: "A virtual enable", method: "PATCH", path: vs + "/~Common~vs", body: map[string]any{"enabled": true, "disabled": false, "description": "again"}, code: 200, want: map[string]any{"enabled": true, "disabled": "<absent>", "description": "again"}},
		{name: "virtual address", method: "GET", path: "/mgmt/tm/ltm/virtual-address/~Common~198.18.1.100", code: 200, want: map[string]any{"address": "198.18.1.100"}},
		{name: "A forwarding virtual create", method: "POST", path: vs + "/", body: map[string]any{"name": "fwd", "partition": "Common", "destination": "/Common/0.0.0.0:0", "mask": "any", "ipProtocol": "any", "ipForward": true}, code: 200,
			want: map[string]any{"ipForward": true, "mask": "0.0.0.0", "ipProtocol": "any", "pool": "<absent>"}},
		{name: "forwarding virtual with a pool refused", method: "PATCH", path: vs + "/~Common~fwd", body: map[string]any{"pool": "/Common/web"}, code: 400},
		{name: "forwarding virtual's address", method: "GET", path: "/mgmt/tm/ltm/virtual-address/~Common~0.0.0.0", code: 200, want: map[string]any{"address": "any", "mask": "any", "arp": "disabled", "icmpEcho": "disabled"}},
		{name: "forwarding virtual delete", method: "DELETE", path: vs + "/~Common~fwd", code: 200},

		{name: "virtual delete", method: "DELETE", path: vs + "/~Common~vs", code: 200},
		{name: "virtual 2 delete", method: "DELETE", path: vs + "/vs2", code: 200},
		{name: "pool delete takes its members", method: "DELETE", path: pool + "/~Common~web", code: 200},
		{name: "monitor delete", method: "DELETE", path: mon + "/~Common~m1", code: 200},
		{name: "node delete", method: "DELETE", path: node + "/~Common~n1", code: 200},
		{name: "node gone", method: "GET", path: node + "/~Common~n1", code: 404, want: map[string]any{"code": 404, "message": "01020036:3: The requested Node (/Common/n1) was not found."}},
	})
	if got := f.running(); strings.Contains(got, "ltm pool") || strings.Contains(got, "ltm virtual") {
		t.Errorf("running config after the deletes:\n%s", got)
	}
}

// The version and provisioning checks and the collections the clients
// read answer what they index.
func TestSystemResources(t *testing.T) {
	f := newFixture(t)
	f.run(t, []step{
		{name: "sys", method: "GET", path: "/mgmt/tm/sys/", code: 200, want: map[string]any{"selfLink": "https://localhost/mgmt/tm/sys?ver=15.1.0"}},
		{name: "provision", method: "GET", path: "/mgmt/tm/sys/provision", code: 200, want: map[string]any{"items.5.name": "ltm", "items.5.level": "nominal"}},
		{name: "version", method: "GET", path: "/mgmt/tm/cli/version", code: 200},
		{name: "sip session", method: "GET", path: "/mgmt/tm/ltm/message-routing/sip/profile/session/", code: 200, want: map[string]any{"#items": 0}},
		{name: "gre", method: "GET", path: "/mgmt/tm/net/tunnels/gre", code: 200, want: map[string]any{"#items": 0}},
		{name: "ipip", method: "GET", path: "/mgmt/tm/net/tunnels/ipip/", code: 200, want: map[string]any{"#items": 0}},
		{name: "tcp profiles", method: "GET", path: "/mgmt/tm/ltm/profile/tcp", code: 200, want: map[string]any{"items.0.fullPath": "/Common/tcp"}},
		{name: "source-addr persistence", method: "GET", path: "/mgmt/tm/ltm/persistence/source-addr/", code: 200, want: map[string]any{"items.0.fullPath": "/Common/source_addr"}},
		{name: "a persistence profile", method: "GET", path: "/mgmt/tm/ltm/persistence/cookie/~Common~cookie", code: 200, want: map[string]any{"name": "cookie"}},
		{name: "ssl persistence", method: "GET", path: "/mgmt/tm/ltm/persistence/ssl", code: 200, want: map[string]any{"#items": 0}},
		{name: "fastl4 profiles", method: "GET", path: "/mgmt/tm/ltm/profile/fastl4/", code: 200, want: map[string]any{"items.0.name": "fastL4"}},
	})
	for p, builtin := range map[string]string{"client-ssl": "clientssl", "server-ssl": "serverssl", "one-connect": "oneconnect", "http": "http"} {
		f.run(t, []step{{name: p, method: "GET", path: "/mgmt/tm/ltm/profile/" + p + "/", code: 200, want: map[string]any{"#items": 1, "items.0.name": builtin}}})
	}
	for _, p := range []string{"fasthttp", "diameter", "sip"} {
		f.run(t, []step{{name: p, method: "GET", path: "/mgmt/tm/ltm/profile/" + p + "/", code: 200, want: map[string]any{"#items": 0}}})
	}
	for _, m := range []string{"http", "https", "icmp", "gateway-icmp", "tcp", "tcp-half-open", "ftp", "udp", "postgresql", "mysql", "mssql", "ldap", "smtp"} {
		f.run(t, []step{{name: "monitor " + m, method: "GET", path: "/mgmt/tm/ltm/monitor/" + m, code: 200}})
	}
	v := f.must(asAdmin, "GET", "/mgmt/tm/cli/version", nil, http.StatusOK)
	if got := lookup(v, "entries"); fmt.Sprint(got.(map[string]any)["https://localhost/mgmt/tm/cli/version/0"].(map[string]any)["nestedStats"].(map[string]any)["entries"].(map[string]any)["active"]) != "map[description:15.1.0]" {
		t.Errorf("cli version: %v", got)
	}
}

// A virtual's metadata round-trips, through a save and a load too.
func TestVirtualMetadata(t *testing.T) {
	f := newFixture(t)
	f.push("ltm pool /Common/web { }")
	md := []any{
		map[string]any{"name": "f5-ansible.version", "value": "1.25.0", "persist": "true"},
		map[string]any{"name": "note", "value": `say "hi" \ there`, "persist": "false"},
	}
	f.must(asAdmin, "POST", "/mgmt/tm/ltm/virtual", map[string]any{"name": "vs", "destination": "/Common/198.18.1.100:80", "pool": "/Common/web", "metadata": md}, 200)
	check := func(when string) {
		got := f.must(asAdmin, "GET", "/mgmt/tm/ltm/virtual/vs", nil, 200)["metadata"]
		if fmt.Sprint(got) != fmt.Sprint(md) {
			t.Errorf("%s: metadata %v, want %v", when, got, md)
		}
	}
	check("after create")
	if err := f.st.Save(); err != nil {
		t.Fatal(err)
	}
	saved, err := f.st.Saved()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.LoadText(tmshText(saved)); err != nil {
		t.Fatal(err)
	}
	check("after save and load")
	f.must(asAdmin, "PATCH", "/mgmt/tm/ltm/virtual/vs", map[string]any{"metadata": nil}, 200)
	if got := f.must(asAdmin, "GET", "/mgmt/tm/ltm/virtual/vs", nil, 200)["metadata"]; got != nil {
		t.Errorf("metadata after unset: %v", got)
	}
}
