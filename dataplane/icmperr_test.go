package dataplane

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

var (
	routerInt = netip.MustParseAddr("198.18.1.1") // a router on the members' network
	routerExt = netip.MustParseAddr("198.18.0.1") // a router on the clients' network
)

// icmpErrorFrame builds an ICMP error quoting quote (an IPv4 packet, maybe
// cut short); for fragmentation needed, mtu is the next-hop MTU.
func icmpErrorFrame(h ipHdr, typ, code uint8, mtu uint16, quote []byte) []byte {
	eth, ip := h.layers(layers.IPProtocolICMPv4)
	ip.Flags = 0
	icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, code), Seq: mtu}
	return mustSerialize(eth, ip, icmp, gopacket.Payload(quote))
}

// ipPacketOf is the IPv4 packet of a frame, cut to n bytes when n > 0.
func ipPacketOf(frame []byte, n int) []byte {
	ip := frame[ethHdrLen:]
	ip = ip[:binary.BigEndian.Uint16(ip[2:4])]
	if n > 0 {
		ip = ip[:n]
	}
	return append([]byte(nil), ip...)
}

// icmpWire is what tests compare of a sent ICMP error.
type icmpWire struct {
	SrcMAC, DstMAC string
	Src, Dst       string
	TTL            uint8
	Type, Code     uint8
	MTU            uint16
	Quote          string // proto src:port > dst:port of the quoted packet
}

// decodeICMPError decodes a sent ICMP error and fails the test unless the
// outer IPv4 and ICMP checksums, the quoted IPv4 header's checksum and,
// when the quote holds the whole packet, its TCP or UDP checksum are valid.
func decodeICMPError(t *testing.T, frame []byte) icmpWire {
	t.Helper()
	verifyChecksums(t, frame)
	ip := frame[ethHdrLen:]
	ihl := int(ip[0]&0xf) * 4
	total := int(binary.BigEndian.Uint16(ip[2:4]))
	if ip[9] != 1 || total < ihl+8+28 {
		t.Fatalf("not an ICMP error quoting a packet: proto %d, %d bytes", ip[9], total)
	}
	icmp := ip[ihl:total]
	w := icmpWire{
		SrcMAC: net.HardwareAddr(frame[6:12]).String(), DstMAC: net.HardwareAddr(frame[0:6]).String(),
		Src: netip.AddrFrom4([4]byte(ip[12:16])).String(), Dst: netip.AddrFrom4([4]byte(ip[16:20])).String(),
		TTL: ip[8], Type: icmp[0], Code: icmp[1], MTU: binary.BigEndian.Uint16(icmp[6:8]),
	}
	q := icmp[8:]
	qihl := int(q[0]&0xf) * 4
	if got := onesSum(q[:qihl]); got != 0xffff {
		t.Errorf("quoted IPv4 header checksum invalid (sum %#04x)", got)
	}
	qsrc, qdst := netip.AddrFrom4([4]byte(q[12:16])), netip.AddrFrom4([4]byte(q[16:20]))
	ql4 := q[qihl:]
	w.Quote = fmt.Sprintf("%s %s:%d > %s:%d", layers.IPProtocol(q[9]), qsrc, binary.BigEndian.Uint16(ql4[0:2]), qdst, binary.BigEndian.Uint16(ql4[2:4]))
	if qtotal := int(binary.BigEndian.Uint16(q[2:4])); qtotal == len(q) {
		pseudo := make([]byte, 12)
		copy(pseudo[0:8], q[12:20])
		pseudo[9] = q[9]
		binary.BigEndian.PutUint16(pseudo[10:12], uint16(len(ql4)))
		if !(q[9] == 17 && ql4[6] == 0 && ql4[7] == 0) {
			if got := onesSum(pseudo, ql4); got != 0xffff {
				t.Errorf("quoted %s checksum invalid (sum %#04x)", layers.IPProtocol(q[9]), got)
			}
		}
	}
	return w
}

