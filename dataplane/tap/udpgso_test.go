package tap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"lbx/dataplane"
	"lbx/dataplane/csum"
)

var (
	udpServer1 = netip.MustParseAddr("198.18.2.11")
	udpServer2 = netip.MustParseAddr("198.18.2.12")
)

// udp4Test builds an Ethernet/IPv4/UDP frame with a complete checksum; df
// sets Don't Fragment.
func udp4Test(src, dst netip.Addr, sport, dport, id uint16, df bool, payload []byte) []byte {
	const hlen = ethHdrLen + 20 + udpHdrLen
	f := make([]byte, hlen+len(payload))
	copy(f[0:6], []byte{2, 0, 0, 0, 0, 0x11})
	copy(f[6:12], []byte{2, 0, 0, 0, 0, 0x22})
	binary.BigEndian.PutUint16(f[12:14], etherTypeIPv4)
	ip := f[ethHdrLen:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:4], uint16(len(ip)))
	binary.BigEndian.PutUint16(ip[4:6], id)
	if df {
		binary.BigEndian.PutUint16(ip[6:8], 0x4000)
	}
	ip[8] = 63
	ip[9] = dataplane.ProtoUDP
	copy(ip[12:16], src.AsSlice())
	copy(ip[16:20], dst.AsSlice())
	binary.BigEndian.PutUint16(ip[10:12], csum.Sum(ip[:20], 0))
	u := ip[20:]
	binary.BigEndian.PutUint16(u[0:2], sport)
	binary.BigEndian.PutUint16(u[2:4], dport)
	binary.BigEndian.PutUint16(u[4:6], uint16(len(u)))
	copy(u[8:], payload)
	c := ^csum.Fold(csum.Add(u, pseudoSum(ip, dataplane.ProtoUDP, len(u))))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(u[6:8], c)
	return f
}

// kernelUDPSegment cuts a UDP GSO write as the kernel does
// (__udp_gso_segment, then the IPv4 fix-up): datagrams of gso_size
// payload, each with its own lengths, the IPv4 ID counted up from the
// frame's, and the partial checksum adjusted from the whole UDP length to
// the datagram's and completed over the datagram.
func kernelUDPSegment(t testing.TB, h vnetHdr, frame []byte) [][]byte {
	t.Helper()
	if h.gsoType != vnetGSOUDPL4 || h.flags&vnetFlagNeedsCsum == 0 || h.csumOffset != 6 || h.gsoSize == 0 {
		t.Fatalf("not a UDP GSO header the kernel takes: %+v", h)
	}
	hl, mss := int(h.hdrLen), int(h.gsoSize)
	start := int(h.csumStart)
	at := start + 6
	check := binary.BigEndian.Uint16(frame[at : at+2])
	oldLen := binary.BigEndian.Uint16(frame[start+4 : start+6])
	if int(oldLen) != len(frame)-start || hl != start+udpHdrLen {
		t.Fatalf("UDP length %d, header length %d: want %d, %d", oldLen, hl, len(frame)-start, start+udpHdrLen)
	}
	if len(frame)-hl <= mss {
		t.Fatalf("GSO frame of %d payload bytes with gso_size %d: the kernel refuses a single segment", len(frame)-hl, mss)
	}
	var segs [][]byte
	for off := hl; off < len(frame); off += mss {
		end := min(off+mss, len(frame))
		s := append(append([]byte(nil), frame[:hl]...), frame[off:end]...)
		ip := s[ethHdrLen:]
		binary.BigEndian.PutUint16(ip[2:4], uint16(len(ip)))
		binary.BigEndian.PutUint16(ip[4:6], binary.BigEndian.Uint16(ip[4:6])+uint16(len(segs)))
		ip[10], ip[11] = 0, 0
		binary.BigEndian.PutUint16(ip[10:12], csum.Sum(ip[:start-ethHdrLen], 0))
		newLen := uint16(len(s) - start)
		binary.BigEndian.PutUint16(s[start+4:start+6], newLen)
		adj := csum.Fold(uint64(check) + uint64(^oldLen) + uint64(newLen))
		binary.BigEndian.PutUint16(s[at:at+2], adj)
		c := ^csum.Fold(csum.Add(s[start:], 0))
		if c == 0 {
			c = 0xffff
		}
		binary.BigEndian.PutUint16(s[at:at+2], c)
		segs = append(segs, s)
	}
	return segs
}

