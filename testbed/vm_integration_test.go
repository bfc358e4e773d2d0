package testbed

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"lbx/vm"
)

// Bounds of the VM test's waits: a TCG boot on a loaded 2-core machine
// takes about a minute (README: Boot it as a VM); these leave room.
const (
	vmBootWait   = 5 * time.Minute
	vmPromptWait = 60 * time.Second
)

var tmosPrompt = regexp.MustCompile(`admin@\(lbx\)\(cfg-sync Standalone\)\(Active\)\(/Common\)\(tmos\)# `)

// repoRoot is the module's root (the testbed package's parent).
func repoRoot(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

// vmImage is the appliance image `make image` builds (make test builds it
// first); built here when missing.
func vmImage(t *testing.T) string {
	root := repoRoot(t)
	img := filepath.Join(root, "bin", "lbx-appliance.qcow2")
	if _, err := os.Stat(img); err != nil {
		t.Logf("no %s: running make image", img)
		c := exec.Command("make", "image")
		c.Dir = root
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("make image: %v\n%s", err, out)
		}
	}
	return img
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// vmSession is the test's hold on the VM's serial console.
type vmSession struct {
	top *testing.T // the whole test: owns the connections
	t   *testing.T // the running subtest
	tb  *Testbed
	con *vm.Console

	marks int
}

func (s *vmSession) dial() {
	s.t.Helper()
	if s.con != nil {
		s.con.Close()
	}
	con, err := vm.DialConsole(s.tb.ConsoleSocket(), 30*time.Second)
	if err != nil {
		s.t.Fatal(err)
	}
	s.con = con
	s.top.Cleanup(func() { con.Close() })
}

func (s *vmSession) expect(re *regexp.Regexp, wait time.Duration) string {
	s.t.Helper()
	out, err := s.con.Expect(re, wait)
	if err != nil {
		s.t.Fatalf("%v\nappliance log: %s", err, s.tb.logTail("appliance"))
	}
	return out
}

func (s *vmSession) expectString(str string, wait time.Duration) string {
	s.t.Helper()
	return s.expect(regexp.MustCompile(regexp.QuoteMeta(str)), wait)
}

func (s *vmSession) line(l string) {
	s.t.Helper()
	if err := s.con.Line(l); err != nil {
		s.t.Fatal(err)
	}
}

// login logs admin in at the login prompt and waits for the tmsh prompt.
func (s *vmSession) login(password string) {
	s.t.Helper()
	s.line("admin")
	s.expectString("Password:", vmPromptWait)
	s.line(password)
	s.expect(tmosPrompt, vmPromptWait)
}

// tmsh runs one command at the tmsh prompt and returns what the console
// printed until it was done: readline's echo of the line (redrawn as it
// is typed, so no prompt marks the output's end), the output, and a
// marker command's error, whose text the echo never holds.
func (s *vmSession) tmsh(cmd string) string {
	s.t.Helper()
	s.marks++
	mk := fmt.Sprintf("vm_mark_%d", s.marks)
	s.line(cmd)
	s.line("delete ltm virtual " + mk)
	out := s.expect(regexp.MustCompile(`\(/Common/`+mk+`\) was not found`), vmPromptWait)
	s.expect(tmosPrompt, vmPromptWait)
	return out
}

// vmTraffic sends n requests from the client through the VIP and returns
// the servers that answered; the first may wait (bounded) for the
// appliance's ports to come up after a boot.
func vmTraffic(t *testing.T, tb *Testbed, n int) map[string]int {
	t.Helper()
	url := "http://" + tb.Topo.VIP.String() + "/"
	deadline := time.Now().Add(60 * time.Second)
	for {
		if curlErr(tb, url) == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer through the VM's VIP %s within 60 s", url)
		}
		time.Sleep(time.Second)
	}
	seen := map[string]int{}
	for i := range n {
		name := ServerName(curl(t, tb, url))
		if name == "" {
			t.Fatalf("request %d: no server name in answer", i)
		}
		seen[name]++
	}
	return seen
}

