package rest

import (
	"context"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lbx/ctrlplane/config"
	"lbx/internal/pemfile"
)

// TestAnsiblePolicy runs Debian's ansible-playbook with F5's f5_modules,
// unchanged, against the REST server: bigip_policy makes the policy through
// its draft and publishes it, bigip_policy_rule adds each rule through a
// draft of the published policy. The second run of the same playbook
// changes nothing.
func TestAnsiblePolicy(t *testing.T) {
	bin, err := exec.LookPath("ansible-playbook")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ansible-playbook is not installed (.ci/run installs Debian's ansible)")
		}
		t.Skip("ansible-playbook is not installed (apt-get install ansible)")
	}
	f := newFixture(t)
	f.push(`create ltm pool static_pool members add { 198.18.2.13:80 }
create ltm pool app_pool members add { 198.18.2.11:80 198.18.2.12:80 }
`)
	run := ansibleRunner(t, f, bin, "testdata/ansible/policy.yml", nil)
	if ch := run(); len(ch) != 4 {
		t.Errorf("first run changed %v, want the 4 tasks", ch)
	}
	p := f.st.Running().Policies["/Common/arr_pol"]
	if p == nil || p.Description != "ARR routing" || p.Strategy != config.StrategyFirstMatch || len(p.Rules) != 3 {
		t.Fatalf("policy after the playbook: %+v", p)
	}
	byName := map[string]config.PolicyRule{}
	for _, r := range p.Rules {
		byName[r.Name] = r
	}
	st, site, def := byName["static"], byName["site"], byName["default"]
	if len(st.Conditions) != 1 || st.Conditions[0].Operand != config.OperandHTTPURI || st.Conditions[0].Op != config.OpStartsWith ||
		len(st.Conditions[0].Values) != 2 || len(st.Actions) != 1 || st.Actions[0].Pool != "/Common/static_pool" {
		t.Errorf("rule static: %+v", st)
	}
	if len(site.Conditions) != 1 || site.Conditions[0].Operand != config.OperandHTTPHost || site.Conditions[0].Values[0] != "shop.example.com" ||
		len(site.Actions) != 2 || site.Actions[1].Kind != config.ActionHeaderInsert || site.Actions[1].Name != "X-Site" {
		t.Errorf("rule site: %+v", site)
	}
	if len(def.Conditions) != 0 || len(def.Actions) != 1 || def.Actions[0].Pool != "/Common/app_pool" {
		t.Errorf("rule default: %+v", def)
	}
	if d := f.rs.drafts.List(); len(d) != 0 {
		t.Errorf("drafts left after publishing: %v", d)
	}
	if ch := run(); len(ch) != 0 {
		t.Errorf("second run changed %v, want nothing", ch)
	}
	f.must(asAdmin, "POST", "/mgmt/tm/sys/config", map[string]any{"command": "save"}, 200)
	saved, err := os.ReadFile(filepath.Join(f.dir, "bigip.conf"))
	if err != nil || strings.Contains(string(saved), "PRIVATE KEY-----") {
		t.Fatalf("bigip.conf (%v):\n%s", err, saved)
	}
}