// wireOf plans and builds the writes of frames as WriteBatch does, then
// turns each into what the kernel puts on the wire; it returns the frames
// in wire order and the writes' kinds.
func wireOf(t testing.TB, frames [][]byte, uso bool) (wire [][]byte, kinds []writeKind) {
	t.Helper()
	ws := &writeState{buf: make([]byte, BufLen)}
	ws.plan(frames, true, uso)
	carried := 0
	for i := 0; i < len(frames); {
		out, n, next, kind, err := ws.nextWrite(frames, i)
		if err != nil {
			t.Fatal(err)
		}
		i = next
		if out == nil {
			continue
		}
		carried += n
		kinds = append(kinds, kind)
		h, _ := parseVnetHdr(out)
		frame := append([]byte(nil), out[vnetHdrLen:]...)
		switch kind {
		case writeUDPGSO:
			segs := kernelUDPSegment(t, h, frame)
			if len(segs) != n {
				t.Fatalf("a UDP GSO write of %d datagrams cuts into %d", n, len(segs))
			}
			wire = append(wire, segs...)
		case writeTCPGSO:
			wire = append(wire, kernelSegment(t, h, frame)...)
		default:
			if h != (vnetHdr{}) {
				t.Fatalf("a single frame written with header %+v", h)
			}
			wire = append(wire, frame)
		}
	}
	if carried != len(frames) {
		t.Fatalf("writes carry %d frames, want %d", carried, len(frames))
	}
	return wire, kinds
}

// flowOf names a frame's flow for the order check: its addresses, ports
// and protocol.
func flowOf(f []byte) string {
	ip := f[ethHdrLen:]
	ihl := int(ip[0]&0xf) * 4
	return fmt.Sprintf("%x/%d/%x", ip[12:20], ip[9], ip[ihl:ihl+4])
}

// sameFlowOrder checks that wire carries exactly frames, byte for byte,
// in the same order within each flow.
func sameFlowOrder(t *testing.T, frames, wire [][]byte) {
	t.Helper()
	want, got := map[string][][]byte{}, map[string][][]byte{}
	for _, f := range frames {
		want[flowOf(f)] = append(want[flowOf(f)], f)
	}
	for _, f := range wire {
		got[flowOf(f)] = append(got[flowOf(f)], f)
	}
	if len(wire) != len(frames) {
		t.Fatalf("%d frames on the wire, want %d", len(wire), len(frames))
	}
	for k, w := range want {
		g := got[k]
		if len(g) != len(w) {
			t.Fatalf("flow %s: %d frames, want %d", k, len(g), len(w))
		}
		for i := range w {
			if !bytes.Equal(g[i], w[i]) {
				t.Fatalf("flow %s, frame %d differs:\ngot  %x\nwant %x", k, i, g[i], w[i])
			}
		}
	}
}

func countKinds(kinds []writeKind) (one, udp, tcp int) {
	for _, k := range kinds {
		switch k {
		case writeUDPGSO:
			udp++
		case writeTCPGSO:
			tcp++
		default:
			one++
		}
	}
	return
}

