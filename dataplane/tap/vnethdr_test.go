package tap

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"

	"lbx/dataplane"
	"lbx/dataplane/csum"
	"lbx/dataplane/csum/csumtest"
)

// segBufLen is the size of the engine's receive buffers (dataplane's
// maxFrameLen), into which ReadBatch cuts.
const segBufLen = 2048

// verifyChecksums checks an IPv4 TCP frame's header and TCP checksums by
// summing them.
func verifyChecksums(t testing.TB, frame []byte) {
	t.Helper()
	if len(frame) < ethHdrLen+20 {
		t.Fatalf("frame too short for IPv4: %d bytes", len(frame))
	}
	ip := frame[ethHdrLen:]
	ihl := int(ip[0]&0xf) * 4
	total := int(binary.BigEndian.Uint16(ip[2:4]))
	if len(ip) < total || total < ihl+20 || ip[9] != dataplane.ProtoTCP {
		t.Fatalf("not one IPv4 TCP packet: ihl %d, total length %d of %d, protocol %d", ihl, total, len(ip), ip[9])
	}
	csumtest.VerifyIPv4(t, frame)
}

// tcp4Test builds an Ethernet/IPv4/TCP frame with the timestamp option (a
// 32-byte TCP header, like Linux's) and payload. With partial set its TCP
// checksum is what the kernel hands over for NEEDS_CSUM (the
// pseudo-header's sum, not complemented); otherwise it is complete.
func tcp4Test(src, dst netip.Addr, sport, dport uint16, seq uint32, id uint16, flags uint8, payload []byte, partial bool) []byte {
	const hlen = ethHdrLen + 20 + 32
	f := make([]byte, hlen+len(payload))
	copy(f[0:6], []byte{2, 0, 0, 0, 0, 0x11})
	copy(f[6:12], []byte{2, 0, 0, 0, 0, 0x22})
	binary.BigEndian.PutUint16(f[12:14], etherTypeIPv4)
	ip := f[ethHdrLen:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:4], uint16(len(ip)))
	binary.BigEndian.PutUint16(ip[4:6], id)
	binary.BigEndian.PutUint16(ip[6:8], 0x4000) // DF
	ip[8] = 64
	ip[9] = dataplane.ProtoTCP
	copy(ip[12:16], src.AsSlice())
	copy(ip[16:20], dst.AsSlice())
	binary.BigEndian.PutUint16(ip[10:12], csum.Sum(ip[:20], 0))
	tcp := ip[20:]
	binary.BigEndian.PutUint16(tcp[0:2], sport)
	binary.BigEndian.PutUint16(tcp[2:4], dport)
	binary.BigEndian.PutUint32(tcp[4:8], seq)
	binary.BigEndian.PutUint32(tcp[8:12], 777)
	tcp[12] = 8 << 4
	tcp[13] = flags
	binary.BigEndian.PutUint16(tcp[14:16], 502)
	copy(tcp[20:32], []byte{1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 7})
	copy(tcp[32:], payload)
	if partial {
		binary.BigEndian.PutUint16(tcp[16:18], csum.Fold(pseudoSum(ip, dataplane.ProtoTCP, len(tcp))))
	} else {
		binary.BigEndian.PutUint16(tcp[16:18], ^csum.Fold(csum.Add(tcp, pseudoSum(ip, dataplane.ProtoTCP, len(tcp)))))
	}
	return f
}

var (
	gsoClient = netip.MustParseAddr("198.18.1.10")
	gsoVIP    = netip.MustParseAddr("198.18.0.100")
)

