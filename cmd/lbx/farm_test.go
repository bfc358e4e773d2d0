package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lbx farm refuses bad command lines and bad files before touching the
// machine, naming the flag, the file's line or the missing member.
func TestFarmUsageErrors(t *testing.T) {
	seed, err := os.ReadFile("../../farm/testdata/userconfig.xml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.xml")
	if err := os.WriteFile(bad, bytes.Replace(seed, []byte(`filter="on_addr"`), []byte(`filter="on_cookie"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "userconfig.xml")
	if err := os.WriteFile(good, seed, 0o644); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "key")
	if err := os.WriteFile(key, []byte("c2hvcnQ=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		want  string
		usage bool
	}{
		{"no verb", []string{"farm"}, "farm: run, status, stop or start wanted", true},
		{"unknown verb", []string{"farm", "restart"}, `farm: unknown command "restart"`, true},
		{"run without file", []string{"farm", "run"}, "-f userconfig.xml wanted", true},
		{"bad macro", []string{"farm", "run", "-f", good, "--macro", "1X=2"}, `--macro "1X=2"`, true},
		{"bad bind", []string{"farm", "run", "-f", good, "--bind", "here"}, `--bind "here"`, true},
		{"missing file", []string{"farm", "run", "-f", filepath.Join(dir, "none.xml")}, "none.xml: no such file", false},
		{"bad rule", []string{"farm", "run", "-f", bad, "--macro", "VIRTUAL_IP=198.18.70.100", "--macro", "IIS_PORT=80"}, `bad.xml:24: <rule filter="on_cookie">: on_addr or on_port wanted`, false},
		{"macros unset", []string{"farm", "run", "-f", good}, `userconfig.xml:17: <virtual_addr addr="VIRTUAL_IP_TO_BE_DEFINED">: an IPv4 address wanted`, false},
		{"status -o yaml", []string{"farm", "status", "-o", "yaml"}, `only status takes -o json`, true},
		{"no member", []string{"farm", "status", "--socket", filepath.Join(dir, "none.sock")}, "farm status: farm control socket", false},
		{"short key", []string{"farm", "run", "-f", good, "--secret-file", key}, "16, 24 or 32 bytes in base64 wanted", false},
		{"demo extra", []string{"demo", "farm", "now"}, "demo takes no arguments but farm", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(tc.args, strings.NewReader(""), &out, &errb)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run(%q) = %v, want an error containing %q", tc.args, err, tc.want)
			}
			var ue *usageError
			if errors.As(err, &ue) != tc.usage {
				t.Errorf("run(%q): usage error %v, want %v", tc.args, errors.As(err, &ue), tc.usage)
			}
		})
	}
}
