package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lbx/ctrlplane/appliance"
	"lbx/ctrlplane/tmsh"
	"lbx/dataplane"
	"lbx/dataplane/porttest"
)

// newScriptAppliance starts an in-process appliance serving a control
// socket, with the setup below applied, and returns the socket's path.
func newScriptAppliance(t *testing.T) (*appliance.Appliance, string) {
	t.Helper()
	sw := porttest.NewSwitch()
	var ports []dataplane.Port
	for i, name := range []string{"client", "server"} {
		p, err := sw.Port(porttest.Config{Name: name, MAC: porttest.MustMAC([]string{"02:00:5e:00:00:01", "02:00:5e:00:00:02"}[i])})
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, p)
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "lbx.sock")
	app, err := appliance.New(appliance.Config{
		Ports: ports,
		SelfIPs: []dataplane.SelfIP{
			{Name: "/Common/self_client", Prefix: netip.MustParsePrefix("198.18.1.2/24"), Port: "client"},
			{Name: "/Common/self_server", Prefix: netip.MustParsePrefix("198.18.2.2/24"), Port: "server"},
		},
		Socket:    sock,
		SavedPath: filepath.Join(dir, "bigip.conf"), // not there: start empty
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	mustRun(t, "", "--socket", sock, "push", writeFile(t, `create ltm pool web_pool members add { 198.18.2.11:80 198.18.2.12:80 }
create ltm virtual vs_http destination 198.18.1.100:80 pool web_pool
`))
	return app, sock
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// lbx runs the command line as main does and returns its output.
func lbx(stdin string, args ...string) (string, error) {
	var out, errb bytes.Buffer
	err := run(args, strings.NewReader(stdin), &out, &errb)
	return out.String(), err
}

func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := lbx(stdin, args...)
	if err != nil {
		t.Fatalf("lbx %q: %v\n%s", args, err, out)
	}
	return out
}

// snapshot is what must not move under a dry run or a refused push: the
// running configuration as bigip.conf text, its version, and the program
// the dataplane runs.
type snapshot struct {
	text    string
	version uint64
	prog    *dataplane.Program
}

func snap(app *appliance.Appliance) snapshot {
	return snapshot{tmsh.Text(app.Store().Running()), app.Store().Version(), app.Engine().Program()}
}

func (s snapshot) same(t *testing.T, app *appliance.Appliance, when string) {
	t.Helper()
	now := snap(app)
	if now.text != s.text {
		t.Errorf("%s: running configuration changed:\nbefore:\n%s\nafter:\n%s", when, s.text, now.text)
	}
	if now.version != s.version || now.prog != s.prog {
		t.Errorf("%s: version %d → %d, program replaced %v", when, s.version, now.version, now.prog != s.prog)
	}
}

// push --check prints the diff a push would apply and changes nothing,
// in both dialects; a push then applies the same script.
func TestPushCheck(t *testing.T) {
	app, sock := newScriptAppliance(t)
	script := writeFile(t, `modify ltm pool web_pool load-balancing-mode least-connections-member
create ltm pool api_pool members add { 198.18.2.13:8080 }
delete ltm virtual vs_http
`)
	before := snap(app)
	out := mustRun(t, "", "--socket", sock, "push", "--check", script)
	want := "- ltm virtual /Common/vs_http"
	for _, w := range []string{"+ ltm pool /Common/api_pool\n", "~ ltm pool /Common/web_pool\n", want} {
		if !strings.Contains(out, w) {
			t.Errorf("push --check output lacks %q:\n%s", w, out)
		}
	}
	before.same(t, app, "after push --check")

	// The same from standard input, and a script that changes nothing.
	if out := mustRun(t, "list ltm pool web_pool\n", "--socket", sock, "push", "--check", "-"); !strings.Contains(out, "no changes") || !strings.Contains(out, "ltm pool /Common/web_pool {") {
		t.Errorf("push --check of a list: %q", out)
	}

	alt := writeFile(t, "/c/slb/real 9\n\tena\n\trip 198.18.2.19\n")
	out = mustRun(t, "", "--socket", sock, "push", "--dialect", "alteon", "--check", alt)
	if !strings.Contains(out, "/c/slb/real 9\n") || !strings.Contains(out, "rip 198.18.2.19") {
		t.Errorf("alteon push --check output:\n%s", out)
	}
	before.same(t, app, "after an Alteon push --check")

	// A check that adds a monitor and asks for a save readies no check
	// (members keep their status), writes no file, and still refuses an
	// unknown monitor.
	status := mustRun(t, "", "--socket", sock, "-c", "show ltm pool web_pool", "-o", "json")
	out = mustRun(t, "", "--socket", sock, "push", "--check", writeFile(t, "modify ltm pool web_pool monitor http\nsave sys config\n"))
	if !strings.Contains(out, "~ ltm pool /Common/web_pool") {
		t.Errorf("check of a monitor: %q", out)
	}
	if now := mustRun(t, "", "--socket", sock, "-c", "show ltm pool web_pool", "-o", "json"); now != status {
		t.Errorf("a check changed the members' status:\nbefore %s\nafter %s", status, now)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(sock), "bigip.conf")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a check with save sys config wrote the saved file: %v", err)
	}
	if _, err := lbx("", "--socket", sock, "push", "--check", writeFile(t, "modify ltm pool web_pool monitor nope_mon\n")); err == nil {
		t.Error("a check of an unknown monitor passed")
	}
	before.same(t, app, "after the monitor checks")

	mustRun(t, "", "--socket", sock, "push", script)
	if got := app.Store().Running(); got.Pools["/Common/api_pool"] == nil || got.Virtuals["/Common/vs_http"] != nil {
		t.Errorf("push after check did not apply it:\n%s", tmsh.Text(got))
	}
}

