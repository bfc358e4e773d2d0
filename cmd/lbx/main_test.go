package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lbx/testbed"
)

func TestStatusJSONKeys(t *testing.T) {
	st := &testbed.State{VIP: "198.18.1.100", Socket: "/run/lbx/lbx.sock",
		Hosts: map[string]string{"client": "198.18.1.10", "server1": "198.18.2.11"},
		SSH:   "127.0.0.1:40022", Mgmt: "https://127.0.0.1:40443", User: "admin", Password: "pw-Secret_1",
		Procs: []testbed.Proc{{Name: "appliance", PID: 42}}, Topology: "arr",
		Appliances: []testbed.ApplianceState{
			{Name: "bigip", Socket: "/run/lbx/lbx.sock", SSH: "127.0.0.1:40022", Mgmt: "https://127.0.0.1:40443", Proc: "appliance"},
			{Name: "arr1", Socket: "/run/lbx/testbed/arr1.sock", Proc: "appliance-arr1"},
		}}
	var buf bytes.Buffer
	if err := printStatus(&buf, st, "json"); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("status -o json is not JSON: %v\n%s", err, buf.String())
	}
	want := map[string]any{
		"vip":      "198.18.1.100",
		"socket":   "/run/lbx/lbx.sock",
		"hosts":    map[string]any{"client": "198.18.1.10", "server1": "198.18.2.11"},
		"ssh":      "127.0.0.1:40022",
		"mgmt":     "https://127.0.0.1:40443",
		"user":     "admin",
		"password": "pw-Secret_1",
		"topology": "arr",
		// pid 42 is not the recorded command: both stopped.
		"appliances": []any{
			map[string]any{"name": "bigip", "socket": "/run/lbx/lbx.sock", "ssh": "127.0.0.1:40022", "mgmt": "https://127.0.0.1:40443", "state": "stopped"},
			map[string]any{"name": "arr1", "socket": "/run/lbx/testbed/arr1.sock", "state": "stopped"},
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("status json (-want +got):\n%s", d)
	}
	// The text form shows where to log in, and where the password is, not
	// the password.
	buf.Reset()
	if err := printStatus(&buf, st, "text"); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	for _, w := range []string{"ssh            127.0.0.1:40022 (user admin; password: lbx testbed status -o json)", "mgmt           https://127.0.0.1:40443"} {
		if !strings.Contains(text, w) {
			t.Errorf("status text lacks %q:\n%s", w, text)
		}
	}
	if strings.Contains(text, st.Password) {
		t.Errorf("status text shows the password:\n%s", text)
	}
	if err := printStatus(&buf, st, "xml"); err == nil {
		t.Error("-o xml accepted")
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"nothing", nil, "no command"},
		{"unknown", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"push without file", []string{"push"}, "usage: lbx push ["},
		{"-c with extra words", []string{"-c", "list", "ltm"}, "-c takes one quoted command"},
		{"testbed without verb", []string{"testbed"}, "usage: lbx testbed"},
		{"testbed up, unknown port driver", []string{"testbed", "up", "--port-driver", "dpdk"}, `port driver "dpdk": want one of tap, afxdp`},
		{"testbed up, stray argument", []string{"testbed", "up", "now"}, "usage: lbx testbed up [--topology NAME|FILE] [--port-driver tap|afxdp]"},
		{"testbed up, unknown topology", []string{"testbed", "up", "--topology", "nosuch"}, `topology "nosuch": no such built-in (default, arr, ha)`},
		{"testbed up, bad topology file", []string{"testbed", "up", "--topology", "/nonexistent/t.yaml"}, "topology: open /nonexistent/t.yaml"},
		{"appliance and socket", []string{"--socket", "/x.sock", "--appliance", "arr1", "-c", "list ltm"}, "--socket and --appliance: give one"},
		{"appliance without testbed", []string{"--appliance", "arr1", "--testbed-state", "/nonexistent", "-c", "list ltm"}, "--appliance arr1: testbed: not up"},
		{"exec unknown host", []string{"testbed", "exec", "nohost", "--", "true"}, `no host "nohost"`},
		{"no appliance", []string{"--socket", "/nonexistent/lbx.sock", "-c", "list ltm"}, "no appliance is running"},
		{"bad boot flag", []string{"run", "--log.level", "loud", "--control.socket", "/tmp/x.sock"}, `log.level "loud"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(tc.args, strings.NewReader(""), &out, &errb)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run(%q) = %v, want an error containing %q", tc.args, err, tc.want)
			}
		})
	}
}

// --appliance NAME finds the appliance's control socket in the testbed's
// state file.
func TestApplianceFlag(t *testing.T) {
	dir := t.TempDir()
	st := testbed.State{Socket: dir + "/bigip.sock", Appliances: []testbed.ApplianceState{
		{Name: "bigip", Socket: dir + "/bigip.sock"}, {Name: "arr2", Socket: dir + "/arr2.sock"}}}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/state.json", b, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	err = run([]string{"--appliance", "arr2", "--testbed-state", dir, "-c", "list ltm"}, strings.NewReader(""), &out, &errb)
	if err == nil || !strings.Contains(err.Error(), dir+"/arr2.sock") {
		t.Fatalf("--appliance arr2: %v, want the error to name %s/arr2.sock", err, dir)
	}
	err = run([]string{"--appliance", "arr3", "--testbed-state", dir, "-c", "list ltm"}, strings.NewReader(""), &out, &errb)
	if err == nil || !strings.Contains(err.Error(), `no appliance "arr3" (appliances: bigip, arr2)`) {
		t.Fatalf("--appliance arr3: %v", err)
	}
}
