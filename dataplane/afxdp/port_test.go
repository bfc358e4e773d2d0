package afxdp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"lbx/dataplane"
)

// requireRoot skips a namespace test when not root, except in CI where a
// test that cannot run is a failure.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("AF_XDP tests need root, and CI=true forbids skipping them")
	}
	t.Skip("AF_XDP tests need root")
}

// The test namespace: a veth pair, "xsk0" for the port and "peer0" with
// peerIP for the kernel, whose traffic the port exchanges frames with.
var (
	portMAC = net.HardwareAddr{0x02, 0x00, 0x5e, 0x77, 0x00, 0x02}
	portIP  = net.IPv4(10, 99, 0, 2).To4()
	peerIP  = net.IPv4(10, 99, 0, 1).To4()
)

type testNS struct {
	name string
	ns   netns.NsHandle
}

// newTestNS creates a namespace of its own with the veth pair, and removes
// it when the test ends.
func newTestNS(t testing.TB) *testNS {
	t.Helper()
	requireRoot(t)
	name := fmt.Sprintf("lbx-xsk-%d", os.Getpid())
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
	tn := &testNS{name: name, ns: ns}
	t.Cleanup(func() {
		tn.ns.Close()
		netns.DeleteNamed(name)
	})
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "xsk0"}, PeerName: "peer0"}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	peer, err := netlink.LinkByName("peer0")
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.AddrAdd(peer, &netlink.Addr{IPNet: &net.IPNet{IP: peerIP, Mask: net.CIDRMask(24, 32)}}); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(peer); err != nil {
		t.Fatal(err)
	}
	if err := DisableTxChecksum("peer0"); err != nil {
		t.Fatal(err)
	}
	return tn
}

// do runs fn on a thread inside the namespace.
func (tn *testNS) do(t testing.TB, fn func() error) {
	t.Helper()
	if err := inNS(tn.ns, fn); err != nil {
		t.Fatal(err)
	}
}

func (tn *testNS) open(t testing.TB) *Port {
	t.Helper()
	var p *Port
	tn.do(t, func() (err error) {
		p, err = Open("ext", "xsk0", portMAC)
		return err
	})
	return p
}

// xdpAttached returns the program attached to xsk0 (0: none).
func (tn *testNS) xdpAttached(t *testing.T) uint32 {
	t.Helper()
	var id uint32
	tn.do(t, func() error {
		l, err := netlink.LinkByName("xsk0")
		if err != nil {
			return err
		}
		if x := l.Attrs().Xdp; x != nil && x.Attached {
			id = x.ProgId
		}
		return nil
	})
	return id
}

// reader reads the port's frames into a channel until the port closes.
func reader(p *Port) (<-chan []byte, <-chan error) {
	frames := make(chan []byte, 256)
	done := make(chan error, 1)
	go func() {
		bufs := make([][]byte, 16)
		for i := range bufs {
			bufs[i] = make([]byte, 2048)
		}
		sizes := make([]int, len(bufs))
		for {
			n, err := p.ReadBatch(bufs, sizes)
			if err != nil {
				done <- err
				return
			}
			for i := range n {
				frames <- bytes.Clone(bufs[i][:sizes[i]])
			}
		}
	}()
	return frames, done
}

// await returns the first frame that match accepts, within a bound.
func await(t *testing.T, frames <-chan []byte, what string, match func(gopacket.Packet) bool) gopacket.Packet {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case f := <-frames:
			pkt := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
			if match(pkt) {
				return pkt
			}
		case <-deadline:
			t.Fatalf("no %s frame from the port within 10s", what)
		}
	}
}

