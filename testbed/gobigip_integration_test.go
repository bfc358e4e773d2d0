package testbed

import (
	"maps"
	"strings"
	"testing"
	"time"

	bigip "github.com/f5devcentral/go-bigip"
)

// Issue 14: go-bigip (the library behind the Terraform BIG-IP provider,
// pinned in go.mod) drives the testbed's appliance over its published
// management API: nodes, a monitored pool, members, a virtual server with
// SNAT automap, enable/disable, save, and teardown; real traffic follows
// each member state.
func TestIntegrationGoBigIPLifecycle(t *testing.T) {
	tb := upTestbed(t)
	b, err := bigip.NewTokenSession(&bigip.Config{Address: tb.State.Mgmt, Username: tb.State.User, Password: tb.State.Password, CertVerifyDisable: true})
	if err != nil {
		t.Fatalf("token session: %v", err)
	}
	check := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// server4 and server5 are in no pool of the default config.
	check("node g4", b.CreateNode("g4", "198.18.2.15", "", 0, 0, "", "", "server4", 0))
	check("node g5", b.CreateNode("g5", "198.18.2.16", "", 0, 0, "", "", "server5", 0))
	check("pool", b.CreatePool("g_pool"))
	check("monitor on the pool", b.AddMonitorToPool("/Common/tcp", "g_pool"))
	check("member g4", b.AddPoolMember("g_pool", &bigip.PoolMember{Name: "g4:80", Partition: "Common"}))
	check("member g5", b.AddPoolMember("g_pool", &bigip.PoolMember{Name: "g5:80", Partition: "Common"}))
	check("virtual", b.CreateVirtualServer(&bigip.VirtualServer{Name: "g_vs", Destination: "198.18.1.102:80", IPProtocol: "tcp", Pool: "/Common/g_pool",
		SourceAddressTranslation: struct {
			Type string `json:"type,omitempty"`
			Pool string `json:"pool,omitempty"`
		}{Type: "automap"},
		Profiles: []bigip.Profile{{Name: "/Common/tcp", Context: "all"}}}))

	app := tb.Client()
	waitMember(t, app, "g_pool", "/Common/g4:80", "up", 30*time.Second)
	waitMember(t, app, "g_pool", "/Common/g5:80", "up", 30*time.Second)
	const url = "http://198.18.1.102/"
	if got := countServers(t, tb, url, 6); !maps.Equal(got, map[string]int{"server4": 3, "server5": 3}) {
		t.Fatalf("round robin over g4 and g5: answers by server %v", got)
	}
	check("disable g5", b.PoolMemberStatus("g_pool", "g5:80", "disable"))
	if pm, err := b.GetPoolMember("g_pool", "g5:80"); err != nil || pm.Session != "user-disabled" {
		t.Fatalf("g5 after disable: %+v, %v", pm, err)
	}
	if got := countServers(t, tb, url, 6); !maps.Equal(got, map[string]int{"server4": 6}) {
		t.Fatalf("with g5 disabled, answers by server %v, want all from server4", got)
	}
	check("enable g5", b.PoolMemberStatus("g_pool", "g5:80", "enable"))
	if got := countServers(t, tb, url, 6); !maps.Equal(got, map[string]int{"server4": 3, "server5": 3}) {
		t.Fatalf("with g5 enabled again, answers by server %v", got)
	}
	out, err := b.RunCommand(&bigip.BigipCommand{Command: "run", UtilCmdArgs: `-c "tmsh save sys config"`})
	check("save", err)
	if !strings.HasPrefix(out.CommandResult, "Saving running configuration") {
		t.Errorf("save answered %+v", out)
	}

	check("delete virtual", b.DeleteVirtualServer("g_vs"))
	if got := countServers(t, tb, url, 2); !maps.Equal(got, map[string]int{"(failed)": 2}) {
		t.Errorf("the deleted virtual still answers: %v", got)
	}
	check("delete pool", b.DeletePool("g_pool"))
	check("delete g4", b.DeleteNode("g4"))
	check("delete g5", b.DeleteNode("g5"))
	list, err := app.Exec("list ltm pool g_pool")
	if err == nil {
		t.Errorf("g_pool still listed after the delete:\n%s", list)
	}
}
