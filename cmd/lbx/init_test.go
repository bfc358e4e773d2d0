package main

import (
	"os"
	"path/filepath"
	"testing"

	"lbx/ctrlplane"
	"lbx/vm/guest"
)

// TestVMDefaultBootLoads: the boot config a VM writes at first boot is
// one LoadBoot accepts, with every NIC but the first as an AF_XDP port.
func TestVMDefaultBootLoads(t *testing.T) {
	for _, nics := range [][]guest.NIC{
		{{Name: "eth0", MAC: "52:54:00:12:34:56"}, {Name: "eth1", MAC: "52:54:00:12:34:57"}, {Name: "eth2", MAC: "52:54:00:12:34:58"}},
		{{Name: "eth0", MAC: "52:54:00:12:34:56"}},
	} {
		p := filepath.Join(t.TempDir(), "boot.yaml")
		if err := os.WriteFile(p, vmDefaultBoot(nics), 0o600); err != nil {
			t.Fatal(err)
		}
		b, err := ctrlplane.LoadBoot(p, nil)
		if err != nil {
			t.Fatalf("%d NICs: %v\n%s", len(nics), err, vmDefaultBoot(nics))
		}
		if len(b.Ports) != len(nics)-1 {
			t.Fatalf("%d NICs: %d ports", len(nics), len(b.Ports))
		}
		for _, p := range b.Ports {
			if p.Driver != "afxdp" {
				t.Errorf("port %s driver %s", p.Name, p.Driver)
			}
		}
		if b.SSH.Listen == "" || b.Config.Saved != guest.DataDir+"/bigip.conf" {
			t.Errorf("ssh %q saved %q", b.SSH.Listen, b.Config.Saved)
		}
	}
}
