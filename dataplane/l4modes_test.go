package dataplane

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/gopacket/layers"
)

// l4Program is testProgram with vs_web changed by mod before Finalize.
func l4Program(t testing.TB, mod func(v *Virtual)) *Program {
	t.Helper()
	p := testProgram(t, progOpts{snat: true})
	q := &Program{Generation: 1, SelfIPs: p.SelfIPs}
	for _, v := range p.Virtuals {
		c := *v
		if c.Name == "/Common/vs_web" {
			mod(&c)
		}
		q.Virtuals = append(q.Virtuals, &c)
	}
	if err := q.Finalize(); err != nil {
		t.Fatalf("Finalize: %v", err)
	}
	return q
}

// TestDSR: with translate-address disabled only the destination MAC
// changes, towards the member; the client's later packets (ACK, data, FIN)
// follow the flow without an answer from the member ever passing the
// appliance, and the member's answer from the VIP, when it is routed back
// through the appliance, is forwarded to the client untouched but for TTL.
func TestDSR(t *testing.T) {
	h := newHarness(t, l4Program(t, func(v *Virtual) { v.DSR = true }))
	h.learnAll()
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	var member string
	for i, f := range []tcpFlags{fSYN, fACK, fACK, fFINACK} {
		h.send(portExt, tcpFrame(cl, 40000, 80, f, "data"[:i]))
		out := h.ports[portInt].drain()
		if len(out) != 1 {
			t.Fatalf("packet %d: int sent %d frames, want 1", i, len(out))
		}
		got := decodeWire(t, out[0])
		if i == 0 {
			member = got.DstMAC
			if member != memberMAC(0).String() {
				t.Errorf("SYN to MAC %s, want the first member's %s", member, memberMAC(0))
			}
		}
		want := wire{SrcMAC: intMAC.String(), DstMAC: member, Src: "198.18.0.10:40000", Dst: "198.18.0.100:80", TTL: 63,
			Flags: tcpFlagString(&layers.TCP{SYN: f.syn, ACK: f.ack, FIN: f.fin}), Payload: "data"[:i]}
		if diff := cmp.Diff(want, decodeWire(t, out[0])); diff != "" {
			t.Errorf("packet %d at member (-want +got):\n%s", i, diff)
		}
	}
	conns := h.e.Connections(ConnFilter{})
	if len(conns) != 1 || conns[0].SSClient.String() != "198.18.0.10:40000" || conns[0].SSServer.String() != "198.18.1.11:80" {
		t.Errorf("connections %+v, want one, server side 198.18.0.10:40000 → member 198.18.1.11:80", conns)
	}
	st := h.e.VirtualStats("/Common/vs_web")
	if st.TotalConns.Load() != 1 || st.CurConns.Load() != 0 {
		t.Errorf("total %d current %d connections, want 1 and 0 (the client's FIN closes a DSR flow)", st.TotalConns.Load(), st.CurConns.Load())
	}
	// The member answers from the VIP through its default gateway, the
	// appliance's self IP.
	h.send(portInt, tcpFrame(ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: vip, dst: client}, 80, 40000, fACK, "answer"))
	out := h.ports[portExt].drain()
	if len(out) != 1 {
		t.Fatalf("ext sent %d frames for the member's answer, want 1", len(out))
	}
	want := wire{SrcMAC: extMAC.String(), DstMAC: clientMAC.String(), Src: "198.18.0.100:80", Dst: "198.18.0.10:40000", TTL: 63, Flags: "A", Payload: "answer"}
	if diff := cmp.Diff(want, decodeWire(t, out[0])); diff != "" {
		t.Errorf("answer at client (-want +got):\n%s", diff)
	}
	if st.PktsOut.Load() != 1 {
		t.Errorf("PktsOut = %d, want 1", st.PktsOut.Load())
	}
	// From a VIP port that is not a DSR virtual it is still spoofed.
	h.send(portInt, tcpFrame(ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: vip, dst: client}, 53, 40000, fACK, ""))
	if diff := cmp.Diff(map[string]uint64{"drop.local-source": 1}, h.drops()); diff != "" {
		t.Errorf("drops (-want +got):\n%s", diff)
	}
}

// TestDSRFlowTimesOut: a DSR flow the client never closes ends on idle.
func TestDSRFlowTimesOut(t *testing.T) {
	h := newHarness(t, l4Program(t, func(v *Virtual) { v.DSR = true }))
	h.learnAll()
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	h.send(portExt, tcpFrame(cl, 40000, 80, fSYN, ""))
	h.send(portExt, tcpFrame(cl, 40000, 80, fACK, ""))
	h.ports[portInt].drain()
	if h.e.Flows() != 1 {
		t.Fatalf("%d flows, want 1", h.e.Flows())
	}
	h.clock.Advance(DefaultTimeouts().TCPEstablished + time.Second)
	h.e.flows.Sweep(h.clock.Now())
	if h.e.Flows() != 0 {
		t.Errorf("%d flows after the established timeout, want 0", h.e.Flows())
	}
}

