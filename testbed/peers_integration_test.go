package testbed

import (
	"net/netip"
	"os"
	"strings"
	"testing"
)

// TestIntegrationPeerXSKLink: a peer link marked XSK (bench's second lbx
// takes it over with AF_XDP) comes up without a kernel address, beside
// an ordinary link that has its own; removing the peer removes both.
func TestIntegrationPeerXSKLink(t *testing.T) {
	tb := upTestbed(t)
	const ns = "lbx-test-xsk"
	p, err := tb.AddPeer(ns,
		PeerLink{Bridge: "br-client", SwEnd: "v-txsk-c", Name: "eth0", Addr: netip.MustParsePrefix("198.18.1.210/24"), XSK: true},
		PeerLink{Bridge: "br-server", SwEnd: "v-txsk-s", Name: "eth1", Addr: netip.MustParsePrefix("198.18.2.210/24")},
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := RemovePeer(ns, os.Stderr); err != nil {
			t.Error(err)
		}
	})
	ip := func(args ...string) string {
		t.Helper()
		c, err := p.Command(append([]string{"ip", "-o"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.Output()
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	if out := ip("-4", "addr", "show", "dev", "eth0"); strings.Contains(out, "inet") {
		t.Errorf("XSK link eth0 has a kernel address: %s", out)
	}
	if out := ip("link", "show", "dev", "eth0"); !strings.Contains(out, ",UP") {
		t.Errorf("XSK link eth0 is not up: %s", out)
	}
	if out := ip("-4", "addr", "show", "dev", "eth1"); !strings.Contains(out, "inet 198.18.2.210/24") {
		t.Errorf("ordinary link eth1 lacks its address: %s", out)
	}
	if err := p.Remove(os.Stderr); err != nil {
		t.Fatal(err)
	}
	if nsExists(ns) {
		t.Errorf("namespace %s still there after Remove", ns)
	}
}