// TestUDPGroups: the datagrams of a WriteBatch are grouped by flow into
// UDP GSO writes that the kernel cuts back into exactly the datagrams
// given, in order within each flow: flows interleaved, sizes that differ,
// a short last datagram, frames of other protocols between, a corrupt
// checksum, a gap in the IPv4 IDs.
func TestUDPGroups(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	pl := func(n int) []byte { return randomPayload(r, n) }
	a := func(id uint16, n int) []byte { return udp4Test(gsoClient, udpServer1, 40001, 9, id, false, pl(n)) }
	b := func(id uint16, n int) []byte { return udp4Test(gsoClient, udpServer2, 40002, 9, id, false, pl(n)) }
	c := func(n int) []byte { return udp4Test(gsoClient, udpServer1, 40003, 9, 0, true, pl(n)) } // DF, ID 0 as Linux sends
	tcp := func() []byte { return tcp4Test(gsoClient, gsoVIP, 1, 2, 3, 4, tsoACK|tsoPSH, pl(10), false) }
	corrupt := func(f []byte) []byte { f[len(f)-1] ^= 0x55; return f }
	ipCorrupt := func(f []byte) []byte { f[ethHdrLen+10] ^= 0x55; return f }

	for _, tc := range []struct {
		name      string
		frames    [][]byte
		udpWrites int // UDP GSO writes
		singles   int // single-frame writes
	}{
		{"one flow", [][]byte{a(1, 18), a(2, 18), a(3, 18), a(4, 18)}, 1, 0},
		{"interleaved", [][]byte{a(1, 18), b(7, 18), a(2, 18), b(8, 18), a(3, 18), b(9, 18)}, 2, 0},
		{"last short", [][]byte{a(1, 100), a(2, 100), a(3, 40), a(4, 100), a(5, 100)}, 2, 0},
		{"sizes differ", [][]byte{a(1, 100), a(2, 100), a(3, 120), a(4, 120), b(1, 5)}, 2, 1},
		{"non-UDP between", [][]byte{a(1, 18), tcp(), a(2, 18), tcp(), b(1, 18), a(3, 18), b(2, 18)}, 2, 2},
		{"corrupt one", [][]byte{a(1, 18), a(2, 18), corrupt(a(3, 18)), a(4, 18), a(5, 18)}, 2, 1},
		{"corrupt IPv4 header", [][]byte{a(1, 18), a(2, 18), ipCorrupt(a(3, 18))}, 1, 1},
		{"corrupt head", [][]byte{corrupt(a(1, 18)), a(2, 18), a(3, 18)}, 1, 1},
		{"ID gap", [][]byte{a(1, 18), a(2, 18), a(9, 18), a(10, 18)}, 2, 0},
		{"single datagrams", [][]byte{a(1, 18), b(1, 18), tcp()}, 0, 3},
		{"empty payload", [][]byte{a(1, 0), a(2, 0), a(3, 18)}, 0, 3},
		{"empty between", [][]byte{a(1, 18), a(2, 18), a(3, 0), a(4, 18), a(5, 18)}, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := make([][]byte, len(tc.frames))
			for i, f := range tc.frames {
				in[i] = append([]byte(nil), f...)
			}
			wire, kinds := wireOf(t, tc.frames, true)
			for i := range in {
				if !bytes.Equal(in[i], tc.frames[i]) {
					t.Fatalf("frame %d changed by the write", i)
				}
			}
			sameFlowOrder(t, tc.frames, wire)
			one, udp, _ := countKinds(kinds)
			if udp != tc.udpWrites || one != tc.singles {
				t.Fatalf("%d UDP GSO writes and %d single writes, want %d and %d", udp, one, tc.udpWrites, tc.singles)
			}
			// Without USO every frame is one write.
			if _, kinds := wireOf(t, tc.frames, false); len(kinds) != len(tc.frames) {
				t.Fatalf("without USO: %d writes for %d frames", len(kinds), len(tc.frames))
			}
		})
	}

	// DF datagrams with ID 0 (Linux's for an unconnected socket) join;
	// the kernel numbers the IDs of the datagrams it cuts, the rest is
	// unchanged.
	frames := [][]byte{c(30), c(30), c(30)}
	wire, kinds := wireOf(t, frames, true)
	if _, udp, _ := countKinds(kinds); udp != 1 || len(wire) != 3 {
		t.Fatalf("DF datagrams: %d UDP GSO writes, %d on the wire; want 1, 3", udp, len(wire))
	}
	for i, w := range wire {
		want := append([]byte(nil), frames[i]...)
		binary.BigEndian.PutUint16(want[ethHdrLen+4:], uint16(i))
		ip := want[ethHdrLen:]
		ip[10], ip[11] = 0, 0
		binary.BigEndian.PutUint16(ip[10:12], csum.Sum(ip[:20], 0))
		if !bytes.Equal(w, want) {
			t.Fatalf("DF datagram %d:\ngot  %x\nwant %x", i, w, want)
		}
	}
}

