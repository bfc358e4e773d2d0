package ethtool

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"unsafe"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The ETHTOOL_S* requests of struct ethtool_value that Set takes.
const (
	TxChecksum uint32 = 0x17 // ETHTOOL_STXCSUM
	TSO        uint32 = 0x1f // ETHTOOL_STSO
	GRO        uint32 = 0x2c // ETHTOOL_SGRO
)

// value is struct ethtool_value.
type value struct{ cmd, data uint32 }

// ifreqData is struct ifreq with ifr_data, the pointer SIOCETHTOOL reads.
type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data *value
	_    [24 - unsafe.Sizeof(uintptr(0))]byte
}

// Set turns the offload cmd (TxChecksum, TSO, GRO) of device dev in
// network namespace ns on or off.
func Set(ns, dev string, cmd uint32, on bool) error {
	v := &value{cmd: cmd}
	if on {
		v.data = 1
	}
	ifr := &ifreqData{data: v}
	if len(dev) >= len(ifr.name) {
		return fmt.Errorf("%s: interface name too long", dev)
	}
	copy(ifr.name[:], dev)
	return inNS(ns, false, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("%s: ethtool socket: %w", dev, err)
		}
		defer unix.Close(fd)
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(ifr))); errno != 0 {
			return fmt.Errorf("%s: ethtool request %#x = %v: %w", dev, cmd, on, errno)
		}
		return nil
	})
}

// VethGRO makes the switch end (swEnd, in swNS) of an AF_XDP port's veth
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
func VethGRO(swNS, swEnd, portNS, portDev string) error {
	if err := Set(portNS, portDev, TSO, false); err != nil {
		return fmt.Errorf("tso off: %w", err)
	}
	if err := Set(swNS, swEnd, GRO, true); err != nil {
		return fmt.Errorf("gro on: %w", err)
	}
	if err := WriteSysfs(swNS, filepath.Join("class/net", swEnd, "threaded"), "1"); err != nil {
		return fmt.Errorf("threaded napi: %w", err)
	}
	return nil
}

// WriteSysfs writes value to the sysfs file rel (relative to /sys) of
// network namespace ns. A sysfs mount shows the devices of the namespace it
// was mounted in, so the write happens on a thread with a private mount
// namespace, entered into ns, with a sysfs mounted there on a temporary
// directory.
func WriteSysfs(ns, rel, value string) error {
	dir, err := os.MkdirTemp("", "lbx-sysfs-")
	if err != nil {
		return err
	}
	defer os.Remove(dir)
	return inNS(ns, true, func() error {
		if err := unix.Mount("sysfs", dir, "sysfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return fmt.Errorf("mount sysfs: %w", err)
		}
		defer unix.Unmount(dir, unix.MNT_DETACH)
		return os.WriteFile(filepath.Join(dir, rel), []byte(value), 0)
	})
}

// inNS runs fn on a thread of its own entered into network namespace ns
// (and, with privateMounts, into a private mount namespace first). The
// thread is never unlocked: it ends with its goroutine, and its namespaces
// with it, so the caller's thread is never changed.
func inNS(ns string, privateMounts bool, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- func() error {
			if privateMounts {
				if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
					return fmt.Errorf("unshare mount namespace: %w", err)
				}
				if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
					return fmt.Errorf("private mounts: %w", err)
				}
			}
			h, err := netns.GetFromName(ns)
			if err != nil {
				return fmt.Errorf("netns %s: %w", ns, err)
			}
			defer h.Close()
			if err := netns.Set(h); err != nil {
				return fmt.Errorf("netns %s: enter: %w", ns, err)
			}
			return fn()
		}()
	}()
	return <-errc
}
