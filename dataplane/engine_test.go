package dataplane

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"lbx/dataplane/drop"

	"lbx/dataplane/csum"
	"lbx/dataplane/flowtable"
	"lbx/dataplane/neighbor"

	"github.com/google/go-cmp/cmp"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

type arpSummary struct {
	EthSrc, EthDst      string
	Op                  uint16
	SenderMAC, SenderIP string
	TargetMAC, TargetIP string
}

func decodeARP(t *testing.T, f []byte) arpSummary {
	t.Helper()
	pkt := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
	eth, _ := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	arp, _ := pkt.Layer(layers.LayerTypeARP).(*layers.ARP)
	if eth == nil || arp == nil {
		t.Fatalf("not an ARP frame: %v", pkt)
	}
	return arpSummary{
		EthSrc: eth.SrcMAC.String(), EthDst: eth.DstMAC.String(), Op: arp.Operation,
		SenderMAC: net.HardwareAddr(arp.SourceHwAddress).String(), SenderIP: net.IP(arp.SourceProtAddress).String(),
		TargetMAC: net.HardwareAddr(arp.DstHwAddress).String(), TargetIP: net.IP(arp.DstProtAddress).String(),
	}
}

func isTCPOrUDP(f []byte) bool {
	return len(f) > ethHdrLen+20 && binary.BigEndian.Uint16(f[12:]) == etherTypeIPv4 && (f[ethHdrLen+9] == 6 || f[ethHdrLen+9] == 17)
}

func isARP(f []byte) bool { return len(f) >= 14 && binary.BigEndian.Uint16(f[12:]) == etherTypeARP }

func TestARPReply(t *testing.T) {
	tests := []struct {
		name      string
		port      int
		target    netip.Addr
		want      *arpSummary
		wantDrops map[string]uint64
	}{{
		name: "self IP on receiving port", port: portExt, target: selfExt.Addr(),
		want: &arpSummary{EthSrc: extMAC.String(), EthDst: clientMAC.String(), Op: 2, SenderMAC: extMAC.String(), SenderIP: "198.18.0.2", TargetMAC: clientMAC.String(), TargetIP: "198.18.0.10"},
	}, {
		name: "VIP", port: portExt, target: vip,
		want: &arpSummary{EthSrc: extMAC.String(), EthDst: clientMAC.String(), Op: 2, SenderMAC: extMAC.String(), SenderIP: "198.18.0.100", TargetMAC: clientMAC.String(), TargetIP: "198.18.0.10"},
	}, {
		name: "VIP asked on the other port answers with that port's MAC", port: portInt, target: vip,
		want: &arpSummary{EthSrc: intMAC.String(), EthDst: clientMAC.String(), Op: 2, SenderMAC: intMAC.String(), SenderIP: "198.18.0.100", TargetMAC: clientMAC.String(), TargetIP: "198.18.0.10"},
	}, {
		name: "self IP of another port is not answered", port: portExt, target: selfInt.Addr(),
		wantDrops: map[string]uint64{"drop.not-for-us": 1},
	}, {
		name: "unknown address", port: portExt, target: netip.MustParseAddr("198.18.0.77"),
		wantDrops: map[string]uint64{"drop.not-for-us": 1},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, testProgram(t, progOpts{}))
			h.send(tt.port, arpRequest(clientMAC, client, tt.target))
			got := h.ports[tt.port].drain()
			if tt.want == nil {
				if len(got) != 0 {
					t.Errorf("sent %d frames, want none", len(got))
				}
			} else {
				if len(got) != 1 {
					t.Fatalf("sent %d frames, want 1 ARP reply", len(got))
				}
				if diff := cmp.Diff(*tt.want, decodeARP(t, got[0])); diff != "" {
					t.Errorf("ARP reply (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(tt.wantDrops, h.drops(), cmpEmptyMap); diff != "" {
				t.Errorf("drops (-want +got):\n%s", diff)
			}
			if tt.port == portExt {
				if mac, ok := h.e.Neighbor("ext", client); !ok || mac.String() != clientMAC.String() {
					t.Errorf("neighbour %s on ext = %v, %v; want learned %s", client, mac, ok, clientMAC)
				}
			}
		})
	}
}

var cmpEmptyMap = cmp.FilterValues(func(a, b map[string]uint64) bool { return len(a) == 0 && len(b) == 0 }, cmp.Ignore())