// TestUDPGroupsBounds: a group holds at most udpMaxSegs datagrams and
// udpMaxOpen flows are grouped at once; the rest still arrives, in order.
func TestUDPGroupsBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	var frames [][]byte
	for i := range 100 {
		frames = append(frames, udp4Test(gsoClient, udpServer1, 40001, 9, uint16(i), false, randomPayload(r, 18)))
	}
	wire, kinds := wireOf(t, frames, true)
	sameFlowOrder(t, frames, wire)
	if _, udp, _ := countKinds(kinds); udp != 2 || len(kinds) != 2 {
		t.Fatalf("100 datagrams of one flow: %d writes (%d UDP GSO), want 2 (64 + 36)", len(kinds), udp)
	}
	frames = frames[:0]
	for round := range 2 {
		for fl := range udpMaxOpen + 4 {
			frames = append(frames, udp4Test(gsoClient, udpServer1, uint16(40000+fl), 9, uint16(round), false, randomPayload(r, 18)))
		}
	}
	wire, kinds = wireOf(t, frames, true)
	sameFlowOrder(t, frames, wire)
	if one, udp, _ := countKinds(kinds); udp != udpMaxOpen || one != 8 {
		t.Fatalf("%d flows of 2: %d UDP GSO writes and %d single, want %d and 8", udpMaxOpen+4, udp, one, udpMaxOpen)
	}
}

// TestUDPGroupsAllocateNothing: planning and building the writes of a
// batch of 64 datagrams of six flows allocates nothing once the scratch
// has grown.
func TestUDPGroupsAllocateNothing(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	var frames [][]byte
	for i := range 64 {
		frames = append(frames, udp4Test(gsoClient, udpServer1, uint16(40000+i%6), 9, uint16(i/6), false, randomPayload(r, 18)))
	}
	ws := &writeState{buf: make([]byte, BufLen)}
	writes := 0
	run := func() {
		ws.plan(frames, true, true)
		for i := 0; i < len(frames); {
			out, _, next, _, err := ws.nextWrite(frames, i)
			if err != nil {
				t.Fatal(err)
			}
			if out != nil {
				writes++
			}
			i = next
		}
	}
	run()
	if writes != 6 {
		t.Fatalf("64 datagrams of 6 flows: %d writes, want 6", writes)
	}
	if a := testing.AllocsPerRun(50, run); a != 0 {
		t.Errorf("%.1f allocations per batch, want 0", a)
	}
}

// TestUDPCut: a UDP GSO frame read from the TAP is cut into the datagrams
// the kernel would make of it, with complete checksums.
func TestUDPCut(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	var frames [][]byte
	for i := range 5 {
		frames = append(frames, udp4Test(gsoClient, udpServer1, 40001, 9, uint16(100+i), false, randomPayload(r, 200-30*(i/4))))
	}
	ws := &writeState{buf: make([]byte, BufLen)}
	ws.plan(frames, true, true)
	out, n, _, kind, err := ws.nextWrite(frames, 0)
	if err != nil || kind != writeUDPGSO || n != 5 {
		t.Fatalf("write of 5 datagrams: kind %d, %d datagrams, %v", kind, n, err)
	}
	read := append([]byte(nil), out...)
	h, _ := parseVnetHdr(read)
	var s tcpSplit
	if !s.init(h, read[vnetHdrLen:]) || !s.udp {
		t.Fatal("UDP GSO frame refused")
	}
	for i := 0; !s.done(); i++ {
		buf := make([]byte, segBufLen)
		m := s.cut(buf)
		if m < 0 || i >= len(frames) || !bytes.Equal(buf[:m], frames[i]) {
			t.Fatalf("datagram %d: %x\nwant %x", i, buf[:max(m, 0)], frames[min(i, len(frames)-1)])
		}
		f, ok := parseUDP4(buf[:m])
		if !ok || !udpChecksumOK(buf[:m], f) {
			t.Fatalf("datagram %d does not verify", i)
		}
	}
	// A UDP GSO frame of IPv6 (the engine has none) is refused.
	six := append([]byte(nil), read[vnetHdrLen:]...)
	binary.BigEndian.PutUint16(six[12:14], 0x86dd)
	if s.init(h, six) {
		t.Fatal("IPv6 UDP GSO frame accepted")
	}
}

