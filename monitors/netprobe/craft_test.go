package netprobe

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"lbx/dataplane/localstack"
)

// refTCP is the reference: the same segment serialized by gopacket, as
// buildTCP did before it was written by hand.
func refTCP(t testing.TB, src, dst netip.AddrPort, seq, ack uint32, flags uint8, ipID uint16) []byte {
	t.Helper()
	ip := &layers.IPv4{
		Version: 4, IHL: 5, TTL: 64, Id: ipID, Flags: layers.IPv4DontFragment,
		Protocol: layers.IPProtocolTCP,
		SrcIP:    src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice(),
	}
	tcp := &layers.TCP{
		SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()),
		Seq: seq, Ack: ack, Window: 29200,
		FIN: flags&flagFIN != 0, SYN: flags&flagSYN != 0, RST: flags&flagRST != 0,
		PSH: flags&flagPSH != 0, ACK: flags&flagACK != 0,
	}
	if flags&flagSYN != 0 {
		tcp.Options = []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}}}
	}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, tcp); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// refSegment decodes with gopacket, the reference for parseTCP.
func refSegment(pkt []byte) (segment, bool) {
	p := gopacket.NewPacket(pkt, layers.LayerTypeIPv4, gopacket.DecodeOptions{NoCopy: true})
	ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if ip == nil || tcp == nil {
		return segment{}, false
	}
	var f uint8
	for _, b := range []struct {
		on  bool
		bit uint8
	}{{tcp.FIN, flagFIN}, {tcp.SYN, flagSYN}, {tcp.RST, flagRST}, {tcp.PSH, flagPSH}, {tcp.ACK, flagACK}} {
		if b.on {
			f |= b.bit
		}
	}
	src, dst := addrs(ip)
	return segment{
		src: netip.AddrPortFrom(src, uint16(tcp.SrcPort)), dst: netip.AddrPortFrom(dst, uint16(tcp.DstPort)),
		seq: tcp.Seq, ack: tcp.Ack, flags: f, payload: len(tcp.Payload),
	}, true
}

var (
	craftSrc = netip.MustParseAddrPort("198.18.2.2:61001")
	craftDst = netip.MustParseAddrPort("198.18.2.11:80")
)

func TestBuildTCPMatchesGopacket(t *testing.T) {
	for _, flags := range []uint8{flagSYN, flagACK, flagFIN | flagACK, flagRST, flagRST | flagACK, flagPSH | flagACK, flagSYN | flagACK, 0} {
		for _, id := range []uint16{0, 1, 0xffff, 0x8001} {
			got, err := buildTCP(craftSrc, craftDst, 0xdeadbeef, 0x01020304, flags, id)
			if err != nil {
				t.Fatal(err)
			}
			if want := refTCP(t, craftSrc, craftDst, 0xdeadbeef, 0x01020304, flags, id); !bytes.Equal(got, want) {
				t.Fatalf("flags %s id %d:\n got % x\nwant % x", flagString(flags), id, got, want)
			}
			seg, ok := parseTCP(got)
			if want, _ := refSegment(got); !ok || seg != want {
				t.Fatalf("flags %s: parseTCP = %+v %v, gopacket %+v", flagString(flags), seg, ok, want)
			}
		}
	}
	if _, err := buildTCP(netip.MustParseAddrPort("[2001:db8::1]:1"), craftDst, 0, 0, flagSYN, 0); err == nil {
		t.Fatal("IPv6 source: no error")
	}
}

func TestCraftAllocs(t *testing.T) {
	pkt, err := buildTCP(craftSrc, craftDst, 1, 2, flagRST|flagACK, 3)
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { buildTCP(craftSrc, craftDst, 1, 2, flagSYN, 3) }); n > 1 {
		t.Errorf("buildTCP: %v allocations, want the packet's only", n)
	}
	if n := testing.AllocsPerRun(100, func() { parseTCP(pkt) }); n != 0 {
		t.Errorf("parseTCP: %v allocations, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { Summarize(localstack.Packet{Data: pkt}) }); n != 0 {
		t.Errorf("Summarize of a TCP segment: %v allocations, want 0", n)
	}
}

