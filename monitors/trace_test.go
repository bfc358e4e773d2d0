package monitors

import (
	"net/netip"
	"testing"
	"time"
)

func TestPacketString(t *testing.T) {
	at := time.Date(2026, 3, 2, 12, 0, 1, 123000, time.UTC)
	self := netip.MustParseAddrPort("198.18.2.2:40000")
	srv := netip.MustParseAddrPort("198.18.2.11:80")
	for _, tc := range []struct {
		p    Packet
		want string
	}{
		{Packet{At: at, Out: true, Src: self, Dst: srv, Proto: "tcp", Flags: "S", Seq: 1},
			"12:00:01.000123 198.18.2.2.40000 > 198.18.2.11.80: Flags [S], seq 1, length 0"},
		{Packet{At: at, Src: srv, Dst: self, Proto: "tcp", Flags: "S.", Seq: 7, Ack: 2},
			"12:00:01.000123 198.18.2.11.80 > 198.18.2.2.40000: Flags [S.], seq 7, ack 2, length 0"},
		{Packet{At: at, Src: srv, Dst: self, Proto: "tcp", Flags: "R.", Seq: 8, Ack: 3, Info: "RST after FIN"},
			"12:00:01.000123 198.18.2.11.80 > 198.18.2.2.40000: Flags [R.], seq 8, ack 3, length 0: RST after FIN"},
		{Packet{At: at, Out: true, Src: netip.AddrPortFrom(self.Addr(), 0), Dst: netip.AddrPortFrom(srv.Addr(), 0), Proto: "icmp", Len: 64, Info: "echo request, id 1, seq 1"},
			"12:00:01.000123 198.18.2.2 > 198.18.2.11: ICMP echo request, id 1, seq 1, length 64"},
		{Packet{At: at, Out: true, Src: self, Dst: netip.MustParseAddrPort("198.18.2.11:53"), Proto: "udp", Len: 20},
			"12:00:01.000123 198.18.2.2.40000 > 198.18.2.11.53: UDP, length 20"},
		{Packet{At: at, Out: true, Src: netip.MustParseAddrPort("[2001:db8::2]:40000"), Dst: netip.MustParseAddrPort("[2001:db8::11]:80"), Proto: "tcp", Flags: "F.", Seq: 2, Ack: 8},
			"12:00:01.000123 2001:db8::2.40000 > 2001:db8::11.80: Flags [F.], seq 2, ack 8, length 0"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

func TestFormatTrace(t *testing.T) {
	start := time.Date(2026, 3, 2, 12, 0, 1, 0, time.UTC)
	self := netip.MustParseAddrPort("198.18.2.2:40000")
	srv := netip.MustParseAddrPort("198.18.2.11:80")
	pkt := func(us int, out bool, flags string, seq, ack uint32) Packet {
		p := Packet{At: start.Add(time.Duration(us) * time.Microsecond), Out: out, Proto: "tcp", Flags: flags, Seq: seq, Ack: ack, Src: srv, Dst: self}
		if out {
			p.Src, p.Dst = self, srv
		}
		return p
	}
	r := Result{
		Monitor: "/Common/tcp_legacy", Target: Target{Addr: srv.Addr(), Port: 80},
		Verdict: Failure, Reason: ReasonRSTAfterFIN, Start: start, End: start.Add(1200 * time.Microsecond),
		Packets: []Packet{
			pkt(100, true, "S", 1, 0), pkt(300, false, "S.", 7, 2), pkt(350, true, ".", 2, 8),
			pkt(400, true, "F.", 2, 8), pkt(1100, false, "R.", 8, 3),
		},
	}
	want := `12:00:01.000000 /Common/tcp_legacy 198.18.2.11:80: failure (RST after FIN during close) in 1.2ms
  12:00:01.000100 198.18.2.2.40000 > 198.18.2.11.80: Flags [S], seq 1, length 0
  12:00:01.000300 198.18.2.11.80 > 198.18.2.2.40000: Flags [S.], seq 7, ack 2, length 0
  12:00:01.000350 198.18.2.2.40000 > 198.18.2.11.80: Flags [.], seq 2, ack 8, length 0
  12:00:01.000400 198.18.2.2.40000 > 198.18.2.11.80: Flags [F.], seq 2, ack 8, length 0
  12:00:01.001100 198.18.2.11.80 > 198.18.2.2.40000: Flags [R.], seq 8, ack 3, length 0
`
	if got := FormatTrace([]Result{r}); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
