package tap

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"lbx/dataplane"
)

// The test namespace: TAP device "tapt0" with tapIP for the kernel, and the
// port (lbx's side) answering for peerIP with portMAC, a static neighbour,
// so that a datagram the kernel sends to peerIP comes out of the TAP to
// the port without ARP.
var (
	portMAC = net.HardwareAddr{0x02, 0x00, 0x5e, 0x77, 0x01, 0x02}
	tapIP   = net.IPv4(10, 98, 0, 1).To4()
	peerIP  = net.IPv4(10, 98, 0, 2).To4()
)

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("TAP tests need root, and CI=true forbids skipping them")
	}
	t.Skip("TAP tests need root")
}

// tapNS is a namespace of the test's own with the port open in it and a
// UDP socket of the kernel's side to send through the TAP.
type tapNS struct {
	port *Port
	sock int
}

func newTapNS(t *testing.T) *tapNS {
	t.Helper()
	requireRoot(t)
	name := fmt.Sprintf("lbx-tapt-%d", os.Getpid())
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	netns.DeleteNamed(name) // left by a killed run of this test
	ns, err := netns.NewNamed(name)
	if err != nil {
		t.Fatal(err)
	}
	defer netns.Set(orig)
	tn := &tapNS{sock: -1}
	t.Cleanup(func() {
		if tn.port != nil {
			tn.port.Close()
		}
		if tn.sock >= 0 {
			unix.Close(tn.sock)
		}
		ns.Close()
		netns.DeleteNamed(name)
	})
	if tn.port, err = Open("ext", "tapt0", portMAC); err != nil {
		t.Fatal(err)
	}
	link, err := netlink.LinkByName("tapt0")
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: &net.IPNet{IP: tapIP, Mask: net.CIDRMask(24, 32)}}); err != nil {
		t.Fatal(err)
	}
	if err := netlink.NeighAdd(&netlink.Neigh{LinkIndex: link.Attrs().Index, State: netlink.NUD_PERMANENT, IP: peerIP, HardwareAddr: portMAC}); err != nil {
		t.Fatal(err)
	}
	// No IPv6 on the device: the kernel's own frames (router
	// solicitations) would come between the test's.
	if err := os.WriteFile("/proc/sys/net/ipv6/conf/tapt0/disable_ipv6", []byte("1"), 0); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	// The socket stays in the namespace it was created in.
	if tn.sock, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err != nil {
		t.Fatal(err)
	}
	return tn
}

// send has the kernel send one datagram with payload to peerIP:9.
func (tn *tapNS) send(t *testing.T, payload []byte) {
	t.Helper()
	sa := &unix.SockaddrInet4{Port: 9}
	copy(sa.Addr[:], peerIP)
	if err := unix.Sendto(tn.sock, payload, 0, sa); err != nil {
		t.Fatal(err)
	}
}

// readUDP reads frames until a UDP datagram to peerIP:9 comes (the kernel
// may send others: IPv6 router solicitations) and returns its payload.
func readUDP(t *testing.T, p *Port, bufs [][]byte, sizes []int) []byte {
	t.Helper()
	for range 20 {
		n, err := p.ReadBatch(bufs, sizes)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if pl, ok := udpTo9(bufs[i][:sizes[i]]); ok {
				return pl
			}
		}
	}
	t.Fatal("20 reads and no datagram to port 9")
	return nil
}

func udpTo9(f []byte) ([]byte, bool) {
	if len(f) < 14+20+8 || binary.BigEndian.Uint16(f[12:]) != 0x0800 || f[14+9] != unix.IPPROTO_UDP {
		return nil, false
	}
	ihl := int(f[14]&0xf) * 4
	u := f[14+ihl:]
	if len(u) < 8 || binary.BigEndian.Uint16(u[2:]) != 9 {
		return nil, false
	}
	return u[8:], true
}

func newBufs() ([][]byte, []int) {
	bufs := make([][]byte, 8)
	for i := range bufs {
		bufs[i] = make([]byte, 2048)
	}
	return bufs, make([]int, len(bufs))
}

// TestCloseEndsRead: Close ends a read parked in the netpoller.
func TestCloseEndsRead(t *testing.T) {
	tn := newTapNS(t)
	p := tn.port
	bufs, sizes := newBufs()
	tn.send(t, []byte("first"))
	if got := readUDP(t, p, bufs, sizes); string(got) != "first" {
		t.Fatalf("payload %q, want first", got)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := p.ReadBatch(bufs, sizes)
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	p.Close()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("read after Close: no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end a pending read within 5 s")
	}
}

// TestReadAllocatesNothing: reading frames from a real TAP device
// allocates nothing.
func TestReadAllocatesNothing(t *testing.T) {
	tn := newTapNS(t)
	p := tn.port
	bufs, sizes := newBufs()
	payload := []byte("x")
	// AllocsPerRun calls the function once more than it counts; a call
	// drains up to len(bufs) frames, and frames enough for every call to
	// fill its buffers are queued, so that none waits.
	const sent = 21 * 8
	for range sent {
		tn.send(t, payload)
	}
	var err error
	got := 0
	if a := testing.AllocsPerRun(20, func() {
		var n int
		n, err = p.ReadBatch(bufs, sizes)
		got += n
	}); a != 0 {
		t.Errorf("ReadBatch: %.1f allocations per call, want 0", a)
	}
	if err != nil || got < 21 || got > sent {
		t.Fatalf("read %d frames (err %v), want 21 to %d", got, err, sent)
	}
}

var _ dataplane.Port = (*Port)(nil)
