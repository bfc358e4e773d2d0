package testbed

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"lbx/vm"
)

// VMOptions put the appliance VM (package vm) where the process appliance
// sits: qemu runs in the switch namespace, its data NICs are the TAP
// devices lbx-ext and lbx-int on br-client and br-server (the guest takes
// them with AF_XDP ports carrying the same MACs and self IPs as the
// default boot config), and its management NIC is qemu's user-mode
// network with SSH and REST forwarded to the switch namespace's loopback,
// which the testbed publishes on the host as for the process appliance.
type VMOptions struct {
	// Image is the appliance disk (make image: bin/lbx-appliance.qcow2).
	Image string
	// Data is the data disk; created, seeded with the testbed's VM boot
	// config, when missing (default StateDir/lbx-data.qcow2).
	Data string
	// SetAdminPassword puts the testbed admin's password in the seeded
	// boot config (ssh.admin_password); otherwise the first boot asks for
	// it on the serial console.
	SetAdminPassword bool
	// Accel is vm.RunOptions.Accel ("" auto; $LBX_VM_ACCEL overrides).
	Accel string
}

// VMBootYAML is the boot config the testbed seeds a VM's data disk with:
// eth0 is management (DHCP from qemu), eth1 and eth2 the data ports;
// adminPassword, when set, is ssh.admin_password (no first-boot question).
func (t Topology) VMBootYAML(adminPassword string) string {
	var b strings.Builder
	b.WriteString("ports:\n")
	for i, dev := range slices.Sorted(maps.Keys(t.TAPs)) {
		fmt.Fprintf(&b, "  - name: %s\n    driver: afxdp\n    device: eth%d\n    mac: \"%s\"\n", dev, i+1, t.PortMACs[dev])
	}
	b.WriteString(`selfips:
  - name: /Common/self_ext
    address: 198.18.1.2/24
    port: lbx-ext
  - name: /Common/self_int
    address: 198.18.2.2/24
    port: lbx-int
config:
  saved: /data/bigip.conf
ssh:
  listen: 0.0.0.0:22
rest:
  listen: 0.0.0.0:443
`)
	out := b.String()
	if adminPassword != "" {
		out = strings.Replace(out, "ssh:\n", "ssh:\n  admin_password: \""+adminPassword+"\"\n", 1)
	}
	return out
}

// ConsoleSocket is the VM's serial console (qemu's unix socket chardev).
func (tb *Testbed) ConsoleSocket() string { return filepath.Join(tb.opts.StateDir, "console.sock") }

// bootVM starts qemu in the switch namespace and joins its TAPs to the
// bridges. It does not wait for the guest: the console says when it is
// up (the tests read it).
func (tb *Testbed) bootVM() error {
	o := tb.opts.VM
	if o.Data == "" {
		o.Data = filepath.Join(tb.opts.StateDir, "lbx-data.qcow2")
	}
	if _, err := os.Stat(o.Data); errors.Is(err, os.ErrNotExist) {
		seed := filepath.Join(tb.opts.StateDir, "vm-seed")
		if err := os.MkdirAll(seed, 0o700); err != nil {
			return err
		}
		pw := ""
		if o.SetAdminPassword {
			pw = tb.State.Password
		}
		boot := tb.Topo.VMBootYAML(pw)
		if err := os.WriteFile(filepath.Join(seed, "boot.yaml"), []byte(boot), 0o600); err != nil {
			return err
		}
		if err := vm.MakeDataDisk(o.Data, 256, seed); err != nil {
			return fmt.Errorf("testbed: vm data disk: %w", err)
		}
	}
	sock := tb.ConsoleSocket()
	os.Remove(sock)
	var nics []vm.NIC
	for _, dev := range slices.Sorted(maps.Keys(tb.Topo.TAPs)) {
		nics = append(nics, vm.NIC{TAP: dev, MAC: tb.Topo.PortMACs[dev]})
	}
	cmd, err := vm.Command(vm.RunOptions{
		Image: o.Image, Data: o.Data, Vars: filepath.Join(tb.opts.StateDir, "ovmf-vars.fd"),
		Serial: "unix:" + sock, Accel: o.Accel, NICs: nics,
		MgmtForward: []string{"tcp:" + ApplianceSSH + "-:22", "tcp:" + ApplianceREST + "-:443"},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(tb.opts.Log, "testbed: booting the appliance VM: %s\n", strings.Join(cmd.Args, " "))
	if err := tb.startWith("appliance", tb.Topo.SwitchNS, cmd.Args, nil, nil); err != nil {
		return err
	}
	deadline := time.Now().Add(20 * time.Second)
	for tap, br := range tb.Topo.TAPs {
		for {
			err := enslave(tb.Topo.SwitchNS, tap, br)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("testbed: vm NIC %s: %w; qemu: %s", tap, err, tb.logTail("appliance"))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}
