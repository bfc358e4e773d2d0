package main

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"lbx/ctrlplane"
)

// printedDefault is what `lbx run --print-default` writes, in a file.
func printedDefault(t *testing.T) string {
	t.Helper()
	var out, errb bytes.Buffer
	if err := run([]string{"run", "--print-default"}, strings.NewReader(""), &out, &errb); err != nil {
		t.Fatalf("run --print-default: %v (%s)", err, errb.String())
	}
	if !bytes.Equal(out.Bytes(), ctrlplane.DefaultBootYAML()) {
		t.Fatalf("--print-default printed something else than the embedded default:\n%s", out.String())
	}
	file := filepath.Join(t.TempDir(), "b.yaml")
	if err := os.WriteFile(file, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// Issue 12 item 3: `lbx run --print-default > b.yaml; lbx run -f b.yaml`
// failed with "'config' expected a map or struct": the -f flag (--config)
// was read as the config: section.
func TestRunBootFromPrintedDefault(t *testing.T) {
	file := printedDefault(t)
	want, err := ctrlplane.LoadBoot("", nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  string // LBX_CONFIG
	}{
		{"-f", []string{"-f", file}, ""},
		{"--config", []string{"--config", file}, ""},
		{"--config=", []string{"--config=" + file}, ""},
		{"LBX_CONFIG", nil, file},
		{"-f beats LBX_CONFIG", []string{"-f", file}, "/nonexistent/boot.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("LBX_CONFIG", tc.env)
			got, _, err := runBoot(tc.args, &bytes.Buffer{})
			if err != nil {
				t.Fatalf("runBoot(%q): %v", tc.args, err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("boot config from the printed default (-want +got):\n%s", d)
			}
		})
	}
}

// Every boot key can be overridden, by flag and by environment, on top of
// a boot file given with -f.
func TestRunBootOverrideEachKey(t *testing.T) {
	file := printedDefault(t)
	ports := `[{"name":"lbx-ext","driver":"tap","device":"tp1","mac":"02:00:00:00:00:11"},` +
		`{"name":"lbx-int","driver":"tap","device":"tp2","mac":"02:00:00:00:00:12"}]`
	tests := []struct {
		key, value string
		get        func(b *ctrlplane.Boot) any
		want       any
	}{
		{"ports", ports, func(b *ctrlplane.Boot) any { return b.Ports },
			[]ctrlplane.PortBoot{{Name: "lbx-ext", Driver: "tap", Device: "tp1", MAC: "02:00:00:00:00:11"},
				{Name: "lbx-int", Driver: "tap", Device: "tp2", MAC: "02:00:00:00:00:12"}}},
		{"selfips", `[{"name":"s1","address":"10.7.0.1/24","port":"lbx-ext"}]`, func(b *ctrlplane.Boot) any { return b.SelfIPs },
			[]ctrlplane.SelfIPBoot{{Name: "s1", Address: "10.7.0.1/24", Port: "lbx-ext"}}},
		{"control.socket", "/tmp/other.sock", func(b *ctrlplane.Boot) any { return b.Control.Socket }, "/tmp/other.sock"},
		{"config.saved", "/tmp/other.conf", func(b *ctrlplane.Boot) any { return b.Config.Saved }, "/tmp/other.conf"},
		{"config.fallback", "true", func(b *ctrlplane.Boot) any { return b.Config.Fallback }, true},
		{"flows.capacity", "1234", func(b *ctrlplane.Boot) any { return b.Flows.Capacity }, 1234},
		{"log.level", "debug", func(b *ctrlplane.Boot) any { return b.Log.Level }, "debug"},
		{"ssh.listen", "127.0.0.1:2222", func(b *ctrlplane.Boot) any { return b.SSH.Listen }, "127.0.0.1:2222"},
		{"ssh.admin_password", "s3cret", func(b *ctrlplane.Boot) any { return b.SSH.AdminPassword }, "s3cret"},
		{"rest.listen", "127.0.0.1:8443", func(b *ctrlplane.Boot) any { return b.REST.Listen }, "127.0.0.1:8443"},
		{"rest.cert", "/tmp/rest.crt", func(b *ctrlplane.Boot) any { return b.REST.Cert }, "/tmp/rest.crt"},
		{"rest.key", "/tmp/rest.key", func(b *ctrlplane.Boot) any { return b.REST.Key }, "/tmp/rest.key"},
		{"mgmt.interface", "eth3", func(b *ctrlplane.Boot) any { return b.Mgmt.Interface }, "eth3"},
		{"mgmt.address", "192.0.2.5/24", func(b *ctrlplane.Boot) any { return b.Mgmt.Address }, "192.0.2.5/24"},
		{"mgmt.gateway", "192.0.2.1", func(b *ctrlplane.Boot) any { return b.Mgmt.Gateway }, "192.0.2.1"},
		{"ha.unit", "lbx9", func(b *ctrlplane.Boot) any { return b.HA.Unit }, "lbx9"},
		{"ha.vrid", "9", func(b *ctrlplane.Boot) any { return b.HA.VRID }, 9},
		{"ha.priority", "99", func(b *ctrlplane.Boot) any { return b.HA.Priority }, 99},
		{"ha.preempt", "false", func(b *ctrlplane.Boot) any { return b.HA.Preempt }, false},
		{"ha.preempt_delay", "7s", func(b *ctrlplane.Boot) any { return b.HA.PreemptDelay }, 7 * time.Second},
		{"ha.advert_interval", "25", func(b *ctrlplane.Boot) any { return b.HA.AdvertInterval }, 25},
		{"ha.ports", "lbx-ext,lbx-int", func(b *ctrlplane.Boot) any { return b.HA.Ports }, []string{"lbx-ext", "lbx-int"}},
		{"ha.unicast_peers", "not-checked-while-ha-is-off", func(b *ctrlplane.Boot) any { return b.HA.UnicastPeers }, []string{"not-checked-while-ha-is-off"}},
		{"ha.configsync", "127.0.0.1:4353", func(b *ctrlplane.Boot) any { return b.HA.ConfigSync }, "127.0.0.1:4353"},
		{"ha.mirror_addr", "192.0.2.1:1028", func(b *ctrlplane.Boot) any { return b.HA.MirrorAddr }, "192.0.2.1:1028"},
		{"ha.mirror_peer", "192.0.2.2:1028", func(b *ctrlplane.Boot) any { return b.HA.MirrorPeer }, "192.0.2.2:1028"},
		{"ha.failsafe_vlans", "lbx-int", func(b *ctrlplane.Boot) any { return b.HA.FailsafeVLANs }, []string{"lbx-int"}},
		{"ha.gateway_failsafe_pool", "/Common/gw", func(b *ctrlplane.Boot) any { return b.HA.GatewayFailsafePool }, "/Common/gw"},
		{"ha.gateway_failsafe_min_up", "2", func(b *ctrlplane.Boot) any { return b.HA.GatewayFailsafeMinUp }, 2},
		{"ha.watchdog", "3s", func(b *ctrlplane.Boot) any { return b.HA.Watchdog }, 3 * time.Second},
	}
	// pair is the other variables a key is valid only with.
	pair := map[string][][2]string{"rest.cert": {{"LBX_REST_KEY", "/tmp/k"}}, "rest.key": {{"LBX_REST_CERT", "/tmp/c"}}, "ha.unit": {{"LBX_HA_PORTS", "lbx-ext"}},
		"ha.configsync": {{"LBX_HA_UNIT", "lbx9"}, {"LBX_HA_PORTS", "lbx-ext"}}}
	if len(tests) != len(ctrlplane.BootKeys) {
		t.Fatalf("%d keys tested, boot config has %d: %v", len(tests), len(ctrlplane.BootKeys), ctrlplane.BootKeys)
	}
	for _, tc := range tests {
		env := "LBX_" + strings.ToUpper(strings.ReplaceAll(tc.key, ".", "_"))
		t.Run(tc.key+"/flag", func(t *testing.T) {
			for _, p := range pair[tc.key] {
				t.Setenv(p[0], p[1])
			}
			b, _, err := runBoot([]string{"-f", file, "--" + tc.key + "=" + tc.value}, &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, tc.get(b)); d != "" {
				t.Errorf("--%s (-want +got):\n%s", tc.key, d)
			}
		})
		t.Run(tc.key+"/env", func(t *testing.T) {
			for _, p := range pair[tc.key] {
				t.Setenv(p[0], p[1])
			}
			t.Setenv(env, tc.value)
			b, _, err := runBoot([]string{"-f", file}, &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, tc.get(b)); d != "" {
				t.Errorf("%s (-want +got):\n%s", env, d)
			}
		})
	}
}

// Issue 12 item 2: SIGTERM did not stop an appliance whose control plane
// was stuck. The first signal closes the appliance; a second one, or the
// grace period, ends the wait even if Close never returns.
func TestServeUntilSignal(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	stuck := make(chan struct{})
	defer close(stuck)
	blockingClose := func() error { <-stuck; return nil }
	tests := []struct {
		name    string
		close   func() error
		signals []os.Signal
		grace   time.Duration
		want    string // "" = nil error
	}{
		{"clean close", func() error { return nil }, []os.Signal{syscall.SIGTERM}, time.Hour, ""},
		{"close error", func() error { return errors.New("boom") }, []os.Signal{syscall.SIGTERM}, time.Hour, "boom"},
		{"second signal", blockingClose, []os.Signal{syscall.SIGTERM, syscall.SIGINT}, time.Hour, "second signal (interrupt)"},
		{"grace elapses", blockingClose, []os.Signal{syscall.SIGTERM}, 50 * time.Millisecond, "did not close within 50ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sigs := make(chan os.Signal, len(tc.signals))
			for _, s := range tc.signals {
				sigs <- s
			}
			done := make(chan error, 1)
			go func() { done <- serveUntilSignal(sigs, tc.close, tc.grace, logger) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("serveUntilSignal still waiting after 10 s")
			}
			if tc.want == "" {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// The first admin's password: ssh.admin_password, else
// $LBX_ADMIN_PASSWORD; the host key lives next to the saved config.
func TestRunAdminPasswordAndHostKey(t *testing.T) {
	t.Setenv("LBX_ADMIN_PASSWORD", "from-env")
	b := &ctrlplane.Boot{}
	if got := adminPassword(b); got != "from-env" {
		t.Errorf("adminPassword = %q, want the environment's", got)
	}
	b.SSH.AdminPassword = "from-boot"
	if got := adminPassword(b); got != "from-boot" {
		t.Errorf("adminPassword = %q, want the boot config's", got)
	}
	if got := sshHostKeyPath("/var/lib/lbx/bigip.conf"); got != "/var/lib/lbx/ssh_host_ed25519_key" {
		t.Errorf("host key path %q", got)
	}
	if got := sshKeysDir("/var/lib/lbx/bigip.conf"); got != "/var/lib/lbx/ssh_authorized_keys" {
		t.Errorf("keys dir %q", got)
	}
	if got := sshHostKeyPath(""); got != "" {
		t.Errorf("host key path without a saved config %q", got)
	}
}

// The first admin's password typed at the console: asked twice, again
// when the two differ or it is too long, empty for none, and an error
// after the last try.
func TestAskNewPassword(t *testing.T) {
	tests := []struct {
		name    string
		typed   []string
		want    string
		wantErr bool
	}{
		{"agree", []string{"s3cret", "s3cret"}, "s3cret", false},
		{"empty is none", []string{""}, "", false},
		{"differ, then agree", []string{"one", "two", "three", "three"}, "three", false},
		{"too long, then agree", []string{strings.Repeat("x", 73), "ok-pw", "ok-pw"}, "ok-pw", false},
		{"never agree", []string{"a", "b", "c", "d", "e", "f"}, "", true},
		{"input ends", []string{"a"}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			i := 0
			read := func() ([]byte, error) {
				if i == len(tc.typed) {
					return nil, io.EOF
				}
				i++
				return []byte(tc.typed[i-1]), nil
			}
			var out bytes.Buffer
			got, err := askNewPassword(read, &out, 3)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("askNewPassword = %q, %v; want %q (error %v)\n%s", got, err, tc.want, tc.wantErr, out.String())
			}
			if strings.Contains(out.String(), "s3cret") {
				t.Errorf("the password was echoed:\n%s", out.String())
			}
		})
	}
}