type icmpSummary struct {
	EthSrc, EthDst string
	Src, Dst       string
	TTL            uint8
	Type           uint8
	ID, Seq        uint16
	Payload        string
}

func decodeICMP(t *testing.T, f []byte) icmpSummary {
	t.Helper()
	verifyChecksums(t, f)
	pkt := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
	eth, _ := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	ip, _ := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	ic, _ := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if eth == nil || ip == nil || ic == nil {
		t.Fatalf("not ICMP: %v", pkt)
	}
	return icmpSummary{EthSrc: eth.SrcMAC.String(), EthDst: eth.DstMAC.String(), Src: ip.SrcIP.String(), Dst: ip.DstIP.String(),
		TTL: ip.TTL, Type: ic.TypeCode.Type(), ID: ic.Id, Seq: ic.Seq, Payload: string(ic.Payload)}
}

func TestICMPEchoReply(t *testing.T) {
	badSum := icmpEchoFrame(ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}, 7, 1, "ping")
	badSum[ethHdrLen+20+2] ^= 0x55
	tests := []struct {
		name      string
		frame     []byte
		want      *icmpSummary
		wantDrops map[string]uint64
	}{{
		name:  "self IP",
		frame: icmpEchoFrame(ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: selfExt.Addr(), ttl: 9}, 7, 1, "ping payload"),
		want:  &icmpSummary{EthSrc: extMAC.String(), EthDst: clientMAC.String(), Src: "198.18.0.2", Dst: "198.18.0.10", TTL: 64, Type: 0, ID: 7, Seq: 1, Payload: "ping payload"},
	}, {
		name:  "VIP, odd payload",
		frame: icmpEchoFrame(ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}, 8, 2, "odd"),
		want:  &icmpSummary{EthSrc: extMAC.String(), EthDst: clientMAC.String(), Src: "198.18.0.100", Dst: "198.18.0.10", TTL: 64, Type: 0, ID: 8, Seq: 2, Payload: "odd"},
	}, {
		name:  "off-net client through a router: reply to the router's MAC",
		frame: icmpEchoFrame(ipHdr{srcMAC: routerMAC, dstMAC: extMAC, src: offnet, dst: vip}, 9, 3, ""),
		want:  &icmpSummary{EthSrc: extMAC.String(), EthDst: routerMAC.String(), Src: "198.18.0.100", Dst: "203.0.113.5", TTL: 64, Type: 0, ID: 9, Seq: 3},
	}, {
		name:      "bad ICMP checksum",
		frame:     badSum,
		wantDrops: map[string]uint64{"drop.bad-checksum": 1},
	}, {
		name:      "not ours",
		frame:     icmpEchoFrame(ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: netip.MustParseAddr("198.18.0.99")}, 9, 3, ""),
		wantDrops: map[string]uint64{"drop.not-for-us": 1},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, testProgram(t, progOpts{}))
			h.send(portExt, tt.frame)
			got := h.ports[portExt].drain()
			if tt.want == nil {
				if len(got) != 0 {
					t.Errorf("sent %d frames, want none", len(got))
				}
			} else {
				if len(got) != 1 {
					t.Fatalf("sent %d frames, want 1 echo reply", len(got))
				}
				if diff := cmp.Diff(*tt.want, decodeICMP(t, got[0])); diff != "" {
					t.Errorf("echo reply (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(tt.wantDrops, h.drops(), cmpEmptyMap); diff != "" {
				t.Errorf("drops (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTCPConversationRoundRobin runs a started engine with its port
// goroutines: three clients' SYNs go to the three members in order, and a
// whole conversation flows through both translations.
func TestTCPConversationRoundRobin(t *testing.T) {
	before := runtime.NumGoroutine()
	ext, in := newFakePort("ext", extMAC.String()), newFakePort("int", intMAC.String())
	e, err := NewEngine(EngineConfig{Ports: []Port{ext, in}, FlowCapacity: 4096})
	if err != nil {
		t.Fatal(err)
	}
	prog := testProgram(t, progOpts{})
	if err := e.Install(prog); err != nil {
		t.Fatal(err)
	}
	for range members { // one ARP request per member, sent by Install
		got := decodeARP(t, in.expect(t, "ARP request", isARP))
		if got.Op != 1 || got.SenderIP != "198.18.1.2" || got.EthDst != "ff:ff:ff:ff:ff:ff" {
			t.Errorf("Install's ARP request: %+v", got)
		}
	}
	e.Start()
	defer func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := e.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		waitGoroutines(t, before)
	}()
	for i, m := range members {
		in.inject(arpFrame(layers.ARPReply, memberMAC(i), m, intMAC, selfInt.Addr(), intMAC))
	}
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	wantMemberPort := []uint16{8080, 8080, 80}
	for i := range members {
		cport := uint16(50000 + i)
		ext.inject(tcpFrame(cl, cport, 80, fSYN, ""))
		got := decodeWire(t, in.expect(t, "SYN to a member", isTCPOrUDP))
		want := wire{SrcMAC: intMAC.String(), DstMAC: memberMAC(i).String(), Src: fmt.Sprintf("198.18.0.10:%d", cport),
			Dst: fmt.Sprintf("%s:%d", members[i], wantMemberPort[i]), TTL: 63, Flags: "S"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("SYN %d at member (-want +got):\n%s", i, diff)
		}
	}
	for i, m := range members {
		cport := uint16(50000 + i)
		srv := ipHdr{srcMAC: memberMAC(i), dstMAC: intMAC, src: m, dst: client}
		in.inject(tcpFrame(srv, wantMemberPort[i], cport, fSYNACK, ""))
		got := decodeWire(t, ext.expect(t, "SYN-ACK to the client", isTCPOrUDP))
		want := wire{SrcMAC: extMAC.String(), DstMAC: clientMAC.String(), Src: "198.18.0.100:80", Dst: fmt.Sprintf("198.18.0.10:%d", cport), TTL: 63, Flags: "SA"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("SYN-ACK %d at client (-want +got):\n%s", i, diff)
		}
	}
	// The rest of the first conversation: ACK, request, response, FINs.
	srv := ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: client}
	steps := []struct {
		toMember bool
		flags    tcpFlags
		payload  string
	}{
		{true, fACK, ""},
		{true, fACK, "GET / HTTP/1.0\r\n\r\n"},
		{false, fACK, "HTTP/1.0 200 OK\r\n\r\nhello"},
		{false, fFINACK, ""},
		{true, fFINACK, ""},
		{false, fACK, ""},
	}
	for i, s := range steps {
		var got wire
		var want wire
		if s.toMember {
			ext.inject(tcpFrame(cl, 50000, 80, s.flags, s.payload))
			got = decodeWire(t, in.expect(t, "segment to member", isTCPOrUDP))
			want = wire{SrcMAC: intMAC.String(), DstMAC: memberMAC(0).String(), Src: "198.18.0.10:50000", Dst: "198.18.1.11:8080", TTL: 63}
		} else {
			in.inject(tcpFrame(srv, 8080, 50000, s.flags, s.payload))
			got = decodeWire(t, ext.expect(t, "segment to client", isTCPOrUDP))
			want = wire{SrcMAC: extMAC.String(), DstMAC: clientMAC.String(), Src: "198.18.0.100:80", Dst: "198.18.0.10:50000", TTL: 63}
		}
		want.Flags, want.Payload = strings.ReplaceAll(fmt.Sprint(flagString(s.flags)), " ", ""), s.payload
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("step %d (-want +got):\n%s", i, diff)
		}
	}
	// The first conversation closed with both FINs: 2 of 3 are current.
	vs := e.VirtualStats("/Common/vs_web")
	if got, want := [4]uint64{vs.PktsIn.Load(), vs.PktsOut.Load(), vs.TotalConns.Load(), uint64(vs.CurConns.Load())}, [4]uint64{3 + 3, 3 + 3, 3, 2}; got != want {
		t.Errorf("virtual pkts in/out, total/cur conns = %v, want %v", got, want)
	}
	for i := range members {
		ms := e.Member("/Common/web", virtualOf(prog, "/Common/vs_web").Pool.Members[i].Name).Stats
		wantIn, wantOut := uint64(1), uint64(1)
		if i == 0 {
			wantIn, wantOut = 4, 4
		}
		if ms.TotalConns.Load() != 1 || ms.PktsIn.Load() != wantIn || ms.PktsOut.Load() != wantOut {
			t.Errorf("member %d: total conns %d, pkts in %d out %d; want 1, %d, %d", i, ms.TotalConns.Load(), ms.PktsIn.Load(), ms.PktsOut.Load(), wantIn, wantOut)
		}
		if wantCur := min(int64(i), 1); ms.CurConns.Load() != wantCur {
			t.Errorf("member %d: current conns %d, want %d", i, ms.CurConns.Load(), wantCur)
		}
	}
	if e.Flows() != 3 {
		t.Errorf("Flows = %d, want 3", e.Flows())
	}
}

func flagString(f tcpFlags) string {
	return tcpFlagString(&layers.TCP{SYN: f.syn, ACK: f.ack, FIN: f.fin, RST: f.rst})
}

// waitGoroutines waits until the goroutine count is back to before.
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines leaked: %d > %d\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
	}
}