func serialize(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// exchange moves an ARP exchange and a UDP datagram each way between the
// kernel on peer0 and the port on xsk0.
func exchange(t *testing.T, tn *testNS, p *Port) {
	t.Helper()
	frames, _ := reader(p)
	var conn *net.UDPConn
	tn.do(t, func() (err error) {
		conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: peerIP})
		return err
	})
	defer conn.Close()
	// The kernel resolves portIP before it sends: an ARP request, then
	// the datagram once the port answers.
	if _, err := conn.WriteToUDP([]byte("ping"), &net.UDPAddr{IP: portIP, Port: 9999}); err != nil {
		t.Fatal(err)
	}
	req := await(t, frames, "ARP request", func(pkt gopacket.Packet) bool {
		a, ok := pkt.Layer(layers.LayerTypeARP).(*layers.ARP)
		return ok && a.Operation == layers.ARPRequest && net.IP(a.DstProtAddress).Equal(portIP)
	})
	peerMAC := req.Layer(layers.LayerTypeEthernet).(*layers.Ethernet).SrcMAC
	reply := serialize(t,
		&layers.Ethernet{SrcMAC: portMAC, DstMAC: peerMAC, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPReply, SourceHwAddress: portMAC, SourceProtAddress: portIP, DstHwAddress: peerMAC, DstProtAddress: peerIP})
	if n, err := p.WriteBatch([][]byte{reply}); n != 1 {
		t.Fatalf("write ARP reply: %d written, %v", n, err)
	}
	in := await(t, frames, "UDP", func(pkt gopacket.Packet) bool {
		u, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
		return ok && u.DstPort == 9999 && string(u.Payload) == "ping"
	})
	ip := in.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	udp := in.Layer(layers.LayerTypeUDP).(*layers.UDP)
	// The peer's transmit checksum offload is off: the checksum is whole.
	want := udp.Checksum
	udp.SetNetworkLayerForChecksum(ip)
	check := serialize(t, udp, gopacket.Payload(udp.Payload))
	if got := uint16(check[6])<<8 | uint16(check[7]); got != want {
		t.Errorf("UDP checksum %#04x, want %#04x: the frame arrived with a partial checksum", want, got)
	}
	// And back: a datagram the kernel's socket must accept.
	outIP := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: portIP, DstIP: peerIP}
	outUDP := &layers.UDP{SrcPort: 9999, DstPort: udp.SrcPort}
	outUDP.SetNetworkLayerForChecksum(outIP)
	pong := serialize(t, &layers.Ethernet{SrcMAC: portMAC, DstMAC: peerMAC, EthernetType: layers.EthernetTypeIPv4},
		outIP, outUDP, gopacket.Payload("pong"))
	if n, err := p.WriteBatch([][]byte{pong}); n != 1 {
		t.Fatalf("write UDP: %d written, %v", n, err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64)
	n, from, err := conn.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("peer socket: %v", err)
	}
	if string(buf[:n]) != "pong" || !from.IP.Equal(portIP) || from.Port != 9999 {
		t.Fatalf("peer socket got %q from %v, want \"pong\" from %v:9999", buf[:n], from, portIP)
	}
}

func portCounters(p *Port) map[string]uint64 {
	m := map[string]uint64{}
	for _, c := range p.PortCounters(nil) {
		m[c.Name] = c.Value
	}
	return m
}

// TestPortVeth opens a port on a veth end, moves ARP and UDP both ways with
// the kernel on the peer, checks the counters and that Close detaches.
func TestPortVeth(t *testing.T) {
	tn := newTestNS(t)
	p := tn.open(t)
	defer p.Close()
	info := p.PortInfo()
	if info.Driver != "afxdp" || info.Queues != 1 || (!strings.HasPrefix(info.Mode, "native/") && !strings.HasPrefix(info.Mode, "generic/")) {
		t.Fatalf("port info %+v, want driver afxdp, 1 queue, mode native/… or generic/…", info)
	}
	t.Logf("mode %s, device queues %d", info.Mode, info.DeviceQueues)
	if tn.xdpAttached(t) == 0 {
		t.Fatal("after Open, xsk0 has no XDP program")
	}
	exchange(t, tn, p)
	c := portCounters(p)
	if c["xsk_rx_packets"] < 2 || c["xsk_tx_packets"] != 2 || c["rx_ring_empty"] == 0 {
		t.Errorf("counters %v: want xsk_rx_packets >= 2, xsk_tx_packets 2, rx_ring_empty > 0", c)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if id := tn.xdpAttached(t); id != 0 {
		t.Fatalf("after Close, xsk0 still runs XDP program %d", id)
	}
	if _, err := p.ReadBatch(make([][]byte, 1), make([]int, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("ReadBatch after Close: %v, want net.ErrClosed", err)
	}
}

// TestCloseUnblocksRead: Close ends a ReadBatch waiting on an idle port.
func TestCloseUnblocksRead(t *testing.T) {
	tn := newTestNS(t)
	p := tn.open(t)
	_, done := reader(p)
	// Wait until the reader has slept in poll at least once.
	for deadline := time.Now().Add(10 * time.Second); portCounters(p)["rx_ring_empty"] == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("reader never waited")
		}
	}
	p.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("ReadBatch ended with %v, want net.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ReadBatch still blocked 10s after Close")
	}
}

// TestCrashCleanup: a process that opened the port dies by SIGKILL,
// leaving its program on the interface; the next Open removes it and
// works, and its Close leaves the interface clean.
func TestCrashCleanup(t *testing.T) {
	tn := newTestNS(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperOpenAndHang$")
	cmd.Env = append(os.Environ(), "LBX_AFXDP_HELPER=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	tn.do(t, cmd.Start) // the child inherits the thread's namespace
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ready") {
				ready <- sc.Text()
				return
			}
		}
		close(ready)
	}()
	select {
	case line, ok := <-ready:
		if !ok {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("helper exited before opening the port")
		}
		t.Logf("helper: %s", line)
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("helper did not open the port within 20s")
	}
	stale := tn.xdpAttached(t)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if stale == 0 || tn.xdpAttached(t) != stale {
		t.Fatalf("after the crash xsk0 runs program %d, want the crashed port's %d left behind", tn.xdpAttached(t), stale)
	}
	p := tn.open(t)
	defer p.Close()
	if id := tn.xdpAttached(t); id == 0 || id == stale {
		t.Fatalf("after reopening xsk0 runs program %d, want a new one (the stale one was %d)", id, stale)
	}
	exchange(t, tn, p)
	p.Close()
	if id := tn.xdpAttached(t); id != 0 {
		t.Fatalf("after Close, xsk0 still runs XDP program %d", id)
	}
}