// A push with an error on line N names line N, applies nothing, and
// exits with status 1; --check reports the same. Errors found while
// running a line and errors found validating the whole script both point
// at their line.
func TestPushErrorLine(t *testing.T) {
	app, sock := newScriptAppliance(t)
	tests := []struct {
		name, script, want string
	}{
		{"unknown object on line 3", "create ltm pool a_pool\ncreate ltm pool b_pool\nmodify ltm pool nope_pool description x\ncreate ltm pool c_pool\n", "line 3"},
		{"dangling pool found at validation, line 2", "create ltm pool a_pool\ncreate ltm virtual vs2 destination 198.18.1.101:80 pool nope_pool\n", "line 2"},
		{"syntax on line 4", "create ltm pool a_pool\n\n# a comment\ncreate ltm pool b_pool members add { 198.18.2.11:80 \n", "line 4"},
	}
	for _, tc := range tests {
		for _, check := range []bool{false, true} {
			name := tc.name
			args := []string{"--socket", sock, "push", writeFile(t, tc.script)}
			if check {
				name += " --check"
				args = append(args[:3], "--check", args[3])
			}
			t.Run(name, func(t *testing.T) {
				before := snap(app)
				_, err := lbx("", args...)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("lbx %q = %v, want an error naming %s", args, err, tc.want)
				}
				if c := exitCode(err); c != exitFailed {
					t.Errorf("exit status %d, want %d", c, exitFailed)
				}
				before.same(t, app, "after a refused push")
			})
		}
	}
}

// --dialect picks the dialect of -c: alteon runs an Alteon line, tmsh
// refuses one even though it starts with /; --alteon is an alias.
func TestDialectFlag(t *testing.T) {
	_, sock := newScriptAppliance(t)
	mustRun(t, "", "--socket", sock, "push", writeFile(t, "/c/slb/real 1\n\tena\n\trip 198.18.2.21\n"))
	for _, args := range [][]string{
		{"--socket", sock, "--dialect", "alteon", "-c", "/cfg/dump"},
		{"--dialect", "alteon", "--socket", sock, "-c", "/cfg/dump"},
		{"--socket", sock, "--alteon", "-c", "/cfg/dump"},
		{"--socket", sock, "-c", "/cfg/dump"}, // a / line claims Alteon
	} {
		if out := mustRun(t, "", args...); !strings.Contains(out, "/c/slb/real 1\n") || !strings.Contains(out, "rip 198.18.2.21") {
			t.Errorf("lbx %q:\n%s", args, out)
		}
	}
	if _, err := lbx("", "--socket", sock, "--dialect", "tmsh", "-c", "/cfg/dump"); err == nil || exitCode(err) != exitFailed {
		t.Errorf("--dialect tmsh -c /cfg/dump = %v, want tmsh's refusal", err)
	}
	if out := mustRun(t, "", "--socket", sock, "--dialect", "tmsh", "-c", "list ltm pool web_pool"); !strings.Contains(out, "ltm pool /Common/web_pool {") {
		t.Errorf("--dialect tmsh list:\n%s", out)
	}
}