// ansibleRunner returns a function that runs playbook book with Debian's
// ansible-playbook against f's server (vars lbx_server, lbx_port,
// lbx_user, lbx_password and extra) and returns the tasks that changed,
// failing the test on a failed task.
func ansibleRunner(t *testing.T, f *fixture, bin, book string, extra map[string]string) func() []string {
	t.Helper()
	u, err := url.Parse(f.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(u.Host)
	dir := t.TempDir()
	all := map[string]string{"lbx_server": host, "lbx_port": port, "lbx_user": "admin", "lbx_password": password("admin")}
	for k, v := range extra {
		all[k] = v
	}
	vars, _ := json.Marshal(all)
	varsFile := filepath.Join(dir, "vars.json")
	if err := os.WriteFile(varsFile, vars, 0o600); err != nil {
		t.Fatal(err)
	}
	playbook, err := filepath.Abs(book)
	if err != nil {
		t.Fatal(err)
	}
	return func() (changed []string) {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "-i", "localhost,", "-e", "@"+varsFile, playbook)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "HOME="+dir, "ANSIBLE_STDOUT_CALLBACK=json", "ANSIBLE_LOCALHOST_WARNING=false",
			"ANSIBLE_INVENTORY_UNPARSED_WARNING=false", "ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3",
			"ANSIBLE_RETRY_FILES_ENABLED=false", "F5_TELEMETRY_OFF=true")
		out, err := cmd.Output()
		var rep struct {
			Plays []struct {
				Tasks []struct {
					Task struct {
						Name string `json:"name"`
					} `json:"task"`
					Hosts map[string]struct {
						Changed bool   `json:"changed"`
						Failed  bool   `json:"failed"`
						Msg     string `json:"msg"`
					} `json:"hosts"`
				} `json:"tasks"`
			} `json:"plays"`
		}
		if jerr := json.Unmarshal(out, &rep); jerr != nil {
			t.Fatalf("ansible-playbook: %v; output is not the json callback's: %v\n%s", err, jerr, out)
		}
		for _, p := range rep.Plays {
			for _, task := range p.Tasks {
				for _, h := range task.Hosts {
					if h.Failed {
						t.Errorf("task %q failed: %s", task.Task.Name, h.Msg)
					}
					if h.Changed {
						changed = append(changed, task.Task.Name)
					}
				}
			}
		}
		if err != nil || t.Failed() {
			t.Fatalf("ansible-playbook: %v\n%s", err, f.logs.String())
		}
		return changed
	}
}

// TestAnsibleSSLFiles runs Ansible's bigip_ssl_certificate, bigip_ssl_key
// and bigip_profile_client_ssl,
// unchanged: they upload the PEM, install it as sys file objects and make
// a client-ssl profile of them. The key is never shown back, the saved
// file loads back to the same key, and a second run changes nothing.
func TestAnsibleSSLFiles(t *testing.T) {
	bin, err := exec.LookPath("ansible-playbook")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ansible-playbook is not installed (.ci/run installs Debian's ansible)")
		}
		t.Skip("ansible-playbook is not installed (apt-get install ansible)")
	}
	f := newFixture(t)
	certPEM, keyPEM, err := pemfile.SelfSigned("www.example.com")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "www.crt"), filepath.Join(dir, "www.key")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	run := ansibleRunner(t, f, bin, "testdata/ansible/sslfiles.yml", map[string]string{"cert_file": certFile, "key_file": keyFile})
	if ch := run(); len(ch) != 3 {
		t.Errorf("first run changed %v, want the 3 tasks", ch)
	}
	c := f.st.Running()
	// Ansible's file lookup drops the final newline: the object holds
	// what was uploaded.
	crt, key, p := c.Files["/Common/www.crt"], c.Files["/Common/www.key"], c.Profiles["/Common/ssl_www"]
	if crt == nil || strings.TrimSpace(crt.Content) != strings.TrimSpace(string(certPEM)) || key == nil || strings.TrimSpace(key.Content) != strings.TrimSpace(string(keyPEM)) {
		t.Fatalf("sys files after the playbook: %+v %+v", crt, key)
	}
	if p == nil || p.Cert.V != "/Common/www.crt" || p.Key.V != "/Common/www.key" {
		t.Fatalf("profile after the playbook: %+v", p)
	}
	if _, err := pemfile.Pair([]byte(crt.Content), []byte(key.Content), key.Passphrase); err != nil {
		t.Fatalf("the installed pair: %v", err)
	}
	if out := f.running(); strings.Contains(out, "PRIVATE KEY-----") || !strings.Contains(out, pemfile.Hidden([]byte(key.Content))) {
		t.Fatalf("the running configuration shows the key:\n%s", out)
	}
	if ups, _ := os.ReadDir(filepath.Join(f.dir, "uploads")); len(ups) != 0 {
		t.Errorf("uploads left after the modules removed them: %v", ups)
	}
	if ch := run(); len(ch) != 0 {
		t.Errorf("second run changed %v, want nothing", ch)
	}
	f.must(asAdmin, "POST", "/mgmt/tm/sys/config", map[string]any{"command": "save"}, 200)
	saved, err := os.ReadFile(filepath.Join(f.dir, "bigip.conf"))
	if err != nil || strings.Contains(string(saved), "PRIVATE KEY-----") {
		t.Fatalf("bigip.conf (%v):\n%s", err, saved)
	}
}
