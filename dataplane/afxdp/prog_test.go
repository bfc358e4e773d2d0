package afxdp

import (
	"encoding/binary"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// frame builds an Ethernet frame of ethertype with a zeroed payload.
func frame(ethertype uint16, n int) []byte {
	f := make([]byte, max(n, 60))
	copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:12], []byte{0x02, 0, 0, 0, 0, 1})
	binary.BigEndian.PutUint16(f[12:14], ethertype)
	return f
}

// TestProgramVerdicts runs the XDP program with BPF_PROG_TEST_RUN: every
// frame on a queue with a socket is redirected, whatever it carries; a
// frame on a queue without one is passed to the kernel.
func TestProgramVerdicts(t *testing.T) {
	requireRoot(t)
	prog, err := loadProgram(1)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.close()
	frames := []struct {
		name string
		data []byte
	}{
		{name: "arp", data: frame(0x0806, 42)},
		{name: "ipv4 udp", data: frame(0x0800, 60)},
		{name: "ipv6", data: frame(0x86dd, 80)},
		{name: "vlan", data: frame(0x8100, 64)},
		{name: "jumbo-ish", data: frame(0x0800, 1514)},
	}
	run := func(t *testing.T, data []byte) uint32 {
		t.Helper()
		ret, _, err := prog.prog.Test(data)
		if err != nil {
			t.Fatalf("prog test run: %v", err)
		}
		return ret
	}
	t.Run("no socket", func(t *testing.T) {
		for _, f := range frames {
			if got := run(t, f.data); got != xdpPass {
				t.Errorf("%s: verdict %d, want XDP_PASS (%d)", f.name, got, xdpPass)
			}
		}
	})
	fd, err := unix.Socket(unix.AF_XDP, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := prog.xsks.Put(uint32(0), uint32(fd)); err != nil {
		t.Fatalf("xskmap put: %v", err)
	}
	t.Run("socket on queue 0", func(t *testing.T) {
		for _, f := range frames {
			if got := run(t, f.data); got != xdpRedirect {
				t.Errorf("%s: verdict %d, want XDP_REDIRECT (%d)", f.name, got, xdpRedirect)
			}
		}
	})
	if err := prog.xsks.Delete(uint32(0)); err != nil {
		t.Fatal(err)
	}
	t.Run("socket removed", func(t *testing.T) {
		if got := run(t, frames[0].data); got != xdpPass {
			t.Errorf("verdict %d, want XDP_PASS (%d)", got, xdpPass)
		}
	})
}

// TestProgramName: the name Open uses to tell its own stale program from
// another's survives the kernel's 15-character limit.
func TestProgramName(t *testing.T) {
	requireRoot(t)
	prog, err := loadProgram(1)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.close()
	info, err := prog.prog.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != ProgName || info.Type != ebpf.XDP {
		t.Fatalf("program %q of type %v, want %q of type XDP", info.Name, info.Type, ProgName)
	}
}
