package guest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// MountBase mounts proc, sysfs, devtmpfs, devpts and the tmpfs of /run
// and /tmp.
func MountBase() error {
	for _, m := range []struct{ src, dst, fstype, data string }{
		{"proc", "/proc", "proc", ""},
		{"sysfs", "/sys", "sysfs", ""},
		{"devtmpfs", "/dev", "devtmpfs", "mode=0755"},
		{"tmpfs", "/run", "tmpfs", "mode=0755"},
		{"tmpfs", "/tmp", "tmpfs", "mode=1777"},
	} {
		if err := os.MkdirAll(m.dst, 0o755); err != nil {
			return err
		}
		if err := unix.Mount(m.src, m.dst, m.fstype, unix.MS_NOSUID, m.data); err != nil && !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("mount %s: %w", m.dst, err)
		}
	}
	os.MkdirAll("/dev/pts", 0o755)
	if err := unix.Mount("devpts", "/dev/pts", "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "mode=0620,ptmxmode=0666"); err != nil && !errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("mount /dev/pts: %w", err)
	}
	// The BPF file system is not needed: AF_XDP's program is held by fd.
	return nil
}

// LoadModules loads the modules listed one path a line in list, in
// order; a module already loaded (or built in) is fine.
func LoadModules(list string) error {
	text, err := os.ReadFile(list)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range strings.Fields(string(text)) {
		f, err := os.Open(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		err = unix.FinitModule(int(f.Fd()), "", 0)
		f.Close()
		if err != nil && !errors.Is(err, unix.EEXIST) {
			errs = append(errs, fmt.Errorf("load module %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// MountData waits (at most wait) for a block device carrying the data
// file system and mounts it at DataDir; it returns the device.
func MountData(wait time.Duration) (string, error) {
	deadline := time.Now().Add(wait)
	var dev string
	var err error
	for {
		if dev, err = findData("/sys", "/dev", DataLabel); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return "", err
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := os.MkdirAll(DataDir, 0o755); err != nil {
		return "", err
	}
	if err := unix.Mount(dev, DataDir, "ext4", unix.MS_NOATIME, ""); err != nil {
		return "", fmt.Errorf("mount %s on %s: %w", dev, DataDir, err)
	}
	return dev, nil
}

// Mgmt is how the management NIC was brought up.
type Mgmt struct {
	NIC     string
	Address netip.Prefix
	Gateway netip.Addr
	DHCP    bool
}

// UpLoopback brings lo up.
func UpLoopback() error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return err
	}
	return netlink.LinkSetUp(lo)
}

// UpMgmt brings the management NIC up with address and gateway, or, when
// address is empty, with what a DHCP server offers within wait.
func UpMgmt(nic, address, gateway string, wait time.Duration) (Mgmt, error) {
	m := Mgmt{NIC: nic}
	link, err := netlink.LinkByName(nic)
	if err != nil {
		return m, fmt.Errorf("mgmt %s: %w", nic, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return m, fmt.Errorf("mgmt %s up: %w", nic, err)
	}
	if address == "" {
		m.DHCP = true
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		c, err := nclient4.New(nic, nclient4.WithTimeout(2*time.Second), nclient4.WithRetry(3))
		if err != nil {
			return m, fmt.Errorf("mgmt %s dhcp: %w", nic, err)
		}
		lease, err := c.Request(ctx)
		c.Close()
		if err != nil {
			return m, fmt.Errorf("mgmt %s dhcp: %w", nic, err)
		}
		ack := lease.ACK
		ones, _ := ack.SubnetMask().Size()
		ip, _ := netip.AddrFromSlice(ack.YourIPAddr.To4())
		m.Address = netip.PrefixFrom(ip, ones)
		if r := ack.Router(); len(r) > 0 {
			m.Gateway, _ = netip.AddrFromSlice(r[0].To4())
		}
	} else {
		if m.Address, err = netip.ParsePrefix(address); err != nil {
			return m, fmt.Errorf("mgmt.address %q: %w", address, err)
		}
		if gateway != "" {
			if m.Gateway, err = netip.ParseAddr(gateway); err != nil {
				return m, fmt.Errorf("mgmt.gateway %q: %w", gateway, err)
			}
		}
	}
	ipn := &net.IPNet{IP: m.Address.Addr().AsSlice(), Mask: net.CIDRMask(m.Address.Bits(), m.Address.Addr().BitLen())}
	if err := netlink.AddrReplace(link, &netlink.Addr{IPNet: ipn}); err != nil {
		return m, fmt.Errorf("mgmt %s address %s: %w", nic, m.Address, err)
	}
	if m.Gateway.IsValid() {
		r := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: m.Gateway.AsSlice()}
		if err := netlink.RouteReplace(r); err != nil {
			return m, fmt.Errorf("mgmt %s gateway %s: %w", nic, m.Gateway, err)
		}
	}
	return m, nil
}

// LinkUp brings a data NIC up (the AF_XDP port takes it over).
func LinkUp(nic string) error {
	link, err := netlink.LinkByName(nic)
	if err != nil {
		return err
	}
	return netlink.LinkSetUp(link)
}

// Stop ends the machine cleanly: sync, unmount the data file system
// (read-only if busy), then power off or reboot.
func Stop(reboot bool) error {
	unix.Sync()
	if err := unix.Unmount(DataDir, 0); err != nil {
		unix.Mount("", DataDir, "", unix.MS_REMOUNT|unix.MS_RDONLY, "")
	}
	unix.Sync()
	cmd := unix.LINUX_REBOOT_CMD_POWER_OFF
	if reboot {
		cmd = unix.LINUX_REBOOT_CMD_RESTART
	}
	return unix.Reboot(cmd)
}
