package testbed

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"unsafe"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ethtoolValue is struct ethtool_value.
type ethtoolValue struct{ cmd, data uint32 }

// ifreqData is struct ifreq with ifr_data, the pointer SIOCETHTOOL reads.
type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data *ethtoolValue
	_    [24 - unsafe.Sizeof(uintptr(0))]byte
}

const ethtoolSTXCSUM = 0x17 // ETHTOOL_STXCSUM

// SetSwitchTxChecksum turns transmit checksum offload of a switch end (a
// veth end in the switch namespace, Host.SwEnd) on or off. Off, the kernel
// computes in software the checksum of every frame it sends into the host
// (and segments GSO frames, as segmentation offload needs checksum
// offload), so that the host's TCP verifies what a partial checksum from
// the appliance became instead of trusting it as a veth peer does.
func (tb *Testbed) SetSwitchTxChecksum(swEnd string, on bool) error {
	return withNS(tb.Topo.SwitchNS, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("testbed: %s: ethtool socket: %w", swEnd, err)
		}
		defer unix.Close(fd)
		v := &ethtoolValue{cmd: ethtoolSTXCSUM}
		if on {
			v.data = 1
		}
		ifr := &ifreqData{data: v}
		if len(swEnd) >= len(ifr.name) {
			return fmt.Errorf("testbed: %s: interface name too long", swEnd)
		}
		copy(ifr.name[:], swEnd)
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(ifr))); errno != 0 {
			return fmt.Errorf("testbed: %s: ethtool set tx checksum %v: %w", swEnd, on, errno)
		}
		return nil
	})
}

const (
	ethtoolSTSO = 0x1f // ETHTOOL_STSO
	ethtoolSGRO = 0x2c // ETHTOOL_SGRO
)

// ethtoolSet runs one ETHTOOL_S* request of struct ethtool_value on dev in
// the calling thread's namespace.
func ethtoolSet(dev string, cmd, value uint32) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("%s: ethtool socket: %w", dev, err)
	}
	defer unix.Close(fd)
	ifr := &ifreqData{data: &ethtoolValue{cmd: cmd, data: value}}
	if len(dev) >= len(ifr.name) {
		return fmt.Errorf("%s: interface name too long", dev)
	}
	copy(ifr.name[:], dev)
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(ifr))); errno != 0 {
		return fmt.Errorf("%s: ethtool request %#x = %d: %w", dev, cmd, value, errno)
	}
	return nil
}

// xskVethGRO makes the switch end (swEnd, in swNS) of an AF_XDP port's veth
// pair take what the port sends (portDev, in portNS) through GRO in a NAPI
// thread of its own, as a server's NIC would aggregate a stream of wire
// frames. An AF_XDP socket sends one wire frame at a time, each as an skb
// the kernel delivers inside the socket's sendto: without this, the
// bridge, the netfilter hooks and the receiving host's TCP run once per
// 1,500-byte frame in lbx's system call (see docs/BENCHMARKS.md, "AF_XDP
// bulk"). Three settings: transmit segmentation offload off on portDev
// (veth queues a frame for its peer's NAPI, where GRO runs, only when the
// sending end has no TSO; an XSK socket never sends a TSO frame), GRO on
// swEnd (which gives it a NAPI instance), and that NAPI threaded
// (/sys/class/net/DEV/threaded), so that it runs in a kernel thread, with
// the frames of a whole batch to aggregate, instead of in the softirq the
// sendto runs after each frame.
func xskVethGRO(swNS, swEnd, portNS, portDev string) error {
	if err := withNS(portNS, func() error { return ethtoolSet(portDev, ethtoolSTSO, 0) }); err != nil {
		return fmt.Errorf("tso off: %w", err)
	}
	if err := withNS(swNS, func() error { return ethtoolSet(swEnd, ethtoolSGRO, 1) }); err != nil {
		return fmt.Errorf("gro on: %w", err)
	}
	if err := writeSysfs(swNS, filepath.Join("class/net", swEnd, "threaded"), "1"); err != nil {
		return fmt.Errorf("threaded napi: %w", err)
	}
	return nil
}

// writeSysfs writes value to the sysfs file rel (relative to /sys) of
// network namespace ns. A sysfs mount shows the devices of the namespace it
// was mounted in, so the write happens on a thread of its own with a
// private mount namespace, entered into ns, with a sysfs mounted there on
// a temporary directory. The thread is never unlocked: it ends with its
// goroutine, and its mount namespace with it.
func writeSysfs(ns, rel, value string) error {
	dir, err := os.MkdirTemp("", "lbx-sysfs-")
	if err != nil {
		return err
	}
	defer os.Remove(dir)
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- func() error {
			if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
				return fmt.Errorf("unshare mount namespace: %w", err)
			}
			if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
				return fmt.Errorf("private mounts: %w", err)
			}
			h, err := netns.GetFromName(ns)
			if err != nil {
				return fmt.Errorf("netns %s: %w", ns, err)
			}
			defer h.Close()
			if err := netns.Set(h); err != nil {
				return fmt.Errorf("netns %s: enter: %w", ns, err)
			}
			if err := unix.Mount("sysfs", dir, "sysfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
				return fmt.Errorf("mount sysfs: %w", err)
			}
			defer unix.Unmount(dir, unix.MNT_DETACH)
			return os.WriteFile(filepath.Join(dir, rel), []byte(value), 0)
		}()
	}()
	return <-errc
}