// TestTranslatePortDisabled: the member's port is ignored, the client's
// destination port kept; the address is still translated.
func TestTranslatePortDisabled(t *testing.T) {
	h := newHarness(t, l4Program(t, func(v *Virtual) { v.KeepPort = true; v.SNATAutomap = false }))
	h.learnAll()
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	h.send(portExt, tcpFrame(cl, 40000, 80, fSYN, ""))
	out := h.ports[portInt].drain()
	if len(out) != 1 {
		t.Fatalf("int sent %d frames, want 1", len(out))
	}
	want := wire{SrcMAC: intMAC.String(), DstMAC: memberMAC(0).String(), Src: "198.18.0.10:40000", Dst: "198.18.1.11:80", TTL: 63, Flags: "S"}
	if diff := cmp.Diff(want, decodeWire(t, out[0])); diff != "" {
		t.Errorf("SYN at member (-want +got):\n%s", diff)
	}
	h.send(portInt, tcpFrame(ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: client}, 80, 40000, fSYNACK, ""))
	out = h.ports[portExt].drain()
	if len(out) != 1 {
		t.Fatalf("ext sent %d frames, want 1", len(out))
	}
	want = wire{SrcMAC: extMAC.String(), DstMAC: clientMAC.String(), Src: "198.18.0.100:80", Dst: "198.18.0.10:40000", TTL: 63, Flags: "SA"}
	if diff := cmp.Diff(want, decodeWire(t, out[0])); diff != "" {
		t.Errorf("SYN-ACK at client (-want +got):\n%s", diff)
	}
}

var snatAddrs = []netip.Addr{netip.MustParseAddr("198.18.1.200"), netip.MustParseAddr("198.18.1.201")}

// TestSNATPool: the member sees a SNAT pool address as the source, its
// answer to that address finds the client, and the appliance answers ARP
// for the pool's addresses on the server side only.
func TestSNATPool(t *testing.T) {
	h := newHarness(t, l4Program(t, func(v *Virtual) { v.SNATPool = snatAddrs }))
	h.learnAll()
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	h.send(portExt, tcpFrame(cl, 40000, 80, fSYN, ""))
	out := h.ports[portInt].drain()
	if len(out) != 1 {
		t.Fatalf("int sent %d frames, want 1", len(out))
	}
	got := decodeWire(t, out[0])
	var from netip.Addr
	for _, a := range snatAddrs {
		if got.Src == fmt.Sprintf("%s:40000", a) {
			from = a
		}
	}
	if !from.IsValid() {
		t.Fatalf("SYN at member from %s, want a SNAT pool address, port 40000", got.Src)
	}
	h.send(portInt, tcpFrame(ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: from}, 8080, 40000, fSYNACK, ""))
	out = h.ports[portExt].drain()
	if len(out) != 1 {
		t.Fatalf("ext sent %d frames, want 1", len(out))
	}
	want := wire{SrcMAC: extMAC.String(), DstMAC: clientMAC.String(), Src: "198.18.0.100:80", Dst: "198.18.0.10:40000", TTL: 63, Flags: "SA"}
	if diff := cmp.Diff(want, decodeWire(t, out[0])); diff != "" {
		t.Errorf("SYN-ACK at client (-want +got):\n%s", diff)
	}

	h.send(portInt, arpRequest(memberMAC(1), members[1], snatAddrs[1]))
	out = h.ports[portInt].drain()
	if len(out) != 1 {
		t.Fatalf("int sent %d frames for an ARP request for %s, want 1 reply", len(out), snatAddrs[1])
	}
	if a := decodeARP(t, out[0]); a.Op != 2 || a.SenderIP != snatAddrs[1].String() || a.SenderMAC != intMAC.String() {
		t.Errorf("ARP reply %+v, want %s is-at %s", a, snatAddrs[1], intMAC)
	}
	h.send(portExt, arpRequest(clientMAC, client, snatAddrs[1]))
	if out := h.ports[portExt].drain(); len(out) != 0 {
		t.Errorf("ARP for a server-side SNAT address answered on the client side")
	}
	// A host claiming the address is a conflict, as for a self IP.
	h.send(portInt, arpRequest(memberMAC(2), snatAddrs[0], members[0]))
	if diff := cmp.Diff(map[string]uint64{"drop.not-for-us": 1, "drop.address-conflict": 1}, h.drops()); diff != "" {
		t.Errorf("drops (-want +got):\n%s", diff)
	}
}

