package dataplane

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"lbx/dataplane/csum"
	"lbx/dataplane/csum/csumtest"
	"lbx/dataplane/flowtable"
)

const gsoMSS = 1448

// gsoFrame builds what a GSOPort hands over whole for the client's
// established flow to vs_web (port 40000): a frame of nseg segments' worth
// of payload (the last 100 bytes short) in a buffer with GSOHeadroom before
// it, its TCP checksum partial (the pseudo-header's sum over the whole TCP
// length, not complemented), as the kernel's TSO leaves it.
func gsoFrame(t testing.TB, nseg int, flags tcpFlags) (buf, payload []byte) {
	t.Helper()
	r := rand.New(rand.NewPCG(3, 4))
	payload = make([]byte, nseg*gsoMSS-100)
	for i := range payload {
		payload[i] = byte(r.Uint32())
	}
	f := tcpFrame(ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}, 40000, 80, flags, string(payload))
	ip := f[ethHdrLen:]
	tcp := ip[20:]
	ph := make([]byte, 12)
	copy(ph[0:8], ip[12:20])
	ph[9] = ProtoTCP
	binary.BigEndian.PutUint16(ph[10:12], uint16(len(tcp)))
	binary.BigEndian.PutUint16(tcp[16:18], ^csum.Sum(ph, 0))
	return append(make([]byte, GSOHeadroom), f...), payload
}

// gsoHarness is the standard program's harness with both fake ports
// taking GSO frames, the neighbours learned and the client's flow to
// vs_web (port 40000) open.
func gsoHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, testProgram(t, progOpts{snat: true}))
	for _, p := range h.ports {
		p.gso = true
		p.gsoOut = make(chan gsoWrite, 16)
	}
	h.learnAll()
	h.send(portExt, tcpFrame(ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}, 40000, 80, fSYN, ""))
	h.ports[portInt].drain()
	return h
}

// counter returns one of the engine's counters by name.
func (h *harness) counter(name string) uint64 {
	h.t.Helper()
	for _, c := range h.e.Counters() {
		if c.Name == name {
			return c.Value
		}
	}
	h.t.Fatalf("no counter %s", name)
	return 0
}

// TestGSOWholeFrame: a 45-segment GSO frame of an established flow goes
// through the engine whole (gso_whole_in), translated, and the kernel's
// segmentation of what the egress port got gives 45 segments with valid
// checksums, the translated tuple and the original payload; every counter
// counts wire segments.
func TestGSOWholeFrame(t *testing.T) {
	h := gsoHarness(t)
	buf, payload := gsoFrame(t, 45, fACK)
	rx, tx := h.counter("port.ext.rx_packets"), h.counter("port.int.tx_packets")
	vs := h.e.VirtualStats("/Common/vs_web")
	pkts, byts := vs.PktsIn.Load(), vs.BytesIn.Load()

	if !h.w[portExt].gsoBatch(h.e.cur.Load(), GSOFrame{Buf: buf, SegSize: gsoMSS}) {
		t.Fatal("the frame was handed back to be cut")
	}
	var wr gsoWrite
	select {
	case wr = <-h.ports[portInt].gsoOut:
	case <-time.After(5 * time.Second):
		t.Fatal("nothing written whole on int within 5s")
	}
	if wr.mss != gsoMSS {
		t.Fatalf("written with segments of %d, want %d", wr.mss, gsoMSS)
	}
	if n := len(h.ports[portInt].drain()) + len(h.ports[portExt].drain()); n != 0 {
		t.Fatalf("%d frames written one by one besides", n)
	}
	if c := csumtest.OnesSum(wr.frame[ethHdrLen : ethHdrLen+20]); c != 0xffff {
		t.Fatalf("IPv4 header checksum does not verify (sum %#04x)", c)
	}
	if dst := [6]byte(wr.frame[0:6]); dst != [6]byte(memberMAC(0)) {
		t.Fatalf("destination MAC %x, want member 0's", dst)
	}
	segs := SegmentPartial(t, wr.frame, ethHdrLen+20+20, gsoMSS, ethHdrLen+20, 16)
	if len(segs) != 45 {
		t.Fatalf("%d segments, want 45", len(segs))
	}
	var got []byte
	var wire uint64
	for i, s := range segs {
		w := decodeWire(t, s) // fails unless every checksum verifies
		if !strings.HasPrefix(w.Src, selfInt.Addr().String()+":") || w.Dst != members[0].String()+":8080" {
			t.Fatalf("segment %d: %s > %s, want from the int self IP (SNAT automap) to %s:8080", i, w.Src, w.Dst, members[0])
		}
		if ttl := s[ethHdrLen+8]; ttl != 63 {
			t.Fatalf("segment %d: ttl %d, want 63", i, ttl)
		}
		got = append(got, s[ethHdrLen+40:]...)
		wire += uint64(len(s) - ethHdrLen)
	}
	if !bytes.Equal(got, payload) {
		t.Fatal("payload changed on the way")
	}
	if n := h.counter("port.ext.gso_whole_in"); n != 1 {
		t.Errorf("port.ext.gso_whole_in %d, want 1", n)
	}
	if n := h.counter("port.ext.rx_packets") - rx; n != 45 {
		t.Errorf("port.ext.rx_packets went up by %d, want 45 (wire segments)", n)
	}
	if n := h.counter("port.int.tx_packets") - tx; n != 45 {
		t.Errorf("port.int.tx_packets went up by %d, want 45 (wire segments)", n)
	}
	if n := vs.PktsIn.Load() - pkts; n != 45 {
		t.Errorf("vs_web packets in went up by %d, want 45", n)
	}
	if n := vs.BytesIn.Load() - byts; n != wire {
		t.Errorf("vs_web bytes in went up by %d, want %d (the segments' IPv4 lengths)", n, wire)
	}
	if d := h.drops(); len(d) != 0 {
		t.Errorf("drops: %v", d)
	}
}

