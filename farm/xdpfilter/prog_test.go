package xdpfilter

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"testing"
)

var (
	vip    = netip.MustParseAddr("198.18.7.100")
	vmac   = VirtualMAC(vip.As4())
	ownMAC = net.HardwareAddr{0x02, 0, 0x5e, 0x10, 0x07, 0x0b}
	cliMAC = net.HardwareAddr{0x02, 0, 0x5e, 0x10, 0x07, 0x01}
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("loading an XDP program needs root")
	}
}

// packet builds an Ethernet/IPv4 frame to dst:dport from src:sport with
// protocol proto (TCP with flags, or UDP).
func packet(src netip.Addr, sport uint16, dst netip.Addr, dport uint16, proto uint8, flags byte) []byte {
	f := make([]byte, 14+20+20+6)
	copy(f[0:6], vmac)
	copy(f[6:12], cliMAC)
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(len(f)-14))
	ip[8] = 64
	ip[9] = proto
	s, d := src.As4(), dst.As4()
	copy(ip[12:], s[:])
	copy(ip[16:], d[:])
	l4 := ip[20:]
	binary.BigEndian.PutUint16(l4[0:], sport)
	binary.BigEndian.PutUint16(l4[2:], dport)
	if proto == 6 {
		l4[12] = 5 << 4
		l4[13] = flags
	}
	return f
}

func arpRequest(spa, tpa netip.Addr) []byte {
	f := make([]byte, 60)
	copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:12], cliMAC)
	binary.BigEndian.PutUint16(f[12:], 0x0806)
	binary.BigEndian.PutUint16(f[14:], 1)
	binary.BigEndian.PutUint16(f[16:], 0x0800)
	f[18], f[19] = 6, 4
	binary.BigEndian.PutUint16(f[20:], 1)
	copy(f[22:], cliMAC)
	s, d := spa.As4(), tpa.As4()
	copy(f[28:], s[:])
	copy(f[38:], d[:])
	return f
}

const (
	syn    = 0x02
	ack    = 0x10
	synack = 0x12
)