// TestDSRServiceDown: a DSR flow's member going down resets it on both
// sides: the client's RST comes from the VIP with the sequence number the
// client acknowledged last, the member's goes to the VIP at its MAC; with
// reselect, the client's next packet goes to another member's MAC.
func TestDSRServiceDown(t *testing.T) {
	t.Run("reset", func(t *testing.T) {
		prog := l4Program(t, func(v *Virtual) { v.DSR = true; v.ServiceDown = ServiceDownReset })
		h := newHarness(t, prog)
		h.learnAll()
		cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
		h.send(portExt, seqFrame(cl, 40000, 80, fSYN, 100, 0, ""))
		h.send(portExt, seqFrame(cl, 40000, 80, fACK, 101, 701, "GET"))
		h.ports[portInt].drain()
		markDown(t, h, memberName(prog, 0))
		fc := h.ports[portExt].expect(t, "RST to the client", isTCPOrUDP)
		if rc := decodeWire(t, fc); rc.Src != "198.18.0.100:80" || rc.Dst != "198.18.0.10:40000" || rc.Flags != "AR" {
			t.Errorf("RST to the client: %+v", rc)
		}
		if seq, ack := seqOf(t, fc); seq != 701 || ack != 104 {
			t.Errorf("RST to the client: seq %d ack %d, want 701 104", seq, ack)
		}
		rm := decodeWire(t, h.ports[portInt].expect(t, "RST to the member", isTCPOrUDP))
		if rm.Src != "198.18.0.10:40000" || rm.Dst != "198.18.0.100:80" || rm.DstMAC != memberMAC(0).String() || rm.Flags != "AR" {
			t.Errorf("RST to the member: %+v, want client → VIP at member 0's MAC", rm)
		}
		if h.e.Flows() != 0 {
			t.Errorf("%d flows after reset, want 0", h.e.Flows())
		}
	})
	t.Run("reselect", func(t *testing.T) {
		prog := l4Program(t, func(v *Virtual) { v.DSR = true; v.ServiceDown = ServiceDownReselect })
		h := newHarness(t, prog)
		h.learnAll()
		cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
		h.send(portExt, tcpFrame(cl, 40000, 80, fSYN, ""))
		h.ports[portInt].drain()
		markDown(t, h, memberName(prog, 0))
		h.send(portExt, tcpFrame(cl, 40000, 80, fACK, "more"))
		got := decodeWire(t, h.ports[portInt].expect(t, "packet at a member", isTCPOrUDP))
		if got.DstMAC == memberMAC(0).String() || got.Dst != "198.18.0.100:80" {
			t.Errorf("after reselect: %+v, want the VIP at another member's MAC", got)
		}
	})
}

// A SNAT pool address that is also a VIP or a self IP is refused, naming
// the virtual and the address.
func TestSNATPoolAddressConflicts(t *testing.T) {
	for _, tt := range []struct {
		addr netip.Addr
		want string
	}{
		{vip, "virtual /Common/vs_web: source-address-translation pool address 198.18.0.100: is also a virtual server's destination address"},
		{selfInt.Addr(), "virtual /Common/vs_web: source-address-translation pool address 198.18.1.2: is also the address of self /Common/self_int"},
		{netip.MustParseAddr("2001:db8::1"), "virtual /Common/vs_web: source-address-translation pool address 2001:db8::1: only IPv4 is supported"},
	} {
		p := testProgram(t, progOpts{})
		virtualOf(p, "/Common/vs_web").SNATPool = []netip.Addr{tt.addr}
		if err := p.Finalize(); err == nil || err.Error() != tt.want {
			t.Errorf("Finalize with %s: %v, want %q", tt.addr, err, tt.want)
		}
	}
}

// FuzzProcessL4Modes is FuzzProcess with vs_web doing direct server return
// and vs_dns translating to a SNAT pool: arbitrary frames on either port,
// among them members' answers from the VIP and to the pool's addresses,
// must never panic.
func FuzzProcessL4Modes(f *testing.F) {
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	srv := ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: vip, dst: client}
	for _, s := range seedFrames() {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Add(tcpFrame(srv, 80, 40000, fACK, "answer"), true)
	f.Add(udpFrame(ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: snatAddrs[0]}, 5353, 5555, "a", false), true)
	f.Add(arpRequest(memberMAC(1), members[1], snatAddrs[1]), true)
	p := testProgram(f, progOpts{})
	for _, v := range p.Virtuals {
		switch v.Name {
		case "/Common/vs_web":
			v.DSR = true
		case "/Common/vs_dns":
			v.SNATPool = snatAddrs
		}
	}
	if err := p.Finalize(); err != nil {
		f.Fatal(err)
	}
	h := newHarness(f, p)
	h.learnAll()
	h.send(portExt, tcpFrame(cl, 40000, 80, fSYN, ""))
	h.send(portExt, udpFrame(cl, 5555, 53, "q", false))
	f.Fuzz(func(t *testing.T, b []byte, onInt bool) {
		port := portExt
		if onInt {
			port = portInt
		}
		h.send(port, b)
		h.ports[portExt].drain()
		h.ports[portInt].drain()
	})
}
