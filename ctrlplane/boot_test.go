package ctrlplane

import (
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

func TestLoadBootErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"bad driver", "ports:\n  - {name: p, driver: xdp, device: d, mac: '02:00:00:00:00:01'}\nselfips: []\n", []string{"ports[0] (p): driver \"xdp\""}},
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
