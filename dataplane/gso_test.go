package dataplane_test

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"

	"lbx/dataplane"
	"lbx/dataplane/csum"
	"lbx/dataplane/tap"
)

// The TAP offload's round trip through the engine's NAT. It is an external
// test because dataplane/tap imports dataplane; the NAT and the checksum
// checks come from export_test.go.

const (
	gsoEthLen  = 14
	gsoHdrLen  = gsoEthLen + 20 + 32 // Ethernet, IPv4, TCP with timestamps
	vnetHdrLen = 10                  // struct virtio_net_hdr
	tcpFIN     = 0x01
	tcpPSH     = 0x08
	tcpACK     = 0x10
)

// gsoRead is what the kernel hands a TAP with TSO4 for a TCP packet of
// payload: a virtio-net header (GSO_TCPV4, NEEDS_CSUM, gso_size mss, in
// the host's byte order) and an Ethernet/IPv4/TCP frame of up to 64 KB
// whose TCP checksum holds only the pseudo-header's sum (not
// complemented). The TCP header carries the timestamp option, like
// Linux's.
func gsoRead(src, dst netip.Addr, sport, dport uint16, seq uint32, mss int, payload []byte) []byte {
	b := make([]byte, vnetHdrLen+gsoHdrLen+len(payload))
	b[0] = 1 // VIRTIO_NET_HDR_F_NEEDS_CSUM
	b[1] = 1 // VIRTIO_NET_HDR_GSO_TCPV4
	binary.NativeEndian.PutUint16(b[2:4], gsoHdrLen)
	binary.NativeEndian.PutUint16(b[4:6], uint16(mss))
	binary.NativeEndian.PutUint16(b[6:8], gsoEthLen+20)
	binary.NativeEndian.PutUint16(b[8:10], 16)
	f := b[vnetHdrLen:]
	copy(f[0:6], []byte{2, 0, 0, 0, 0, 0x11})
	copy(f[6:12], []byte{2, 0, 0, 0, 0, 0x22})
	binary.BigEndian.PutUint16(f[12:14], 0x0800)
	ip := f[gsoEthLen:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:4], uint16(len(ip)))
	binary.BigEndian.PutUint16(ip[4:6], 7)
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
	tcp[13] = tcpACK | tcpPSH
	binary.BigEndian.PutUint16(tcp[14:16], 502)
	copy(tcp[20:32], []byte{1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 7})
	copy(tcp[32:], payload)
	binary.BigEndian.PutUint16(tcp[16:18], ^csum.Sum(pseudoHeader(ip, len(tcp)), 0))
	return b
}

// pseudoHeader is the IPv4 pseudo-header of a TCP segment of l4len bytes.
func pseudoHeader(ip []byte, l4len int) []byte {
	ph := make([]byte, 12)
	copy(ph[0:8], ip[12:20])
	ph[9] = dataplane.ProtoTCP
	binary.BigEndian.PutUint16(ph[10:12], uint16(l4len))
	return ph
}

// kernelSegment segments what lbx writes to a TAP as Linux does
// (dataplane.SegmentPartial), reading the virtio-net header as the kernel
// does.
func kernelSegment(t testing.TB, write []byte) [][]byte {
	t.Helper()
	if len(write) < vnetHdrLen || write[0] != 1 || write[1] != 1 {
		t.Fatalf("write is no TCPv4 GSO frame with a partial checksum: header % x", write[:min(len(write), vnetHdrLen)])
	}
	hl := int(binary.NativeEndian.Uint16(write[2:4]))
	mss := int(binary.NativeEndian.Uint16(write[4:6]))
	start := int(binary.NativeEndian.Uint16(write[6:8]))
	off := int(binary.NativeEndian.Uint16(write[8:10]))
	return dataplane.SegmentPartial(t, write[vnetHdrLen:], hl, mss, start, off)
}

// TestGSOThroughNAT follows a 64 KB GSO frame from the client through the
// TAP port's cut (tap.Cut), the engine's NAT (per segment) and the port's
// join (tap.Join): the kernel's segmentation of what lbx writes gives
// segments whose checksums verify, carrying the translated addresses and
// ports and the original payload.
func TestGSOThroughNAT(t *testing.T) {
	var (
		client = netip.MustParseAddr("198.18.1.10")
		vip    = netip.MustParseAddr("198.18.0.100")
		member = netip.MustParseAddr("10.10.0.11")
		snat   = netip.MustParseAddr("10.10.0.1")
	)
	r := rand.New(rand.NewPCG(7, 8))
	const mss = 1448
	payload := make([]byte, 45*mss-100)
	for i := range payload {
		payload[i] = byte(r.Uint32())
	}
	read := gsoRead(client, vip, 40000, 80, 1<<31, mss, payload)
	orig := append([]byte(nil), read...)
	bufs := make([][]byte, 64)
	for i := range bufs {
		bufs[i] = make([]byte, 2048) // the engine's receive buffers
	}
	sizes := make([]int, len(bufs))
	n := tap.Cut(read, bufs, sizes)
	if n != 45 {
		t.Fatalf("cut into %d segments, want 45", n)
	}
	segs := make([][]byte, n)
	for i := range segs {
		segs[i] = bufs[i][:sizes[i]]
		dataplane.VerifyChecksums(t, segs[i])
		dataplane.NATSegment(t, segs[i], snat, member, 61000, 8080)
	}
	joined, out := tap.Join(segs, make([]byte, tap.BufLen))
	if joined != n {
		t.Fatalf("joined %d of %d segments", joined, n)
	}
	if !bytes.Equal(out[:vnetHdrLen], orig[:vnetHdrLen]) {
		t.Fatalf("virtio-net header % x, want % x", out[:vnetHdrLen], orig[:vnetHdrLen])
	}
	frame := out[vnetHdrLen:]
	if len(frame) != len(orig)-vnetHdrLen {
		t.Fatalf("joined frame %d bytes, want %d", len(frame), len(orig)-vnetHdrLen)
	}
	if c := csum.Sum(frame[gsoEthLen:gsoEthLen+20], 0); c != 0 {
		t.Fatalf("ip header checksum does not verify (%#04x)", c)
	}
	var got []byte
	for i, s := range kernelSegment(t, out) {
		dataplane.VerifyChecksums(t, s)
		src, dst := dataplane.WireEndpoints(t, s)
		if src != "10.10.0.1:61000" || dst != "10.10.0.11:8080" {
			t.Fatalf("segment %d: %s > %s, want translated", i, src, dst)
		}
		if ttl := s[gsoEthLen+8]; ttl != 63 {
			t.Fatalf("segment %d: ttl %d, want 63", i, ttl)
		}
		got = append(got, s[gsoHdrLen:]...)
	}
	if !bytes.Equal(got, payload) {
		t.Fatal("payload changed on the way")
	}
}