// TestForeignProgram: Open leaves a program it did not attach in place.
func TestForeignProgram(t *testing.T) {
	tn := newTestNS(t)
	prog, err := loadProgram(1)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.close()
	// A program of another name: load the same code under a new name.
	other, err := loadNamed("not_lbx", prog.xsks.FD())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tn.do(t, func() error {
		l, err := netlink.LinkByName("xsk0")
		if err != nil {
			return err
		}
		_, err = attach(l, other)
		return err
	})
	id := tn.xdpAttached(t)
	tn.do(t, func() error {
		_, err := Open("ext", "xsk0", portMAC)
		if !errors.Is(err, ErrForeignProgram) {
			return fmt.Errorf("Open over a foreign program: %v, want ErrForeignProgram", err)
		}
		return nil
	})
	if got := tn.xdpAttached(t); got != id {
		t.Fatalf("after the refused Open xsk0 runs %d, want the foreign %d still", got, id)
	}
	tn.do(t, func() error {
		l, err := netlink.LinkByName("xsk0")
		if err != nil {
			return err
		}
		return detach(l, l.Attrs().Xdp.AttachMode)
	})
}

// TestHelperOpenAndHang is the crashing process of TestCrashCleanup: it
// opens the port and waits to be killed.
func TestHelperOpenAndHang(t *testing.T) {
	if os.Getenv("LBX_AFXDP_HELPER") != "1" {
		return
	}
	p, err := Open("ext", "xsk0", portMAC)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("ready mode %s\n", p.PortInfo().Mode)
	select {}
}

var _ dataplane.Port = (*Port)(nil)

// TestWriteBatchFlood: two writers send more frames than the tx ring holds
// while a reader waits and counters are read: every frame is taken (the
// writers reap completions and wake the kernel as the ring fills) and
// reaches the peer, under -race.
func TestWriteBatchFlood(t *testing.T) {
	tn := newTestNS(t)
	p := tn.open(t)
	defer p.Close()
	_, done := reader(p)
	const writers, batches, batch = 2, 20, 64
	f := make([]byte, 60)
	copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:12], portMAC)
	f[12], f[13] = 0x88, 0xb5 // local experimental ethertype: the kernel drops it after counting
	frames := make([][]byte, batch)
	for i := range frames {
		frames[i] = f
	}
	errs := make(chan error, writers)
	for range writers {
		go func() {
			for range batches {
				if n, err := p.WriteBatch(frames); n != batch {
					errs <- fmt.Errorf("WriteBatch wrote %d of %d: %v", n, batch, err)
					return
				}
				portCounters(p)
			}
			errs <- nil
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	const total = writers * batches * batch
	if c := portCounters(p); c["xsk_tx_packets"] != total {
		t.Fatalf("xsk_tx_packets %d, want %d", c["xsk_tx_packets"], total)
	}
	// The peer counts every frame it receives, delivered or dropped.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got uint64
		tn.do(t, func() error {
			l, err := netlink.LinkByName("peer0")
			if err != nil {
				return err
			}
			got = l.Attrs().Statistics.RxPackets + l.Attrs().Statistics.RxDropped
			return nil
		})
		if got >= total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("peer0 received %d frames, want %d", got, total)
		}
		// The last frames sit in the tx ring until a wakeup: a write of
		// nothing reaps and wakes without adding any.
		p.WriteBatch(nil)
		time.Sleep(10 * time.Millisecond)
	}
	p.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("reader ended with %v", err)
	}
}

// TestGenericMode: on a device whose driver has no XDP (a bridge) the port
// falls back to generic mode, and Close removes the generic-mode program
// (which only a detach with the generic flag does).
func TestGenericMode(t *testing.T) {
	tn := newTestNS(t)
	tn.do(t, func() error {
		return netlink.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "noxdp0"}})
	})
	var p *Port
	tn.do(t, func() (err error) {
		p, err = Open("ext", "noxdp0", portMAC)
		return err
	})
	defer p.Close()
	if got := p.PortInfo().Mode; got != "generic/copy" {
		t.Fatalf("mode %q on noxdp0, want generic/copy", got)
	}
	attached := func() uint32 {
		var mode uint32
		tn.do(t, func() error {
			l, err := netlink.LinkByName("noxdp0")
			if err == nil && l.Attrs().Xdp != nil {
				mode = l.Attrs().Xdp.AttachMode
			}
			return err
		})
		return mode
	}
	if m := attached(); m != attachedGeneric {
		t.Fatalf("noxdp0 attach mode %d, want generic (%d)", m, attachedGeneric)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if m := attached(); m != attachedNone {
		t.Fatalf("after Close noxdp0 attach mode %d, want none", m)
	}
}