// TestICMPErrorThroughNAT: an ICMP error about a packet the appliance
// translated goes back to the other end of the flow, translated back, with
// every checksum right; the quoted packet is the one its sender sent.
func TestICMPErrorThroughNAT(t *testing.T) {
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	fromMember := ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: selfInt.Addr()}
	tests := []struct {
		name string
		prog func(t *testing.T) *Program
		// open opens the flow and returns the frame the error quotes,
		// as the appliance sent it.
		open func(h *harness) []byte
		// icmp builds the error from the quoted frame and says where it
		// arrives.
		icmp func(q []byte) (port int, frame []byte)
		port int // where the translated error leaves
		want func(q []byte) icmpWire
	}{{
		name: "port unreachable from the member, SNAT automap, UDP",
		prog: func(t *testing.T) *Program { return testProgram(t, progOpts{snat: true}) },
		open: func(h *harness) []byte {
			h.send(portExt, udpFrame(cl, 33333, 53, "query", false))
			return h.ports[portInt].drain()[0]
		},
		icmp: func(q []byte) (int, []byte) {
			return portInt, icmpErrorFrame(fromMember, 3, 3, 0, ipPacketOf(q, 0))
		},
		port: portExt,
		want: func([]byte) icmpWire {
			return icmpWire{SrcMAC: extMAC.String(), DstMAC: clientMAC.String(), Src: vip.String(), Dst: client.String(), TTL: 63,
				Type: 3, Code: 3, Quote: "UDP 198.18.0.10:33333 > 198.18.0.100:53"}
		},
	}, {
		name: "fragmentation needed from a router, SNAT automap, TCP, 8 bytes quoted",
		prog: func(t *testing.T) *Program { return testProgram(t, progOpts{snat: true}) },
		open: func(h *harness) []byte {
			h.send(portExt, tcpFrame(cl, 40000, 80, fSYN, ""))
			return h.ports[portInt].drain()[0]
		},
		icmp: func(q []byte) (int, []byte) {
			return portInt, icmpErrorFrame(ipHdr{srcMAC: routerMAC, dstMAC: intMAC, src: routerInt, dst: selfInt.Addr()}, 3, 4, 1400, ipPacketOf(q, 28))
		},
		port: portExt,
		want: func([]byte) icmpWire {
			return icmpWire{SrcMAC: extMAC.String(), DstMAC: clientMAC.String(), Src: vip.String(), Dst: client.String(), TTL: 63,
				Type: 3, Code: 4, MTU: 1400, Quote: "TCP 198.18.0.10:40000 > 198.18.0.100:80"}
		},
	}, {
		name: "fragmentation needed from the member, TCP data, whole segment quoted",
		prog: func(t *testing.T) *Program { return testProgram(t, progOpts{snat: true}) },
		open: func(h *harness) []byte {
			h.send(portExt, tcpFrame(cl, 40000, 80, fSYN, ""))
			h.send(portInt, tcpFrame(fromMember, 8080, 40000, fSYNACK, ""))
			h.send(portExt, tcpFrame(cl, 40000, 80, fACK, "GET / HTTP/1.1"))
			out := h.ports[portInt].drain()
			return out[len(out)-1]
		},
		icmp: func(q []byte) (int, []byte) { return portInt, icmpErrorFrame(fromMember, 3, 4, 1280, ipPacketOf(q, 0)) },
		port: portExt,
		want: func([]byte) icmpWire {
			return icmpWire{SrcMAC: extMAC.String(), DstMAC: clientMAC.String(), Src: vip.String(), Dst: client.String(), TTL: 63,
				Type: 3, Code: 4, MTU: 1280, Quote: "TCP 198.18.0.10:40000 > 198.18.0.100:80"}
		},
	}, {
		name: "port unreachable from the member to the client, no SNAT",
		prog: func(t *testing.T) *Program { return testProgram(t, progOpts{}) },
		open: func(h *harness) []byte {
			h.send(portExt, udpFrame(cl, 33333, 53, "query", false))
			return h.ports[portInt].drain()[0]
		},
		icmp: func(q []byte) (int, []byte) {
			return portInt, icmpErrorFrame(ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: client}, 3, 3, 0, ipPacketOf(q, 0))
		},
		port: portExt,
		want: func([]byte) icmpWire {
			return icmpWire{SrcMAC: extMAC.String(), DstMAC: clientMAC.String(), Src: vip.String(), Dst: client.String(), TTL: 63,
				Type: 3, Code: 3, Quote: "UDP 198.18.0.10:33333 > 198.18.0.100:53"}
		},
	}, {
		name: "time exceeded from a client-side router, about the member's answer",
		prog: func(t *testing.T) *Program { return testProgram(t, progOpts{snat: true}) },
		open: func(h *harness) []byte {
			h.send(portExt, tcpFrame(cl, 40000, 80, fSYN, ""))
			h.ports[portInt].drain()
			h.send(portInt, tcpFrame(fromMember, 8080, 40000, fSYNACK, ""))
			return h.ports[portExt].drain()[0]
		},
		icmp: func(q []byte) (int, []byte) {
			return portExt, icmpErrorFrame(ipHdr{srcMAC: routerMAC, dstMAC: extMAC, src: routerExt, dst: vip}, 11, 0, 0, ipPacketOf(q, 0))
		},
		port: portInt,
		want: func([]byte) icmpWire {
			return icmpWire{SrcMAC: intMAC.String(), DstMAC: memberMAC(0).String(), Src: selfInt.Addr().String(), Dst: members[0].String(), TTL: 63,
				Type: 11, Code: 0, Quote: "TCP 198.18.1.11:8080 > 198.18.1.2:40000"}
		},
	}, {
		name: "port unreachable from the member, SNAT pool",
		prog: func(t *testing.T) *Program { return l4Program(t, func(v *Virtual) { v.SNATPool = snatAddrs }) },
		open: func(h *harness) []byte {
			h.send(portExt, tcpFrame(cl, 40000, 80, fSYN, ""))
			return h.ports[portInt].drain()[0]
		},
		icmp: func(q []byte) (int, []byte) {
			snat := netip.AddrFrom4([4]byte(q[ethHdrLen+12 : ethHdrLen+16]))
			return portInt, icmpErrorFrame(ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: snat}, 3, 3, 0, ipPacketOf(q, 0))
		},
		port: portExt,
		want: func([]byte) icmpWire {
			return icmpWire{SrcMAC: extMAC.String(), DstMAC: clientMAC.String(), Src: vip.String(), Dst: client.String(), TTL: 63,
				Type: 3, Code: 3, Quote: "TCP 198.18.0.10:40000 > 198.18.0.100:80"}
		},
	}, {
		name: "DSR: fragmentation needed about the member's answer goes to the member",
		prog: func(t *testing.T) *Program { return l4Program(t, func(v *Virtual) { v.DSR = true }) },
		open: func(h *harness) []byte {
			h.send(portExt, tcpFrame(cl, 40000, 80, fSYN, ""))
			h.ports[portInt].drain()
			// The member's answer, sent to the client directly.
			return tcpFrame(ipHdr{srcMAC: memberMAC(0), dstMAC: clientMAC, src: vip, dst: client}, 80, 40000, fSYNACK, "")
		},
		icmp: func(q []byte) (int, []byte) {
			return portExt, icmpErrorFrame(ipHdr{srcMAC: routerMAC, dstMAC: extMAC, src: routerExt, dst: vip}, 3, 4, 1400, ipPacketOf(q, 0))
		},
		port: portInt,
		want: func([]byte) icmpWire {
			return icmpWire{SrcMAC: intMAC.String(), DstMAC: memberMAC(0).String(), Src: routerExt.String(), Dst: vip.String(), TTL: 63,
				Type: 3, Code: 4, MTU: 1400, Quote: "TCP 198.18.0.100:80 > 198.18.0.10:40000"}
		},
	}, {
		name: "DSR: the member's port unreachable from the VIP is routed to the client",
		prog: func(t *testing.T) *Program { return l4Program(t, func(v *Virtual) { v.DSR = true }) },
		open: func(h *harness) []byte {
			h.send(portExt, tcpFrame(cl, 40000, 80, fSYN, ""))
			return h.ports[portInt].drain()[0]
		},
		icmp: func(q []byte) (int, []byte) {
			return portInt, icmpErrorFrame(ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: vip, dst: client}, 3, 3, 0, ipPacketOf(q, 0))
		},
		port: portExt,
		want: func([]byte) icmpWire {
			return icmpWire{SrcMAC: extMAC.String(), DstMAC: clientMAC.String(), Src: vip.String(), Dst: client.String(), TTL: 63,
				Type: 3, Code: 3, Quote: "TCP 198.18.0.10:40000 > 198.18.0.100:80"}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.prog(t))
			h.learnAll()
			q := tt.open(h)
			h.ports[portExt].drain()
			h.ports[portInt].drain()
			flows := h.e.Flows()
			port, f := tt.icmp(q)
			h.send(port, f)
			if d := h.drops(); len(d) != 0 {
				t.Fatalf("drops %v", d)
			}
			out := h.ports[tt.port].drain()
			if other := h.ports[1-tt.port].drain(); len(other) != 0 {
				t.Errorf("%d frames on the other port", len(other))
			}
			if len(out) != 1 {
				t.Fatalf("%d frames out, want 1", len(out))
			}
			if diff := cmp.Diff(tt.want(q), decodeICMPError(t, out[0])); diff != "" {
				t.Errorf("translated error (-want +got):\n%s", diff)
			}
			if h.e.Flows() != flows {
				t.Errorf("flows %d, want %d: an error opens no flow", h.e.Flows(), flows)
			}
		})
	}
}