func TestSNATAutomap(t *testing.T) {
	for _, snat := range []bool{false, true} {
		t.Run(fmt.Sprintf("snat=%v", snat), func(t *testing.T) {
			h := newHarness(t, testProgram(t, progOpts{snat: snat}))
			h.learnAll()
			cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
			h.send(portExt, tcpFrame(cl, 40000, 80, fSYN, ""))
			out := h.ports[portInt].drain()
			if len(out) != 1 {
				t.Fatalf("int sent %d frames, want 1", len(out))
			}
			seenBy := client
			if snat {
				seenBy = selfInt.Addr()
			}
			want := wire{SrcMAC: intMAC.String(), DstMAC: memberMAC(0).String(), Src: fmt.Sprintf("%s:40000", seenBy), Dst: "198.18.1.11:8080", TTL: 63, Flags: "S"}
			if diff := cmp.Diff(want, decodeWire(t, out[0])); diff != "" {
				t.Errorf("SYN at member (-want +got):\n%s", diff)
			}
			h.send(portInt, tcpFrame(ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: seenBy}, 8080, 40000, fSYNACK, ""))
			out = h.ports[portExt].drain()
			if len(out) != 1 {
				t.Fatalf("ext sent %d frames, want 1", len(out))
			}
			want = wire{SrcMAC: extMAC.String(), DstMAC: clientMAC.String(), Src: "198.18.0.100:80", Dst: "198.18.0.10:40000", TTL: 63, Flags: "SA"}
			if diff := cmp.Diff(want, decodeWire(t, out[0])); diff != "" {
				t.Errorf("SYN-ACK at client (-want +got):\n%s", diff)
			}
			// Without SNAT the member's answer to the self IP is not a flow;
			// with SNAT its answer straight to the client is not one.
			other := selfInt.Addr()
			if snat {
				other = client
			}
			h.send(portInt, tcpFrame(ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: other}, 8080, 40000, fACK, ""))
			if out := h.ports[portExt].drain(); len(out) != 0 {
				t.Errorf("answer to %s was forwarded", other)
			}
			if diff := cmp.Diff(map[string]uint64{map[bool]string{false: "drop.no-listener", true: "drop.not-for-us"}[snat]: 1}, h.drops()); diff != "" {
				t.Errorf("drops (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUDPVirtual(t *testing.T) {
	tests := []struct {
		name    string
		snat    bool
		zeroSum bool
	}{{"dnat", false, false}, {"dnat+snat", true, false}, {"no checksum stays none", true, true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, testProgram(t, progOpts{snat: tt.snat}))
			h.learnAll()
			h.send(portExt, udpFrame(ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}, 33333, 53, "query", tt.zeroSum))
			out := h.ports[portInt].drain()
			if len(out) != 1 {
				t.Fatalf("int sent %d frames, want 1", len(out))
			}
			seenBy := client
			if tt.snat {
				seenBy = selfInt.Addr()
			}
			want := wire{SrcMAC: intMAC.String(), DstMAC: memberMAC(0).String(), Src: fmt.Sprintf("%s:33333", seenBy), Dst: "198.18.1.11:5353", TTL: 63, Payload: "query"}
			if diff := cmp.Diff(want, decodeWire(t, out[0])); diff != "" {
				t.Errorf("query at member (-want +got):\n%s", diff)
			}
			if c := binary.BigEndian.Uint16(out[0][ethHdrLen+20+6:]); (c == 0) != tt.zeroSum {
				t.Errorf("UDP checksum %#04x; zero wanted: %v", c, tt.zeroSum)
			}
			h.send(portInt, udpFrame(ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: seenBy}, 5353, 33333, "answer", tt.zeroSum))
			out = h.ports[portExt].drain()
			if len(out) != 1 {
				t.Fatalf("ext sent %d frames, want 1", len(out))
			}
			want = wire{SrcMAC: extMAC.String(), DstMAC: clientMAC.String(), Src: "198.18.0.100:53", Dst: "198.18.0.10:33333", TTL: 63, Payload: "answer"}
			if diff := cmp.Diff(want, decodeWire(t, out[0])); diff != "" {
				t.Errorf("answer at client (-want +got):\n%s", diff)
			}
			// UDP flows idle out after 60s.
			h.e.Sweep(testTime.Add(60 * time.Second))
			if h.e.Flows() != 1 {
				t.Errorf("Flows after 60s = %d, want 1", h.e.Flows())
			}
			h.e.Sweep(testTime.Add(61 * time.Second))
			if h.e.Flows() != 0 {
				t.Errorf("Flows after 61s = %d, want 0", h.e.Flows())
			}
		})
	}
}

