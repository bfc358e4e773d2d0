package testbed

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
)

// portXDP returns the XDP program attached to an appliance port's device in
// the switch namespace (0: none).
func portXDP(t *testing.T, tb *Testbed, dev string) uint32 {
	t.Helper()
	var id uint32
	err := withLinks(tb.Topo.SwitchNS, func(nl *netlink.Handle) error {
		l, err := nl.LinkByName(dev)
		if err != nil {
			return err
		}
		if x := l.Attrs().Xdp; x != nil && x.Attached {
			id = x.ProgId
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestIntegrationAFXDPPorts runs the appliance on AF_XDP ports whatever
// $LBX_TESTBED_PORT_DRIVER says: show net interface names the driver and
// mode, traffic flows through the VIP, and after a crash (SIGKILL: the XDP
// programs stay on the veth ends) the appliance boots again, replaces the
// stale programs and carries traffic; Down stops it cleanly.
func TestIntegrationAFXDPPorts(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	tb, err := Up(Options{Binary: lbxBinary, StateDir: filepath.Join(dir, "state"), Socket: filepath.Join(dir, "lbx.sock"), PortDriver: "afxdp"})
	if err != nil {
		t.Fatalf("testbed up: %v", err)
	}
	t.Cleanup(func() {
		if err := tb.Down(); err != nil {
			t.Errorf("testbed down: %v", err)
		}
	})
	app := tb.Client()
	if got := ServerName(curl(t, tb, "http://198.18.1.100/")); !strings.HasPrefix(got, "server") {
		t.Fatalf("VIP answered by %q", got)
	}
	show, err := app.Exec("show net interface")
	if err != nil {
		t.Fatal(err)
	}
	for _, port := range []string{"lbx-ext", "lbx-int"} {
		line := ""
		for l := range strings.Lines(show) {
			if f := strings.Fields(l); len(f) >= 4 && f[0] == port && f[1] == "afxdp" {
				line = l
			}
		}
		if line == "" || !strings.Contains(line, "/copy") || !strings.Contains(line, "1/1") {
			t.Errorf("show net interface has no afxdp line for %s with a mode and 1/1 queues:\n%s", port, show)
		}
	}
	t.Logf("show net interface:\n%s", show)
	before := map[string]uint32{}
	for _, dev := range []string{"lbx-ext", "lbx-int"} {
		if before[dev] = portXDP(t, tb, dev); before[dev] == 0 {
			t.Fatalf("%s runs no XDP program", dev)
		}
	}
	if err := tb.CrashAppliance(); err != nil {
		t.Fatal(err)
	}
	for dev, id := range before {
		if got := portXDP(t, tb, dev); got != id {
			t.Fatalf("after the crash %s runs program %d, want the stale %d", dev, got, id)
		}
	}
	if err := tb.BootAppliance(); err != nil {
		t.Fatal(err)
	}
	for dev, id := range before {
		if got := portXDP(t, tb, dev); got == 0 || got == id {
			t.Errorf("after the reboot %s runs program %d, want a new one (stale: %d)", dev, got, id)
		}
	}
	if got := ServerName(curl(t, tb, "http://198.18.1.100/")); !strings.HasPrefix(got, "server") {
		t.Fatalf("after the reboot the VIP answered by %q", got)
	}
}
