package tap

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// inTapNS runs fn in newTapNS's namespace (a socket made there stays
// there).
func inTapNS(t *testing.T, fn func()) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.GetFromName(fmt.Sprintf("lbx-tapt-%d", os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if err := netns.Set(ns); err != nil {
		t.Fatal(err)
	}
	defer netns.Set(orig)
	fn()
}

func portCounter(p *Port, name string) uint64 {
	for _, c := range p.PortCounters(nil) {
		if c.Name == name {
			return c.Value
		}
	}
	return 0
}

// TestReadDrains: datagrams queued in the device come out of one ReadBatch
// (one wake-up, the rest drained without waiting). The kernel may have
// queued a frame of its own before them (IPv6 is disabled only once the
// device is up); it comes first and is skipped.
func TestReadDrains(t *testing.T) {
	tn := newTapNS(t)
	p := tn.port
	bufs, sizes := newBufs()
	for i := range 5 {
		tn.send(t, []byte{byte('a' + i)})
	}
	n, err := p.ReadBatch(bufs, sizes)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range n {
		if pl, ok := udpTo9(bufs[i][:sizes[i]]); ok {
			got = append(got, string(pl))
		}
	}
	if strings.Join(got, "") != "abcde" {
		t.Fatalf("one ReadBatch of 5 queued datagrams returned %d frames, datagrams %q; want abcde", n, got)
	}
	if w, d := portCounter(p, "rx_batches"), portCounter(p, "rx_drained"); w != 1 || d != uint64(n-1) {
		t.Fatalf("rx_batches %d, rx_drained %d; want 1, %d", w, d, n-1)
	}
}

// TestUDPGSOWrite: datagrams of two flows written in one WriteBatch reach a
// kernel socket each intact and in order, with USO in one UDP GSO write
// per flow.
func TestUDPGSOWrite(t *testing.T) {
	tn := newTapNS(t)
	p := tn.port
	link, err := p.nl.LinkByIndex(p.index)
	if err != nil {
		t.Fatal(err)
	}
	tapMAC := link.Attrs().HardwareAddr
	var socks [2]int
	for i := range socks {
		var s int
		inTapNS(t, func() { s, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0) })
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(s)
		unix.SetsockoptTimeval(s, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 5})
		sa := &unix.SockaddrInet4{Port: 5000 + i}
		copy(sa.Addr[:], tapIP)
		if err := unix.Bind(s, sa); err != nil {
			t.Fatal(err)
		}
		socks[i] = s
	}
	src, dst := netip.AddrFrom4([4]byte(peerIP)), netip.AddrFrom4([4]byte(tapIP))
	const per = 20
	var frames [][]byte
	for i := range per {
		for fl := range 2 {
			n := 18 + 10*fl
			if i == per-1 {
				n = 5 // the last is short
			}
			pl := []byte(fmt.Sprintf("%d-%02d-%s", fl, i, bytes.Repeat([]byte{'x'}, 30)))[:n]
			f := udp4Test(src, dst, uint16(40000+fl), uint16(5000+fl), uint16(i), false, pl)
			copy(f[0:6], tapMAC)
			copy(f[6:12], portMAC)
			frames = append(frames, f)
		}
	}
	if n, err := p.WriteBatch(frames); err != nil || n != len(frames) {
		t.Fatalf("WriteBatch: %d of %d, %v", n, len(frames), err)
	}
	buf := make([]byte, 2048)
	for fl, s := range socks {
		for i := range per {
			n, _, err := unix.Recvfrom(s, buf, 0)
			if err != nil {
				t.Fatalf("flow %d: datagram %d: %v", fl, i, err)
			}
			want, _ := udpTo(frames[2*i+fl])
			if !bytes.Equal(buf[:n], want) {
				t.Fatalf("flow %d: datagram %d is %q, want %q", fl, i, buf[:n], want)
			}
		}
	}
	if p.uso {
		if g, d := portCounter(p, "udp_gso_frames_out"), portCounter(p, "udp_gso_datagrams_out"); g != 2 || d != 2*per {
			t.Fatalf("udp_gso_frames_out %d, udp_gso_datagrams_out %d; want 2, %d", g, d, 2*per)
		}
		if p.PortInfo().Mode != "offload+uso" {
			t.Fatalf("mode %q with USO", p.PortInfo().Mode)
		}
	} else {
		t.Logf("the kernel refused USO: each datagram was one write")
	}
}

// udpTo returns an IPv4 UDP frame's payload.
func udpTo(f []byte) ([]byte, bool) {
	fr, ok := parseUDP4(f)
	if !ok {
		return nil, false
	}
	return f[fr.hlen:], true
}

// TestUDPGSORead: a UDP_SEGMENT send of the kernel comes over the TAP as
// one UDP GSO frame (with USO) and ReadBatch cuts it into its datagrams.
func TestUDPGSORead(t *testing.T) {
	tn := newTapNS(t)
	p := tn.port
	if !p.uso {
		t.Skip("the kernel refused USO")
	}
	if err := unix.SetsockoptInt(tn.sock, unix.IPPROTO_UDP, unix.UDP_SEGMENT, 100); err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 450)
	for i := range payload {
		payload[i] = byte(i)
	}
	tn.send(t, payload)
	bufs, sizes := newBufs()
	var got [][]byte
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < 5 && time.Now().Before(deadline) {
		n, err := p.ReadBatch(bufs, sizes)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if pl, ok := udpTo9(bufs[i][:sizes[i]]); ok {
				fr, _ := parseUDP4(bufs[i][:sizes[i]])
				if !udpChecksumOK(bufs[i][:sizes[i]], fr) {
					t.Fatalf("datagram %d: checksum does not verify", len(got))
				}
				got = append(got, append([]byte(nil), pl...))
			}
		}
	}
	if len(got) != 5 {
		t.Fatalf("%d datagrams, want 5", len(got))
	}
	for i, g := range got {
		if !bytes.Equal(g, payload[i*100:min(len(payload), (i+1)*100)]) {
			t.Fatalf("datagram %d: %x", i, g)
		}
	}
	if portCounter(p, "gso_frames_in") != 1 || portCounter(p, "gso_segments_in") != 5 {
		t.Fatalf("gso_frames_in %d, gso_segments_in %d; want 1, 5", portCounter(p, "gso_frames_in"), portCounter(p, "gso_segments_in"))
	}
}
