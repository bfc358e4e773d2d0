package dataplane

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"lbx/dataplane/program"

	"lbx/dataplane/drop"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"lbx/pools"
)

// seqFrame is a TCP frame with explicit sequence and acknowledgement
// numbers.
func seqFrame(h ipHdr, sport, dport uint16, f tcpFlags, seq, ack uint32, payload string) []byte {
	eth, ip := h.layers(layers.IPProtocolTCP)
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: seq, Ack: ack, Window: 65535,
		SYN: f.syn, ACK: f.ack, FIN: f.fin, RST: f.rst}
	tcp.SetNetworkLayerForChecksum(ip)
	return mustSerialize(eth, ip, tcp, gopacket.Payload(payload))
}

// seqOf decodes a TCP frame's sequence and acknowledgement numbers.
func seqOf(t *testing.T, f []byte) (seq, ack uint32) {
	t.Helper()
	tcp, ok := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default).Layer(layers.LayerTypeTCP).(*layers.TCP)
	if !ok {
		t.Fatalf("not TCP")
	}
	return tcp.Seq, tcp.Ack
}

// openConn runs a TCP handshake and one exchange of data through vs_web
// from client port cport: the client's next sequence number is 104, the
// member's 706. It returns the member index the connection went to.
func openConn(t *testing.T, h *harness, cport uint16) int {
	t.Helper()
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	h.send(portExt, seqFrame(cl, cport, 80, fSYN, 100, 0, ""))
	syn := decodeWire(t, h.ports[portInt].expect(t, "SYN at a member", isTCPOrUDP))
	mi := -1
	for i, m := range members {
		if ap := netip.MustParseAddrPort(syn.Dst); ap.Addr() == m {
			mi = i
		}
	}
	if mi < 0 {
		t.Fatalf("SYN went to %s, not a member", syn.Dst)
	}
	mport := netip.MustParseAddrPort(syn.Dst).Port()
	from := netip.MustParseAddrPort(syn.Src) // the client, or its SNAT address
	srv := ipHdr{srcMAC: memberMAC(mi), dstMAC: intMAC, src: members[mi], dst: from.Addr()}
	sideport := from.Port()
	h.clock.Advance(3 * time.Millisecond)
	h.send(portInt, seqFrame(srv, mport, sideport, fSYNACK, 700, 101, ""))
	h.ports[portExt].expect(t, "SYN-ACK at the client", isTCPOrUDP)
	h.send(portExt, seqFrame(cl, cport, 80, fACK, 101, 701, "GET"))
	h.ports[portInt].expect(t, "request at the member", isTCPOrUDP)
	h.send(portInt, seqFrame(srv, mport, sideport, fACK, 701, 104, "hello"))
	h.ports[portExt].expect(t, "answer at the client", isTCPOrUDP)
	return mi
}

func memberName(p *Program, i int) string {
	return virtualOf(p, "/Common/vs_web").Pool.Members[i].Name
}

// markDown sets the member's monitor state to down and runs the action the
// watcher queued, as the sweeper goroutine would.
func markDown(t *testing.T, h *harness, name string) {
	t.Helper()
	h.e.MemberHealth("/Common/web", name).Set(pools.HealthDown, h.e.Mono())
	select {
	case k := <-h.e.downs:
		h.e.serviceDown(k)
	default:
		t.Fatalf("no service-down event queued for %s", name)
	}
}

func counter(h *harness, name string) uint64 {
	for _, c := range h.e.Counters() {
		if c.Name == name {
			return c.Value
		}
	}
	return 0
}

