package testbed

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// requireTool fails under CI (where .ci/run installs it) and skips
// elsewhere when a Debian tool the test drives is missing.
func requireTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed (.ci/run installs Debian's %s)", name, pkg)
	}
	t.Skipf("%s is not installed (apt-get install %s)", name, pkg)
	return ""
}

// playbookRun is what Ansible's json stdout callback reports of one run.
type playbookRun struct {
	Plays []struct {
		Tasks []struct {
			Task struct {
				Name string `json:"name"`
			} `json:"task"`
			Hosts map[string]struct {
				Changed bool   `json:"changed"`
				Failed  bool   `json:"failed"`
				Msg     string `json:"msg"`
				Results []struct {
					Changed bool   `json:"changed"`
					Failed  bool   `json:"failed"`
					Msg     string `json:"msg"`
				} `json:"results"`
			} `json:"hosts"`
		} `json:"tasks"`
	} `json:"plays"`
	Stats map[string]struct {
		Changed     int `json:"changed"`
		Failures    int `json:"failures"`
		Unreachable int `json:"unreachable"`
		Ok          int `json:"ok"`
	} `json:"stats"`
}

// runPlaybook runs testdata/ansible/NAME against the testbed's management
// API with Debian's ansible-playbook and F5's f5_modules, unchanged, and
// returns the run's report; it fails the test on any failed task.
func runPlaybook(t *testing.T, tb *Testbed, name string, extra ...map[string]string) playbookRun {
	t.Helper()
	bin := requireTool(t, "ansible-playbook", "ansible")
	host, port, ok := strings.Cut(strings.TrimPrefix(tb.State.Mgmt, "https://"), ":")
	if !ok {
		t.Fatalf("testbed mgmt %q is not https://HOST:PORT", tb.State.Mgmt)
	}
	dir := t.TempDir()
	// The password goes in a file, not on the command line.
	all := map[string]string{"lbx_server": host, "lbx_port": port, "lbx_user": tb.State.User, "lbx_password": tb.State.Password}
	for _, e := range extra {
		maps.Copy(all, e)
	}
	vars, _ := json.Marshal(all)
	varsFile := filepath.Join(dir, "vars.json")
	if err := os.WriteFile(varsFile, vars, 0o600); err != nil {
		t.Fatal(err)
	}
	playbook, err := filepath.Abs(filepath.Join("testdata", "ansible", name))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-i", "localhost,", "-e", "@"+varsFile, playbook)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"HOME="+dir, // ansible's ~/.ansible/tmp
		"ANSIBLE_STDOUT_CALLBACK=json",
		"ANSIBLE_LOCALHOST_WARNING=false",
		"ANSIBLE_INVENTORY_UNPARSED_WARNING=false",
		"ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3",
		"ANSIBLE_RETRY_FILES_ENABLED=false",
		"F5_TELEMETRY_OFF=true", // no call home from a test
	)
	out, err := cmd.Output()
	var run playbookRun
	if jerr := json.Unmarshal(out, &run); jerr != nil {
		t.Fatalf("ansible-playbook %s: %v; its output is not the json callback's: %v\n%s", name, err, jerr, out)
	}
	for _, p := range run.Plays {
		for _, task := range p.Tasks {
			for _, h := range task.Hosts {
				if h.Failed {
					t.Errorf("task %q failed: %s", task.Task.Name, h.Msg)
				}
				for _, r := range h.Results {
					if r.Failed {
						t.Errorf("task %q: an item failed: %s", task.Task.Name, r.Msg)
					}
				}
			}
		}
	}
	if err != nil || t.Failed() {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("ansible-playbook %s: %v\n%s", name, err, stderr)
	}
	return run
}

// changedTasks names the tasks of a run that reported a change.
func (r playbookRun) changedTasks() []string {
	var names []string
	for _, p := range r.Plays {
		for _, task := range p.Tasks {
			for _, h := range task.Hosts {
				if h.Changed {
					names = append(names, task.Task.Name)
				}
			}
		}
	}
	return names
}

// restPatch sends one PATCH to the testbed's management API as its admin.
func restPatch(t *testing.T, tb *Testbed, path, body string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // the appliance's self-signed certificate
	}}
	defer c.CloseIdleConnections()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPatch, tb.State.Mgmt+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(tb.State.User, tb.State.Password)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH %s %s: %s\n%s", path, body, resp.Status, b)
	}
}