// TestICMPErrorDrops: errors that quote no translated flow are dropped with
// a reason, except those to a self IP, which are the local stack's.
func TestICMPErrorDrops(t *testing.T) {
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	fromMember := ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: selfInt.Addr()}
	unknown := ipPacketOf(udpFrame(ipHdr{srcMAC: intMAC, dstMAC: memberMAC(0), src: selfInt.Addr(), dst: members[0]}, 2000, 5353, "x", false), 0)
	tests := []struct {
		name  string
		port  int
		frame func(fw []byte) []byte
		want  map[string]uint64
	}{{
		name: "quotes no flow, to the client",
		port: portInt,
		frame: func([]byte) []byte {
			return icmpErrorFrame(ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: client}, 3, 3, 0, unknown)
		},
		want: map[string]uint64{"drop.icmp-error-no-flow": 1},
	}, {
		name:  "quotes no flow, to a self IP: the local stack's (none attached)",
		port:  portInt,
		frame: func([]byte) []byte { return icmpErrorFrame(fromMember, 3, 3, 0, unknown) },
		want:  map[string]uint64{"drop.no-listener": 1},
	}, {
		name: "quotes an ICMP echo",
		port: portInt,
		frame: func([]byte) []byte {
			return icmpErrorFrame(ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: client}, 3, 1, 0,
				ipPacketOf(icmpEchoFrame(ipHdr{srcMAC: intMAC, dstMAC: memberMAC(0), src: client, dst: members[0]}, 1, 1, "ping"), 0))
		},
		want: map[string]uint64{"drop.icmp-error-no-flow": 1},
	}, {
		name: "bad ICMP checksum",
		port: portInt,
		frame: func(fw []byte) []byte {
			f := icmpErrorFrame(fromMember, 3, 3, 0, ipPacketOf(fw, 0))
			f[len(f)-1] ^= 0xff
			return f
		},
		want: map[string]uint64{"drop.bad-checksum": 1},
	}, {
		name: "quote too short for the ports",
		port: portInt,
		frame: func(fw []byte) []byte {
			return icmpErrorFrame(fromMember, 3, 3, 0, ipPacketOf(fw, 24))
		},
		want: map[string]uint64{"drop.malformed": 1},
	}, {
		name: "TTL 1",
		port: portInt,
		frame: func(fw []byte) []byte {
			return icmpErrorFrame(ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: selfInt.Addr(), ttl: 1}, 3, 3, 0, ipPacketOf(fw, 0))
		},
		want: map[string]uint64{"drop.ttl-exceeded": 1},
	}, {
		name: "spoofed from the VIP",
		port: portExt,
		frame: func(fw []byte) []byte {
			return icmpErrorFrame(ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: vip, dst: selfInt.Addr()}, 3, 3, 0, ipPacketOf(fw, 0))
		},
		want: map[string]uint64{"drop.local-source": 1},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, testProgram(t, progOpts{snat: true}))
			h.learnAll()
			h.send(portExt, udpFrame(cl, 33333, 53, "query", false))
			fw := h.ports[portInt].drain()[0]
			h.send(tt.port, tt.frame(fw))
			if diff := cmp.Diff(tt.want, h.drops()); diff != "" {
				t.Errorf("drops (-want +got):\n%s", diff)
			}
			if n := len(h.ports[portExt].drain()) + len(h.ports[portInt].drain()); n != 0 {
				t.Errorf("%d frames sent, want none", n)
			}
		})
	}
}

