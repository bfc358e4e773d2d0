package vrrp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"reflect"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"lbx/dataplane/csum/csumtest"
)

var (
	srcA = netip.MustParseAddr("198.18.1.3")
	vip1 = netip.MustParseAddr("198.18.1.1")
	vip2 = netip.MustParseAddr("198.18.1.100")
)

func TestAdvertRoundTrip(t *testing.T) {
	a := Advert{VRID: 51, Priority: 150, Interval: 10, Addrs: []netip.Addr{vip1, vip2}}
	b, err := a.Append(nil, srcA, Group)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0x31, 51, 150, 2, 0, 10}
	if !bytes.Equal(b[:6], want) || len(b) != 16 {
		t.Fatalf("header % x (len %d), want % x… len 16", b[:6], len(b), want)
	}
	// The checksum checked with the tests' own one's-complement sum over
	// the pseudo-header and the message.
	ph := append(append(srcA.AsSlice(), Group.AsSlice()...), 0, IPProto, 0, byte(len(b)))
	if s := csumtest.OnesSum(ph, b); s != 0xffff {
		t.Fatalf("one's-complement sum with pseudo-header %#04x, want 0xffff", s)
	}
	got, err := Decode(b, srcA, Group)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, a) {
		t.Fatalf("decoded %+v, want %+v", got, a)
	}
	// The same bytes from another source fail: the pseudo-header counts.
	if _, err := Decode(b, vip1, Group); !errors.Is(err, ErrChecksum) {
		t.Fatalf("other source: %v, want ErrChecksum", err)
	}
}

func TestDecodeRejects(t *testing.T) {
	good, _ := Advert{VRID: 7, Priority: 100, Interval: 100, Addrs: []netip.Addr{vip1}}.Append(nil, srcA, Group)
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"short", good[:7], ErrShort},
		{"version 2", mod(func(b []byte) []byte { b[0] = 0x21; return b }), ErrVersion},
		{"type 2", mod(func(b []byte) []byte { b[0] = 0x32; return b }), ErrType},
		{"vrid 0", mod(func(b []byte) []byte { b[1] = 0; return b }), ErrVRID},
		{"count too high", mod(func(b []byte) []byte { b[3] = 2; return b }), ErrLength},
		{"trailing byte", mod(func(b []byte) []byte { return append(b, 0) }), ErrLength},
		{"priority flipped", mod(func(b []byte) []byte { b[2] ^= 1; return b }), ErrChecksum},
	} {
		if _, err := Decode(tc.b, srcA, Group); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestAppendRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    Advert
	}{
		{"vrid 0", Advert{Priority: 1, Interval: 100}},
		{"interval 4096", Advert{VRID: 1, Interval: 4096}},
		{"ipv6 address", Advert{VRID: 1, Interval: 100, Addrs: []netip.Addr{netip.MustParseAddr("2001:db8::1")}}},
		{"256 addresses", Advert{VRID: 1, Interval: 100, Addrs: make([]netip.Addr, 256)}},
	} {
		prefix := []byte{9, 9}
		b, err := tc.a.Append(prefix, srcA, Group)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
		}
		if !bytes.Equal(b, prefix) {
			t.Errorf("%s: buffer grew to % x on error", tc.name, b)
		}
	}
}

func TestFrameRoundTrip(t *testing.T) {
	a := Advert{VRID: 1, Priority: 255, Interval: 100, Addrs: []netip.Addr{vip1}}
	mac := [6]byte{2, 0, 0x5e, 0x10, 1, 2}
	f, err := a.AppendFrame(nil, mac, srcA)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f[0:6], GroupMAC[:]) || !bytes.Equal(f[6:12], mac[:]) {
		t.Fatalf("MACs % x", f[:12])
	}
	if f[14+8] != 255 || f[14+9] != 112 || !bytes.Equal(f[14+16:14+20], []byte{224, 0, 0, 18}) {
		t.Fatalf("IPv4 header % x", f[14:34])
	}
	csumtest.VerifyIPv4(t, f)
	src, got, err := ParseFrame(f)
	if err != nil || src != srcA || !reflect.DeepEqual(got, a) {
		t.Fatalf("ParseFrame: %v %+v %v", src, got, err)
	}
	// A router forwarded it (TTL 254): RFC 5798 §7.1 says discard.
	g := bytes.Clone(f)
	g[14+8] = 254
	binary.BigEndian.PutUint16(g[14+10:], 0)
	binary.BigEndian.PutUint16(g[14+10:], ^csumtest.OnesSum(g[14:34]))
	if _, _, err := ParseFrame(g); err == nil {
		t.Fatal("TTL 254 accepted")
	}
	// Ethernet padding after the datagram is ignored.
	if _, _, err := ParseFrame(append(bytes.Clone(f), 0, 0, 0, 0)); err != nil {
		t.Fatalf("padded frame: %v", err)
	}
}

