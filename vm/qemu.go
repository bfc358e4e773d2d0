package vm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// OVMF's firmware and its variable store template (Debian's ovmf).
const (
	OVMFCode = "/usr/share/OVMF/OVMF_CODE_4M.fd"
	OVMFVars = "/usr/share/OVMF/OVMF_VARS_4M.fd"
)

// NIC is one data NIC of the VM: a TAP device qemu opens by name, or an
// open TAP file descriptor it inherits.
type NIC struct {
	TAP  string   // a TAP device name (qemu opens it)
	File *os.File // or an open TAP (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR)
	MAC  string   // the NIC's MAC; empty: qemu's
}

// RunOptions describe one boot.
type RunOptions struct {
	Image string // the system disk (qcow2)
	Data  string // the data disk (qcow2); empty: none (the image's own data partition)
	// Vars is the writable copy of OVMF's variable store (made from
	// OVMFVars when missing).
	Vars string
	// Serial is "stdio" (the terminal; the default) or "unix:PATH" (a
	// listening socket the caller connects to).
	Serial string
	// Accel is "kvm", "tcg" or "" (KVM when /dev/kvm works, else TCG;
	// $LBX_VM_ACCEL overrides).
	Accel  string
	Memory int // MiB; default 1024
	CPUs   int // default 2
	// MgmtForward are qemu user-mode host forwards of the management NIC,
	// "tcp:127.0.0.1:2222-:22"; the management NIC is always user-mode
	// (DHCP answers 10.0.2.15).
	MgmtForward []string
	NICs        []NIC
	// Stdout and Stderr receive qemu's output (with Serial "stdio", the
	// console); nil: os.Stdout, os.Stderr.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// KVMUsable says whether KVM works: /dev/kvm opens and answers, and
// OVMF runs under it (some nested hosts expose a /dev/kvm that fails
// "KVM internal error … emulation failure" on the firmware's first FPU
// instruction). The probe boots OVMF alone for at most kvmProbeWait,
// once per process.
func KVMUsable() bool {
	kvmOnce.Do(func() { kvmOK = kvmProbe() })
	return kvmOK
}

var (
	kvmOnce sync.Once
	kvmOK   bool
)

const kvmProbeWait = 15 * time.Second

func kvmProbe() bool {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	const kvmGetAPIVersion = 0xAE00
	v, err := unix.IoctlRetInt(int(f.Fd()), kvmGetAPIVersion)
	f.Close()
	if err != nil || v != 12 {
		return false
	}
	if _, err := os.Stat(OVMFCode); err != nil {
		return false
	}
	vars, err := os.CreateTemp("", "lbx-kvm-probe-vars")
	if err != nil {
		return false
	}
	defer os.Remove(vars.Name())
	if src, err := os.ReadFile(OVMFVars); err == nil {
		vars.Write(src)
	}
	vars.Close()
	cmd := exec.Command("qemu-system-x86_64", "-machine", "q35,accel=kvm", "-cpu", "host", "-m", "256",
		"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+OVMFCode,
		"-drive", "if=pflash,format=raw,unit=1,file="+vars.Name(),
		"-nodefaults", "-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot")
	serial, err := cmd.StdoutPipe()
	if err != nil {
		return false
	}
	errs, err := cmd.StderrPipe()
	if err != nil {
		return false
	}
	if err := cmd.Start(); err != nil {
		return false
	}
	got := make(chan bool, 2)
	go func() {
		b := make([]byte, 1)
		n, _ := serial.Read(b) // the firmware's first output
		got <- n > 0
	}()
	go func() {
		var all []byte
		b := make([]byte, 512)
		for {
			n, err := errs.Read(b)
			all = append(all, b[:n]...)
			if bytes.Contains(all, []byte("KVM internal error")) {
				got <- false
				return
			}
			if err != nil {
				return
			}
		}
	}()
	ok := false
	select {
	case ok = <-got:
	case <-time.After(kvmProbeWait):
	}
	cmd.Process.Kill()
	cmd.Wait()
	return ok
}

// Accel is the accelerator a boot with want ("" for auto) uses.
func Accel(want string) string {
	if env := os.Getenv("LBX_VM_ACCEL"); env != "" {
		want = env
	}
	if want == "" {
		if KVMUsable() {
			return "kvm"
		}
		return "tcg"
	}
	return want
}

// Command builds the qemu command for o (not started).
func Command(o RunOptions) (*exec.Cmd, error) {
	if o.Image == "" {
		return nil, errors.New("vm run: no image")
	}
	if _, err := os.Stat(o.Image); err != nil {
		return nil, fmt.Errorf("vm run: image: %w (make image builds it)", err)
	}
	for _, f := range []string{OVMFCode, OVMFVars} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("vm run: %w (install ovmf)", err)
		}
	}
	if o.Vars == "" {
		o.Vars = strings.TrimSuffix(o.Image, filepath.Ext(o.Image)) + ".vars.fd"
	}
	if _, err := os.Stat(o.Vars); err != nil {
		src, err := os.ReadFile(OVMFVars)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(o.Vars, src, 0o600); err != nil {
			return nil, fmt.Errorf("vm run: vars: %w", err)
		}
	}
	if o.Memory == 0 {
		o.Memory = 1024
	}
	if o.CPUs == 0 {
		o.CPUs = 2
	}
	accel := Accel(o.Accel)
	cpu := "max"
	if accel == "kvm" {
		cpu = "host"
	}
	args := []string{
		"-machine", "q35,accel=" + accel, "-cpu", cpu, "-m", fmt.Sprint(o.Memory), "-smp", fmt.Sprint(o.CPUs),
		"-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + OVMFCode,
		"-drive", "if=pflash,format=raw,unit=1,file=" + o.Vars,
		"-drive", "if=virtio,format=qcow2,file=" + o.Image,
		"-device", "virtio-rng-pci",
		"-display", "none", "-vga", "std",
		"-monitor", "none",
	}
	if o.Data != "" {
		args = append(args, "-drive", "if=virtio,format=qcow2,file="+o.Data)
	}
	user := "user,id=mgmt"
	for _, f := range o.MgmtForward {
		user += ",hostfwd=" + f
	}
	args = append(args, "-netdev", user, "-device", "virtio-net-pci,netdev=mgmt")
	cmd := exec.Command("qemu-system-x86_64")
	for i, n := range o.NICs {
		id := fmt.Sprintf("data%d", i)
		switch {
		case n.File != nil:
			cmd.ExtraFiles = append(cmd.ExtraFiles, n.File)
			args = append(args, "-netdev", fmt.Sprintf("tap,id=%s,fd=%d,vhost=off", id, 2+len(cmd.ExtraFiles)))
		case n.TAP != "":
			args = append(args, "-netdev", fmt.Sprintf("tap,id=%s,ifname=%s,script=no,downscript=no,vhost=off", id, n.TAP))
		default:
			return nil, fmt.Errorf("vm run: NIC %d: no TAP", i)
		}
		dev := "virtio-net-pci,netdev=" + id
		if n.MAC != "" {
			dev += ",mac=" + n.MAC
		}
		args = append(args, "-device", dev)
	}
	switch {
	case o.Serial == "" || o.Serial == "stdio":
		args = append(args, "-serial", "stdio")
	case strings.HasPrefix(o.Serial, "unix:"):
		args = append(args, "-chardev", "socket,id=con0,path="+strings.TrimPrefix(o.Serial, "unix:")+",server=on,wait=off",
			"-serial", "chardev:con0")
	default:
		return nil, fmt.Errorf("vm run: --serial %q: want stdio or unix:PATH", o.Serial)
	}
	cmd.Args = append(cmd.Args, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
	if cmd.Stdout == nil {
		cmd.Stdout = os.Stdout
	}
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	return cmd, nil
}

// MakeDataDisk creates an empty data disk (qcow2, sizeMiB, ext4 labelled
// lbx-data) at path, holding the files of seedDir when set (a boot.yaml).
func MakeDataDisk(path string, sizeMiB int, seedDir string) error {
	raw := path + ".raw"
	os.Remove(raw)
	defer os.Remove(raw)
	if err := MakeDataFS(raw, sizeMiB, seedDir, 0); err != nil {
		return err
	}
	out, err := exec.Command("qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", raw, path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("qemu-img convert %s: %w: %s", path, err, out)
	}
	return nil
}