func newFilter(t *testing.T) *Filter {
	t.Helper()
	requireRoot(t)
	f, err := New(Spec{VIP: vip, VMAC: vmac, OwnMAC: ownMAC, Rules: []Rule{{Proto: 6, Port: 80}, {Proto: 17, Port: 53, OnPort: true}, {Proto: 6, Port: 443, OnPort: true}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func run(t *testing.T, f *Filter, data []byte) (uint32, []byte) {
	t.Helper()
	ret, out, err := f.Program().Test(data)
	if err != nil {
		t.Fatalf("test run: %v", err)
	}
	return ret, out
}

// bucketOf mirrors farm.BucketOf (the package cannot import farm).
func bucketOf(src netip.Addr, sport uint16, onPort bool) int {
	fm := func(h uint32) uint32 {
		h ^= h >> 16
		h *= 0x85ebca6b
		h ^= h >> 13
		h *= 0xc2b2ae35
		h ^= h >> 16
		return h
	}
	a := src.As4()
	h := fm(binary.NativeEndian.Uint32(a[:]))
	if onPort {
		var p [2]byte
		binary.BigEndian.PutUint16(p[:], sport)
		h = fm(h ^ uint32(binary.NativeEndian.Uint16(p[:])))
	}
	return int(h & (Buckets - 1))
}

// Own buckets are accepted (and readdressed to the interface's MAC),
// others' dropped; the bucket is the hash of the address (on_addr) or of
// address and port (on_port); traffic not to the VIP's rule ports passes
// untouched.
func TestVerdicts(t *testing.T) {
	f := newFilter(t)
	owned := map[int]bool{}
	for b := 0; b < Buckets; b += 3 {
		owned[b] = true
		if err := f.SetBucket(b, Own); err != nil {
			t.Fatal(err)
		}
	}
	accepted := 0
	for i := range 200 {
		src := netip.AddrFrom4([4]byte{198, 18, 1, byte(i)})
		for _, tc := range []struct {
			proto  uint8
			dport  uint16
			onPort bool
		}{{6, 80, false}, {17, 53, true}, {6, 443, true}} {
			sport := uint16(30000 + i*7)
			p := packet(src, sport, vip, tc.dport, tc.proto, syn)
			ret, out := run(t, f, p)
			want := uint32(xdpDrop)
			if owned[bucketOf(src, sport, tc.onPort)] {
				want = xdpPass
				accepted++
				if !bytes.Equal(out[0:6], ownMAC) || !bytes.Equal(out[6:], p[6:]) {
					t.Fatalf("accepted frame not readdressed: dst %x", out[0:6])
				}
			}
			if ret != want {
				t.Fatalf("%v:%d → %d/%d: verdict %d, want %d", src, sport, tc.proto, tc.dport, ret, want)
			}
		}
	}
	if accepted < 100 || accepted > 300 {
		t.Errorf("accepted %d of 600 with a third of the buckets", accepted)
	}
	// Not the VIP, not a rule port, not IPv4, a non-first fragment: pass untouched.
	other := netip.MustParseAddr("198.18.7.11")
	src := netip.MustParseAddr("198.18.1.1")
	frag := packet(src, 1, vip, 80, 6, syn)
	binary.BigEndian.PutUint16(frag[14+6:], 0x0010)
	v6 := packet(src, 1, vip, 80, 6, syn)
	binary.BigEndian.PutUint16(v6[12:], 0x86dd)
	for name, p := range map[string][]byte{
		"other address": packet(src, 1, other, 80, 6, syn),
		"other port":    packet(src, 1, vip, 22, 6, syn),
		"udp on tcp":    packet(src, 1, vip, 80, 17, 0),
		"fragment":      frag,
		"ipv6":          v6,
		"runt":          packet(src, 1, vip, 80, 6, syn)[:40],
	} {
		if ret, out := run(t, f, p); ret != xdpPass || !bytes.Equal(out, p) {
			t.Errorf("%s: verdict %d (changed %v), want untouched XDP_PASS", name, ret, !bytes.Equal(out, p))
		}
	}
	// A header length under 5 words is malformed and dropped.
	bad := packet(src, 1, vip, 80, 6, syn)
	bad[14] = 0x44
	if ret, _ := run(t, f, bad); ret != xdpDrop {
		t.Errorf("ihl 4: verdict %d, want XDP_DROP", ret)
	}
	st, err := f.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st[StatAccepted] != uint64(accepted) || st[StatDropped] != uint64(600-accepted) || st[StatMalformed] != 1 {
		t.Errorf("stats %v, accepted %d", st, accepted)
	}
}

// ARP requests for the VIP are answered with the virtual MAC, from the
// interface's MAC; a gratuitous ARP of another member is dropped; other
// ARP passes.
func TestARP(t *testing.T) {
	f := newFilter(t)
	cli := netip.MustParseAddr("198.18.7.1")
	req := arpRequest(cli, vip)
	ret, out := run(t, f, req)
	if ret != xdpTx {
		t.Fatalf("ARP for the VIP: verdict %d, want XDP_TX", ret)
	}
	c, v := cli.As4(), vip.As4()
	want := bytes.Clone(req)
	copy(want[0:], cliMAC)
	copy(want[6:], ownMAC)
	binary.BigEndian.PutUint16(want[20:], 2)
	copy(want[22:], vmac)
	copy(want[28:], v[:])
	copy(want[32:], cliMAC)
	copy(want[38:], c[:])
	if !bytes.Equal(out, want) {
		t.Errorf("reply\n%x\nwant\n%x", out, want)
	}
	if ret, _ := run(t, f, arpRequest(vip, vip)); ret != xdpDrop {
		t.Errorf("gratuitous ARP of the VIP: verdict %d, want XDP_DROP", ret)
	}
	other := arpRequest(cli, netip.MustParseAddr("198.18.7.11"))
	if ret, out := run(t, f, other); ret != xdpPass || !bytes.Equal(out, other) {
		t.Errorf("ARP for another address: verdict %d, want untouched XDP_PASS", ret)
	}
	if st, _ := f.Stats(); st[StatARP] != 1 {
		t.Errorf("arp counter %d", st[StatARP])
	}
}

// A moved bucket: the old owner (Drain) keeps the flows it recorded on
// their SYN and drops the rest; the new owner (Take) accepts new SYNs and
// their flows, and drops segments of the old owner's connections.
func TestDrainAndTake(t *testing.T) {
	oldOwner, newOwner := newFilter(t), newFilter(t)
	cli := netip.MustParseAddr("198.18.1.77")
	b := bucketOf(cli, 0, false)
	if err := oldOwner.SetBucket(b, Own); err != nil {
		t.Fatal(err)
	}
	// An established connection of the old owner.
	if ret, _ := run(t, oldOwner, packet(cli, 40000, vip, 80, 6, syn)); ret != xdpPass {
		t.Fatal("old owner refused the SYN of its bucket")
	}
	if oldOwner.Flows() != 1 {
		t.Fatalf("old owner recorded %d flows", oldOwner.Flows())
	}
	// The bucket moves.
	if err := oldOwner.SetBucket(b, Drain); err != nil {
		t.Fatal(err)
	}
	if err := newOwner.SetBucket(b, Take); err != nil {
		t.Fatal(err)
	}
	oldSeg := packet(cli, 40000, vip, 80, 6, ack)
	if ret, _ := run(t, oldOwner, oldSeg); ret != xdpPass {
		t.Errorf("draining owner dropped its connection's segment: %d", ret)
	}
	if ret, _ := run(t, newOwner, oldSeg); ret != xdpDrop {
		t.Errorf("new owner accepted the old owner's segment: %d", ret)
	}
	newSyn := packet(cli, 40001, vip, 80, 6, syn)
	if ret, _ := run(t, oldOwner, newSyn); ret != xdpDrop {
		t.Errorf("draining owner accepted a new SYN: %d", ret)
	}
	if ret, _ := run(t, newOwner, newSyn); ret != xdpPass {
		t.Errorf("new owner refused a new SYN: %d", ret)
	}
	newSeg := packet(cli, 40001, vip, 80, 6, ack)
	if ret, _ := run(t, newOwner, newSeg); ret != xdpPass {
		t.Errorf("new owner dropped its new connection's segment: %d", ret)
	}
	if ret, _ := run(t, oldOwner, newSeg); ret != xdpDrop {
		t.Errorf("draining owner accepted the new connection's segment: %d", ret)
	}
	// A new connection reusing the old one's port: the SYN makes the
	// draining owner forget it.
	if ret, _ := run(t, oldOwner, packet(cli, 40000, vip, 80, 6, syn)); ret != xdpDrop {
		t.Errorf("draining owner accepted a reusing SYN: %d", ret)
	}
	if ret, _ := run(t, oldOwner, oldSeg); ret != xdpDrop {
		t.Errorf("draining owner still accepts a forgotten flow: %d", ret)
	}
	// Once drained, Not drops all and Own accepts all.
	oldOwner.SetBucket(b, Not)
	newOwner.SetBucket(b, Own)
	if ret, _ := run(t, newOwner, oldSeg); ret != xdpPass {
		t.Errorf("owner dropped a segment: %d", ret)
	}
	if ret, _ := run(t, oldOwner, newSeg); ret != xdpDrop {
		t.Errorf("non-owner accepted a segment: %d", ret)
	}
	// UDP follows the bucket at once.
	u := packet(cli, 5000, vip, 53, 17, 0)
	ub := bucketOf(cli, 5000, true)
	oldOwner.SetBucket(ub, Drain)
	newOwner.SetBucket(ub, Take)
	if r1, _ := run(t, oldOwner, u); r1 != xdpDrop {
		t.Errorf("draining owner accepted UDP: %d", r1)
	}
	if r2, _ := run(t, newOwner, u); r2 != xdpPass {
		t.Errorf("taking owner dropped UDP: %d", r2)
	}
	if err := oldOwner.SetBucket(Buckets, Own); err == nil {
		t.Error("SetBucket accepted bucket 256")
	}
}

// Rule sets of one kind load too (the verifier refuses unreachable
// instructions), and a bad spec is refused by name.
func TestSpecs(t *testing.T) {
	requireRoot(t)
	for _, rules := range [][]Rule{{{Proto: 6, Port: 80}}, {{Proto: 6, Port: 80, OnPort: true}}, {{Proto: 17, Port: 53, OnPort: true}, {Proto: 17, Port: 54, OnPort: true}}} {
		f, err := New(Spec{VIP: vip, VMAC: vmac, OwnMAC: ownMAC, Rules: rules})
		if err != nil {
			t.Fatalf("rules %+v: %v", rules, err)
		}
		f.Close()
	}
	for _, spec := range []Spec{
		{VIP: netip.MustParseAddr("::1"), VMAC: vmac, OwnMAC: ownMAC, Rules: []Rule{{Proto: 6, Port: 80}}},
		{VIP: vip, VMAC: vmac, OwnMAC: ownMAC},
		{VIP: vip, VMAC: vmac, OwnMAC: ownMAC, Rules: []Rule{{Proto: 1, Port: 80}}},
		{VIP: vip, VMAC: vmac[:4], OwnMAC: ownMAC, Rules: []Rule{{Proto: 6, Port: 80}}},
	} {
		if f, err := New(spec); err == nil {
			f.Close()
			t.Errorf("spec %+v accepted", spec)
		}
	}
}