func TestServiceDownReset(t *testing.T) {
	for _, snat := range []bool{false, true} {
		t.Run(fmt.Sprintf("snat=%v", snat), func(t *testing.T) {
			prog := testProgram(t, progOpts{snat: snat})
			virtualOf(prog, "/Common/vs_web").ServiceDown = ServiceDownReset
			h := newHarness(t, prog)
			h.learnAll()
			mi := openConn(t, h, 40000)
			other := openConn(t, h, 40001)
			if other == mi {
				t.Fatalf("round robin sent both connections to member %d", mi)
			}
			markDown(t, h, memberName(prog, mi))

			fc := h.ports[portExt].expect(t, "RST to the client", isTCPOrUDP)
			rc := decodeWire(t, fc)
			if rc.Src != "198.18.0.100:80" || rc.Dst != "198.18.0.10:40000" || rc.Flags != "AR" || rc.DstMAC != clientMAC.String() {
				t.Errorf("RST to the client: %+v", rc)
			}
			if seq, ack := seqOf(t, fc); seq != 706 || ack != 104 {
				t.Errorf("RST to the client: seq %d ack %d, want 706 104 (what the client expects next)", seq, ack)
			}
			fm := h.ports[portInt].expect(t, "RST to the member", isTCPOrUDP)
			rm := decodeWire(t, fm)
			wantSrc := "198.18.0.10:40000"
			if snat {
				wantSrc = "198.18.1.2:"
			}
			if netip.MustParseAddrPort(rm.Dst).Addr() != members[mi] || rm.Flags != "AR" || !strings.HasPrefix(rm.Src, wantSrc) {
				t.Errorf("RST to the member: %+v (want from %s…)", rm, wantSrc)
			}
			if seq, ack := seqOf(t, fm); seq != 104 || ack != 706 {
				t.Errorf("RST to the member: seq %d ack %d, want 104 706", seq, ack)
			}
			if h.e.Flows() != 1 || counter(h, "service_down.reset_flows") != 1 {
				t.Errorf("flows %d, reset counter %d: want 1 and 1 (the other member's flow stays)", h.e.Flows(), counter(h, "service_down.reset_flows"))
			}
			ms := h.member("/Common/web", mi).Stats
			if ms.CurConns.Load() != 0 {
				t.Errorf("member current connections %d after reset, want 0", ms.CurConns.Load())
			}
		})
	}
}

func TestServiceDownDropAndNone(t *testing.T) {
	for _, action := range []ServiceDownAction{ServiceDownDrop, ServiceDownNone} {
		t.Run(action.String(), func(t *testing.T) {
			prog := testProgram(t, progOpts{})
			virtualOf(prog, "/Common/vs_web").ServiceDown = action
			h := newHarness(t, prog)
			h.learnAll()
			mi := openConn(t, h, 40000)
			markDown(t, h, memberName(prog, mi))
			if out := append(h.ports[portExt].drain(), h.ports[portInt].drain()...); len(out) != 0 {
				t.Fatalf("%s sent %d packets, want none", action, len(out))
			}
			cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
			before := h.e.Drops(drop.NoFlow)
			h.send(portExt, seqFrame(cl, 40000, 80, fACK, 104, 706, "more"))
			forwarded := len(h.ports[portInt].drain())
			switch action {
			case ServiceDownDrop:
				if forwarded != 0 || h.e.Drops(drop.NoFlow) != before+1 || h.e.Flows() != 0 {
					t.Errorf("drop: forwarded %d, no-flow drops +%d, flows %d; want 0, +1, 0", forwarded, h.e.Drops(drop.NoFlow)-before, h.e.Flows())
				}
			case ServiceDownNone:
				if forwarded != 1 || h.e.Flows() != 1 {
					t.Errorf("none: forwarded %d, flows %d; want 1 and 1", forwarded, h.e.Flows())
				}
			}
		})
	}
}

// reselect moves a UDP flow to another member; the client keeps its
// socket and gets the new member's answers from the virtual.
func TestServiceDownReselectUDP(t *testing.T) {
	prog := testProgram(t, progOpts{noDNS: true, snat: true})
	dns := rrPool(t, "/Common/web", // the name markDown uses
		pools.Member{Name: "/Common/198.18.1.11:53", Addr: members[0], Port: 53},
		pools.Member{Name: "/Common/198.18.1.12:53", Addr: members[1], Port: 53})
	prog = &Program{Generation: 2, SelfIPs: prog.SelfIPs, Virtuals: []*Virtual{
		{Name: "/Common/vs_dns", Addr: vip, Port: 53, Proto: ProtoUDP, Pool: dns, SNATAutomap: true, Enabled: true, ServiceDown: ServiceDownReselect},
	}}
	if err := prog.Finalize(); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, prog)
	h.learnAll()
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	h.send(portExt, udpFrame(cl, 5555, 53, "q1", false))
	first := decodeWire(t, h.ports[portInt].expect(t, "first datagram at a member", isTCPOrUDP))
	if first.Dst != "198.18.1.11:53" {
		t.Fatalf("first datagram went to %s, want member 1", first.Dst)
	}
	markDown(t, h, "/Common/198.18.1.11:53")
	h.send(portExt, udpFrame(cl, 5555, 53, "q2", false))
	second := decodeWire(t, h.ports[portInt].expect(t, "second datagram at a member", isTCPOrUDP))
	if second.Dst != "198.18.1.12:53" || second.Src != first.Src {
		t.Fatalf("after reselect the datagram went %s → %s, want %s → 198.18.1.12:53", second.Src, second.Dst, first.Src)
	}
	srvSrc := netip.MustParseAddrPort(second.Src)
	srv := ipHdr{srcMAC: memberMAC(1), dstMAC: intMAC, src: members[1], dst: srvSrc.Addr()}
	h.send(portInt, udpFrame(srv, 53, srvSrc.Port(), "a2", false))
	back := decodeWire(t, h.ports[portExt].expect(t, "answer at the client", isTCPOrUDP))
	if back.Src != "198.18.0.100:53" || back.Dst != "198.18.0.10:5555" || back.Payload != "a2" {
		t.Fatalf("answer from the new member reached the client as %+v", back)
	}
	m := h.e.Pool(dns.Name).Members
	if m[0].Stats.CurConns.Load() != 0 || m[1].Stats.CurConns.Load() != 1 || counter(h, "service_down.reselected_flows") != 1 {
		t.Fatalf("current conns %d/%d, reselected %d: want 0/1 and 1", m[0].Stats.CurConns.Load(), m[1].Stats.CurConns.Load(), counter(h, "service_down.reselected_flows"))
	}
}