func TestNeighborResolution(t *testing.T) {
	h := newHarness(t, testProgram(t, progOpts{}))
	h.learn(portExt, clientMAC, client)
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	h.send(portExt, tcpFrame(cl, 40000, 80, fSYN, ""))
	h.send(portExt, tcpFrame(cl, 40000, 80, fSYN, "")) // retransmission: parked too, no second ARP request
	out := h.ports[portInt].drain()
	if len(out) != 1 || !isARP(out[0]) {
		t.Fatalf("int sent %d frames, want exactly one ARP request", len(out))
	}
	want := arpSummary{EthSrc: intMAC.String(), EthDst: "ff:ff:ff:ff:ff:ff", Op: 1, SenderMAC: intMAC.String(), SenderIP: "198.18.1.2", TargetMAC: "00:00:00:00:00:00", TargetIP: "198.18.1.11"}
	if diff := cmp.Diff(want, decodeARP(t, out[0])); diff != "" {
		t.Errorf("ARP request (-want +got):\n%s", diff)
	}
	h.send(portInt, arpFrame(layers.ARPReply, memberMAC(0), members[0], intMAC, selfInt.Addr(), intMAC))
	out = h.ports[portInt].drain()
	if len(out) != 2 {
		t.Fatalf("after the ARP reply int sent %d frames, want the 2 parked SYNs", len(out))
	}
	for _, f := range out {
		wantW := wire{SrcMAC: intMAC.String(), DstMAC: memberMAC(0).String(), Src: "198.18.0.10:40000", Dst: "198.18.1.11:8080", TTL: 63, Flags: "S"}
		if diff := cmp.Diff(wantW, decodeWire(t, f)); diff != "" {
			t.Errorf("released SYN (-want +got):\n%s", diff)
		}
	}
	if d := h.drops(); len(d) != 0 {
		t.Errorf("drops: %v", d)
	}
}

