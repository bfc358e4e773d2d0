package testbed

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// mountsUnder lists the mount points at or under dir, from
// /proc/self/mountinfo (a hidden mount is listed too).
func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && (fields[4] == dir || strings.HasPrefix(fields[4], dir+"/")) {
			out = append(out, fields[4])
		}
	}
	return out
}

// Issue 12 item 14: `lbx testbed down` failed, leaving every namespace,
// when someone ran `ip netns add` meanwhile: with /run/netns not yet a
// mount point, ip bind-mounts it over itself, and the testbed's namespace
// mounts stay beneath, keeping their files busy.
func TestIntegrationDownWithForeignNamespace(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip (iproute2)")
	}
	// The failure needs /run/netns not to be a mount point when `ip netns
	// add` runs; the test puts it back that way at the end if it was.
	wasMount := slices.Contains(mountsUnder(t, netnsDir), netnsDir)
	dir := t.TempDir()
	tb, err := Up(Options{Binary: lbxBinary, StateDir: filepath.Join(dir, "state"), Socket: filepath.Join(dir, "lbx.sock")})
	if err != nil {
		t.Fatal(err)
	}
	downDone := false
	t.Cleanup(func() {
		if !downDone {
			tb.Down()
		}
	})
	foreign := fmt.Sprintf("lbx-foreign-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", foreign).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", foreign, err, out)
	}
	t.Cleanup(func() {
		// Only the namespace this test added.
		if out, err := exec.Command("ip", "netns", "delete", foreign).CombinedOutput(); err != nil {
			t.Errorf("ip netns delete %s: %v\n%s", foreign, err, out)
		}
		if !wasMount {
			// Fails (EBUSY), harmlessly, if anything lives under it.
			unix.Unmount(netnsDir, 0)
		}
	})
	if wasMount {
		t.Logf("%s was a mount point already: ip netns add does not over-mount it, so this run does not reproduce the failure", netnsDir)
	} else if m := mountsUnder(t, netnsDir); !slices.Contains(m, netnsDir) {
		t.Fatalf("ip netns add did not mount over %s: %q", netnsDir, m)
	}

	err = tb.Down()
	downDone = true
	if err != nil {
		t.Fatalf("testbed down with a foreign namespace: %v", err)
	}
	mounts := strings.Join(mountsUnder(t, netnsDir), "\n")
	for _, ns := range tb.Topo.Namespaces() {
		path := filepath.Join(netnsDir, ns)
		if _, err := os.Lstat(path); !os.IsNotExist(err) {
			t.Errorf("%s still there after down (%v)", path, err)
		}
		if strings.Contains(mounts+"\n", path+"\n") {
			t.Errorf("%s still mounted (hidden) after down:\n%s", path, mounts)
		}
	}
	if !nsExists(foreign) {
		t.Errorf("down removed the foreign namespace %s", foreign)
	}
	// The testbed comes up again on the same host.
	tb2, err := Up(Options{Binary: lbxBinary, StateDir: filepath.Join(dir, "state2"), Socket: filepath.Join(dir, "lbx2.sock")})
	if err != nil {
		t.Fatalf("testbed up after down: %v", err)
	}
	if err := tb2.Down(); err != nil {
		t.Fatalf("second down: %v", err)
	}
}

// TestIntegrationHostCmdInNamespace: every way to run a HostCmd (Output,
// CombinedOutput, Run) runs it in the host's namespace, where the client's
// address is; exec.Cmd's own CombinedOutput and Run would run it in the
// caller's.
func TestIntegrationHostCmdInNamespace(t *testing.T) {
	tb := upTestbed(t)
	run := map[string]func(c *HostCmd) ([]byte, error){
		"Output":         (*HostCmd).Output,
		"CombinedOutput": (*HostCmd).CombinedOutput,
		"Run": func(c *HostCmd) ([]byte, error) {
			var b bytes.Buffer
			c.Stdout = &b
			err := c.Run()
			return b.Bytes(), err
		},
	}
	for name, f := range run {
		c, err := tb.Command("client", "ip", "-o", "-4", "addr", "show")
		if err != nil {
			t.Fatal(err)
		}
		out, err := f(c)
		if err != nil {
			t.Fatalf("%s: %v: %s", name, err, out)
		}
		if !bytes.Contains(out, []byte("198.18.1.10/")) {
			t.Errorf("%s ran outside the client's namespace: %s", name, out)
		}
	}
}