// vmSSH runs one command as admin over SSH on addr, bounded.
func vmSSH(t *testing.T, addr, password, cmd string) string {
	t.Helper()
	c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User: "admin", Auth: []ssh.AuthMethod{ssh.Password(password)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatalf("ssh %s: %v", addr, err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	done := time.AfterFunc(30*time.Second, func() { c.Close() })
	defer done.Stop()
	out, err := sess.CombinedOutput(cmd)
	if err != nil {
		t.Fatalf("ssh %s %q: %v: %s", addr, cmd, err, out)
	}
	return string(out)
}

// TestIntegrationVMAppliance builds (or takes) the appliance image and
// boots it under qemu (TCG unless KVM works; LBX_VM_ACCEL=tcg forces it)
// where the process appliance sits in the testbed, then walks the issue's
// four checks in order, each needing the one before: console login,
// traffic through a config typed on the console, save + reboot + a hard
// kill, and a rebuilt image booting with the old data disk.
func TestIntegrationVMAppliance(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("qemu-system-x86_64 missing (.ci/run installs qemu-system-x86)")
		}
		t.Skip("qemu-system-x86_64 missing")
	}
	image := vmImage(t)
	dir := t.TempDir()
	sys := filepath.Join(dir, "system.qcow2")
	copyFile(t, image, sys)
	vmo := &VMOptions{Image: sys, Data: filepath.Join(dir, "data.qcow2")}
	tb, err := Up(Options{Binary: lbxBinary, StateDir: filepath.Join(dir, "state"), Socket: filepath.Join(dir, "lbx.sock"), VM: vmo})
	if err != nil {
		t.Fatalf("testbed up --vm: %v", err)
	}
	t.Cleanup(func() {
		if err := tb.Down(); err != nil {
			t.Errorf("testbed down: %v", err)
		}
	})
	t.Logf("accelerator: %s", vm.Accel(vmo.Accel))
	s := &vmSession{top: t, t: t, tb: tb}
	s.dial()
	var pw [8]byte
	rand.Read(pw[:])
	password := "vm-" + hex.EncodeToString(pw[:])
	start := time.Now()
	ok := t.Run("ConsoleLogin", func(t *testing.T) {
		s.t = t
		// First boot: no admin yet, the console asks.
		s.expectString("New admin password", vmBootWait)
		t.Logf("first boot to the admin password question: %s", time.Since(start).Round(time.Second))
		s.line(password)
		s.expectString("Again:", vmPromptWait)
		s.line(password)
		s.expectString("lbx login:", vmPromptWait)
		t.Logf("first boot to the login prompt: %s", time.Since(start).Round(time.Second))
		s.line("admin")
		s.expectString("Password:", vmPromptWait)
		s.line("not-" + password)
		s.expectString("Login incorrect", vmPromptWait)
		s.expectString("lbx login:", vmPromptWait)
		s.login(password)
		if out := s.tmsh("show sys version"); !strings.Contains(out, "Product") {
			t.Errorf("show sys version on the console: %q", out)
		}
	})
	ok = ok && t.Run("TrafficThroughConsoleConfig", func(t *testing.T) {
		s.t = t
		for _, c := range []string{
			"create ltm pool vm_pool members add { 198.18.2.11:80 198.18.2.12:80 198.18.2.13:80 }",
			"create ltm virtual vm_http destination 198.18.1.100:80 ip-protocol tcp pool vm_pool source-address-translation { type automap }",
		} {
			if out := s.tmsh(c); strings.Contains(out, "rror") {
				t.Fatalf("%s: %s", c, out)
			}
		}
		seen := vmTraffic(t, tb, 30)
		if len(seen) != 3 {
			t.Fatalf("30 requests reached %v: want all three servers", seen)
		}
		// SSH listens on the management NIC (published on the host).
		out := vmSSH(t, tb.State.SSH, password, "list ltm pool vm_pool")
		if !strings.Contains(out, "198.18.2.13:80") {
			t.Errorf("over SSH, list ltm pool vm_pool: %q", out)
		}
	})
	ok = ok && t.Run("SaveRebootKill", func(t *testing.T) {
		s.t = t
		s.tmsh("save sys config")
		s.line("reboot")
		s.expectString("going down for reboot", vmPromptWait)
		rebootAt := time.Now()
		s.expectString("lbx login:", vmBootWait)
		t.Logf("reboot to the login prompt: %s", time.Since(rebootAt).Round(time.Second))
		s.login(password)
		if out := s.tmsh("list ltm virtual vm_http"); !strings.Contains(out, "vm_pool") {
			t.Fatalf("after reboot, list ltm virtual vm_http: %q", out)
		}
		if seen := vmTraffic(t, tb, 6); len(seen) != 3 {
			t.Fatalf("after reboot, 6 requests reached %v", seen)
		}
		// A change, saved; then a power cut.
		s.tmsh("create ltm pool vm_saved members add { 198.18.2.14:80 }")
		s.tmsh("save sys config")
		if err := tb.CrashAppliance(); err != nil {
			t.Fatal(err)
		}
		if err := tb.BootAppliance(); err != nil {
			t.Fatal(err)
		}
		s.dial()
		s.expectString("lbx login:", vmBootWait)
		s.login(password)
		if out := s.tmsh("list ltm pool vm_saved"); !strings.Contains(out, "198.18.2.14:80") {
			t.Fatalf("after a hard kill, list ltm pool vm_saved: %q", out)
		}
		if seen := vmTraffic(t, tb, 6); len(seen) != 3 {
			t.Fatalf("after a hard kill, 6 requests reached %v", seen)
		}
	})
	ok = ok && t.Run("UpgradeKeepsDataDisk", func(t *testing.T) {
		s.t = t
		s.line("shutdown")
		s.expectString("going down for power off", vmPromptWait)
		// qemu exits at the power off: the console closes.
		if err := s.con.WaitClosed(vmPromptWait); err != nil {
			t.Fatalf("qemu still up after shutdown: %v", err)
		}
		// A new system disk, built again from the same inputs.
		root := repoRoot(t)
		newImg := filepath.Join(dir, "rebuilt.qcow2")
		manifest, err := vm.Build(vm.ImageOptions{Binary: filepath.Join(root, "bin", "lbx-static"), Out: newImg,
			WorkDir: filepath.Join(root, "bin", "image-build")})
		if err != nil {
			t.Fatal(err)
		}
		old, err := os.ReadFile(filepath.Join(root, "bin", "lbx-appliance.manifest"))
		if err != nil {
			t.Fatal(err)
		}
		if string(old) != manifest {
			t.Errorf("the rebuilt image differs from make image's (same inputs):\n%s\nvs\n%s", old, manifest)
		}
		if err := os.Remove(sys); err != nil {
			t.Fatal(err)
		}
		vmo.Image = newImg
		if err := tb.BootAppliance(); err != nil {
			t.Fatal(err)
		}
		s.dial()
		s.expectString("lbx login:", vmBootWait)
		s.login(password)
		if out := s.tmsh("list ltm pool vm_saved"); !strings.Contains(out, "198.18.2.14:80") {
			t.Fatalf("new image, old data disk: list ltm pool vm_saved: %q", out)
		}
		if seen := vmTraffic(t, tb, 6); len(seen) != 3 {
			t.Fatalf("new image, old data disk: 6 requests reached %v", seen)
		}
	})
	_ = ok
}