func TestNeighborTimeoutAndQueueFull(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		h := newHarness(t, testProgram(t, progOpts{}))
		h.learn(portExt, clientMAC, client)
		h.send(portExt, udpFrame(ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}, 33333, 53, "q", false))
		h.ports[portInt].drain()
		h.e.Sweep(testTime.Add(time.Second))
		if got := h.e.Drops(drop.NeighborTimeout); got != 0 {
			t.Errorf("after 1s: %d neighbor-timeout drops, want 0", got)
		}
		h.e.Sweep(testTime.Add(time.Second + time.Millisecond))
		if got := h.e.Drops(drop.NeighborTimeout); got != 1 {
			t.Errorf("after 1.001s: %d neighbor-timeout drops, want 1", got)
		}
		h.learn(portInt, memberMAC(0), members[0])
		if out := h.ports[portInt].drain(); len(out) != 0 {
			t.Errorf("expired packet was still sent")
		}
	})
	t.Run("queue full drops oldest", func(t *testing.T) {
		h := newHarness(t, testProgram(t, progOpts{}))
		h.learn(portExt, clientMAC, client)
		const n = neighbor.QueueSlots + 3
		for i := range n {
			h.send(portExt, udpFrame(ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}, uint16(20000+i), 53, "q", false))
		}
		if got := h.e.Drops(drop.NeighborTimeout); got != 3 {
			t.Errorf("%d neighbor-timeout drops, want 3", got)
		}
		if out := h.ports[portInt].drain(); len(out) != 1 || !isARP(out[0]) {
			t.Errorf("sent %d frames while parking, want one ARP request", len(out))
		}
		h.learn(portInt, memberMAC(0), members[0])
		out := h.ports[portInt].drain()
		if len(out) != neighbor.QueueSlots {
			t.Fatalf("released %d frames, want %d", len(out), neighbor.QueueSlots)
		}
		for i, f := range out {
			if got, want := decodeWire(t, f).Src, fmt.Sprintf("198.18.0.10:%d", 20003+i); got != want {
				t.Errorf("released frame %d from %s, want %s (oldest first, 3 oldest dropped)", i, got, want)
			}
		}
	})
}

