package afxdp

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// DisableTxChecksum turns transmit checksum offload (and with it TSO) off
// on device, in the calling thread's network namespace, as
// `ethtool -K DEVICE tx off` does. A veth end that transmits into an
// AF_XDP port needs it: with the offload on, its TCP and UDP frames carry
// only a pseudo-header checksum, which the kernel would complete later on
// the skb but an XSK socket receives as it is.
func DisableTxChecksum(device string) error {
	const ethtoolSTXCSUM = 0x17 // ETHTOOL_STXCSUM
	if len(device) >= unix.IFNAMSIZ {
		return fmt.Errorf("device %q: name too long", device)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("device %s: tx checksum: %w", device, err)
	}
	defer unix.Close(fd)
	// Both on the heap, which does not move: the ioctl gets their
	// addresses as integers.
	value := &struct{ cmd, data uint32 }{cmd: ethtoolSTXCSUM}
	ifr := &struct {
		name [unix.IFNAMSIZ]byte
		data uintptr
		_    [16]byte
	}{}
	copy(ifr.name[:], device)
	ifr.data = uintptr(unsafe.Pointer(value))
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(ifr))); e != 0 {
		return fmt.Errorf("device %s: tx checksum off: %w", device, e)
	}
	runtime.KeepAlive(value)
	return nil
}

// channels is struct ethtool_channels.
type channels struct {
	cmd                                       uint32
	maxRx, maxTx, maxOther, maxCombined       uint32
	rxCount, txCount, otherCount, combinedCnt uint32
}

const (
	ethtoolGCHANNELS = 0x3c
	ethtoolSCHANNELS = 0x3d
)

// ethtool runs one SIOCETHTOOL request on device with data (on the heap).
func ethtool(device string, data unsafe.Pointer) error {
	if len(device) >= unix.IFNAMSIZ {
		return fmt.Errorf("device %q: name too long", device)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr := &struct {
		name [unix.IFNAMSIZ]byte
		data uintptr
		_    [16]byte
	}{data: uintptr(data)}
	copy(ifr.name[:], device)
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(ifr))); e != 0 {
		return e
	}
	return nil
}

// oneQueue makes device receive on one queue, so that queue 0's socket
// sees every frame, as `ethtool -L DEVICE combined 1` (or rx 1) does. It
// returns the receive queues the device then has.
func oneQueue(device string) (int, error) {
	ch := &channels{cmd: ethtoolGCHANNELS}
	if err := ethtool(device, unsafe.Pointer(ch)); err != nil {
		if errors.Is(err, unix.EOPNOTSUPP) {
			return 1, nil // no channels to speak of: one queue
		}
		return 0, fmt.Errorf("device %s: get channels: %w", device, err)
	}
	queues := max(ch.rxCount+ch.combinedCnt, 1)
	if queues == 1 {
		return 1, nil
	}
	set := *ch
	set.cmd = ethtoolSCHANNELS
	if ch.combinedCnt > 0 {
		set.combinedCnt, set.rxCount = 1, 0
	} else {
		set.rxCount = 1
	}
	s := &set
	if err := ethtool(device, unsafe.Pointer(s)); err != nil {
		return int(queues), fmt.Errorf("device %s: %d receive queues, and setting one failed (the port serves queue 0 only): %w", device, queues, err)
	}
	return 1, nil
}
