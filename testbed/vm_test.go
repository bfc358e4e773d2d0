package testbed

import (
	"os"
	"path/filepath"
	"testing"

	"lbx/ctrlplane"
)

// TestVMBootYAMLLoads: the boot config the testbed seeds a VM's data disk
// with loads, with the process appliance's port names, MACs and self IPs
// on the guest's eth1 and eth2, with and without the admin password.
func TestVMBootYAMLLoads(t *testing.T) {
	topo := DefaultTopology()
	for _, pw := range []string{"", "Zm9vYmFy-_x"} {
		boot := topo.VMBootYAML(pw)
		p := filepath.Join(t.TempDir(), "boot.yaml")
		if err := os.WriteFile(p, []byte(boot), 0o600); err != nil {
			t.Fatal(err)
		}
		b, err := ctrlplane.LoadBoot(p, nil)
		if err != nil {
			t.Fatalf("%v\n%s", err, boot)
		}
		if len(b.Ports) != 2 || b.Ports[0].Name != "lbx-ext" || b.Ports[0].Device != "eth1" || b.Ports[0].MAC != topo.PortMACs["lbx-ext"] ||
			b.Ports[1].Device != "eth2" || b.Ports[0].Driver != "afxdp" {
			t.Errorf("ports %+v", b.Ports)
		}
		if len(b.SelfIPs) != 2 || b.SSH.AdminPassword != pw || b.Config.Saved != "/data/bigip.conf" {
			t.Errorf("selfips %+v, admin password %q, saved %q", b.SelfIPs, b.SSH.AdminPassword, b.Config.Saved)
		}
	}
}