func TestInstallKeepsAndPrunesFlows(t *testing.T) {
	old := testProgram(t, progOpts{})
	h := newHarness(t, old)
	h.learnAll()
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	h.send(portExt, tcpFrame(cl, 40000, 80, fSYN, ""))
	h.send(portExt, udpFrame(cl, 33333, 53, "q", false))
	h.ports[portInt].drain()
	if h.e.Flows() != 2 {
		t.Fatalf("Flows = %d, want 2", h.e.Flows())
	}
	oldVS := h.e.VirtualStats("/Common/vs_web")
	oldMS := h.member("/Common/web", 0).Stats

	// The new program drops vs_dns and changes vs_web (SNAT automap on).
	// The TCP flow keeps its NAT; the UDP flow goes.
	next := testProgram(t, progOpts{snat: true, noDNS: true})
	next.Generation = 2
	if err := h.e.Install(next); err != nil {
		t.Fatalf("Install: %v", err)
	}
	if h.e.Program() != next {
		t.Errorf("Program() is not the installed program")
	}
	if h.e.Flows() != 1 {
		t.Errorf("Flows after install = %d, want 1", h.e.Flows())
	}
	nvs, nms := h.e.VirtualStats("/Common/vs_web"), h.member("/Common/web", 0).Stats
	if nvs != oldVS || nms != oldMS {
		t.Errorf("stats not kept across install: virtual %p→%p, member %p→%p", oldVS, nvs, oldMS, nms)
	}
	h.ports[portInt].drain()

	h.send(portInt, tcpFrame(ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: client}, 8080, 40000, fSYNACK, ""))
	out := h.ports[portExt].drain()
	if len(out) != 1 {
		t.Fatalf("kept flow: ext sent %d frames, want 1", len(out))
	}
	if got := decodeWire(t, out[0]); got.Src != "198.18.0.100:80" || got.Dst != "198.18.0.10:40000" {
		t.Errorf("kept flow answer: %+v", got)
	}
	h.send(portExt, tcpFrame(cl, 40000, 80, fACK, ""))
	out = h.ports[portInt].drain()
	if len(out) != 1 {
		t.Fatalf("kept flow: int sent %d frames, want 1", len(out))
	}
	if got := decodeWire(t, out[0]); got.Src != "198.18.0.10:40000" || got.Dst != "198.18.1.11:8080" {
		t.Errorf("kept flow keeps its original NAT: %+v", got)
	}
	if oldVS.PktsIn.Load() != 2 || oldVS.PktsOut.Load() != 1 || oldVS.CurConns.Load() != 1 {
		t.Errorf("virtual stats in %d out %d cur %d; want 2 1 1", oldVS.PktsIn.Load(), oldVS.PktsOut.Load(), oldVS.CurConns.Load())
	}
	h.send(portInt, udpFrame(ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: client}, 5353, 33333, "a", false))
	if out := h.ports[portExt].drain(); len(out) != 0 {
		t.Errorf("flow of the deleted virtual still forwarded")
	}
	// A new connection uses the new configuration (SNAT automap). The web
	// pool itself is unchanged, so it is kept, round-robin position and
	// all: the rotation carries on to the second member.
	h.send(portExt, tcpFrame(cl, 40001, 80, fSYN, ""))
	out = h.ports[portInt].drain()
	if len(out) != 1 {
		t.Fatalf("new flow: int sent %d frames, want 1", len(out))
	}
	if got := decodeWire(t, out[0]); got.Src != "198.18.1.2:40001" || got.Dst != "198.18.1.12:8080" {
		t.Errorf("new flow after install: %+v", got)
	}
}

func TestInstallErrors(t *testing.T) {
	h := newHarness(t, testProgram(t, progOpts{}))
	running := h.e.Program()
	bad := testProgram(t, progOpts{})
	bad.SelfIPs = append(bad.SelfIPs, SelfIP{Name: "/Common/self_x", Prefix: netip.MustParsePrefix("10.1.1.1/24"), Port: "bogus"})
	if err := bad.Finalize(); err != nil {
		t.Fatal(err)
	}
	unfinalized := &Program{Generation: 7}
	tests := []struct {
		name string
		p    *Program
		want string
	}{
		{"nil", nil, "nil program"},
		{"unknown port", bad, `self /Common/self_x: port "bogus": no such data port (have ext, int)`},
		{"not finalized", unfinalized, "program generation 7: not finalized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := h.e.Install(tt.p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Install = %v, want error containing %q", err, tt.want)
			}
			if h.e.Program() != running {
				t.Errorf("failed Install replaced the running program")
			}
		})
	}
}