// TestGSOWholeFrameCorrupt: the whole-frame path cannot verify a payload
// nobody has summed, but it must not make a wrong partial checksum right:
// with the sender's partial sum off by one, every segment the kernel cuts
// from lbx's output fails its TCP checksum.
func TestGSOWholeFrameCorrupt(t *testing.T) {
	h := gsoHarness(t)
	buf, _ := gsoFrame(t, 45, fACK)
	at := GSOHeadroom + ethHdrLen + 20 + 16
	binary.BigEndian.PutUint16(buf[at:], binary.BigEndian.Uint16(buf[at:])+1)
	if !h.w[portExt].gsoBatch(h.e.cur.Load(), GSOFrame{Buf: buf, SegSize: gsoMSS}) {
		t.Fatal("the frame was handed back to be cut")
	}
	wr := <-h.ports[portInt].gsoOut
	for i, s := range SegmentPartial(t, wr.frame, ethHdrLen+20+20, gsoMSS, ethHdrLen+20, 16) {
		ip := s[ethHdrLen:]
		tcp := ip[20:]
		ph := make([]byte, 12)
		copy(ph[0:8], ip[12:20])
		ph[9] = ProtoTCP
		binary.BigEndian.PutUint16(ph[10:12], uint16(len(tcp)))
		if csumtest.OnesSum(ph, tcp) == 0xffff {
			t.Fatalf("segment %d: TCP checksum verifies: a corrupt frame came out valid", i)
		}
	}
}

// TestGSOWholeFallback: each frame the whole-frame path must not take is
// handed back untouched (the port then cuts it), and the flow's state and
// the counters did not move.
func TestGSOWholeFallback(t *testing.T) {
	tests := []struct {
		name  string
		flags tcpFlags
		setup func(h *harness, buf []byte)
	}{
		{name: "egress port without GSO", flags: fACK, setup: func(h *harness, _ []byte) { h.ports[portInt].gso = false }},
		{name: "FIN", flags: tcpFlags{ack: true, fin: true}},
		{name: "no flow", flags: fACK, setup: func(h *harness, buf []byte) {
			sp := GSOHeadroom + ethHdrLen + 20
			binary.BigEndian.PutUint16(buf[sp:], 40001) // the partial sum does not cover ports
		}},
		{name: "next hop unknown", flags: fACK, setup: func(h *harness, _ []byte) {
			h.e.ports[portInt].neigh.Init()
		}},
		{name: "DSR", flags: fACK, setup: func(h *harness, _ []byte) {
			// A DSR virtual's flow, opened again from scratch.
			h2 := newHarness(t, l4Program(t, func(v *Virtual) { v.DSR = true }))
			*h = *h2
			for _, p := range h.ports {
				p.gso = true
			}
			h.learnAll()
			h.send(portExt, tcpFrame(ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}, 40000, 80, fSYN, ""))
			h.ports[portInt].drain()
		}},
		{name: "TTL 1", flags: fACK, setup: func(h *harness, buf []byte) {
			ip := buf[GSOHeadroom+ethHdrLen:]
			old := binary.BigEndian.Uint16(ip[8:10])
			ip[8] = 1
			binary.BigEndian.PutUint16(ip[10:12], csum.Adjust16(binary.BigEndian.Uint16(ip[10:12]), old, binary.BigEndian.Uint16(ip[8:10])))
		}},
		{name: "IPv4 length not the frame's", flags: fACK, setup: func(h *harness, buf []byte) {
			ip := buf[GSOHeadroom+ethHdrLen:]
			old := binary.BigEndian.Uint16(ip[2:4])
			binary.BigEndian.PutUint16(ip[2:4], 0)
			binary.BigEndian.PutUint16(ip[10:12], csum.Adjust16(binary.BigEndian.Uint16(ip[10:12]), old, 0))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := gsoHarness(t)
			buf, _ := gsoFrame(t, 45, tt.flags)
			if tt.setup != nil {
				tt.setup(h, buf)
			}
			orig := bytes.Clone(buf)
			before := h.e.Counters()
			// A second later: a flow the frame touched would be idle 0s.
			h.clock.Advance(time.Second)
			conns := h.e.flows.Connections(flowtable.ConnFilter{}, h.clock.Now())
			if h.w[portExt].gsoBatch(h.e.cur.Load(), GSOFrame{Buf: buf, SegSize: gsoMSS}) {
				t.Fatal("the frame was forwarded whole")
			}
			if !bytes.Equal(buf, orig) {
				t.Fatal("the frame handed back was changed")
			}
			for i, c := range h.e.Counters() {
				if c.Value != before[i].Value {
					t.Errorf("%s went from %d to %d", c.Name, before[i].Value, c.Value)
				}
			}
			after := h.e.flows.Connections(flowtable.ConnFilter{}, h.clock.Now())
			if len(after) != len(conns) || (len(after) > 0 && after[0] != conns[0]) {
				t.Errorf("flows changed: %+v, then %+v", conns, after)
			}
		})
	}
}