func randomPayload(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestVnetHdrRoundTrip(t *testing.T) {
	h := vnetHdr{flags: vnetFlagNeedsCsum, gsoType: vnetGSOTCPv4, hdrLen: 66, gsoSize: 1448, csumStart: 34, csumOffset: 16}
	var b [vnetHdrLen]byte
	h.put(b[:])
	got, ok := parseVnetHdr(b[:])
	if !ok || got != h {
		t.Fatalf("parseVnetHdr(put(%+v)) = %+v, %v", h, got, ok)
	}
	if _, ok := parseVnetHdr(b[:vnetHdrLen-1]); ok {
		t.Fatal("parseVnetHdr accepted a 9-byte header")
	}
}

func TestFinishChecksum(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	tests := []struct {
		name    string
		payload int
		h       vnetHdr
		ok      bool
	}{
		{"tcp", 100, vnetHdr{flags: vnetFlagNeedsCsum, csumStart: 34, csumOffset: 16}, true},
		{"tcp odd length", 1, vnetHdr{flags: vnetFlagNeedsCsum, csumStart: 34, csumOffset: 16}, true},
		{"offset past the end", 0, vnetHdr{flags: vnetFlagNeedsCsum, csumStart: 34, csumOffset: 31}, false},
		{"start past the end", 0, vnetHdr{flags: vnetFlagNeedsCsum, csumStart: 66, csumOffset: 0}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := randomPayload(r, tc.payload)
			want := tcp4Test(gsoClient, gsoVIP, 40000, 80, 1, 1, tsoACK|tsoPSH, p, false)
			got := tcp4Test(gsoClient, gsoVIP, 40000, 80, 1, 1, tsoACK|tsoPSH, p, true)
			if ok := finishChecksum(got, tc.h); ok != tc.ok {
				t.Fatalf("finishChecksum = %v, want %v", ok, tc.ok)
			}
			if !tc.ok {
				return
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("checksum %#04x, want %#04x", got[50:52], want[50:52])
			}
			verifyChecksums(t, got)
		})
	}
}

// cutAll cuts a GSO frame into 2 KB buffers as ReadBatch does.
func cutAll(t testing.TB, h vnetHdr, frame []byte) [][]byte {
	t.Helper()
	var s tcpSplit
	if !s.init(h, frame) {
		t.Fatalf("tcpSplit.init refused %+v", h)
	}
	var segs [][]byte
	for !s.done() {
		buf := make([]byte, segBufLen)
		n := s.cut(buf)
		if n < 0 {
			t.Fatal("segment does not fit a 2 KB buffer")
		}
		segs = append(segs, buf[:n])
	}
	return segs
}

func tsoHdr(mss int) vnetHdr {
	return vnetHdr{flags: vnetFlagNeedsCsum, gsoType: vnetGSOTCPv4, hdrLen: 66, gsoSize: uint16(mss), csumStart: 34, csumOffset: 16}
}

func TestTCPSplit(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	payload := randomPayload(r, 5000)
	gso := tcp4Test(gsoClient, gsoVIP, 40000, 80, 1000, 0x1234, tsoACK|tsoPSH|tsoCWR|tsoFIN, payload, true)
	segs := cutAll(t, tsoHdr(1448), gso)
	if len(segs) != 4 {
		t.Fatalf("%d segments, want 4", len(segs))
	}
	var joined []byte
	for i, s := range segs {
		verifyChecksums(t, s)
		f, ok := parseTCP4(s)
		if !ok {
			t.Fatalf("segment %d does not parse", i)
		}
		pl := s[f.hlen:]
		if want := min(1448, 5000-1448*i); len(pl) != want {
			t.Errorf("segment %d: payload %d bytes, want %d", i, len(pl), want)
		}
		joined = append(joined, pl...)
		if seq, want := binary.BigEndian.Uint32(s[38:42]), uint32(1000+1448*i); seq != want {
			t.Errorf("segment %d: seq %d, want %d", i, seq, want)
		}
		if id, want := binary.BigEndian.Uint16(s[18:20]), uint16(0x1234+i); id != want {
			t.Errorf("segment %d: ip id %#x, want %#x", i, id, want)
		}
		wantFlags := uint8(tsoACK)
		if i == 0 {
			wantFlags |= tsoCWR
		}
		if i == 3 {
			wantFlags |= tsoPSH | tsoFIN
		}
		if fl := s[47]; fl != wantFlags {
			t.Errorf("segment %d: flags %#x, want %#x", i, fl, wantFlags)
		}
	}
	if !bytes.Equal(joined, payload) {
		t.Fatal("segments' payloads do not join to the GSO frame's")
	}
}

