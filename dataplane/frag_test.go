package dataplane

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"lbx/dataplane/drop"

	"github.com/google/go-cmp/cmp"

	"lbx/dataplane/fragtrack"
)

// fragment splits the IPv4 packet of frame into fragments of at most n
// payload bytes (n a multiple of 8), each with a valid header checksum, as
// a sender's stack does.
func fragment(frame []byte, n int) [][]byte {
	hdr := frame[:ethHdrLen+20]
	payload := frame[ethHdrLen+20 : ethHdrLen+int(binary.BigEndian.Uint16(frame[ethHdrLen+2:]))]
	var out [][]byte
	for off := 0; off < len(payload); off += n {
		end := min(off+n, len(payload))
		f := append(append([]byte(nil), hdr...), payload[off:end]...)
		ip := f[ethHdrLen:]
		binary.BigEndian.PutUint16(ip[2:4], uint16(20+end-off))
		v := uint16(off / 8)
		if end < len(payload) {
			v |= 0x2000
		}
		binary.BigEndian.PutUint16(ip[6:8], v)
		ip[10], ip[11] = 0, 0
		binary.BigEndian.PutUint16(ip[10:12], ^onesSum(ip[:20]))
		out = append(out, f)
	}
	return out
}

// reassemble is the receiving host's reassembly of fragments sent in
// order: it checks they form one datagram with a valid UDP checksum and
// returns the UDP header's endpoints and payload.
func reassemble(t *testing.T, frags [][]byte) wire {
	t.Helper()
	var payload []byte
	var id uint16
	for i, f := range frags {
		verifyIPHeader(t, f)
		ip := f[ethHdrLen:]
		v := binary.BigEndian.Uint16(ip[6:8])
		if i == 0 {
			id = binary.BigEndian.Uint16(ip[4:6])
		} else if binary.BigEndian.Uint16(ip[4:6]) != id || !bytes.Equal(ip[12:20], frags[0][ethHdrLen+12:ethHdrLen+20]) {
			t.Fatalf("fragment %d: id or addresses differ from the first fragment's", i)
		}
		if int(v&0x1fff)*8 != len(payload) {
			t.Fatalf("fragment %d at offset %d, want %d", i, int(v&0x1fff)*8, len(payload))
		}
		if last := i == len(frags)-1; last == (v&0x2000 != 0) {
			t.Fatalf("fragment %d of %d: MF %v", i, len(frags), v&0x2000 != 0)
		}
		payload = append(payload, ip[20:binary.BigEndian.Uint16(ip[2:4])]...)
	}
	whole := append(append([]byte(nil), frags[0][:ethHdrLen+20]...), payload...)
	ip := whole[ethHdrLen:]
	binary.BigEndian.PutUint16(ip[2:4], uint16(20+len(payload)))
	binary.BigEndian.PutUint16(ip[6:8], 0)
	ip[10], ip[11] = 0, 0
	binary.BigEndian.PutUint16(ip[10:12], ^onesSum(ip[:20]))
	return decodeWire(t, whole)
}

func verifyIPHeader(t *testing.T, f []byte) {
	t.Helper()
	if got := onesSum(f[ethHdrLen : ethHdrLen+20]); got != 0xffff {
		t.Fatalf("IPv4 header checksum invalid (sum %#04x)", got)
	}
}

// TestFragmentedUDPThroughNAT: a 4 KB datagram in three fragments opens
// one flow, each fragment gets the flow's NAT and goes to the same member,
// and the member's fragmented answer goes back to the client; both
// reassemble to the datagram that was sent, UDP checksum and all.
func TestFragmentedUDPThroughNAT(t *testing.T) {
	for _, snat := range []bool{false, true} {
		name := "no SNAT"
		if snat {
			name = "SNAT automap"
		}
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, testProgram(t, progOpts{snat: snat}))
			h.learnAll()
			cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
			query := strings.Repeat("0123456789abcdef", 256) // 4 KB
			frags := fragment(udpFrame(cl, 33333, 53, query, false), 1480)
			if len(frags) != 3 {
				t.Fatalf("%d fragments, want 3", len(frags))
			}
			for _, f := range frags {
				h.send(portExt, f)
			}
			if d := h.drops(); len(d) != 0 {
				t.Fatalf("drops %v", d)
			}
			out := h.ports[portInt].drain()
			if len(out) != 3 {
				t.Fatalf("%d fragments at the member, want 3", len(out))
			}
			for _, f := range out {
				if net.HardwareAddr(f[0:6]).String() != memberMAC(0).String() {
					t.Errorf("fragment to MAC %s, want the member's %s", net.HardwareAddr(f[0:6]), memberMAC(0))
				}
			}
			src := client
			if snat {
				src = selfInt.Addr()
			}
			got := reassemble(t, out)
			want := wire{SrcMAC: intMAC.String(), DstMAC: memberMAC(0).String(), Src: src.String() + ":33333", Dst: "198.18.1.11:5353", TTL: 63, Payload: query}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("datagram at the member (-want +got):\n%s", diff)
			}
			if h.e.Flows() != 1 {
				t.Errorf("%d flows, want 1", h.e.Flows())
			}

			// The member echoes it, fragmented by its own stack.
			answer := fragment(udpFrame(ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: src}, 5353, 33333, query, false), 1480)
			for _, f := range answer {
				h.send(portInt, f)
			}
			out = h.ports[portExt].drain()
			if len(out) != 3 {
				t.Fatalf("%d fragments at the client, want 3 (drops %v)", len(out), h.drops())
			}
			got = reassemble(t, out)
			want = wire{SrcMAC: extMAC.String(), DstMAC: clientMAC.String(), Src: "198.18.0.100:53", Dst: "198.18.0.10:33333", TTL: 63, Payload: query}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("answer at the client (-want +got):\n%s", diff)
			}
			st := h.e.VirtualStats("/Common/vs_dns")
			if st.PktsIn.Load() != 3 || st.PktsOut.Load() != 3 {
				t.Errorf("virtual packets in %d out %d, want 3 and 3", st.PktsIn.Load(), st.PktsOut.Load())
			}
			if n := h.e.frags.Len(); n != 0 {
				t.Errorf("%d datagrams still tracked after both completed, want 0", n)
			}
		})
	}
}