// Issue 14: an Ansible playbook of F5's own modules (bigip_node,
// bigip_monitor_http, bigip_pool with priority-group activation,
// bigip_pool_member enabled/disabled/forced_offline, bigip_virtual_server
// with SNAT automap, bigip_device_info, bigip_config save) runs unchanged
// against the testbed's appliance: it succeeds, and a second run changes
// nothing. Then a member forced offline through the API stops receiving
// new connections and one enabled receives them, on real traffic.
func TestIntegrationAnsibleLifecycle(t *testing.T) {
	requireTool(t, "ansible-playbook", "ansible")
	tb := upTestbed(t)
	first := runPlaybook(t, tb, "lifecycle.yml")
	if changed := first.changedTasks(); !slices.Contains(changed, "Members") || !slices.Contains(changed, "Virtual server with SNAT automap") {
		t.Errorf("the first run changed only %q", changed)
	}
	second := runPlaybook(t, tb, "lifecycle.yml")
	// bigip_config save reports a change every time, on a BIG-IP too
	// (shared/icontrol-rest.md §7); every other task must be idempotent.
	if changed := second.changedTasks(); !slices.Equal(changed, []string{"Save the running config"}) {
		t.Errorf("the second run changed %q, want only the save", changed)
	}

	app := tb.Client()
	const pool, vs = "ans_pool", "http://198.18.1.101/"
	n1, n3 := "/Common/ans_n1:80", "/Common/ans_n3:80"
	waitMember(t, app, pool, n1, "up", 30*time.Second)
	// ans_n1..3 are server4..6, in no pool of the default config.
	// Priority group 10 holds ans_n1 (enabled) and ans_n2 (disabled), and
	// one member is enough: group 5's ans_n3 (forced offline) stays idle.
	if got := countServers(t, tb, vs, 6); !maps.Equal(got, map[string]int{"server4": 6}) {
		t.Fatalf("before any change, answers by server %v, want all from server4 (ans_n1)", got)
	}
	member := func(name string) string {
		return "/mgmt/tm/ltm/pool/~Common~" + pool + "/members/~Common~" + name + ":80"
	}
	restPatch(t, tb, member("ans_n1"), `{"session":"user-disabled","state":"user-down"}`)
	restPatch(t, tb, member("ans_n3"), `{"session":"user-enabled","state":"user-up"}`)
	waitMember(t, app, pool, n3, "up", 30*time.Second)
	if got := countServers(t, tb, vs, 6); !maps.Equal(got, map[string]int{"server6": 6}) {
		t.Fatalf("with ans_n1 forced offline and ans_n3 enabled, answers by server %v, want all from server6", got)
	}
	restPatch(t, tb, member("ans_n1"), `{"session":"user-enabled","state":"user-up"}`)
	waitMember(t, app, pool, n1, "up", 30*time.Second)
	if got := countServers(t, tb, vs, 6); !maps.Equal(got, map[string]int{"server4": 6}) {
		t.Fatalf("with ans_n1 enabled again, answers by server %v, want all from server4 (group 10 again)", got)
	}
	t.Logf("two playbook runs: first changed %d tasks, second %s", len(first.changedTasks()), strconv.Quote(fmt.Sprint(second.changedTasks())))
}

// Issue 17: Ansible's bigip_ssl_certificate and bigip_ssl_key upload a
// certificate and key (openssl's) through /mgmt/shared/file-transfer and
// install them as sys file objects; bigip_profile_client_ssl and
// bigip_virtual_server make an HTTPS virtual of them; real curl through
// the namespaces gets that certificate and a server's answer. The key is
// shown only as its fingerprint, a second run changes nothing, and after
// save sys config the saved bigip.conf holds no key.
func TestIntegrationAnsibleSSLFiles(t *testing.T) {
	requireTool(t, "ansible-playbook", "ansible")
	tb := upTestbed(t)
	dir := t.TempDir()
	key, crt := filepath.Join(dir, "www.key"), filepath.Join(dir, "www.crt")
	if out, err := exec.Command("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", key, "-out", crt, "-days", "1", "-subj", "/CN=ansible.example", "-addext", "subjectAltName=DNS:ansible.example").CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	vars := map[string]string{"cert_file": crt, "key_file": key}
	first := runPlaybook(t, tb, "sslfiles.yml", vars)
	if changed := first.changedTasks(); len(changed) != 5 {
		t.Errorf("the first run changed %q, want all 5 tasks", changed)
	}
	if changed := runPlaybook(t, tb, "sslfiles.yml", vars).changedTasks(); !slices.Equal(changed, []string{"Save the running config"}) {
		t.Errorf("the second run changed %q, want only the save", changed)
	}
	c, err := tb.Command("client", "curl", "-sS", "--max-time", "5", "-k", "-v", "--resolve", "ansible.example:8445:198.18.1.102", "https://ansible.example:8445/")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := c.CombinedOutput()
	out := string(raw)
	i := strings.LastIndex(out, "server=")
	if err != nil || !strings.Contains(out, "subject: CN=ansible.example") || i < 0 || ServerName(out[i:]) == "" {
		t.Fatalf("curl through the key Ansible installed (%v):\n%s", err, out)
	}
	listed, err := tb.Client().Exec("list sys file ssl-key")
	if err != nil || strings.Contains(listed, "PRIVATE KEY-----") || !strings.Contains(listed, "<hidden sha256:") {
		t.Fatalf("list sys file ssl-key (%v):\n%s", err, listed)
	}
	saved, err := os.ReadFile(filepath.Join(tb.applianceDir(0), "bigip.conf"))
	if err != nil || strings.Contains(string(saved), "PRIVATE KEY-----") || !strings.Contains(string(saved), "sys file ssl-key /Common/www.key") {
		t.Fatalf("saved bigip.conf (%v):\n%s", err, saved)
	}
}
