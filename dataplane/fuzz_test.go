package dataplane

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"lbx/dataplane/drop"

	"github.com/google/gopacket/layers"

	"lbx/pools"
)

func seedFrames() [][]byte {
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	srv := ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: client}
	frames := [][]byte{
		arpRequest(clientMAC, client, vip),
		arpRequest(clientMAC, client, selfExt.Addr()),
		arpFrame(layers.ARPReply, memberMAC(0), members[0], intMAC, selfInt.Addr(), intMAC),
		icmpEchoFrame(cl, 1, 1, "ping"),
		tcpFrame(cl, 40000, 80, fSYN, ""),
		tcpFrame(cl, 40000, 80, fACK, "GET /"),
		tcpFrame(srv, 8080, 40000, fSYNACK, ""),
		tcpFrame(srv, 8080, 40000, fFINACK, "bye"),
		udpFrame(cl, 33333, 53, "query", false),
		udpFrame(cl, 33333, 53, "query", true),
		udpFrame(ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: client}, 5353, 33333, "answer", false),
		// What the hardening checks refuse (hardening_test.go).
		withIPOptions(layers.IPv4Option{OptionType: ipOptLSRR, OptionLength: 7, OptionData: []byte{4, 10, 0, 0, 1}}),
		withIPOptions(layers.IPv4Option{OptionType: 68, OptionLength: 8, OptionData: []byte{5, 0, 0, 0, 0, 0}}),
		tcpFrame(cl, 40000, 80, tcpFlags{syn: true, fin: true}, ""),
		corruptL4(tcpFrame(cl, 40001, 80, fSYN, "")),
		arpRequest(otherMAC, selfExt.Addr(), selfExt.Addr()),
		// Forwarded and routed (FuzzProcess's program has them).
		tcpFrame(ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: members[1]}, 40000, 22, fSYN, ""),
		icmpEchoFrame(ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: farAddr}, 1, 1, "ping"),
		udpFrame(ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: netip.MustParseAddr("198.18.100.9")}, 5000, 80, "q", false),
		// ICMP errors (icmperr.go) and fragments (frag.go).
		icmpErrorFrame(ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: selfInt.Addr()}, 3, 4, 1400,
			ipPacketOf(tcpFrame(ipHdr{srcMAC: intMAC, dstMAC: memberMAC(0), src: selfInt.Addr(), dst: members[0]}, 40000, 8080, fSYN, ""), 0)),
		icmpErrorFrame(ipHdr{srcMAC: routerMAC, dstMAC: extMAC, src: routerExt, dst: vip}, 11, 0, 0,
			ipPacketOf(tcpFrame(ipHdr{srcMAC: extMAC, dstMAC: clientMAC, src: vip, dst: client}, 80, 40000, fSYNACK, ""), 0)),
	}
	frames = append(frames, fragment(udpFrame(cl, 33333, 53, string(make([]byte, 3000)), false), 1480)...)
	var all [][]byte
	for _, f := range frames {
		all = append(all, f)
		for _, n := range []int{0, 13, 14, 20, 33, 34, 41, 42, 53, len(f) - 1} {
			if n >= 0 && n < len(f) {
				all = append(all, f[:n])
			}
		}
	}
	return all
}

// FuzzParse feeds arbitrary bytes to the header parsers and the rewrite
// code: no panic, and a rewrite of anything accepted stays parseable.
func FuzzParse(f *testing.F) {
	for _, s := range seedFrames() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFrameLen {
			return
		}
		parseARP(b)
		p, r := parseIPv4(b)
		if r != drop.None {
			return
		}
		if p.ihl < ipv4MinHdr || ethHdrLen+p.total > len(b) || p.l4 != ethHdrLen+p.ihl {
			t.Fatalf("accepted inconsistent header %+v for %d bytes", p, len(b))
		}
		if p.fragment {
			return
		}
		if parseL4(b, &p) != drop.None {
			return
		}
		valid := l4ChecksumValid(b, &p)
		rewriteNAT(b, &p, p.dst, p.src^0x01010101, p.dport, p.sport+1)
		if valid && !l4ChecksumValid(b, &p) {
			t.Fatalf("rewrite broke a valid transport checksum")
		}
		if p.ttl > 1 {
			decTTL(b, &p)
		}
		q, r := parseIPv4(b)
		if r != drop.None {
			t.Fatalf("rewritten packet no longer parses: %v", r)
		}
		if r := parseL4(b, &q); r != drop.None || q.src != p.src || q.dst != p.dst || q.sport != p.sport || q.dport != p.dport {
			t.Fatalf("rewritten packet parses as %+v (%v), want %+v", q, r, p)
		}
	})
}

// l4ChecksumValid reports whether the TCP/UDP checksum verifies (a UDP
// checksum of 0 counts as valid).
func l4ChecksumValid(b []byte, p *ipv4Packet) bool {
	l4 := b[p.l4 : ethHdrLen+p.total]
	if p.proto == ProtoUDP && binary.BigEndian.Uint16(l4[6:8]) == 0 {
		return true
	}
	pseudo := make([]byte, 12)
	copy(pseudo, b[ethHdrLen+12:ethHdrLen+20])
	pseudo[9] = p.proto
	binary.BigEndian.PutUint16(pseudo[10:], uint16(len(l4)))
	return onesSum(pseudo, l4) == 0xffff
}

// FuzzProcess feeds arbitrary frames to both ports of a configured engine
// with live flows and known neighbours: it must never panic.
func FuzzProcess(f *testing.F) {
	for _, s := range seedFrames() {
		f.Add(s, false)
		f.Add(s, true)
	}
	// Routes, a forwarding and a network virtual (forward_test.go) put
	// routing and virtual matching in the path of every frame.
	netv := &Virtual{Name: "/Common/vs_net", Addr: netip.MustParseAddr("198.18.100.0"), Mask: netip.MustParseAddr("255.255.255.0"), Port: 80, Proto: ProtoAny,
		Enabled: true, Pool: rrPool(f, "/Common/net", pools.Member{Name: "/Common/10.99.0.1:80", Addr: farAddr, Port: 80})}
	h := newHarness(f, withRoutes(f, farRoutes, fwdVirtual(), netv))
	h.learnAll()
	h.learn(portInt, routerMAC, router)
	h.send(portExt, tcpFrame(ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}, 40000, 80, fSYN, ""))
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