// fuzzUDPCut checks the datagrams cut from a fuzzed UDP GSO frame: each
// parses, verifies, and their payloads are the frame's.
func fuzzUDPCut(t *testing.T, s *tcpSplit, frame []byte) {
	hlen := s.f.hlen
	var joined []byte
	for i := 0; !s.done(); i++ {
		out := make([]byte, segBufLen)
		n := s.cut(out)
		if n < 0 {
			return
		}
		f, ok := parseUDP4(out[:n])
		if !ok || !udpChecksumOK(out[:n], f) || csum.Sum(out[ethHdrLen:ethHdrLen+f.ihl], 0) != 0 {
			t.Fatalf("datagram %d does not parse or verify", i)
		}
		joined = append(joined, out[f.hlen:n]...)
	}
	if !bytes.Equal(joined, frame[hlen:]) {
		t.Fatal("payload changed")
	}
}

// FuzzUDPGroups: any frames written in one batch arrive, each exactly
// once and unchanged, in order within each flow.
func FuzzUDPGroups(f *testing.F) {
	r := rand.New(rand.NewPCG(29, 30))
	var seed []byte
	for i := range 6 {
		fr := udp4Test(gsoClient, udpServer1, uint16(40000+i%2), 9, uint16(i/2), i%3 == 0, randomPayload(r, 18+i%4))
		seed = binary.BigEndian.AppendUint16(seed, uint16(len(fr)))
		seed = append(seed, fr...)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, b []byte) {
		var frames [][]byte
		for len(b) >= 2 && len(frames) < 64 {
			n := int(binary.BigEndian.Uint16(b))
			b = b[2:]
			if n < ethHdrLen || n > len(b) || n > segBufLen {
				break
			}
			frames = append(frames, append([]byte(nil), b[:n]...))
			b = b[n:]
		}
		if len(frames) == 0 {
			return
		}
		ws := &writeState{buf: make([]byte, BufLen)}
		ws.plan(frames, false, true)
		got := map[string][][]byte{}
		carried := 0
		for i := 0; i < len(frames); {
			out, n, next, kind, err := ws.nextWrite(frames, i)
			if err != nil {
				t.Fatal(err)
			}
			i = next
			if out == nil {
				continue
			}
			carried += n
			h, _ := parseVnetHdr(out)
			fr := append([]byte(nil), out[vnetHdrLen:]...)
			segs := [][]byte{fr}
			if kind == writeUDPGSO {
				segs = kernelUDPSegment(t, h, fr)
			}
			for _, s := range segs {
				k := string(s[:min(len(s), ethHdrLen+20+4)])
				if _, ok := parseUDP4(s); ok {
					k = flowOf(s)
				}
				got[k] = append(got[k], s)
			}
		}
		if carried != len(frames) {
			t.Fatalf("carried %d of %d frames", carried, len(frames))
		}
		for _, fr := range frames {
			k := string(fr[:min(len(fr), ethHdrLen+20+4)])
			f, ok := parseUDP4(fr)
			if ok {
				k = flowOf(fr)
			}
			if len(got[k]) == 0 {
				t.Fatalf("frame %x missing", fr)
			}
			g := got[k][0]
			got[k] = got[k][1:]
			if !bytes.Equal(g, fr) {
				// Only a DF datagram's ID may change.
				if !ok || fr[ethHdrLen+6]&0x40 == 0 || len(g) != len(fr) || !bytes.Equal(g[f.hlen:], fr[f.hlen:]) {
					t.Fatalf("frame changed:\ngot  %x\nwant %x", g, fr)
				}
			}
		}
	})
}