// TestFragmentDrops: fragments that cannot be placed, overlap, or never
// complete are dropped and counted.
func TestFragmentDrops(t *testing.T) {
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	query := strings.Repeat("x", 3003) // 3011 UDP bytes: 1480 + 1480 + 51
	frags := func() [][]byte { return fragment(udpFrame(cl, 33333, 53, query, false), 1480) }
	withOffset := func(f []byte, off uint16, more bool) []byte {
		f = append([]byte(nil), f...)
		ip := f[ethHdrLen:]
		v := off / 8
		if more {
			v |= 0x2000
		}
		binary.BigEndian.PutUint16(ip[6:8], v)
		ip[10], ip[11] = 0, 0
		binary.BigEndian.PutUint16(ip[10:12], ^onesSum(ip[:20]))
		return f
	}
	tests := []struct {
		name    string
		send    func(h *harness, fs [][]byte)
		sent    int // fragments that reach the member
		want    map[string]uint64
		tracked int // datagrams left in the table
	}{{
		name: "later fragment before the first",
		send: func(h *harness, fs [][]byte) {
			h.send(portExt, fs[1])
			h.send(portExt, fs[0])
			h.send(portExt, fs[2])
		},
		sent:    2,
		want:    map[string]uint64{"drop.fragment-no-first": 1},
		tracked: 1,
	}, {
		name: "duplicate fragment overlaps, and the rest of its datagram goes",
		send: func(h *harness, fs [][]byte) {
			h.send(portExt, fs[0])
			h.send(portExt, fs[1])
			h.send(portExt, fs[1])
			h.send(portExt, fs[2])
		},
		sent:    2,
		want:    map[string]uint64{"drop.fragment-overlap": 2},
		tracked: 1,
	}, {
		name: "partial overlap",
		send: func(h *harness, fs [][]byte) {
			h.send(portExt, fs[0])
			h.send(portExt, withOffset(fs[1], 1472, true))
		},
		sent:    1,
		want:    map[string]uint64{"drop.fragment-overlap": 1},
		tracked: 1,
	}, {
		name: "MF fragment not a multiple of 8 bytes",
		send: func(h *harness, fs [][]byte) {
			h.send(portExt, fs[0])
			h.send(portExt, withOffset(fs[2], 2960, true)) // the last one, 51 bytes, with MF
		},
		sent: 1,
		want: map[string]uint64{"drop.fragment-malformed": 1},
		// The first fragment is still tracked.
		tracked: 1,
	}, {
		name: "past 65535 bytes",
		send: func(h *harness, fs [][]byte) {
			h.send(portExt, fs[0])
			h.send(portExt, withOffset(fs[1], 65528, false))
		},
		sent:    1,
		want:    map[string]uint64{"drop.fragment-malformed": 1},
		tracked: 1,
	}, {
		name: "two last fragments with different ends",
		send: func(h *harness, fs [][]byte) {
			h.send(portExt, fs[0])
			h.send(portExt, withOffset(fs[2], 2960, false))
			h.send(portExt, withOffset(fs[2], 4440, false))
		},
		sent:    2,
		want:    map[string]uint64{"drop.fragment-malformed": 1},
		tracked: 1,
	}, {
		name: "never completes: counted when the sweeper forgets it",
		send: func(h *harness, fs [][]byte) {
			h.send(portExt, fs[0])
			h.send(portExt, fs[1])
			h.clock.Advance(fragtrack.Timeout)
			h.e.Sweep(h.clock.Now())
			if n := h.e.Drops(drop.FragmentIncomplete); n != 0 {
				h.t.Errorf("incomplete after exactly %v: %d, want 0", fragtrack.Timeout, n)
			}
			h.clock.Advance(time.Second)
			h.e.Sweep(h.clock.Now())
			h.send(portExt, fs[2]) // too late: its datagram is forgotten
		},
		sent:    2,
		want:    map[string]uint64{"drop.fragment-incomplete": 1, "drop.fragment-no-first": 1},
		tracked: 0,
	}, {
		name: "TCP fragments are not forwarded",
		send: func(h *harness, _ [][]byte) {
			for _, f := range fragment(tcpFrame(cl, 40000, 80, fSYN, strings.Repeat("y", 2000)), 1480) {
				h.send(portExt, f)
			}
		},
		want: map[string]uint64{"drop.fragment": 2},
	}, {
		name: "to no virtual",
		send: func(h *harness, _ [][]byte) {
			for _, f := range fragment(udpFrame(cl, 33333, 54, query, false), 1480) {
				h.send(portExt, f)
			}
		},
		want: map[string]uint64{"drop.fragment": 1, "drop.fragment-no-first": 2},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, testProgram(t, progOpts{snat: true}))
			h.learnAll()
			tt.send(h, frags())
			if diff := cmp.Diff(tt.want, h.drops()); diff != "" {
				t.Errorf("drops (-want +got):\n%s", diff)
			}
			if n := len(h.ports[portInt].drain()); n != tt.sent {
				t.Errorf("%d fragments reached the member, want %d", n, tt.sent)
			}
			if h.e.frags.Len() != tt.tracked {
				t.Errorf("%d datagrams tracked, want %d", h.e.frags.Len(), tt.tracked)
			}
		})
	}
}