// kernelSegment cuts a GSO frame lbx writes as Linux does (tcp_gso_segment
// with CHECKSUM_PARTIAL): the partial checksum, which holds the
// pseudo-header sum over the whole TCP length, is adjusted to each
// segment's length, then the segment's bytes are summed into it.
func kernelSegment(t testing.TB, h vnetHdr, frame []byte) [][]byte {
	t.Helper()
	hl, mss := int(h.hdrLen), int(h.gsoSize)
	at := int(h.csumStart) + int(h.csumOffset)
	total := len(frame) - int(h.csumStart)
	check := binary.BigEndian.Uint16(frame[at : at+2])
	var segs [][]byte
	for off := hl; off < len(frame); off += mss {
		end := min(off+mss, len(frame))
		s := append(append([]byte(nil), frame[:hl]...), frame[off:end]...)
		ip := s[ethHdrLen:]
		binary.BigEndian.PutUint16(ip[2:4], uint16(len(ip)))
		binary.BigEndian.PutUint16(ip[4:6], binary.BigEndian.Uint16(ip[4:6])+uint16(len(segs)))
		ip[10], ip[11] = 0, 0
		binary.BigEndian.PutUint16(ip[10:12], csum.Sum(ip[:20], 0))
		binary.BigEndian.PutUint32(ip[24:28], binary.BigEndian.Uint32(ip[24:28])+uint32(off-hl))
		if end < len(frame) {
			s[47] &^= tsoPSH | tsoFIN
		}
		segLen := len(s) - int(h.csumStart)
		// delta = new length - old length, in one's complement.
		adj := csum.Fold(uint64(check) + uint64(^uint16(total)) + uint64(segLen))
		binary.BigEndian.PutUint16(s[at:at+2], adj)
		c := ^csum.Fold(csum.Add(s[h.csumStart:], 0))
		binary.BigEndian.PutUint16(s[at:at+2], c)
		segs = append(segs, s)
	}
	return segs
}

// TestCutJoin checks Cut and Join, the offload's arithmetic as the
// engine's TestGSOThroughNAT uses it: Cut gives the segments the port cuts,
// refuses what does not fit, and Join of the segments gives back the GSO
// frame and header the kernel handed over.
func TestCutJoin(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	gso := tcp4Test(gsoClient, gsoVIP, 40000, 80, 5, 9, tsoACK|tsoPSH, randomPayload(r, 10*1448+7), true)
	read := make([]byte, vnetHdrLen, vnetHdrLen+len(gso))
	tsoHdr(1448).put(read)
	read = append(read, gso...)
	want := cutAll(t, tsoHdr(1448), append([]byte(nil), gso...))
	bufs := make([][]byte, 16)
	for i := range bufs {
		bufs[i] = make([]byte, segBufLen)
	}
	sizes := make([]int, len(bufs))
	n := Cut(read, bufs, sizes)
	if n != 11 || n != len(want) {
		t.Fatalf("Cut gave %d segments, want 11 (the port cuts %d)", n, len(want))
	}
	segs := make([][]byte, n)
	for i := range n {
		segs[i] = bufs[i][:sizes[i]]
		if !bytes.Equal(segs[i], want[i]) {
			t.Fatalf("segment %d differs from the port's", i)
		}
	}
	jn, out := Join(segs, make([]byte, BufLen))
	if jn != n {
		t.Fatalf("Join joined %d of %d segments", jn, n)
	}
	if !bytes.Equal(out, read) {
		t.Fatal("Join of the cut segments is not the read they were cut from")
	}

	small := make([][]byte, 16)
	for i := range small {
		small[i] = make([]byte, 1000)
	}
	var none [vnetHdrLen]byte
	vnetHdr{flags: vnetFlagNeedsCsum, csumStart: 34, csumOffset: 16}.put(none[:])
	for _, tc := range []struct {
		name string
		read []byte
		bufs [][]byte
	}{
		{"too few buffers", read, bufs[:10]},
		{"buffers too small", read, small},
		{"no GSO frame", append(none[:], gso...), bufs},
		{"no header", read[:vnetHdrLen-1], bufs},
	} {
		if n := Cut(tc.read, tc.bufs, sizes); n != 0 {
			t.Errorf("%s: Cut gave %d segments, want 0", tc.name, n)
		}
	}
}