func FuzzParseFrame(f *testing.F) {
	for _, a := range []Advert{
		{VRID: 1, Priority: 100, Interval: 100},
		{VRID: 255, Priority: 0, Interval: 1, Addrs: []netip.Addr{vip1, vip2}},
	} {
		fr, err := a.AppendFrame(nil, [6]byte{2, 0, 0, 0, 0, 1}, srcA)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(fr)
	}
	f.Add([]byte{})
	f.Add(make([]byte, 34))
	f.Fuzz(func(t *testing.T, b []byte) {
		src, a, err := ParseFrame(b)
		if err != nil {
			return
		}
		// What decodes re-encodes to a message that decodes the same.
		m, err := a.Append(nil, src, Group)
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", a, err)
		}
		back, err := Decode(m, src, Group)
		if err != nil || !reflect.DeepEqual(back, a) {
			t.Fatalf("re-decoded %+v %v, want %+v", back, err, a)
		}
	})
}

func TestGratuitousARP(t *testing.T) {
	mac := [6]byte{2, 0, 0x5e, 0x10, 1, 2}
	f := GratuitousARP(mac, vip2)
	pkt := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
	eth, _ := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	arp, _ := pkt.Layer(layers.LayerTypeARP).(*layers.ARP)
	if eth == nil || arp == nil {
		t.Fatalf("not Ethernet/ARP: %v", pkt)
	}
	if eth.DstMAC.String() != "ff:ff:ff:ff:ff:ff" || !bytes.Equal(eth.SrcMAC, mac[:]) || arp.Operation != layers.ARPRequest ||
		!bytes.Equal(arp.SourceHwAddress, mac[:]) || !bytes.Equal(arp.SourceProtAddress, vip2.AsSlice()) ||
		!bytes.Equal(arp.DstProtAddress, vip2.AsSlice()) || !bytes.Equal(arp.DstHwAddress, make([]byte, 6)) {
		t.Fatalf("gratuitous ARP: eth %v arp %+v", eth, arp)
	}
}

// A unicast advertisement (keepalived's unicast_peer) carries its checksum
// over the peer's address, and parses back from its frame.
func TestAppendPacketUnicast(t *testing.T) {
	src, peer := netip.MustParseAddr("198.51.100.2"), netip.MustParseAddr("198.51.100.3")
	a := Advert{VRID: 51, Priority: 200, Interval: 10, Addrs: []netip.Addr{netip.MustParseAddr("198.51.100.1")}}
	frame := append(make([]byte, 12), 0x08, 0x00)
	frame, err := a.AppendPacket(frame, src, peer)
	if err != nil {
		t.Fatal(err)
	}
	if got := netip.AddrFrom4([4]byte(frame[14+16 : 14+20])); got != peer {
		t.Fatalf("destination %v, want %v", got, peer)
	}
	gotSrc, got, err := ParseFrame(frame)
	if err != nil {
		t.Fatal(err)
	}
	if gotSrc != src || got.VRID != 51 || got.Priority != 200 || len(got.Addrs) != 1 || got.Addrs[0] != a.Addrs[0] {
		t.Fatalf("parsed %v %+v", gotSrc, got)
	}
	// Checked against the group's pseudo-header it is wrong: the checksum
	// covers the unicast destination.
	if _, err := Decode(frame[14+20:], src, Group); !errors.Is(err, ErrChecksum) {
		t.Fatalf("decoded against the group: %v, want ErrChecksum", err)
	}
}
