package testbed

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"lbx/ctrlplane/sshd"
)

// The testbed's management access, as a user finds it: `lbx testbed status
// -o json` names the SSH address, the management URL, the admin and a
// password generated for this testbed; Debian's OpenSSH client logs in
// with it (the host key checked against the one in the state directory)
// and runs `show ltm pool`, which shows the default config's pool; a
// wrong password is refused; the password is in no process's argv; the
// appliance's state is in the state directory and gone after down.
func TestTestbedSSHLogin(t *testing.T) {
	sshBin, err := exec.LookPath("ssh")
	if err != nil {
		t.Fatal("ssh not installed (Debian's openssh-client; .ci/run installs it)")
	}
	tb := upTestbed(t)

	out, err := exec.Command(lbxBinary, "testbed", "status", "-o", "json", "--state-dir", tb.State.Dir).Output()
	if err != nil {
		t.Fatalf("lbx testbed status -o json: %v", err)
	}
	var st struct {
		SSH, Mgmt, User, Password string
	}
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("status -o json: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`^127\.0\.0\.1:\d+$`).MatchString(st.SSH) ||
		!regexp.MustCompile(`^https://127\.0\.0\.1:\d+$`).MatchString(st.Mgmt) ||
		st.User != "admin" || len(st.Password) < 20 {
		t.Fatalf("status -o json: ssh %q, mgmt %q, user %q, password %q: want 127.0.0.1:PORT, https://127.0.0.1:PORT, admin and a generated password",
			st.SSH, st.Mgmt, st.User, st.Password)
	}
	fi, err := os.Stat(filepath.Join(tb.State.Dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state.json has mode %v; it holds the password: want 0600", fi.Mode().Perm())
	}
	for _, p := range tb.State.Procs {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(p.PID) + "/cmdline")
		if err == nil && strings.Contains(string(b), st.Password) {
			t.Errorf("the password is in the argv of %s (pid %d): %q", p.Name, p.PID, b)
		}
	}

	// The host key the appliance generated lives in the state directory;
	// the client accepts only it.
	keyPath := filepath.Join(tb.State.Dir, sshd.HostKeyFile)
	pem, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatalf("host key in the state directory: %v", err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	known := filepath.Join(dir, "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(st.SSH)}, signer.PublicKey())
	if err := os.WriteFile(known, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The password comes from SSH_ASKPASS, forced: no terminal, no tmux,
	// nothing to poll.
	askpass := filepath.Join(dir, "askpass")
	if err := os.WriteFile(askpass, []byte("#!/bin/sh\nprintf '%s\\n' \"$LBX_TEST_PASSWORD\"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(st.SSH)
	login := func(password, command string) (string, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, sshBin, "-F", "/dev/null", "-T",
			"-o", "UserKnownHostsFile="+known, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
			"-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password,keyboard-interactive",
			"-o", "NumberOfPasswordPrompts=1", "-o", "ConnectTimeout=10",
			"-p", port, st.User+"@"+host, command)
		cmd.Env = append(os.Environ(), "SSH_ASKPASS="+askpass, "SSH_ASKPASS_REQUIRE=force", "LBX_TEST_PASSWORD="+password)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}

	stdout, stderr, err := login(st.Password, "show ltm pool")
	if err != nil {
		t.Fatalf("ssh %s@%s show ltm pool: %v\nstdout:\n%s\nstderr:\n%s\nappliance log:\n%s", st.User, st.SSH, err, stdout, stderr, tb.logTail("appliance"))
	}
	for _, want := range []string{"Ltm::Pool: /Common/web_pool", "Ltm::Pool: /Common/udp_pool"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("show ltm pool over ssh lacks %q:\n%s", want, stdout)
		}
	}

	stdout, stderr, err = login(st.Password+"x", "show ltm pool")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 255 || !strings.Contains(stderr, "Permission denied") {
		t.Errorf("ssh with a wrong password: %v; want exit 255 and Permission denied\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	if strings.Contains(stdout, "Ltm::Pool") {
		t.Errorf("a wrong password was let in:\n%s", stdout)
	}

	if err := tb.Down(); err != nil {
		t.Fatalf("testbed down: %v", err)
	}
	if _, err := os.Stat(keyPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the host key outlived testbed down: %v", err)
	}
	if _, err := os.Stat(tb.State.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the state directory (host key, certificate, password) outlived testbed down: %v", err)
	}
	if c, err := net.DialTimeout("tcp", st.SSH, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts after testbed down", st.SSH)
	}
}
