package dataplane

import (
	"bytes"
	"encoding/binary"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"lbx/dataplane/drop"

	"lbx/dataplane/csum"

	"github.com/google/go-cmp/cmp"
	"github.com/google/gopacket/layers"
)

// tcpFrameWith builds a TCP segment from cl to the VIP's port 80 whose
// TCP header set sets (flags beyond the four tcpFlags knows: PSH, URG).
func tcpFrameWith(h ipHdr, set func(*layers.TCP)) []byte {
	eth, ip := h.layers(layers.IPProtocolTCP)
	tcp := &layers.TCP{SrcPort: 40001, DstPort: 80, Seq: 1000, Window: 65535}
	set(tcp)
	tcp.SetNetworkLayerForChecksum(ip)
	return mustSerialize(eth, ip, tcp)
}

// withIPOptions builds a SYN from the client to the VIP carrying opts.
func withIPOptions(opts ...layers.IPv4Option) []byte {
	eth, ip := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}.layers(layers.IPProtocolTCP)
	ip.Options = opts
	tcp := &layers.TCP{SrcPort: 40002, DstPort: 80, Seq: 1000, Window: 65535, SYN: true}
	tcp.SetNetworkLayerForChecksum(ip)
	return mustSerialize(eth, ip, tcp)
}

// optionOverrun is a SYN whose one IP option claims more bytes than the
// header has, with a correct header checksum.
func optionOverrun() []byte {
	f := withIPOptions(layers.IPv4Option{OptionType: 68, OptionLength: 8, OptionData: []byte{5, 0, 0, 0, 0, 0}})
	ip := f[ethHdrLen:]
	ip[21] = 12
	ip[10], ip[11] = 0, 0
	binary.BigEndian.PutUint16(ip[10:12], csum.Sum(ip[:int(ip[0]&0xf)*4], 0))
	return f
}

// corruptL4 flips a bit of the TCP/UDP checksum of a frame without IP
// options.
func corruptL4(f []byte) []byte {
	off := ethHdrLen + 20 + l4ChecksumOffset(f[ethHdrLen+9])
	f[off] ^= 0x40
	return f
}

var otherMAC = mustMAC("02:00:00:00:0b:ad")

// TestHardeningDrops sends, for each packet no appliance should forward,
// one crafted frame and checks it is dropped under its own reason, nothing
// is sent and no flow is created.
func TestHardeningDrops(t *testing.T) {
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	from := func(src, dst netip.Addr) ipHdr {
		h := cl
		h.src, h.dst = src, dst
		return h
	}
	tests := []struct {
		name  string
		frame []byte
		want  drop.Reason
	}{
		{"land attack: source = destination = VIP", tcpFrame(from(vip, vip), 80, 80, fSYN, ""), drop.LandAttack},
		{"land attack: source = destination = self IP", tcpFrame(from(selfExt.Addr(), selfExt.Addr()), 40000, 40000, fSYN, ""), drop.LandAttack},
		{"source is a self IP", tcpFrame(from(selfExt.Addr(), vip), 40000, 80, fSYN, ""), drop.LocalSource},
		{"source is the inside self IP", tcpFrame(from(selfInt.Addr(), vip), 40000, 80, fSYN, ""), drop.LocalSource},
		{"source is a VIP", udpFrame(from(vip, selfExt.Addr()), 53, 33333, "x", false), drop.LocalSource},
		{"ICMP echo from a VIP", icmpEchoFrame(from(vip, selfExt.Addr()), 1, 1, "x"), drop.LocalSource},
		{"SYN+FIN", tcpFrame(cl, 40000, 80, tcpFlags{syn: true, fin: true}, ""), drop.BadTCPFlags},
		{"SYN+RST", tcpFrame(cl, 40000, 80, tcpFlags{syn: true, rst: true}, ""), drop.BadTCPFlags},
		{"SYN+FIN+ACK", tcpFrame(cl, 40000, 80, tcpFlags{syn: true, fin: true, ack: true}, ""), drop.BadTCPFlags},
		{"NULL (no flags)", tcpFrame(cl, 40000, 80, tcpFlags{}, ""), drop.BadTCPFlags},
		{"FIN without ACK", tcpFrame(cl, 40000, 80, tcpFlags{fin: true}, ""), drop.BadTCPFlags},
		{"XMAS (FIN+PSH+URG)", tcpFrameWith(cl, func(t *layers.TCP) { t.FIN, t.PSH, t.URG = true, true, true }), drop.BadTCPFlags},
		{"all flags", tcpFrameWith(cl, func(t *layers.TCP) {
			t.FIN, t.SYN, t.RST, t.PSH, t.ACK, t.URG = true, true, true, true, true, true
		}), drop.BadTCPFlags},
		{"SYN with a bad TCP checksum", corruptL4(tcpFrame(cl, 40000, 80, fSYN, "")), drop.BadL4Checksum},
		{"SYN with data and a bad TCP checksum", corruptL4(tcpFrame(cl, 40000, 80, fSYN, "hello")), drop.BadL4Checksum},
		{"first UDP datagram with a bad checksum", corruptL4(udpFrame(cl, 33333, 53, "query", false)), drop.BadL4Checksum},
		{"loose source route", withIPOptions(layers.IPv4Option{OptionType: ipOptLSRR, OptionLength: 7, OptionData: []byte{4, 10, 0, 0, 1}}), drop.SourceRoute},
		{"strict source route after a NOP", withIPOptions(layers.IPv4Option{OptionType: ipOptNOP}, layers.IPv4Option{OptionType: ipOptSSRR, OptionLength: 7, OptionData: []byte{4, 10, 0, 0, 1}}), drop.SourceRoute},
		{"record route", withIPOptions(layers.IPv4Option{OptionType: ipOptRR, OptionLength: 7, OptionData: []byte{4, 0, 0, 0, 0}}), drop.RecordRoute},
		{"option overruns the header", optionOverrun(), drop.Malformed},
		{"gratuitous ARP request for a self IP", arpRequest(otherMAC, selfExt.Addr(), selfExt.Addr()), drop.AddressConflict},
		{"gratuitous ARP reply for a VIP", arpFrame(layers.ARPReply, otherMAC, vip, bcastMAC, vip, bcastMAC), drop.AddressConflict},
		{"ARP request from a host using a self IP", arpRequest(otherMAC, selfExt.Addr(), vip), drop.AddressConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, testProgram(t, progOpts{}))
			h.learnAll()
			h.send(portExt, tt.frame)
			if diff := cmp.Diff(map[string]uint64{"drop." + tt.want.String(): 1}, h.drops()); diff != "" {
				t.Errorf("drops (-want +got):\n%s", diff)
			}
			for i, p := range h.ports {
				if out := p.drain(); len(out) != 0 {
					t.Errorf("port %d sent %d frames, want none", i, len(out))
				}
			}
			if n := h.e.Flows(); n != 0 {
				t.Errorf("%d flows, want none", n)
			}
		})
	}
}

