package testbed

import (
	"net/netip"
	"strings"
	"testing"
)

func TestCheckPeer(t *testing.T) {
	topo := DefaultTopology()
	good := []PeerLink{
		{Bridge: "br-client", SwEnd: "v-p-c", Name: "eth0", Addr: netip.MustParsePrefix("198.18.1.200/24")},
		{Bridge: "br-server", SwEnd: "v-p-s", Name: "eth1", Addr: netip.MustParsePrefix("198.18.2.200/24")},
	}
	if err := topo.checkPeer("lbx-peer", good); err != nil {
		t.Fatalf("checkPeer(good) = %v", err)
	}
	with := func(i int, f func(*PeerLink)) []PeerLink {
		l := append([]PeerLink(nil), good...)
		f(&l[i])
		return l
	}
	tests := []struct {
		name, ns string
		links    []PeerLink
		wantErr  string
	}{
		{"not lbx-", "peer", good, `must start with "lbx-"`},
		{"testbed namespace", "lbx-sw", good, "belongs to the testbed"},
		{"unknown bridge", "lbx-peer", with(0, func(l *PeerLink) { l.Bridge = "br-x" }), `no bridge "br-x"`},
		{"host address", "lbx-peer", with(1, func(l *PeerLink) { l.Addr = netip.MustParsePrefix("198.18.2.12/24") }), "is host server2"},
		{"self IP", "lbx-peer", with(0, func(l *PeerLink) { l.Addr = netip.MustParsePrefix("198.18.1.2/24") }), "is a self IP"},
		{"VIP", "lbx-peer", with(0, func(l *PeerLink) { l.Addr = netip.MustParsePrefix("198.18.1.100/24") }), "is the VIP"},
		{"host veth", "lbx-peer", with(0, func(l *PeerLink) { l.SwEnd = "v-client" }), "is host client"},
		{"appliance port", "lbx-peer", with(0, func(l *PeerLink) { l.SwEnd = "lbx-ext" }), "is an appliance port"},
		{"long name", "lbx-peer", with(0, func(l *PeerLink) { l.SwEnd = "v-0123456789abcdef" }), "not a valid interface name"},
		{"same address twice", "lbx-peer", with(1, func(l *PeerLink) { l.Addr = good[0].Addr }), "is peer lbx-peer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := topo.checkPeer(tc.ns, tc.links)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("checkPeer() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}