// -o json prints the status layer's structs with their lower-case keys.
func TestShowJSON(t *testing.T) {
	_, sock := newScriptAppliance(t)
	out := mustRun(t, "", "--socket", sock, "-c", "show ltm pool web_pool", "-o", "json")
	var pools []map[string]any
	if err := json.Unmarshal([]byte(out), &pools); err != nil {
		t.Fatalf("show -o json is not JSON: %v\n%s", err, out)
	}
	if len(pools) != 1 {
		t.Fatalf("want one pool:\n%s", out)
	}
	p := pools[0]
	if p["name"] != "/Common/web_pool" || p["mode"] != "round-robin" || p["availability"] == nil || p["traffic"] == nil {
		t.Errorf("pool JSON: %v", p)
	}
	members, _ := p["members"].([]any)
	if len(members) != 2 {
		t.Fatalf("members: %v", p["members"])
	}
	m := members[0].(map[string]any)
	if m["address"] != "198.18.2.11" || m["port"] != 80.0 || m["status"] == nil {
		t.Errorf("member JSON: %v", m)
	}
	if _, ok := m["traffic"].(map[string]any)["cur_conns"]; !ok {
		t.Errorf("member traffic lacks cur_conns: %v", m["traffic"])
	}

	out = mustRun(t, "", "--socket", sock, "-o", "json", "-c", "show ltm virtual")
	var vs []map[string]any
	if err := json.Unmarshal([]byte(out), &vs); err != nil || len(vs) != 1 || vs[0]["destination"] != "198.18.1.100:80" || vs[0]["pool"] != "/Common/web_pool" {
		t.Errorf("show ltm virtual -o json (%v):\n%s", err, out)
	}
	out = mustRun(t, "", "--socket", sock, "-c", "show ltm node", "-o", "json")
	var nodes []map[string]any
	if err := json.Unmarshal([]byte(out), &nodes); err != nil || len(nodes) != 2 || nodes[0]["address"] != "198.18.2.11" || nodes[0]["members"] != 1.0 {
		t.Errorf("show ltm node -o json (%v):\n%s", err, out)
	}
	if _, err := lbx("", "--socket", sock, "-c", "show ltm persistence persist-records", "-o", "json"); err == nil || !strings.Contains(err.Error(), "not implemented") {
		t.Errorf("show ltm persistence persist-records -o json = %v, want that it is not implemented", err)
	}
}

// list -o json prints the typed configuration objects, enumerations as
// their tmsh words.
func TestListJSON(t *testing.T) {
	_, sock := newScriptAppliance(t)
	out := mustRun(t, "", "--socket", sock, "-c", "list ltm pool web_pool", "-o", "json")
	var pools []map[string]any
	if err := json.Unmarshal([]byte(out), &pools); err != nil || len(pools) != 1 {
		t.Fatalf("list ltm pool -o json (%v):\n%s", err, out)
	}
	p := pools[0]
	if p["name"] != "/Common/web_pool" || p["mode"] != "round-robin" || p["slow_ramp_time"] != 10.0 || p["allow_snat"] != true {
		t.Errorf("pool JSON: %v", p)
	}
	members, _ := p["members"].([]any)
	if len(members) != 2 {
		t.Fatalf("members: %v", p["members"])
	}
	if m := members[1].(map[string]any); m["node"] != "/Common/198.18.2.12" || m["port"] != 80.0 || m["state"] == nil || m["session"] == nil {
		t.Errorf("member JSON: %v", m)
	}
	out = mustRun(t, "", "--socket", sock, "-c", "list ltm virtual", "-o", "json")
	var vs []map[string]any
	if err := json.Unmarshal([]byte(out), &vs); err != nil || len(vs) != 1 || vs[0]["destination"] != "198.18.1.100:80" || vs[0]["protocol"] != "tcp" || vs[0]["pool"] != "/Common/web_pool" {
		t.Errorf("list ltm virtual -o json (%v):\n%s", err, out)
	}
	out = mustRun(t, "", "--socket", sock, "-c", "list ltm node /Common/198.18.2.11", "-o", "json")
	var nodes []map[string]any
	if err := json.Unmarshal([]byte(out), &nodes); err != nil || len(nodes) != 1 || nodes[0]["address"] != "198.18.2.11" || nodes[0]["ratio"] != 1.0 {
		t.Errorf("list ltm node -o json (%v):\n%s", err, out)
	}
}

// Usage errors exit with status 2, failures with 1.
func TestExitCodes(t *testing.T) {
	tests := []struct {
		args []string
		want int
	}{
		{nil, exitUsage},
		{[]string{"frobnicate"}, exitUsage},
		{[]string{"push"}, exitUsage},
		{[]string{"--bogus-flag", "-c", "list"}, exitUsage},
		{[]string{"--dialect", "cisco", "-c", "list"}, exitUsage},
		{[]string{"-c", "list", "-o", "xml"}, exitUsage},
		{[]string{"-c", "list", "--check"}, exitUsage},
		{[]string{"testbed"}, exitUsage},
		{[]string{"--socket", "/nonexistent/lbx.sock", "-c", "list ltm"}, exitFailed},
		{[]string{"--socket", "/nonexistent/lbx.sock", "push", "/nonexistent/script"}, exitFailed},
	}
	for _, tc := range tests {
		_, err := lbx("", tc.args...)
		if err == nil || exitCode(err) != tc.want {
			t.Errorf("lbx %q: %v, exit status %d, want %d", tc.args, err, exitCode(err), tc.want)
		}
	}
}