// TestHardeningStillForwarded pins what the checks above must not catch.
func TestHardeningStillForwarded(t *testing.T) {
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	h := newHarness(t, testProgram(t, progOpts{}))
	h.learnAll()
	steps := []struct {
		name  string
		port  int
		frame []byte
	}{
		{"SYN with a timestamp option", portExt, withIPOptions(layers.IPv4Option{OptionType: 68, OptionLength: 8, OptionData: []byte{5, 0, 0, 0, 0, 0}})},
		{"SYN", portExt, tcpFrame(cl, 40000, 80, fSYN, "")},
		{"SYN-ACK", portInt, tcpFrame(ipHdr{srcMAC: memberMAC(1), dstMAC: intMAC, src: members[1], dst: client}, 8080, 40000, fSYNACK, "")},
		{"ACK", portExt, tcpFrame(cl, 40000, 80, fACK, "")},
		// On a flow the checksum is not verified; the incremental NAT
		// update keeps it wrong, for the member to discard.
		{"data with a bad checksum on the flow", portExt, corruptL4(tcpFrame(cl, 40000, 80, fACK, "data"))},
		{"FIN+ACK", portExt, tcpFrame(cl, 40000, 80, fFINACK, "")},
		{"RST", portExt, tcpFrame(cl, 40000, 80, fRST, "")},
		{"UDP without checksum", portExt, udpFrame(cl, 33333, 53, "q", true)},
		{"ARP request from a client", portExt, arpRequest(clientMAC, client, vip)},
	}
	for _, s := range steps {
		h.send(s.port, s.frame)
		out := h.ports[1-s.port].drain()
		out = append(out, h.ports[s.port].drain()...)
		if len(out) != 1 {
			t.Errorf("%s: %d frames sent, want 1 (drops %v)", s.name, len(out), h.drops())
		}
	}
	if d := h.drops(); len(d) != 0 {
		t.Errorf("drops %v, want none", d)
	}
}

