package tmsh

import (
	"strings"
	"testing"
)

// An address no virtual server or node may have is refused at the command
// that introduces it, with the object, the property and the reason, and
// nothing of the command is applied; a link-local VIP is applied with a
// warning in the command's output.
func TestAddressRefusedAtCommand(t *testing.T) {
	s, dp := newTestStore(t, DefaultConfigText())
	installs := dp.Count()
	tests := []struct {
		cmd, want string
	}{
		{"create ltm virtual vs_hijack destination 198.18.2.11:8080 pool web_pool",
			"ltm virtual /Common/vs_hijack: destination /Common/198.18.2.11:8080: address is the address of node /Common/198.18.2.11 (a server): the appliance would answer ARP for it and take its traffic"},
		{"create ltm virtual vs_bcast destination 198.18.1.255:80 pool web_pool",
			"ltm virtual /Common/vs_bcast: destination /Common/198.18.1.255:80: is the broadcast address of connected network 198.18.1.0/24 (self /Common/self_client)"},
		{"create ltm virtual vs_mcast destination 224.0.0.1:80",
			"ltm virtual /Common/vs_mcast: destination /Common/224.0.0.1:80: is a multicast address (224.0.0.0/4)"},
		{"create ltm virtual vs_lo destination 127.0.0.1:80",
			"ltm virtual /Common/vs_lo: destination /Common/127.0.0.1:80: is a loopback address (127.0.0.0/8)"},
		{"create ltm virtual vs_any destination 0.0.0.0:80",
			"ltm virtual /Common/vs_any: destination /Common/0.0.0.0:80: is the unspecified address 0.0.0.0"},
		{"modify ltm pool web_pool members add { 198.18.2.2:80 }",
			"ltm node /Common/198.18.2.2: address 198.18.2.2: address is self IP /Common/self_server (the appliance's own address)"},
		{"modify ltm pool web_pool members add { 198.18.1.100:80 }",
			"ltm virtual /Common/vs_http: destination /Common/198.18.1.100:80: address is the address of node /Common/198.18.1.100 (a server): the appliance would answer ARP for it and take its traffic"},
		{"create ltm node n_bcast address 198.18.2.255",
			"ltm node /Common/n_bcast: address 198.18.2.255: is the broadcast address of connected network 198.18.2.0/24 (self /Common/self_server)"},
	}
	for _, tt := range tests {
		_, err := s.Exec(tt.cmd)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s:\n got: %v\nwant: %s", tt.cmd, err, tt.want)
		}
	}
	if n := dp.Count(); n != installs {
		t.Errorf("refused commands installed %d programs", n-installs)
	}
	out, err := s.Exec("create ltm virtual vs_ll destination 169.254.10.10:80 pool web_pool")
	if err != nil {
		t.Fatal(err)
	}
	if want := "warning: ltm virtual /Common/vs_ll: destination /Common/169.254.10.10:80: is a link-local address (169.254.0.0/16): clients behind a router cannot reach it\n"; out != want {
		t.Errorf("link-local VIP: output %q, want %q", out, want)
	}
}