func TestTCPCoalesceRuns(t *testing.T) {
	seg := func(sport uint16, seq uint32, id uint16, flags uint8, n int) []byte {
		return tcp4Test(gsoClient, gsoVIP, sport, 80, seq, id, flags, bytes.Repeat([]byte{byte(seq)}, n), false)
	}
	corrupt := func(f []byte) []byte { f[len(f)-1] ^= 0xff; return f }
	const A = tsoACK
	tests := []struct {
		name   string
		frames [][]byte
		want   int
	}{
		{"three in a row", [][]byte{seg(1, 0, 1, A, 100), seg(1, 100, 2, A, 100), seg(1, 200, 3, A|tsoPSH, 50)}, 3},
		{"alone", [][]byte{seg(1, 0, 1, A, 100)}, 1},
		{"another connection ends the run", [][]byte{seg(1, 0, 1, A, 100), seg(1, 100, 2, A, 100), seg(2, 200, 3, A, 100)}, 2},
		{"sequence gap", [][]byte{seg(1, 0, 1, A, 100), seg(1, 101, 2, A, 100)}, 1},
		{"ip id not consecutive", [][]byte{seg(1, 0, 1, A, 100), seg(1, 100, 3, A, 100)}, 1},
		{"push ends the run", [][]byte{seg(1, 0, 1, A|tsoPSH, 100), seg(1, 100, 2, A, 100)}, 1},
		{"shorter segment ends the run", [][]byte{seg(1, 0, 1, A, 100), seg(1, 100, 2, A, 50), seg(1, 150, 3, A, 50)}, 2},
		{"longer segment", [][]byte{seg(1, 0, 1, A, 100), seg(1, 100, 2, A, 101)}, 1},
		{"corrupt first", [][]byte{corrupt(seg(1, 0, 1, A, 100)), seg(1, 100, 2, A, 100)}, 1},
		{"corrupt second", [][]byte{seg(1, 0, 1, A, 100), seg(1, 100, 2, A, 100), corrupt(seg(1, 200, 3, A, 100))}, 2},
		{"fin", [][]byte{seg(1, 0, 1, A, 100), seg(1, 100, 2, A|tsoFIN, 100)}, 1},
		{"no payload", [][]byte{seg(1, 0, 1, A, 0), seg(1, 0, 2, A, 0)}, 1},
	}
	buf := make([]byte, BufLen)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, out := tcpCoalesce(tc.frames, buf)
			if n != tc.want {
				t.Fatalf("joined %d frames, want %d", n, tc.want)
			}
			if (out != nil) != (n > 1) {
				t.Fatalf("joined %d frames, out %d bytes", n, len(out))
			}
			if n < 2 {
				return
			}
			h, _ := parseVnetHdr(out)
			var joined []byte
			for _, s := range kernelSegment(t, h, out[vnetHdrLen:]) {
				verifyChecksums(t, s)
				joined = append(joined, s[66:]...)
			}
			var want []byte
			for _, f := range tc.frames[:n] {
				want = append(want, f[66:]...)
			}
			if !bytes.Equal(joined, want) {
				t.Fatal("payload changed")
			}
		})
	}
}

// FuzzVnetFrame reads arbitrary bytes as a TAP read (virtio-net header
// and frame): cutting never panics, every segment fits its buffer and
// parses with valid checksums, the payload survives, and joining the
// segments again gives back the frame.
func FuzzVnetFrame(f *testing.F) {
	var hb [vnetHdrLen]byte
	tsoHdr(1448).put(hb[:])
	r := rand.New(rand.NewPCG(9, 10))
	f.Add(append(hb[:], tcp4Test(gsoClient, gsoVIP, 1, 2, 3, 4, tsoACK, randomPayload(r, 4000), true)...))
	f.Add(append(hb[:], tcp4Test(gsoClient, gsoVIP, 1, 2, 3, 4, tsoACK|tsoPSH, randomPayload(r, 10), true)...))
	vnetHdr{flags: vnetFlagNeedsCsum, csumStart: 34, csumOffset: 16}.put(hb[:])
	f.Add(append(hb[:], tcp4Test(gsoClient, gsoVIP, 1, 2, 3, 4, tsoACK, randomPayload(r, 100), true)...))
	buf := make([]byte, BufLen)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := parseVnetHdr(b)
		if !ok {
			return
		}
		frame := append([]byte(nil), b[vnetHdrLen:]...)
		if h.gsoType == vnetGSONone {
			finishChecksum(frame, h)
			return
		}
		if h.gsoSize == 0 || len(frame)/int(h.gsoSize) > 256 {
			return // keep each run short; TestTCPSplit covers long runs
		}
		var s tcpSplit
		if !s.init(h, frame) {
			return
		}
		if s.udp {
			fuzzUDPCut(t, &s, frame)
			return
		}
		fr, _ := parseTCP4(frame)
		var segs [][]byte
		var joined []byte
		for !s.done() {
			out := make([]byte, segBufLen)
			n := s.cut(out)
			if n < 0 {
				return // too large for a buffer: ReadBatch drops the frame
			}
			sf, ok := parseTCP4(out[:n])
			if !ok || !tcpChecksumValid(out[:n], sf) || csum.Sum(out[ethHdrLen:ethHdrLen+sf.ihl], 0) != 0 {
				t.Fatalf("segment %d does not parse or verify", len(segs))
			}
			segs = append(segs, out[:n])
			joined = append(joined, out[sf.hlen:n]...)
		}
		if !bytes.Equal(joined, frame[fr.hlen:]) {
			t.Fatal("payload changed")
		}
		n, out := tcpCoalesce(segs, buf)
		if n == len(segs) && n > 1 && len(out) != vnetHdrLen+len(frame) {
			t.Fatalf("joined %d segments into %d bytes, want %d", n, len(out), vnetHdrLen+len(frame))
		}
	})
}

