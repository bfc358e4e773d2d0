package ctrlplane

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
)

func TestLoadBootHA(t *testing.T) {
	b, err := LoadBoot("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.HA.Enabled() {
		t.Fatalf("HA on by default: %+v", b.HA)
	}
	file := filepath.Join(t.TempDir(), "boot.yaml")
	os.WriteFile(file, []byte("ha:\n  unit: lbx1\n  vrid: 7\n  priority: 200\n  preempt_delay: 5s\n  advert_interval: 10\n  ports: [lbx-ext, lbx-int]\n  failsafe_vlans: [lbx-int]\n  gateway_failsafe_pool: /Common/gw\n  watchdog: 2s\n"), 0o600)
	b, err = LoadBoot(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := HABoot{Unit: "lbx1", VRID: 7, Priority: 200, Preempt: true, PreemptDelay: 5 * time.Second,
		AdvertInterval: 10, Ports: []string{"lbx-ext", "lbx-int"}, UnicastPeers: []string{},
		FailsafeVLANs: []string{"lbx-int"}, GatewayFailsafePool: "/Common/gw", Watchdog: 2 * time.Second}
	if d := cmp.Diff(want, b.HA); d != "" {
		t.Errorf("ha (-want +got):\n%s", d)
	}
	// Flags and the environment: lists comma-separated.
	t.Setenv("LBX_HA_UNIT", "lbx2")
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	BootFlags(fs)
	if err := fs.Parse([]string{"--ha.ports", "lbx-int", "--ha.priority", "90"}); err != nil {
		t.Fatal(err)
	}
	b, err = LoadBoot(file, fs)
	if err != nil {
		t.Fatal(err)
	}
	if b.HA.Unit != "lbx2" || b.HA.Priority != 90 || !cmp.Equal(b.HA.Ports, []string{"lbx-int"}) {
		t.Errorf("ha from flags and environment: %+v", b.HA)
	}
}

func TestLoadBootHARefuses(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"ha: {unit: u, vrid: 0, ports: [lbx-ext]}\n", "ha.vrid: 0: want 1 to 255"},
		{"ha: {unit: u, priority: 255, ports: [lbx-ext]}\n", "ha.priority: 255: want 1 to 254"},
		{"ha: {unit: u, advert_interval: 4096, ports: [lbx-ext]}\n", "ha.advert_interval: 4096: want 1 to 4095 centiseconds"},
		{"ha: {unit: u, preempt_delay: -1s, ports: [lbx-ext]}\n", "ha.preempt_delay: -1s: want 0s to 1h"},
		{"ha: {unit: u}\n", "ha.ports: must name the data ports to advertise on"},
		{"ha: {unit: u, ports: [eth9]}\n", `ha.ports: "eth9": no such port`},
		{"ha: {unit: u, ports: [lbx-int]}\nselfips:\n  - {name: s, address: 198.18.1.2/24, port: lbx-ext}\n", `ha.ports: "lbx-int": the port has no boot self IP`},
		{"ha: {unit: u, ports: [lbx-ext], unicast_peers: [peer]}\n", `ha.unicast_peers: "peer": want an IPv4 address`},
		{"ha: {unit: u, ports: [lbx-ext], vrrp: 3}\n", `unknown key "ha.vrrp"`},
		{"ha: {unit: u, ports: [lbx-ext], mirror_addr: 10.0.0.1, mirror_peer: 10.0.0.2:1028}\n", `ha.mirror_addr: "10.0.0.1": want ADDR:PORT`},
		{"ha: {unit: u, ports: [lbx-ext], mirror_addr: 10.0.0.1:1028}\n", "ha.mirror_peer: mirror_addr and mirror_peer go together"},
		{"ha: {unit: u, ports: [lbx-ext], mirror_addr: 10.0.0.1:1028, mirror_peer: 10.0.0.2:1028}\n", "ha.mirror_addr: connection mirroring is authenticated with config sync's device trust: set ha.configsync too"},
		{"ha: {configsync: 127.0.0.1}\n", `ha.configsync: "127.0.0.1": needs ha.unit`},
		{"ha: {unit: u, ports: [lbx-ext], configsync: mgmt}\n", `ha.configsync: "mgmt": want IP or IP:PORT`},
		{"ha: {unit: u, ports: [lbx-ext], configsync: \"10.0.0.1:99999\"}\n", `ha.configsync: "10.0.0.1:99999": port "99999": want 1 to 65535`},
		{"ha: {unit: u, ports: [lbx-ext], failsafe_vlans: [eth9]}\n", `ha.failsafe_vlans: "eth9": no such port`},
		{"ha: {unit: u, ports: [lbx-ext], gateway_failsafe_pool: gw}\n", `ha.gateway_failsafe_pool: "gw": want a pool's full path`},
		{"ha: {unit: u, ports: [lbx-ext], gateway_failsafe_min_up: 2}\n", "ha.gateway_failsafe_min_up: 2: set without gateway_failsafe_pool"},
		{"ha: {unit: u, ports: [lbx-ext], gateway_failsafe_pool: /Common/gw, gateway_failsafe_min_up: -1}\n", "ha.gateway_failsafe_min_up: -1: want 0 to 1024"},
		{"ha: {unit: u, ports: [lbx-ext], watchdog: 10ms}\n", "ha.watchdog: 10ms: want 0s (off) or 200ms to 1m"},
		{"ha: {unit: u, ports: [lbx-ext], unicast_peers: [198.18.9.3]}\n", "ha.unicast_peers: 198.18.9.3: on none of the networks of ha.ports' boot self IPs"},
	} {
		file := filepath.Join(t.TempDir(), "boot.yaml")
		os.WriteFile(file, []byte(tc.yaml), 0o600)
		_, err := LoadBoot(file, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