// Source-address persistence keeps a client on its member across
// connections; hash persistence on the first three address bytes groups a
// /24.
func TestPersistenceInDataplane(t *testing.T) {
	for _, mode := range []pools.PersistMode{pools.PersistSourceAddr, pools.PersistHash} {
		t.Run(mode.String(), func(t *testing.T) {
			prog := testProgram(t, progOpts{})
			vs := virtualOf(prog, "/Common/vs_web")
			vs.Persist = &pools.Persist{Mode: mode, Profile: pools.NameHash("/Common/p"), Scope: pools.NameHash(vs.Name), Virtual: vs.Name, Timeout: time.Minute, MaskBits: 24}
			vs.HashLength = 3
			h := newHarness(t, prog)
			h.learnAll()
			got := map[string]int{}
			for i := range 6 {
				src := client
				if i%2 == 1 {
					src = netip.MustParseAddr("198.18.0.77") // same /24
				}
				cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: src, dst: vip}
				h.send(portExt, seqFrame(cl, uint16(41000+i), 80, fSYN, 1, 0, ""))
				w := decodeWire(t, h.ports[portInt].expect(t, "SYN at a member", isTCPOrUDP))
				got[netip.MustParseAddrPort(w.Dst).Addr().String()]++
			}
			if len(got) != 1 {
				t.Fatalf("six connections from one /24 went to %v, want one member", got)
			}
			if recs := h.e.PersistRecords(pools.PersistFilter{}); len(recs) != 1 || recs[0].Virtual != vs.Name || recs[0].Pool != "/Common/web" {
				t.Fatalf("records %+v, want one for vs_web/web", recs)
			}
			h.clock.Advance(2 * time.Minute)
			h.e.Sweep(h.clock.Now())
			if recs := h.e.PersistRecords(pools.PersistFilter{}); len(recs) != 0 {
				t.Fatalf("records after their timeout: %+v", recs)
			}
		})
	}
}

// The handshake time (SYN to SYN-ACK) feeds the member's response-time
// average for fastest-* methods.
func TestHandshakeRTTObserved(t *testing.T) {
	prog := testProgram(t, progOpts{})
	h := newHarness(t, prog)
	h.learnAll()
	mi := openConn(t, h, 40000) // SYN-ACK 3 ms after the SYN
	m := h.member("/Common/web", mi)
	if got := time.Duration(m.Stats.RTT()); got != 3*time.Millisecond {
		t.Fatalf("member RTT %s, want 3ms", got)
	}
	if got := time.Duration(m.NodeStats.RTT()); got != 3*time.Millisecond {
		t.Fatalf("node RTT %s, want 3ms", got)
	}
}

func TestHashKeySelectsAddressBytes(t *testing.T) {
	a := program.U32(netip.MustParseAddr("198.18.1.77"))
	for _, tc := range []struct {
		off, n int
		want   uint64
	}{
		{0, 0, 0xc612014d}, {0, 3, 0xc61201}, {1, 2, 0x1201}, {3, 0, 0x4d}, {2, 9, 0x014d}, {4, 0, 0}, {-1, 1, 0xc6},
	} {
		if got := hashKey(a, tc.off, tc.n); got != tc.want {
			t.Errorf("hashKey(offset %d, length %d) = %#x, want %#x", tc.off, tc.n, got, tc.want)
		}
	}
}
