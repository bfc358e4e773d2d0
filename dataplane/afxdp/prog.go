package afxdp

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ProgName is the XDP program's name in the kernel. Open removes a program
// of this name found on its interface (left by a crashed lbx) and refuses
// to replace any other.
const ProgName = "lbx_xsk"

// XDP verdicts (enum xdp_action).
const (
	xdpAborted  = 0
	xdpDrop     = 1
	xdpPass     = 2
	xdpTx       = 3
	xdpRedirect = 4
)

// Attach modes as IFLA_XDP_ATTACHED reports them.
const (
	attachedNone    = 0
	attachedDriver  = 1
	attachedGeneric = 2
	attachedHW      = 3
)

// Mode names the way the program is attached, as show net interface prints it.
type Mode string

const (
	// ModeNative: the driver runs the program (XDP_FLAGS_DRV_MODE).
	ModeNative Mode = "native"
	// ModeGeneric: the kernel runs it on the skb (XDP_FLAGS_SKB_MODE),
	// for drivers without XDP support; frames are copied.
	ModeGeneric Mode = "generic"
)

// program is the loaded XDP program and its XSKMAP.
type program struct {
	prog *ebpf.Program
	xsks *ebpf.Map
}

// xskInstructions is the program: redirect the frame to the socket in
// xsks at the frame's receive queue; when the queue has none, bpf_redirect_map
// returns its flags argument's action, XDP_PASS.
//
//	r2 = ctx->rx_queue_index
//	r1 = &xsks
//	r3 = XDP_PASS
//	return bpf_redirect_map(r1, r2, r3)
func xskInstructions(xsksFD int) asm.Instructions {
	return asm.Instructions{
		// struct xdp_md { data, data_end, data_meta, ingress_ifindex, rx_queue_index, … }
		asm.LoadMem(asm.R2, asm.R1, 16, asm.Word),
		asm.LoadMapPtr(asm.R1, xsksFD),
		asm.Mov.Imm(asm.R3, xdpPass),
		asm.FnRedirectMap.Call(),
		asm.Return(),
	}
}

// loadProgram creates the XSKMAP (one slot per queue) and the program.
func loadProgram(queues int) (*program, error) {
	xsks, err := ebpf.NewMap(&ebpf.MapSpec{
		Name:       "lbx_xsks",
		Type:       ebpf.XSKMap,
		KeySize:    4,
		ValueSize:  4,
		MaxEntries: uint32(queues),
	})
	if err != nil {
		return nil, fmt.Errorf("xskmap: %w", err)
	}
	prog, err := loadNamed(ProgName, xsks.FD())
	if err != nil {
		xsks.Close()
		return nil, err
	}
	return &program{prog: prog, xsks: xsks}, nil
}

// loadNamed loads the redirect program under name over the XSKMAP xsksFD.
func loadNamed(name string, xsksFD int) (*ebpf.Program, error) {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         name,
		Type:         ebpf.XDP,
		License:      "Dual MIT/GPL",
		Instructions: xskInstructions(xsksFD),
	})
	if err != nil {
		return nil, fmt.Errorf("xdp program: %w", err)
	}
	return prog, nil
}

func (p *program) close() {
	p.prog.Close()
	p.xsks.Close()
}

// inNS runs fn on a thread in network namespace ns: netlink's XDP calls
// open their socket in the calling thread's namespace, and Close may run on
// any thread.
func inNS(ns netns.NsHandle, fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return fmt.Errorf("netns: %w", err)
	}
	defer orig.Close()
	if !ns.Equal(orig) {
		if err := netns.Set(ns); err != nil {
			return fmt.Errorf("netns: %w", err)
		}
		defer netns.Set(orig)
	}
	return fn()
}

// attach attaches prog to the link: native mode first, generic mode when
// the driver refuses. It must run in the link's namespace.
func attach(link netlink.Link, prog *ebpf.Program) (Mode, error) {
	errNative := netlink.LinkSetXdpFdWithFlags(link, prog.FD(), unix.XDP_FLAGS_UPDATE_IF_NOEXIST|unix.XDP_FLAGS_DRV_MODE)
	if errNative == nil {
		return ModeNative, nil
	}
	errGeneric := netlink.LinkSetXdpFdWithFlags(link, prog.FD(), unix.XDP_FLAGS_UPDATE_IF_NOEXIST|unix.XDP_FLAGS_SKB_MODE)
	if errGeneric == nil {
		return ModeGeneric, nil
	}
	return "", fmt.Errorf("attach xdp: native: %v; generic: %w", errNative, errGeneric)
}

// detach removes whatever program is attached to the link in the mode
// attachMode (IFLA_XDP_ATTACHED). It must run in the link's namespace.
// Generic-mode programs are only removed with the generic flag, which is
// why the mode is passed explicitly.
func detach(link netlink.Link, attachMode uint32) error {
	var flags int
	switch attachMode {
	case attachedNone:
		return nil
	case attachedDriver:
		flags = unix.XDP_FLAGS_DRV_MODE
	case attachedGeneric:
		flags = unix.XDP_FLAGS_SKB_MODE
	case attachedHW:
		flags = unix.XDP_FLAGS_HW_MODE
	default:
		return fmt.Errorf("detach xdp: unknown attach mode %d", attachMode)
	}
	if err := netlink.LinkSetXdpFdWithFlags(link, -1, flags); err != nil {
		return fmt.Errorf("detach xdp: %w", err)
	}
	return nil
}

// ErrForeignProgram is returned by Open when the interface already runs an
// XDP program that lbx did not attach.
var ErrForeignProgram = errors.New("interface runs an XDP program lbx did not attach")

// removeStale removes an lbx program left attached to the link (by a
// process that died without Close), so Open can attach its own. It must
// run in the link's namespace. It reports whether it removed one.
func removeStale(link netlink.Link) (bool, error) {
	x := link.Attrs().Xdp
	if x == nil || !x.Attached {
		return false, nil
	}
	name := "?"
	if p, err := ebpf.NewProgramFromID(ebpf.ProgramID(x.ProgId)); err == nil {
		if info, err := p.Info(); err == nil {
			name = info.Name
		}
		p.Close()
	}
	if name != ProgName {
		return false, fmt.Errorf("%w: program %d (%s)", ErrForeignProgram, x.ProgId, name)
	}
	return true, detach(link, x.AttachMode)
}