func TestSummarizeUDPAndICMP(t *testing.T) {
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP,
		SrcIP: craftSrc.Addr().AsSlice(), DstIP: craftDst.Addr().AsSlice()}
	udp := &layers.UDP{SrcPort: 61001, DstPort: 53}
	udp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, udp, gopacket.Payload("hello")); err != nil {
		t.Fatal(err)
	}
	s := Summarize(localstack.Packet{Data: buf.Bytes()})
	if s.Proto != "udp" || s.Src != craftSrc || s.Dst != netip.AddrPortFrom(craftDst.Addr(), 53) || s.Len != 5 {
		t.Fatalf("udp summary %+v", s)
	}
	echo, err := buildEcho(craftSrc.Addr(), craftDst.Addr(), 7, 9)
	if err != nil {
		t.Fatal(err)
	}
	if s := Summarize(localstack.Packet{Data: echo}); s.Proto != "icmp" || s.Info != "EchoRequest, id 7, seq 9" {
		t.Fatalf("icmp summary %+v", s)
	}
	if s := Summarize(localstack.Packet{}); s.Proto != "?" {
		t.Fatalf("runt summary %+v", s)
	}
}

// FuzzParseTCP: any input is parsed without panicking, and whatever
// parseTCP accepts gopacket decodes to the same segment.
func FuzzParseTCP(f *testing.F) {
	for _, flags := range []uint8{flagSYN, flagRST | flagACK, flagFIN | flagACK} {
		pkt, _ := buildTCP(craftSrc, craftDst, 10, 20, flags, 1)
		f.Add(pkt)
		f.Add(pkt[:len(pkt)-1])
		withData := append(append([]byte{}, pkt...), "GET /"...)
		withData[3] += 5
		f.Add(withData)
	}
	echo, _ := buildEcho(craftSrc.Addr(), craftDst.Addr(), 1, 1)
	f.Add(echo)
	f.Add([]byte{0x46, 0, 0, 20})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		s := Summarize(localstack.Packet{Data: pkt})
		seg, ok := parseTCP(pkt)
		if !ok {
			if s.Proto == "tcp" && s.Flags != "" {
				t.Fatalf("Summarize read TCP where parseTCP did not: %+v", s)
			}
			return
		}
		want, wok := refSegment(pkt)
		if !wok {
			return // gopacket is stricter on some headers (options); parseTCP reads no options
		}
		if seg.src != want.src || seg.dst != want.dst || seg.seq != want.seq || seg.ack != want.ack || seg.flags != want.flags {
			t.Fatalf("parseTCP %+v, gopacket %+v", seg, want)
		}
		if s.Proto != "tcp" || s.Seq != seg.seq || s.Flags != flagString(seg.flags) {
			t.Fatalf("Summarize %+v for %+v", s, seg)
		}
	})
}

// FuzzBuildTCP: every segment buildTCP writes is gopacket's, byte for byte,
// and parses back to its fields.
func FuzzBuildTCP(f *testing.F) {
	f.Add(uint32(0xc6120202), uint16(61001), uint32(0xc612020b), uint16(80), uint32(1), uint32(2), uint8(flagSYN), uint16(7))
	f.Add(uint32(1), uint16(0), uint32(0xffffffff), uint16(65535), uint32(0xffffffff), uint32(0), uint8(0xff), uint16(0xffff))
	f.Fuzz(func(t *testing.T, sa uint32, sp uint16, da uint32, dp uint16, seq, ack uint32, flags uint8, id uint16) {
		flags &= flagFIN | flagSYN | flagRST | flagPSH | flagACK
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{byte(sa >> 24), byte(sa >> 16), byte(sa >> 8), byte(sa)}), sp)
		dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte{byte(da >> 24), byte(da >> 16), byte(da >> 8), byte(da)}), dp)
		got, err := buildTCP(src, dst, seq, ack, flags, id)
		if err != nil {
			t.Fatal(err)
		}
		if want := refTCP(t, src, dst, seq, ack, flags, id); !bytes.Equal(got, want) {
			t.Fatalf("\n got % x\nwant % x", got, want)
		}
		seg, ok := parseTCP(got)
		if !ok || seg != (segment{src: src, dst: dst, seq: seq, ack: ack, flags: flags}) {
			t.Fatalf("parseTCP = %+v %v", seg, ok)
		}
	})
}
