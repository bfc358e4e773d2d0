package testbed

import (
	"fmt"
	"unsafe"

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
