package rest

import (
	"strings"
	"testing"

	bigip "github.com/f5devcentral/go-bigip"
)

// go-bigip (the library behind the Terraform BIG-IP provider), pinned in
// go.mod, runs a lifecycle of node, monitor, pool, member and virtual
// server against the server, over TLS, with a token session and with
// Basic auth.
func TestGoBigIPLifecycle(t *testing.T) {
	f := newFixture(t)
	cfg := &bigip.Config{Address: f.srv.URL, Username: "admin", Password: "admin-pw", CertVerifyDisable: true}
	b, err := bigip.NewTokenSession(cfg)
	if err != nil {
		t.Fatalf("token session: %v", err)
	}
	basic := bigip.NewSession(&bigip.Config{Address: f.srv.URL, Username: "admin", Password: "admin-pw", CertVerifyDisable: true})
	check := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	v, err := b.BigipVersion()
	check("version", err)
	if got := v.Entries.HTTPSLocalhostMgmtTmCliVersion0.NestedStats.Entries.Active.Description; got != Version {
		t.Errorf("version %q", got)
	}
	mons, err := b.Monitors()
	check("monitors", err)
	if len(mons) == 0 {
		t.Error("no monitors listed (the built-ins are there)")
	}

	check("create node", b.CreateNode("n1", "198.18.2.11", "disabled", 0, 1, "", "user-up", "first", 1))
	check("create node 2", b.CreateNode("/Common/n2", "198.18.2.12", "", 0, 0, "", "", "", 0))
	if err := b.CreateNode("n1", "198.18.2.11", "", 0, 0, "", "", "", 0); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("duplicate node: %v", err)
	}
	n, err := b.GetNode("n1")
	check("get node", err)
	if n == nil || n.Address != "198.18.2.11" || n.Description != "first" {
		t.Fatalf("node %+v", n)
	}
	check("disable node", b.NodeStatus("n1", "disable"))
	if n, _ = b.GetNode("n1"); n.Session != "user-disabled" {
		t.Errorf("node session %q after disable", n.Session)
	}
	check("enable node", b.NodeStatus("n1", "enable"))
	check("modify node", b.ModifyNode("n1", &bigip.Node{Description: "changed"}))
	if n, _ = b.GetNode("/Common/n1"); n.Session != "user-enabled" || n.Description != "changed" {
		t.Errorf("node after enable and modify: %+v", n)
	}

	check("create monitor", b.CreateMonitor(&bigip.Monitor{Name: "m1", ParentMonitor: "/Common/http", Interval: 5, Timeout: 16,
		SendString: `GET / HTTP/1.1\r\nHost: lbx\r\n\r\n`, ReceiveString: "200", Description: "g"}, "http"))
	m, err := b.GetMonitor("m1", "http")
	check("get monitor", err)
	if m == nil || m.Interval != 5 || m.SendString != `GET / HTTP/1.1\r\nHost: lbx\r\n\r\n` || m.ParentMonitor != "/Common/http" {
		t.Fatalf("monitor %+v", m)
	}
	check("modify monitor", b.ModifyMonitor("m1", "http", &bigip.Monitor{Interval: 3, Timeout: 10}))
	if m, _ = b.GetMonitor("m1", "http"); m.Interval != 3 || m.Timeout != 10 || m.ReceiveString != "200" {
		t.Errorf("monitor after modify %+v", m)
	}

	check("create pool", b.CreatePool("web"))
	check("monitor to pool", b.AddMonitorToPool("/Common/m1", "web"))
	p, err := b.GetPool("web")
	check("get pool", err)
	p.LoadBalancingMode = "least-connections-member"
	p.MinActiveMembers = 1
	check("modify pool (put of the read-back object)", b.ModifyPool("web", p))
	if p, _ = b.GetPool("web"); p.LoadBalancingMode != "least-connections-member" || p.MinActiveMembers != 1 || strings.TrimSpace(p.Monitor) != "/Common/m1" {
		t.Errorf("pool after modify %+v", p)
	}
	check("add member", b.AddPoolMember("web", &bigip.PoolMember{Name: "n1:80", Partition: "Common", PriorityGroup: 2}))
	check("add member by address", b.CreatePoolMember("web", &bigip.PoolMember{Name: "198.18.2.13:80", Partition: "Common"}))
	check("add member node", b.AddPoolMemberNode("web", "n2:80"))
	ms, err := b.PoolMembers("web")
	check("members", err)
	if len(ms.PoolMembers) != 3 || ms.PoolMembers[0].Address != "198.18.2.11" || ms.PoolMembers[0].PriorityGroup != 2 {
		t.Fatalf("members %+v", ms.PoolMembers)
	}
	check("disable member", b.PoolMemberStatus("web", "n1:80", "disable"))
	pm, err := b.GetPoolMember("web", "n1:80")
	check("get member", err)
	if pm.Session != "user-disabled" {
		t.Errorf("member session %q after disable", pm.Session)
	}
	check("enable member", basic.PoolMemberStatus("web", "~Common~n1:80", "enable"))
	if pm, _ = b.GetPoolMember("web", "n1:80"); pm.Session != "monitor-enabled" {
		t.Errorf("member session %q after enable (a pool monitor applies)", pm.Session)
	}

	check("create virtual", b.CreateVirtualServer(&bigip.VirtualServer{Name: "vs", Destination: "198.18.1.100:80", IPProtocol: "tcp", Pool: "/Common/web",
		SourceAddressTranslation: struct {
			Type string `json:"type,omitempty"`
			Pool string `json:"pool,omitempty"`
		}{Type: "automap"},
		Profiles: []bigip.Profile{{Name: "/Common/tcp", Context: "all"}}}))
	vs, err := b.GetVirtualServer("vs")
	check("get virtual", err)
	if vs == nil || vs.Destination != "/Common/198.18.1.100:80" || vs.Pool != "/Common/web" || len(vs.Profiles) != 1 || vs.SourceAddressTranslation.Type != "automap" {
		t.Fatalf("virtual %+v", vs)
	}
	check("modify virtual", b.ModifyVirtualServer("vs", &bigip.VirtualServer{Description: "front", Disabled: true}))
	if vs, _ = b.GetVirtualServer("vs"); vs.Description != "front" || !vs.Disabled {
		t.Errorf("virtual after modify %+v", vs)
	}
	out, err := b.RunCommand(&bigip.BigipCommand{Command: "run", UtilCmdArgs: `-c "tmsh save sys config"`})
	check("save", err)
	if !strings.HasPrefix(out.CommandResult, "Saving running configuration") {
		t.Errorf("save answered %+v", out)
	}

	check("delete virtual", b.DeleteVirtualServer("vs"))
	check("delete member", b.DeletePoolMember("web", "198.18.2.13:80"))
	check("delete pool", b.DeletePool("web"))
	check("delete monitor", b.DeleteMonitor("m1", "http"))
	check("delete node", b.DeleteNode("n1"))
	check("delete node 2", basic.DeleteNode("n2"))
	// go-bigip reports a missing object as the 404's message.
	if n, err := b.GetNode("n1"); err == nil || n != nil || !strings.Contains(err.Error(), "The requested Node (/Common/n1) was not found.") {
		t.Errorf("deleted node: %+v, %v", n, err)
	}
	for _, k := range []string{"ltm pool", "ltm virtual", "ltm monitor", "ltm node /Common/n1 "} {
		if got := f.running(); strings.Contains(got, k) {
			t.Errorf("%s left over:\n%s", k, got)
		}
	}
}