// syncBuffer is a log sink for tests.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newTextLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// TestAddressConflictLogged checks a gratuitous ARP for a self IP is
// logged as an address conflict at most once per interval, and counted
// every time.
func TestAddressConflictLogged(t *testing.T) {
	h := newHarness(t, testProgram(t, progOpts{}))
	var logs syncBuffer
	h.e.log = newTextLogger(&logs)
	garp := arpRequest(otherMAC, selfExt.Addr(), selfExt.Addr())
	for range 5 {
		h.send(portExt, garp)
	}
	h.clock.Advance(time.Duration(conflictLogInterval) + time.Millisecond)
	h.send(portExt, garp)
	if got := h.e.Drops(drop.AddressConflict); got != 6 {
		t.Errorf("address-conflict = %d, want 6", got)
	}
	lines := strings.Count(logs.String(), "address conflict")
	if lines != 2 {
		t.Errorf("%d address-conflict log lines, want 2 (one per interval):\n%s", lines, logs.String())
	}
	for _, want := range []string{"address=198.18.0.2", "mac=02:00:00:00:0b:ad", "port=ext"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	if _, ok := h.e.Neighbor("ext", selfExt.Addr()); ok {
		t.Errorf("learned a neighbour for the self IP")
	}
}

// TestARPRateLimit checks the ARP responder answers a burst per sender,
// then its sustained rate, refuses and counts the rest, and keeps
// answering other senders.
func TestARPRateLimit(t *testing.T) {
	h := newHarness(t, testProgram(t, progOpts{}))
	req := arpRequest(clientMAC, client, vip)
	replies := func(frame []byte, n int) int {
		got := 0
		for range n {
			h.send(portExt, frame)
			got += len(h.ports[portExt].drain())
		}
		return got
	}
	if got := replies(req, 50); got != arpReplyBurst {
		t.Errorf("burst of 50 requests: %d replies, want %d", got, arpReplyBurst)
	}
	if got, want := h.e.Drops(drop.ARPRateLimited), uint64(50-arpReplyBurst); got != want {
		t.Errorf("arp-rate-limited = %d, want %d", got, want)
	}
	other := arpRequest(memberMAC(0), netip.MustParseAddr("198.18.0.11"), selfExt.Addr())
	if got := replies(other, 3); got != 3 {
		t.Errorf("another sender: %d replies, want 3", got)
	}
	// One interval later the first sender has earned one more reply.
	h.clock.Advance(time.Duration(arpReplyInterval))
	if got := replies(req, 3); got != 1 {
		t.Errorf("after one interval: %d replies, want 1", got)
	}
	// A quiet sender gets its full burst back.
	h.clock.Advance(time.Minute)
	if got := replies(req, arpReplyBurst); got != arpReplyBurst {
		t.Errorf("after a quiet minute: %d replies, want %d", got, arpReplyBurst)
	}
}

func TestCheckIPOptions(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []byte
		want drop.Reason
	}{
		{"end of list", []byte{0, 0, 0, 0}, drop.None},
		{"NOPs", []byte{1, 1, 1, 0}, drop.None},
		{"router alert", []byte{148, 4, 0, 0}, drop.None},
		{"LSRR", []byte{131, 3, 4, 0}, drop.SourceRoute},
		{"SSRR after router alert", []byte{148, 4, 0, 0, 137, 3, 4, 0}, drop.SourceRoute},
		{"RR", []byte{7, 3, 4, 0}, drop.RecordRoute},
		{"RR after end of list is padding", []byte{0, 7, 3, 4}, drop.None},
		{"length below 2", []byte{148, 1, 0, 0}, drop.Malformed},
		{"length past the header", []byte{148, 8, 0, 0}, drop.Malformed},
		{"type without length", []byte{1, 1, 1, 148}, drop.Malformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkIPOptions(tt.opts); got != tt.want {
				t.Errorf("checkIPOptions(% x) = %v, want %v", tt.opts, got, tt.want)
			}
		})
	}
}

func TestL4ChecksumOK(t *testing.T) {
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	for _, tt := range []struct {
		name  string
		frame []byte
		want  bool
	}{
		{"TCP", tcpFrame(cl, 1, 2, fSYN, ""), true},
		{"TCP odd payload", tcpFrame(cl, 1, 2, fACK, "abc"), true},
		{"TCP corrupt", corruptL4(tcpFrame(cl, 1, 2, fACK, "abc")), false},
		{"UDP", udpFrame(cl, 1, 2, "abcde", false), true},
		{"UDP no checksum", udpFrame(cl, 1, 2, "abcde", true), true},
		{"UDP corrupt", corruptL4(udpFrame(cl, 1, 2, "abcde", false)), false},
		{"UDP payload bit flip", func() []byte { f := udpFrame(cl, 1, 2, "abcde", false); f[ethHdrLen+28] ^= 1; return f }(), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, r := parseIPv4(tt.frame)
			if r == drop.None {
				r = parseL4(tt.frame, &p)
			}
			if r != drop.None {
				t.Fatalf("parse: %v", r)
			}
			if got := l4ChecksumOK(tt.frame, &p); got != tt.want {
				t.Errorf("l4ChecksumOK = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPortLossCounted checks frames a port lost before the engine read
// them show as port.<name>.rx_lost.
func TestPortLossCounted(t *testing.T) {
	h := newHarness(t, testProgram(t, progOpts{}))
	h.ports[portInt].lost.Store(7)
	got := map[string]uint64{}
	for _, c := range h.e.Counters() {
		got[c.Name] = c.Value
	}
	if got["port.int.rx_lost"] != 7 {
		t.Errorf("port.int.rx_lost = %d, want 7 (counters %v)", got["port.int.rx_lost"], got)
	}
	if v, ok := got["port.ext.rx_lost"]; !ok || v != 0 {
		t.Errorf("port.ext.rx_lost = %d, %v; want 0, present", v, ok)
	}
}