// TestGSOWholeAllocs: the whole-frame path allocates nothing per frame.
func TestGSOWholeAllocs(t *testing.T) {
	h := gsoHarness(t)
	h.ports[portInt].gsoOut = nil // count only: the fake's copy is not the engine's
	frame, _ := gsoFrame(t, 45, fACK)
	buf := make([]byte, len(frame))
	w := h.w[portExt]
	allocs := testing.AllocsPerRun(200, func() {
		copy(buf, frame)
		if !w.gsoBatch(h.e.cur.Load(), GSOFrame{Buf: buf, SegSize: gsoMSS}) {
			t.Fatal("the frame was handed back to be cut")
		}
	})
	if allocs != 0 {
		t.Errorf("the whole-frame path allocates %v times per frame, want 0", allocs)
	}
	if n := h.ports[portInt].gsoWrites.Load(); n != 201 {
		t.Errorf("%d frames written whole, want 201", n)
	}
}

// FuzzGSOWhole feeds arbitrary frames and segment sizes to the whole-frame
// path of a configured engine with a live flow and known neighbours: no
// panic, a frame handed back unchanged, and a frame taken whole written
// out once.
func FuzzGSOWhole(f *testing.F) {
	seed, _ := gsoFrame(f, 3, fACK)
	f.Add(seed[GSOHeadroom:], gsoMSS)
	f.Add(seed[GSOHeadroom:], 1)
	f.Add(seed[GSOHeadroom:], 0)
	f.Add(seed[GSOHeadroom:GSOHeadroom+60], gsoMSS)
	for _, s := range seedFrames() {
		f.Add(s, gsoMSS)
	}
	h := newHarness(f, testProgram(f, progOpts{snat: true}))
	for _, p := range h.ports {
		p.gso = true
	}
	h.learnAll()
	h.send(portExt, tcpFrame(ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}, 40000, 80, fSYN, ""))
	h.ports[portInt].drain()
	f.Fuzz(func(t *testing.T, b []byte, mss int) {
		if len(b) > 14+65535 {
			return
		}
		buf := append(make([]byte, GSOHeadroom), b...)
		orig := bytes.Clone(buf)
		writes := h.ports[portInt].gsoWrites.Load() + h.ports[portExt].gsoWrites.Load()
		took := h.w[portExt].gsoBatch(h.e.cur.Load(), GSOFrame{Buf: buf, SegSize: mss})
		n := h.ports[portInt].gsoWrites.Load() + h.ports[portExt].gsoWrites.Load() - writes
		switch {
		case !took && !bytes.Equal(buf, orig):
			t.Fatal("a frame handed back was changed")
		case !took && n != 0, took && n != 1:
			t.Fatalf("taken %v, %d frames written whole", took, n)
		}
		h.ports[portExt].drain()
		h.ports[portInt].drain()
	})
}