func TestDropReasons(t *testing.T) {
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	to := func(dst netip.Addr) ipHdr { h := cl; h.dst = dst; return h }
	ipv6 := tcpFrame(cl, 1, 80, fSYN, "")
	ipv6[12], ipv6[13] = 0x86, 0xdd
	badSum := tcpFrame(cl, 1, 80, fSYN, "")
	badSum[ethHdrLen+10] ^= 1
	frag := tcpFrame(cl, 1000, 80, fSYN, "q") // fragmented UDP through a virtual is forwarded (frag.go)
	frag[ethHdrLen+6] = 0x20                  // MF
	binary.BigEndian.PutUint16(frag[ethHdrLen+10:], 0)
	binary.BigEndian.PutUint16(frag[ethHdrLen+10:], csum.Sum(frag[ethHdrLen:ethHdrLen+20], 0))
	gre := mustSerialize(&layers.Ethernet{SrcMAC: clientMAC, DstMAC: extMAC, EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolGRE, SrcIP: client.AsSlice(), DstIP: vip.AsSlice()}, gopacket.Payload("xxxx"))
	otherMAC := tcpFrame(ipHdr{srcMAC: clientMAC, dstMAC: routerMAC, src: client, dst: vip}, 1, 80, fSYN, "")
	ttl1 := cl
	ttl1.ttl = 1
	offnetSYN := tcpFrame(ipHdr{srcMAC: routerMAC, dstMAC: extMAC, src: offnet, dst: vip}, 1000, 80, fSYN, "")

	tests := []struct {
		name  string
		prog  bool
		frame []byte
		want  string
	}{
		{"unsupported ethertype", true, ipv6, "unsupported-ethertype"},
		{"runt", true, []byte{1, 2, 3}, "malformed"},
		{"truncated IPv4", true, tcpFrame(cl, 1, 80, fSYN, "")[:30], "malformed"},
		{"oversize", true, make([]byte, maxFrameLen+1), "oversize"},
		{"bad IPv4 header checksum", true, badSum, "bad-checksum"},
		{"another host's MAC", true, otherMAC, "not-for-us"},
		{"not a local address", true, tcpFrame(to(netip.MustParseAddr("198.18.0.200")), 1000, 80, fSYN, ""), "not-for-us"},
		{"VIP port without virtual", true, tcpFrame(cl, 1000, 9999, fSYN, ""), "no-listener"},
		{"self IP", true, tcpFrame(to(selfExt.Addr()), 1000, 22, fSYN, ""), "no-listener"},
		{"disabled virtual", true, tcpFrame(cl, 1000, 81, fSYN, ""), "virtual-disabled"},
		{"ACK without flow", true, tcpFrame(cl, 1000, 80, fACK, ""), "no-flow"},
		{"SYN-ACK without flow", true, tcpFrame(cl, 1000, 80, fSYNACK, ""), "no-flow"},
		{"RST without flow", true, tcpFrame(cl, 1000, 80, fRST, ""), "no-flow"},
		{"pool without members", true, tcpFrame(cl, 1000, 82, fSYN, ""), "no-member"},
		{"member on no connected network", true, tcpFrame(cl, 1000, 83, fSYN, ""), "no-route"},
		{"client on no connected network", true, offnetSYN, "no-route"},
		{"TTL 1", true, tcpFrame(ttl1, 1000, 80, fSYN, ""), "ttl-exceeded"},
		{"fragment", true, frag, "fragment"},
		{"GRE to a VIP", true, gre, "unsupported-protocol"},
		{"no program", false, tcpFrame(cl, 1000, 80, fSYN, ""), "no-program"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p *Program
			if tt.prog {
				p = testProgram(t, progOpts{})
			}
			h := newHarness(t, p)
			h.send(portExt, tt.frame)
			for _, fp := range h.ports {
				if out := fp.drain(); len(out) != 0 {
					t.Errorf("port %s sent %d frames, want none", fp.name, len(out))
				}
			}
			if diff := cmp.Diff(map[string]uint64{"drop." + tt.want: 1}, h.drops()); diff != "" {
				t.Errorf("drops (-want +got):\n%s", diff)
			}
			if h.e.Flows() != 0 {
				t.Errorf("a dropped packet created a flow")
			}
		})
	}
}

