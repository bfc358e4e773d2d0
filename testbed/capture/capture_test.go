package capture

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

func TestTCPFlagsString(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags TCPFlags
		want  string
	}{
		{"syn", FlagSYN, "S"},
		{"syn-ack", FlagSYN | FlagACK, "S."},
		{"ack", FlagACK, "."},
		{"fin-ack", FlagFIN | FlagACK, "F."},
		{"rst-ack", FlagRST | FlagACK, "R."},
		{"rst", FlagRST, "R"},
		{"push-ack", FlagPSH | FlagACK, "P."},
		{"fin-push-ack", FlagFIN | FlagPSH | FlagACK, "FP."},
		{"syn-ece-cwr", FlagSYN | FlagECE | FlagCWR, "SEW"},
		{"none", 0, "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.flags.String(); got != tc.want {
				t.Errorf("%#x: got %q, want %q", uint8(tc.flags), got, tc.want)
			}
		})
	}
}

// frame builds an Ethernet/IPv4/TCP frame, padded like a short frame on
// the wire.
func frame(t *testing.T, src, dst string, sport, dport uint16, set func(*layers.TCP), payload string) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: 1000, Ack: 2000, Window: 512}
	set(tcp)
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	for len(b) < 60 {
		b = append(b, 0)
	}
	return b
}

func TestDecodeFrame(t *testing.T) {
	for _, tc := range []struct {
		name    string
		set     func(*layers.TCP)
		payload string
		want    CapturedPacket
	}{
		{"syn", func(l *layers.TCP) { l.SYN = true }, "", CapturedPacket{Flags: FlagSYN}},
		{"rst-ack", func(l *layers.TCP) { l.RST, l.ACK = true, true }, "", CapturedPacket{Flags: FlagRST | FlagACK}},
		{"data", func(l *layers.TCP) { l.PSH, l.ACK = true, true }, "GET / HTTP/1.1\r\n\r\n", CapturedPacket{Flags: FlagPSH | FlagACK, Len: 18}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := decodeFrame(frame(t, "198.18.2.2", "198.18.2.14", 40000, 80, tc.set, tc.payload))
			if !ok {
				t.Fatal("not decoded")
			}
			want := tc.want
			want.Proto, want.Seq, want.Ack = ProtoTCP, 1000, 2000
			want.Src = netip.MustParseAddrPort("198.18.2.2:40000")
			want.Dst = netip.MustParseAddrPort("198.18.2.14:80")
			if diff := cmp.Diff(want, got, cmpopts.EquateComparable(netip.AddrPort{})); diff != "" {
				t.Errorf("decoded packet (-want +got):\n%s", diff)
			}
		})
	}
	if _, ok := decodeFrame([]byte{1, 2, 3}); ok {
		t.Error("garbage decoded as IPv4")
	}
}

// healthCheck is the seed's IIS 7.0 exchange: a TCP health check from the
// self IP connects and closes, and the server resets.
func healthCheck() []CapturedPacket {
	c := netip.MustParseAddrPort("198.18.2.2:40000")
	s := netip.MustParseAddrPort("198.18.2.14:80")
	other := netip.MustParseAddrPort("198.18.2.2:40001")
	p := func(src, dst netip.AddrPort, f TCPFlags) CapturedPacket {
		return CapturedPacket{Proto: ProtoTCP, Src: src, Dst: dst, Flags: f}
	}
	return []CapturedPacket{
		p(c, s, FlagSYN),
		{Proto: ProtoUDP, Src: netip.MustParseAddrPort("198.18.2.2:5000"), Dst: netip.MustParseAddrPort("198.18.2.14:7"), Len: 5},
		p(s, c, FlagSYN|FlagACK),
		p(other, s, FlagSYN), // a second connection interleaved
		p(c, s, FlagACK),
		p(c, s, FlagFIN|FlagACK),
		p(s, other, FlagSYN|FlagACK),
		p(s, c, FlagRST|FlagACK),
	}
}

func TestConnections(t *testing.T) {
	conns := Connections(healthCheck())
	if len(conns) != 2 {
		t.Fatalf("got %d connections, want 2", len(conns))
	}
	if diff := cmp.Diff([]string{"S", "S.", ".", "F.", "R."}, conns[0].Flags()); diff != "" {
		t.Errorf("first connection's flags (-want +got):\n%s", diff)
	}
	if got, want := conns[0].Exchange(), "client S, server S., client ., client F., server R."; got != want {
		t.Errorf("exchange: got %q, want %q", got, want)
	}
	if got, want := conns[1].Client, netip.MustParseAddrPort("198.18.2.2:40001"); got != want {
		t.Errorf("second connection's client: got %s, want %s", got, want)
	}
}

func TestFindFlags(t *testing.T) {
	pkts := healthCheck()
	for _, tc := range []struct {
		name  string
		a, b  string
		flags []string
		found bool
	}{
		{"seed sequence", "198.18.2.2", "198.18.2.14:80", []string{"S", "S.", ".", "F.", "R."}, true},
		{"either order of endpoints", "198.18.2.14:80", "198.18.2.2:40000", []string{"S", "F.", "R."}, true},
		{"no server FIN", "198.18.2.2", "198.18.2.14:80", []string{"F.", "F."}, false},
		{"other port", "198.18.2.2", "198.18.2.14:8001", []string{"S"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FindFlags(pkts, tc.a, tc.b, tc.flags...)
			if tc.found != (err == nil) {
				t.Fatalf("found %v, want %v: %v", err == nil, tc.found, err)
			}
			if tc.found && len(got) != len(tc.flags) {
				t.Errorf("got %d packets, want %d", len(got), len(tc.flags))
			}
		})
	}
	if _, err := FindFlags(pkts, "nope", "198.18.2.14", "S"); err == nil {
		t.Error("bad endpoint accepted")
	}
}

func TestFormatPackets(t *testing.T) {
	out := FormatPackets(healthCheck()[:2])
	for _, want := range []string{
		"IP 198.18.2.2.40000 > 198.18.2.14.80: Flags [S], seq 0, length 0\n",
		"IP 198.18.2.2.5000 > 198.18.2.14.7: UDP, length 5\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}
