package dataplane

import (
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/songgao/water"
	"github.com/vishvananda/netlink"
)

// TAP is a data port over a Linux TAP device (github.com/songgao/water).
// lbx is the "wire" side of the device: frames the kernel sends on the TAP
// interface (for instance from a bridge the interface is enslaved to) are
// read here, and frames written here appear as received by the kernel. The
// port's MAC is lbx's own address on that wire, not the kernel interface's.
//
// water opens the device non-blocking through the Go netpoller, so Close
// unblocks a pending read. One read and one write system call per frame:
// ReadBatch returns at most one frame.
type TAP struct {
	name string
	ifce *water.Interface
	mac  net.HardwareAddr
	// nl and index find the device for its statistics from any thread:
	// the handle's socket stays in the namespace the device was opened in.
	nl    *netlink.Handle
	index int

	closeOnce sync.Once
	closeErr  error
}

var (
	_ Port        = (*TAP)(nil)
	_ LossCounter = (*TAP)(nil)
)

// OpenTAP creates (or attaches to) the TAP device in the calling thread's
// network namespace, brings it up, and returns it as the port called name
// whose frames use mac as source address.
func OpenTAP(name, device string, mac net.HardwareAddr) (*TAP, error) {
	if len(mac) != 6 {
		return nil, fmt.Errorf("port %s: mac %q: want a 6-byte Ethernet address", name, mac)
	}
	ifce, err := water.New(water.Config{
		DeviceType:             water.TAP,
		PlatformSpecificParams: water.PlatformSpecificParams{Name: device},
	})
	if err != nil {
		return nil, fmt.Errorf("port %s: open tap: %w", name, err)
	}
	nl, err := netlink.NewHandle()
	if err != nil {
		ifce.Close()
		return nil, fmt.Errorf("port %s: netlink: %w", name, err)
	}
	link, err := nl.LinkByName(ifce.Name())
	if err == nil {
		err = nl.LinkSetUp(link)
	}
	if err != nil {
		nl.Close()
		ifce.Close()
		return nil, fmt.Errorf("port %s: bring tap %s up: %w", name, device, err)
	}
	return &TAP{name: name, ifce: ifce, mac: append(net.HardwareAddr(nil), mac...), nl: nl, index: link.Attrs().Index}, nil
}

// RxLost implements LossCounter: the frames the kernel dropped because
// the TAP's queue towards lbx was full, which it counts as the device's
// tx_dropped (the kernel transmits to lbx). 0 when it cannot be read.
func (t *TAP) RxLost() uint64 {
	link, err := t.nl.LinkByIndex(t.index)
	if err != nil || link.Attrs().Statistics == nil {
		return 0
	}
	return link.Attrs().Statistics.TxDropped
}

// Name implements Port: the port's configured name, not the device's.
func (t *TAP) Name() string { return t.name }

// MAC implements Port.
func (t *TAP) MAC() net.HardwareAddr { return t.mac }

// ReadBatch implements Port. It reads one frame per call.
func (t *TAP) ReadBatch(bufs [][]byte, sizes []int) (int, error) {
	if len(bufs) == 0 {
		return 0, nil
	}
	for {
		n, err := t.ifce.Read(bufs[0])
		if err != nil {
			return 0, err
		}
		if n == 0 {
			continue
		}
		sizes[0] = n
		return 1, nil
	}
}

// WriteBatch implements Port.
func (t *TAP) WriteBatch(frames [][]byte) (int, error) {
	for i, f := range frames {
		if _, err := t.ifce.Write(f); err != nil {
			return i, err
		}
	}
	return len(frames), nil
}

// Close implements Port. The kernel removes a non-persistent TAP device when
// its last file descriptor is closed.
func (t *TAP) Close() error {
	t.closeOnce.Do(func() {
		defer t.nl.Close()
		t.closeErr = t.ifce.Close()
		if errors.Is(t.closeErr, net.ErrClosed) {
			t.closeErr = nil
		}
	})
	return t.closeErr
}