func TestDropFlowTableFullAndTxError(t *testing.T) {
	h := newHarness(t, nil)
	e, err := NewEngine(EngineConfig{Ports: []Port{h.ports[0], h.ports[1]}, FlowCapacity: 1, Clock: h.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	h.e = e
	h.w = []*worker{e.newWorker(0), e.newWorker(1)}
	if err := e.Install(testProgram(t, progOpts{})); err != nil {
		t.Fatal(err)
	}
	h.ports[portInt].drain()
	h.learnAll()
	h.ports[portInt].drain()
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	// One established flow fills its shard (one entry per shard); the
	// reaper evicts only embryonic and closed flows.
	h.send(portExt, tcpFrame(cl, 40000, 80, fSYN, ""))
	h.send(portInt, tcpFrame(ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: client}, 8080, 40000, fSYNACK, ""))
	h.send(portExt, tcpFrame(cl, 40000, 80, fACK, ""))
	h.send(portExt, tcpFrame(cl, 40000+flowtable.Shards, 80, fSYN, "")) // same shard
	if got := h.e.Drops(drop.FlowTableFull); got != 1 {
		t.Errorf("flow-table-full = %d, want 1", got)
	}
	h.ports[portInt].Close()
	h.send(portExt, tcpFrame(cl, 40000, 80, fACK, ""))
	if got := h.e.Drops(drop.TxError); got != 1 {
		t.Errorf("tx-error = %d, want 1", got)
	}
}

func TestCounters(t *testing.T) {
	h := newHarness(t, testProgram(t, progOpts{}))
	h.send(portExt, arpRequest(clientMAC, client, vip))
	h.send(portExt, icmpEchoFrame(ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}, 1, 1, ""))
	h.send(portExt, []byte{1})
	got := map[string]uint64{}
	var names []string
	for _, c := range h.e.Counters() {
		got[c.Name] = c.Value
		names = append(names, c.Name)
	}
	for _, r := range drop.Reasons() {
		if _, ok := got["drop."+r.String()]; !ok {
			t.Errorf("no counter for %v", r)
		}
	}
	want := map[string]uint64{
		"port.ext.tx_packets": 2, "port.ext.arp_replies": 1, "port.ext.icmp_echo_replies": 1, "drop.malformed": 1,
		"port.int.arp_requests": 3, "port.int.tx_packets": 3, // Install resolved the three members
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s = %d, want %d (all: %v)", name, got[name], v, names)
		}
	}
}

func TestNewEngineErrors(t *testing.T) {
	a := newFakePort("a", "02:00:00:00:00:0a")
	tests := []struct {
		name string
		cfg  EngineConfig
		want string
	}{
		{"no ports", EngineConfig{}, "at least one port"},
		{"duplicate names", EngineConfig{Ports: []Port{a, newFakePort("a", "02:00:00:00:00:0b")}}, `port "a": duplicate name`},
		{"bad MAC", EngineConfig{Ports: []Port{&fakePort{name: "b", mac: net.HardwareAddr{1, 2}}}}, `port "b": mac`},
		{"negative capacity", EngineConfig{Ports: []Port{a}, FlowCapacity: -1}, "flow-capacity -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewEngine(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewEngine = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func TestEngineLifecycle(t *testing.T) {
	before := runtime.NumGoroutine()
	ext := newFakePort("ext", extMAC.String())
	e, err := NewEngine(EngineConfig{Ports: []Port{ext}, FlowCapacity: 64})
	if err != nil {
		t.Fatal(err)
	}
	if e.Program() != nil {
		t.Errorf("Program before Install = %v", e.Program())
	}
	e.Start()
	e.Start()
	// Without a program every frame is dropped and counted.
	ext.inject(arpRequest(clientMAC, client, vip))
	deadline := time.Now().Add(5 * time.Second)
	for e.Drops(drop.NoProgram) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("no-program drops = %d, want 1", e.Drops(drop.NoProgram))
		}
		runtime.Gosched()
	}
	if err := e.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	e.Start() // no-op after Close
	waitGoroutines(t, before)
	if err := e.Install(testProgram(t, progOpts{})); err == nil {
		t.Errorf("Install after Close succeeded")
	}
}
