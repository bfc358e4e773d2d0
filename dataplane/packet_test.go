package dataplane

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"lbx/dataplane/program"

	"lbx/dataplane/drop"

	"github.com/google/go-cmp/cmp"
)

func TestRewriteNATRoundTrip(t *testing.T) {
	snatAddr := selfInt.Addr()
	m := members[0]
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip, ttl: 64}
	back := ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: m, dst: client, ttl: 128}
	tests := []struct {
		name     string
		frame    []byte
		src, dst netip.AddrPort
		want     wire
		zeroUDP  bool
	}{{
		name:  "tcp syn dnat",
		frame: tcpFrame(cl, 40000, 80, fSYN, ""),
		src:   netip.AddrPortFrom(client, 40000), dst: netip.AddrPortFrom(m, 8080),
		want: wire{SrcMAC: clientMAC.String(), DstMAC: extMAC.String(), Src: "198.18.0.10:40000", Dst: "198.18.1.11:8080", TTL: 63, Flags: "S"},
	}, {
		name:  "tcp syn dnat+snat",
		frame: tcpFrame(cl, 40000, 80, fSYN, ""),
		src:   netip.AddrPortFrom(snatAddr, 40064), dst: netip.AddrPortFrom(m, 8080),
		want: wire{SrcMAC: clientMAC.String(), DstMAC: extMAC.String(), Src: "198.18.1.2:40064", Dst: "198.18.1.11:8080", TTL: 63, Flags: "S"},
	}, {
		name:  "tcp data odd payload, port kept",
		frame: tcpFrame(cl, 1, 80, fACK, "hello"),
		src:   netip.AddrPortFrom(snatAddr, 1025), dst: netip.AddrPortFrom(m, 80),
		want: wire{SrcMAC: clientMAC.String(), DstMAC: extMAC.String(), Src: "198.18.1.2:1025", Dst: "198.18.1.11:80", TTL: 63, Flags: "A", Payload: "hello"},
	}, {
		name:  "tcp reverse translation",
		frame: tcpFrame(back, 8080, 40000, fSYNACK, ""),
		src:   netip.AddrPortFrom(vip, 80), dst: netip.AddrPortFrom(client, 40000),
		want: wire{SrcMAC: memberMAC(0).String(), DstMAC: intMAC.String(), Src: "198.18.0.100:80", Dst: "198.18.0.10:40000", TTL: 127, Flags: "SA"},
	}, {
		name:  "udp dnat+snat",
		frame: udpFrame(cl, 5353, 53, "query", false),
		src:   netip.AddrPortFrom(snatAddr, 5353), dst: netip.AddrPortFrom(m, 5353),
		want: wire{SrcMAC: clientMAC.String(), DstMAC: extMAC.String(), Src: "198.18.1.2:5353", Dst: "198.18.1.11:5353", TTL: 63, Payload: "query"},
	}, {
		name:  "udp dnat only",
		frame: udpFrame(cl, 5353, 53, "q", false),
		src:   netip.AddrPortFrom(client, 5353), dst: netip.AddrPortFrom(m, 53),
		want: wire{SrcMAC: clientMAC.String(), DstMAC: extMAC.String(), Src: "198.18.0.10:5353", Dst: "198.18.1.11:53", TTL: 63, Payload: "q"},
	}, {
		name:  "udp without checksum stays without",
		frame: udpFrame(cl, 5353, 53, "query", true),
		src:   netip.AddrPortFrom(snatAddr, 5353), dst: netip.AddrPortFrom(m, 5353),
		want:    wire{SrcMAC: clientMAC.String(), DstMAC: extMAC.String(), Src: "198.18.1.2:5353", Dst: "198.18.1.11:5353", TTL: 63, Payload: "query"},
		zeroUDP: true,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := append([]byte(nil), tt.frame...)
			p, r := parseIPv4(f)
			if r != drop.None {
				t.Fatalf("parseIPv4: %v", r)
			}
			if r := parseL4(f, &p); r != drop.None {
				t.Fatalf("parseL4: %v", r)
			}
			rewriteNAT(f, &p, program.U32(tt.src.Addr()), program.U32(tt.dst.Addr()), tt.src.Port(), tt.dst.Port())
			decTTL(f, &p)
			got := decodeWire(t, f)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("rewritten frame (-want +got):\n%s", diff)
			}
			if tt.zeroUDP {
				if c := binary.BigEndian.Uint16(f[ethHdrLen+20+6:]); c != 0 {
					t.Errorf("UDP checksum = %#04x, want 0 (none)", c)
				}
			}
			// Parsing the result again sees the new tuple.
			p2, r := parseIPv4(f)
			if r != drop.None {
				t.Fatalf("re-parse: %v", r)
			}
			if r := parseL4(f, &p2); r != drop.None {
				t.Fatalf("re-parse L4: %v", r)
			}
			if p2.src != p.src || p2.dst != p.dst || p2.sport != p.sport || p2.dport != p.dport || p2.ttl != p.ttl {
				t.Errorf("re-parsed %+v, rewrite state %+v", p2, p)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	good := tcpFrame(ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}, 40000, 80, fSYN, "")
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := []struct {
		name string
		f    []byte
		want drop.Reason
	}{
		{"short ip header", good[:ethHdrLen+19], drop.Malformed},
		{"version 6", mod(func(b []byte) []byte { b[14] = 0x65; return b }), drop.Malformed},
		{"ihl 4", mod(func(b []byte) []byte { b[14] = 0x44; return b }), drop.Malformed},
		{"ihl beyond frame", mod(func(b []byte) []byte { b[14] = 0x4f; return b[:ethHdrLen+40] }), drop.Malformed},
		{"total length beyond frame", good[:ethHdrLen+39], drop.Malformed},
		{"total length below header", mod(func(b []byte) []byte { binary.BigEndian.PutUint16(b[16:], 19); return b }), drop.Malformed},
		{"bad header checksum", mod(func(b []byte) []byte { b[24] ^= 0xff; return b }), drop.BadChecksum},
		{"tcp data offset too small", mod(func(b []byte) []byte { b[ethHdrLen+20+12] = 0x40; return b }), drop.Malformed},
		{"tcp data offset beyond packet", mod(func(b []byte) []byte { b[ethHdrLen+20+12] = 0xf0; return b }), drop.Malformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, r := parseIPv4(tt.f)
			if r == drop.None {
				r = parseL4(tt.f, &p)
			}
			if r != tt.want {
				t.Errorf("parse = %v, want %v", r, tt.want)
			}
		})
	}
	p, r := parseIPv4(good)
	if r != drop.None {
		t.Fatalf("good frame: %v", r)
	}
	if r := parseL4(good, &p); r != drop.None || p.sport != 40000 || p.dport != 80 || p.tcpFlags != tcpSYN {
		t.Errorf("good frame: %v %+v", r, p)
	}
	for n := range ethHdrLen + arpLen {
		if _, r := parseARP(arpRequest(clientMAC, client, vip)[:n]); r != drop.Malformed {
			t.Errorf("ARP truncated to %d bytes: %v, want malformed", n, r)
		}
	}
}
