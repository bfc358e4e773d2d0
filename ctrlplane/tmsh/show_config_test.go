package tmsh

import (
	"strings"
	"testing"
)

func TestShowConfigObjects(t *testing.T) {
	s, _ := newTestStore(t, baseConf+`
ltm monitor http web_mon { defaults-from http interval 3 timeout 10 }
ltm monitor tcp tcp_child { defaults-from tcp }
ltm persistence source-addr sticky { defaults-from source_addr timeout 300 mask 255.255.255.0 }
ltm snatpool outside { members { 198.18.1.50 198.18.1.51 } }
ltm virtual vs2 { destination 198.18.1.101:80 pool web persist { sticky { default yes } } source-address-translation { type snat pool outside } }
net self self_int { address 198.18.2.3/24 vlan server }
net self self_other { address 10.9.9.9/24 vlan other }
net route to_lab { network 10.20.0.0/16 gw 198.18.2.254 }
net route far { network default gw 192.0.2.1 }
auth user ops { role operator password s3cret-Pass }
`)
	if _, err := s.Exec("modify ltm pool web monitor web_mon"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		cmd  string
		want []string // lines the output must contain
		not  []string
	}{
		{"show ltm monitor http web_mon", []string{
			"Ltm::Monitor http: /Common/web_mon", "Parent           : /Common/http", "Interval         : 3s",
			"Timeout          : 10s", "Time Until Up    : 0s", "Instances        : 2",
			"pool /Common/web", "/Common/10.0.0.1:80", "/Common/10.0.0.2:80", "unchecked"}, nil},
		{"show ltm monitor tcp", []string{"Ltm::Monitor tcp: /Common/tcp\n", "Parent           : none (built-in)",
			"Ltm::Monitor tcp: /Common/tcp_child", "Interval         : 5s", "Timeout          : 16s", "Instances        : 0"}, nil},
		{"show ltm persistence source-addr sticky", []string{"Ltm::Persistence source-addr: /Common/sticky",
			"Timeout          : 300s", "Mask             : 255.255.255.0", "Virtual Servers  : /Common/vs2"}, nil},
		{"show ltm snatpool outside", []string{"Translations     : 198.18.1.50, 198.18.1.51", "Virtual Servers  : /Common/vs2", "translated to these addresses"}, nil},
		{"show net self self_int", []string{"Net::Self IP: /Common/self_int", "198.18.2.3/24", "active on port server", "configuration (net self)"}, nil},
		{"show net self self_other", []string{"not on the dataplane: vlan /Common/other is no data port"}, nil},
		{"show net self self_server", []string{"198.18.2.2/24", "active on port server", "boot config (selfips)"}, nil},
		{"show net route to_lab", []string{"Network          : 10.20.0.0/16", "Gateway          : 198.18.2.254", "connected network 198.18.2.0/24 (port server)"}, nil},
		{"show net route far", []string{"Network          : default", "gateway unreachable"}, nil},
		{"show auth user ops", []string{"Auth::User: ops", "Role             : operator", "Password         : bcrypt"}, []string{"s3cret"}},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			got, err := s.Exec(tt.cmd)
			if err != nil {
				t.Fatalf("Exec(%q): %v", tt.cmd, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("%s: output lacks %q:\n%s", tt.cmd, w, got)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(got, w) {
					t.Errorf("%s: output contains %q:\n%s", tt.cmd, w, got)
				}
			}
		})
	}
	if _, err := s.Exec("show ltm snatpool nope"); err == nil || !strings.Contains(err.Error(), "was not found") {
		t.Errorf("show of a missing snatpool: err = %v, want not found", err)
	}
}
