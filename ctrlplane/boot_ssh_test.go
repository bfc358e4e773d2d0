package ctrlplane

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestBootSSHKeys(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "boot.yaml")
	if err := os.WriteFile(file, []byte("ssh:\n  listen: 192.0.2.1:22\n  admin_password: from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := LoadBoot(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.SSH.Listen != "192.0.2.1:22" || b.SSH.AdminPassword != "from-file" {
		t.Errorf("ssh = %+v", b.SSH)
	}
	// Off by default.
	if b, err := LoadBoot("", nil); err != nil || b.SSH.Listen != "" {
		t.Errorf("default ssh.listen %q, %v", b.SSH.Listen, err)
	}
	t.Setenv("LBX_SSH_ADMIN_PASSWORD", "from-env")
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	BootFlags(fs)
	if err := fs.Parse([]string{"--ssh.listen", "localhost:22"}); err != nil {
		t.Fatal(err)
	}
	_, err = LoadBoot("", fs)
	if err == nil || !strings.Contains(err.Error(), `ssh.listen "localhost:22": want ADDR:PORT`) {
		t.Errorf("bad ssh.listen: %v", err)
	}
	fs = pflag.NewFlagSet("run", pflag.ContinueOnError)
	BootFlags(fs)
	fs.Parse([]string{"--ssh.listen", "127.0.0.1:2222"})
	if b, err := LoadBoot("", fs); err != nil || b.SSH.Listen != "127.0.0.1:2222" || b.SSH.AdminPassword != "from-env" {
		t.Errorf("flags and env: %+v, %v", b, err)
	}
	if err := os.WriteFile(file, []byte("ssh:\n  port: 22\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadBoot(file, nil); err == nil || !strings.Contains(err.Error(), `unknown key "ssh.port"`) {
		t.Errorf("unknown ssh key: %v", err)
	}
}