// TestFragmentTableBound: the table holds fragtrack.MaxDatagrams datagrams; one
// more is refused and counted, and room comes back as datagrams complete.
func TestFragmentTableBound(t *testing.T) {
	h := newHarness(t, testProgram(t, progOpts{snat: true}))
	h.learnAll()
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	first := func(id uint16) []byte {
		f := fragment(udpFrame(cl, 33333, 53, strings.Repeat("z", 2000), false), 1480)
		ip := f[0][ethHdrLen:]
		binary.BigEndian.PutUint16(ip[4:6], id)
		ip[10], ip[11] = 0, 0
		binary.BigEndian.PutUint16(ip[10:12], ^onesSum(ip[:20]))
		return f[0]
	}
	for id := range fragtrack.MaxDatagrams {
		h.send(portExt, first(uint16(id)))
		h.ports[portInt].drain()
	}
	if d := h.drops(); len(d) != 0 {
		t.Fatalf("drops %v while filling the table", d)
	}
	h.send(portExt, first(fragtrack.MaxDatagrams))
	if got := h.e.Drops(drop.FragmentTableFull); got != 1 {
		t.Errorf("fragment-table-full %d, want 1", got)
	}
	// Past the timeout the full table makes room by forgetting the old.
	h.clock.Advance(fragtrack.Timeout + time.Second)
	h.send(portExt, first(fragtrack.MaxDatagrams+1))
	if got := h.e.Drops(drop.FragmentIncomplete); got != fragtrack.MaxDatagrams {
		t.Errorf("fragment-incomplete %d, want %d", got, fragtrack.MaxDatagrams)
	}
	if n := len(h.ports[portInt].drain()); n != 1 {
		t.Errorf("%d frames at the member after the table made room, want 1", n)
	}
}

// FuzzFragment feeds arbitrary fragments of one datagram (id, offset, MF
// and payload from the fuzzer) to a configured engine after a valid first
// fragment: no panic, the table never holds more than its bound, and every
// forwarded fragment has a valid header.
func FuzzFragment(f *testing.F) {
	f.Add(uint16(185), true, []byte(strings.Repeat("a", 1480)))
	f.Add(uint16(370), false, []byte("tail"))
	f.Add(uint16(0), true, []byte(strings.Repeat("b", 16)))
	f.Add(uint16(8191), false, []byte(strings.Repeat("c", 64)))
	f.Add(uint16(1), true, []byte{})
	h := newHarness(f, testProgram(f, progOpts{snat: true}))
	h.learnAll()
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	whole := udpFrame(cl, 33333, 53, strings.Repeat("q", 3000), false)
	f.Fuzz(func(t *testing.T, off uint16, more bool, payload []byte) {
		if len(payload) > 1480 {
			return
		}
		h.send(portExt, fragment(whole, 1480)[0])
		frame := append(append([]byte(nil), whole[:ethHdrLen+20]...), payload...)
		ip := frame[ethHdrLen:]
		binary.BigEndian.PutUint16(ip[2:4], uint16(20+len(payload)))
		v := off & 0x1fff
		if more {
			v |= 0x2000
		}
		binary.BigEndian.PutUint16(ip[6:8], v)
		ip[10], ip[11] = 0, 0
		binary.BigEndian.PutUint16(ip[10:12], ^onesSum(ip[:20]))
		h.send(portExt, frame)
		for _, out := range h.ports[portInt].drain() {
			verifyIPHeader(t, out)
			if a := netip.AddrFrom4([4]byte(out[ethHdrLen+16 : ethHdrLen+20])); a != members[0] {
				t.Fatalf("fragment sent to %s, want the member %s", a, members[0])
			}
		}
		if h.e.frags.Len() > fragtrack.MaxDatagrams {
			t.Fatalf("%d datagrams tracked, bound %d", h.e.frags.Len(), fragtrack.MaxDatagrams)
		}
	})
}
