package appliance_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"lbx/ctrlplane/appliance"
	"lbx/ctrlplane/sshd"
)

// With SSHListen and an admin password, the appliance creates the admin
// user, serves the CLI over SSH with a host key kept next to the saved
// configuration, and keeps that key across a restart.
func TestApplianceServesSSH(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, sshd.HostKeyFile)
	start := func() *appliance.Appliance {
		return oneArmed(t, appliance.Config{
			SavedPath:     filepath.Join(dir, "bigip.conf"),
			SSHListen:     "127.0.0.1:0",
			SSHHostKey:    keyPath,
			AdminPassword: "first-admin-pw",
		})
	}
	login := func(app *appliance.Appliance, password string, hostKey ssh.PublicKey) (*ssh.Client, ssh.PublicKey, error) {
		var seen ssh.PublicKey
		c, err := ssh.Dial("tcp", app.SSHAddr(), &ssh.ClientConfig{
			User: "admin",
			Auth: []ssh.AuthMethod{ssh.Password(password)},
			HostKeyCallback: func(_ string, _ net.Addr, k ssh.PublicKey) error {
				seen = k
				if hostKey != nil {
					return ssh.FixedHostKey(hostKey)("", nil, k)
				}
				return nil
			},
			Timeout: 10 * time.Second,
		})
		return c, seen, err
	}
	app := start()
	if _, _, err := login(app, "wrong", nil); err == nil {
		t.Fatal("wrong admin password accepted")
	}
	c, key, err := login(app, "first-admin-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.CombinedOutput("create ltm pool web members add { 198.18.1.11:80 }; list auth user admin")
	if err != nil || !strings.Contains(string(out), "role admin") {
		t.Fatalf("admin over ssh: %v\n%s", err, out)
	}
	c.Close()
	if fi, err := os.Stat(keyPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("host key file: %v %v", err, fi)
	}
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	app = start()
	defer app.Close()
	c, _, err = login(app, "first-admin-pw", key)
	if err != nil {
		t.Fatalf("after a restart (same host key expected): %v", err)
	}
	c.Close()
}
