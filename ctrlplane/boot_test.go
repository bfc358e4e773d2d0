package ctrlplane

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
)

func TestLoadBootDefault(t *testing.T) {
	b, err := LoadBoot("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.Control.Socket != "/run/lbx/lbx.sock" {
		t.Errorf("control.socket = %q, want /run/lbx/lbx.sock", b.Control.Socket)
	}
	want := []PortBoot{
		{Name: "lbx-ext", Driver: "tap", Device: "lbx-ext", MAC: "02:00:5e:10:01:02"},
		{Name: "lbx-int", Driver: "tap", Device: "lbx-int", MAC: "02:00:5e:10:02:02"},
	}
	if d := cmp.Diff(want, b.Ports); d != "" {
		t.Errorf("ports (-want +got):\n%s", d)
	}
	n := b.NetConfig()
	if len(n.SelfIPs) != 2 || n.SelfIPs[0].Prefix.String() != "198.18.1.2/24" || n.SelfIPs[1].Port != "lbx-int" {
		t.Errorf("self IPs = %+v", n.SelfIPs)
	}
}

// Precedence: flag > environment > file > embedded default.
func TestLoadBootPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "boot.yaml")
	os.WriteFile(file, []byte("control:\n  socket: /file.sock\nconfig:\n  saved: /file.conf\nflows:\n  capacity: 100\n"), 0o600)
	t.Setenv("LBX_CONFIG_SAVED", "/env.conf")
	t.Setenv("LBX_FLOWS_CAPACITY", "200")
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	BootFlags(fs)
	if err := fs.Parse([]string{"--flows.capacity", "300"}); err != nil {
		t.Fatal(err)
	}
	b, err := LoadBoot(file, fs)
	if err != nil {
		t.Fatal(err)
	}
	got := []any{b.Control.Socket, b.Config.Saved, b.Flows.Capacity, b.Log.Level}
	want := []any{"/file.sock", "/env.conf", 300, "info"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("socket, saved, capacity, level (-want +got):\n%s", d)
	}
}

func TestLoadBootListsAsJSON(t *testing.T) {
	t.Setenv("LBX_PORTS", `[{"name":"a","driver":"tap","device":"tapa","mac":"02:00:00:00:00:0a"}]`)
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	BootFlags(fs)
	if err := fs.Parse([]string{`--selfips=[{"name":"s","address":"10.9.0.1/24","port":"a"}]`}); err != nil {
		t.Fatal(err)
	}
	b, err := LoadBoot("", fs)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Ports) != 1 || b.Ports[0].Device != "tapa" || len(b.SelfIPs) != 1 || b.SelfIPs[0].Address != "10.9.0.1/24" {
		t.Fatalf("ports %+v selfips %+v", b.Ports, b.SelfIPs)
	}
}

// TestLoadBootPortDrivers: each port picks its driver; both load.
func TestLoadBootPortDrivers(t *testing.T) {
	t.Setenv("LBX_PORTS", `[{"name":"a","driver":"tap","device":"tapa","mac":"02:00:00:00:00:0a"},`+
		`{"name":"b","driver":"afxdp","device":"eth1","mac":"02:00:00:00:00:0b"}]`)
	t.Setenv("LBX_SELFIPS", `[]`)
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	BootFlags(fs)
	b, err := LoadBoot("", fs)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{b.Ports[0].Driver, b.Ports[1].Driver, b.Ports[1].Device}
	if d := cmp.Diff([]string{"tap", "afxdp", "eth1"}, got); d != "" {
		t.Errorf("drivers (-want +got):\n%s", d)
	}
}

func TestLoadBootErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"bad driver", "ports:\n  - {name: p, driver: xdp, device: d, mac: '02:00:00:00:00:01'}\nselfips: []\n", []string{"ports[0] (p): driver \"xdp\": want one of tap, afxdp"}},
		{"bad mac", "ports:\n  - {name: p, driver: tap, device: d, mac: nope}\nselfips: []\n", []string{"ports[0] (p): mac \"nope\""}},
		{"self on unknown port", "selfips:\n  - {name: s, address: 198.18.9.1/24, port: nope}\n", []string{"selfips[0] (s): port \"nope\": no such port"}},
		{"bad prefix", "selfips:\n  - {name: s, address: 198.18.9.1, port: lbx-ext}\n", []string{"selfips[0] (s): address \"198.18.9.1\""}},
		{"bad level and capacity", "log: {level: loud}\nflows: {capacity: -1}\n", []string{"log.level \"loud\"", "flows.capacity -1"}},
		{"unparsable", "ports: [\n", []string{"boot config"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "boot.yaml")
			os.WriteFile(file, []byte(tc.yaml), 0o600)
			_, err := LoadBoot(file, nil)
			if err == nil {
				t.Fatal("LoadBoot accepted a bad config")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// Issue 12 item 9: unknown keys, unusable MACs, overlapping self-IP
// subnets and an unbounded flow table were accepted. Each is refused,
// naming the key.
func TestLoadBootRefuses(t *testing.T) {
	const gib = 1 << 30
	mem := uint64(64 * gib)
	orig := machineMemory
	machineMemory = func() (uint64, error) { return mem, nil }
	t.Cleanup(func() { machineMemory = orig })

	port := func(name, mac string) string {
		return "  - {name: " + name + ", driver: tap, device: " + name + ", mac: '" + mac + "'}\n"
	}
	self := func(name, addr, port string) string {
		return "  - {name: " + name + ", address: " + addr + ", port: " + port + "}\n"
	}
	tests := []struct {
		name, yaml string
		mem        uint64 // 0: 64 GiB
		want       []string
	}{
		{"unknown top key", "flow:\n  capacity: 10\n", 0, []string{`unknown key "flow.capacity"`}},
		{"misspelt key in a section", "control:\n  sokcet: /x.sock\n", 0, []string{`unknown key "control.sokcet"`}},
		{"value for a section", "config: /etc/b.yaml\n", 0, []string{"config: want a section (config.saved, config.fallback), got a value"}},
		{"unknown port key", "ports:\n  - {name: p, driver: tap, device: p, mac: '02:00:00:00:00:01', mtu: 9000}\nselfips: []\n", 0,
			[]string{`ports: [0]: unknown key "mtu"`}},
		{"unknown self IP key", "selfips:\n  - {name: s, address: 198.18.1.2/24, port: lbx-ext, vlan: x}\n", 0,
			[]string{`selfips: [0]: unknown key "vlan"`}},
		{"multicast MAC", "ports:\n" + port("p", "01:00:5e:00:00:01") + "selfips: []\n", 0, []string{"ports[0] (p): mac 01:00:5e:00:00:01: multicast"}},
		{"broadcast MAC", "ports:\n" + port("p", "ff:ff:ff:ff:ff:ff") + "selfips: []\n", 0, []string{"ports[0] (p): mac ff:ff:ff:ff:ff:ff: multicast (or broadcast)"}},
		{"all-zero MAC", "ports:\n" + port("p", "00:00:00:00:00:00") + "selfips: []\n", 0, []string{"ports[0] (p): mac 00:00:00:00:00:00: all zeros"}},
		{"duplicate MAC", "ports:\n" + port("a", "02:00:00:00:00:01") + port("b", "02:00:00:00:00:01") + "selfips: []\n", 0,
			[]string{"ports[1] (b): mac 02:00:00:00:00:01: duplicate, port a has it too"}},
		{"same subnet", "selfips:\n" + self("s1", "198.18.1.2/24", "lbx-ext") + self("s2", "198.18.1.3/24", "lbx-int"), 0,
			[]string{"selfips[1] (s2): address 198.18.1.3/24: subnet overlaps self IP s1 (198.18.1.2/24)"}},
		{"nested subnet", "selfips:\n" + self("s1", "10.0.0.1/8", "lbx-ext") + self("s2", "10.1.2.3/24", "lbx-int"), 0,
			[]string{"selfips[1] (s2): address 10.1.2.3/24: subnet overlaps self IP s1"}},
		{"duplicate self IP name", "selfips:\n" + self("s", "10.0.0.1/24", "lbx-ext") + self("s", "10.0.1.1/24", "lbx-int"), 0,
			[]string{"selfips[1] (s): name: duplicate self IP"}},
		{"capacity 4e9", "flows: {capacity: 4e9}\n", 0, []string{"flows.capacity 4000000000: at most 16777216"}},
		{"capacity over memory", "flows: {capacity: 8388608}\n", 2 * gib, []string{"flows.capacity 8388608: needs about 1280 MiB, more than half of the machine's 2048 MiB; at most 6710886 here"}},
		{"capacity negative", "flows: {capacity: -5}\n", 0, []string{"flows.capacity -5: must be >= 0 (0: sized from memory)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem = 64 * gib
			if tc.mem != 0 {
				mem = tc.mem
			}
			file := filepath.Join(t.TempDir(), "boot.yaml")
			os.WriteFile(file, []byte(tc.yaml), 0o600)
			_, err := LoadBoot(file, nil)
			if err == nil {
				t.Fatal("LoadBoot accepted a bad config")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// What the checks must not refuse: the default, distinct subnets, the
// largest capacity the machine allows, and list keys in any case.
func TestLoadBootAccepts(t *testing.T) {
	orig := machineMemory
	machineMemory = func() (uint64, error) { return 64 << 30, nil }
	t.Cleanup(func() { machineMemory = orig })
	for _, y := range []string{
		"",
		"flows: {capacity: 16777216}\n",
		"selfips:\n  - {name: a, address: 10.0.0.1/25, port: lbx-ext}\n  - {name: b, address: 10.0.0.129/25, port: lbx-int}\n",
		"ports:\n  - {Name: lbx-ext, Driver: tap, Device: e, MAC: '02:00:00:00:00:01'}\n  - {name: lbx-int, driver: tap, device: i, mac: '02:00:00:00:00:02'}\n",
	} {
		file := filepath.Join(t.TempDir(), "boot.yaml")
		os.WriteFile(file, []byte(y), 0o600)
		if _, err := LoadBoot(file, nil); err != nil {
			t.Errorf("LoadBoot(%q): %v", y, err)
		}
	}
	t.Setenv("LBX_PORTS", `[{"name":"lbx-ext","driver":"tap","device":"e","mac":"02:00:00:00:00:01","mtu":9000}]`)
	if _, err := LoadBoot("", nil); err == nil || !strings.Contains(err.Error(), `unknown field "mtu"`) {
		t.Errorf("LBX_PORTS with an unknown field: %v", err)
	}
}

// Issue 15: flows.capacity 0 (the default) sizes the flow table from the
// machine's memory, 1/64 of it in powers of two, within bounds; a number
// is taken as given.
func TestBootFlowCapacity(t *testing.T) {
	const mib, gib = 1 << 20, 1 << 30
	orig := machineMemory
	t.Cleanup(func() { machineMemory = orig })
	tests := []struct {
		name     string
		capacity int
		mem      uint64
		memErr   error
		want     int
	}{
		{"512 MiB: the floor", 0, 512 * mib, nil, 65536},
		{"1 GiB", 0, gib, nil, 131072},
		{"2 GiB", 0, 2 * gib, nil, 262144},
		{"3 GiB rounds down", 0, 3 * gib, nil, 262144},
		{"8 GiB", 0, 8 * gib, nil, 1 << 20},
		{"1 TiB: the ceiling", 0, 1024 * gib, nil, 1 << 24},
		{"memory unknown", 0, 0, errors.New("no sysinfo"), 65536},
		{"given", 1000, 8 * gib, nil, 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			machineMemory = func() (uint64, error) { return tc.mem, tc.memErr }
			var b Boot
			b.Flows.Capacity = tc.capacity
			if got := b.FlowCapacity(); got != tc.want {
				t.Errorf("FlowCapacity() = %d, want %d", got, tc.want)
			}
			if tc.memErr == nil && tc.capacity == 0 && uint64(tc.want)*128 > max(tc.mem/64, 65536*128) {
				t.Errorf("%d flows take more than 1/64 of %d bytes", tc.want, tc.mem)
			}
		})
	}
}