// FuzzICMPError feeds arbitrary ICMP messages, as a member would send
// them to the SNAT address of a live flow, through the engine: no panic,
// and whatever is translated has valid outer and ICMP checksums.
func FuzzICMPError(f *testing.F) {
	h := newHarness(f, testProgram(f, progOpts{snat: true}))
	h.learnAll()
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	h.send(portExt, udpFrame(cl, 33333, 53, "query", false))
	fw := h.ports[portInt].drain()[0]
	h.send(portExt, tcpFrame(cl, 40000, 80, fSYN, ""))
	fwTCP := h.ports[portInt].drain()[0]
	fromMember := ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: selfInt.Addr()}
	seedMsg := func(frame []byte) []byte {
		ip := frame[ethHdrLen:]
		return append([]byte(nil), ip[int(ip[0]&0xf)*4:]...)
	}
	f.Add(seedMsg(icmpErrorFrame(fromMember, 3, 3, 0, ipPacketOf(fw, 0))))
	f.Add(seedMsg(icmpErrorFrame(fromMember, 3, 4, 1400, ipPacketOf(fwTCP, 28))))
	f.Add(seedMsg(icmpErrorFrame(fromMember, 11, 0, 0, ipPacketOf(fwTCP, 0))))
	f.Add(seedMsg(icmpErrorFrame(fromMember, 3, 3, 0, ipPacketOf(fw, 24))))
	f.Add([]byte{3, 3, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, msg []byte) {
		if len(msg) > 1400 {
			return
		}
		eth, ip := fromMember.layers(layers.IPProtocolICMPv4)
		frame := mustSerialize(eth, ip, gopacket.Payload(msg))
		h.send(portInt, frame)
		for _, out := range h.ports[portExt].drain() {
			if onesSum(out[ethHdrLen:ethHdrLen+20]) != 0xffff {
				t.Fatalf("sent a frame with a bad IPv4 checksum")
			}
			if out[ethHdrLen+9] == 1 && onesSum(out[ethHdrLen+20:]) != 0xffff {
				t.Fatalf("sent an ICMP message with a bad checksum")
			}
		}
		h.ports[portInt].drain()
	})
}