// gsoBench is a 64 KB GSO frame of 45 segments and the buffers to cut it
// into.
func gsoBench() (vnetHdr, []byte, [][]byte, []byte) {
	r := rand.New(rand.NewPCG(11, 12))
	gso := tcp4Test(gsoClient, gsoVIP, 40000, 80, 1, 1, tsoACK|tsoPSH, randomPayload(r, 45*1448), true)
	bufs := make([][]byte, 64)
	for i := range bufs {
		bufs[i] = make([]byte, segBufLen)
	}
	return tsoHdr(1448), gso, bufs, make([]byte, BufLen)
}

// cutJoin cuts gso into bufs and joins the segments into out, as a GSO
// frame crossing the appliance does.
func cutJoin(h vnetHdr, gso []byte, bufs [][]byte, out []byte) int {
	var s tcpSplit
	if !s.init(h, gso) {
		return 0
	}
	n := 0
	for !s.done() {
		bufs[n] = bufs[n][:cap(bufs[n])]
		bufs[n] = bufs[n][:s.cut(bufs[n])]
		n++
	}
	joined, _ := tcpCoalesce(bufs[:n], out)
	return joined
}

func TestCutJoinAllocatesNothing(t *testing.T) {
	h, gso, bufs, out := gsoBench()
	if n := cutJoin(h, gso, bufs, out); n != 45 {
		t.Fatalf("joined %d segments, want 45", n)
	}
	if a := testing.AllocsPerRun(20, func() { cutJoin(h, gso, bufs, out) }); a != 0 {
		t.Fatalf("cutting and joining a GSO frame allocates %v times", a)
	}
}

// BenchmarkCutJoin is the port's userspace cost of one 64 KB GSO frame
// through the appliance: cut into 45 segments with checksums, joined again
// with every segment's checksum verified.
func BenchmarkCutJoin(b *testing.B) {
	h, gso, bufs, out := gsoBench()
	b.SetBytes(int64(len(gso)))
	for b.Loop() {
		cutJoin(h, gso, bufs, out)
	}
}

// TestWholeGSO: which GSO frames ReadGSO hands over whole; the rest are
// cut as before.
func TestWholeGSO(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	frame := func() []byte {
		return tcp4Test(gsoClient, gsoVIP, 40000, 80, 1, 7, tsoACK, randomPayload(r, 3*1448), true)
	}
	tso := vnetHdr{flags: vnetFlagNeedsCsum, gsoType: vnetGSOTCPv4, hdrLen: ethHdrLen + 52, gsoSize: 1448, csumStart: ethHdrLen + 20, csumOffset: 16}
	tests := []struct {
		name  string
		mod   func(h *vnetHdr, f []byte) []byte
		whole bool
	}{
		{"kernel TSO frame", nil, true},
		{"ECN", func(h *vnetHdr, f []byte) []byte { h.gsoType |= vnetGSOECN; return f }, false},
		{"checksum complete", func(h *vnetHdr, f []byte) []byte { h.flags = 0; return f }, false},
		{"checksum not TCP's", func(h *vnetHdr, f []byte) []byte { h.csumOffset = 6; return f }, false},
		{"csum start off", func(h *vnetHdr, f []byte) []byte { h.csumStart++; return f }, false},
		{"no segment size", func(h *vnetHdr, f []byte) []byte { h.gsoSize = 0; return f }, false},
		{"IPv4 length 0", func(h *vnetHdr, f []byte) []byte {
			binary.BigEndian.PutUint16(f[ethHdrLen+2:], 0)
			return f
		}, false},
		{"headers only", func(h *vnetHdr, f []byte) []byte { return f[:ethHdrLen+52] }, false},
		{"UDP", func(h *vnetHdr, f []byte) []byte { f[ethHdrLen+9] = 17; return f }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, f := tso, frame()
			if tt.mod != nil {
				f = tt.mod(&h, f)
			}
			if got := wholeGSO(h, f); got != tt.whole {
				t.Errorf("wholeGSO = %v, want %v", got, tt.whole)
			}
		})
	}
}
