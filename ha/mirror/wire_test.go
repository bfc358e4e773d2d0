package mirror

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"lbx/dataplane"
	"lbx/dataplane/flowtable"
	"lbx/pools"
)

func sampleFlows() []dataplane.MirrorFlow {
	return []dataplane.MirrorFlow{
		{Fwd: dataplane.FlowKey{Src: 0xc6120a0a, Dst: 0xc6120164, Sport: 40001, Dport: 80, Proto: 6},
			Rev: dataplane.FlowKey{Src: 0xc612020b, Dst: 0xc6120202, Sport: 8080, Dport: 40001, Proto: 6},
			Nxt: [2]uint32{101, 901}, Egress: [2]int16{1, 0}, State: 3, Seqd: 3, Open: true, Idle: 1500 * int64(time.Millisecond), Virtual: "/Common/vs_http"},
		{Fwd: dataplane.FlowKey{Src: 1, Dst: 2, Sport: 3, Dport: 4, Proto: 17},
			Rev: dataplane.FlowKey{Src: 2, Dst: 1, Sport: 4, Dport: 3, Proto: 17}, Hop: 9, DSR: true, Virtual: "/Common/vs_dns"},
		{Fwd: dataplane.FlowKey{Src: 5, Sport: 65, Proto: 6}, Rev: dataplane.FlowKey{Dport: 1, Proto: 6}, State: 5, Fins: 3, Virtual: "/Common/vs_http"},
	}
}

func samplePersist() []pools.PersistEntry {
	return []pools.PersistEntry{
		{Key: pools.SourceAddrKey(7, 8, netip.MustParseAddr("198.18.0.10"), 24),
			Rec: pools.PersistRecord{Pool: "/Common/web", Member: "/Common/198.18.2.11:80", Addr: netip.MustParseAddr("198.18.2.11"), Port: 80, Virtual: "/Common/vs_http"},
			Age: 2 * time.Second, TTL: 180 * time.Second},
		{Key: pools.HashKey(1, 0, 0xc61201), Rec: pools.PersistRecord{Pool: "/Common/p", Addr: netip.MustParseAddr("10.0.0.1"), Virtual: "/Common/v"}},
	}
}

// Every message decodes to what was encoded, through the stream framing.
func TestWireRoundTrip(t *testing.T) {
	var e encoder
	var stream bytes.Buffer
	stream.Write(e.hello(&Hello{Unit: "lbx1", Ports: []string{"ext", "int"}}))
	b, n := e.flows(sampleFlows(), map[string]uint16{})
	if n != 3 {
		t.Fatalf("encoded %d flows", n)
	}
	stream.Write(b)
	b, _ = e.removed([]dataplane.FlowKey{sampleFlows()[0].Fwd})
	stream.Write(b)
	b, _ = e.persist(samplePersist())
	stream.Write(b)

	var buf []byte
	typ, p, buf, err := readMessage(&stream, buf)
	if err != nil || typ != msgHello {
		t.Fatalf("hello: %d %v", typ, err)
	}
	if h, err := decodeHello(p); err != nil || h.Unit != "lbx1" || !reflect.DeepEqual(h.Ports, []string{"ext", "int"}) {
		t.Fatalf("hello %+v %v", h, err)
	}
	typ, p, buf, err = readMessage(&stream, buf)
	if err != nil || typ != msgFlows {
		t.Fatalf("flows: %d %v", typ, err)
	}
	if fs, err := decodeFlows(p, nil); err != nil || !reflect.DeepEqual(fs, sampleFlows()) {
		t.Fatalf("flows: %v\n got %+v\nwant %+v", err, fs, sampleFlows())
	}
	typ, p, buf, err = readMessage(&stream, buf)
	if ks, err2 := decodeRemoved(p, nil); err != nil || err2 != nil || typ != msgRemoved || len(ks) != 1 || ks[0] != sampleFlows()[0].Fwd {
		t.Fatalf("removed: %d %v %v %v", typ, err, err2, ks)
	}
	typ, p, _, err = readMessage(&stream, buf)
	if rs, err2 := decodePersist(p, nil); err != nil || err2 != nil || typ != msgPersist || !reflect.DeepEqual(rs, samplePersist()) {
		t.Fatalf("persist: %d %v %v\n got %+v\nwant %+v", typ, err, err2, rs, samplePersist())
	}
}

// Malformed payloads are refused with ErrMalformed, saying what is wrong.
func TestWireMalformed(t *testing.T) {
	var e encoder
	good, _ := e.flows(sampleFlows(), map[string]uint16{})
	good = bytes.Clone(good[5:])
	for _, c := range []struct {
		name string
		err  error
	}{
		{"truncated flows", func() error { _, err := decodeFlows(good[:len(good)-1], nil); return err }()},
		{"trailing bytes", func() error { _, err := decodeFlows(append(bytes.Clone(good), 0), nil); return err }()},
		{"huge count", func() error { _, err := decodeRemoved([]byte{0xff, 0xff, 0xff, 0xff}, nil); return err }()},
		{"bad version", func() error { _, err := decodeHello([]byte{9, 0, 0}); return err }()},
		{"bad address length", func() error {
			_, err := decodePersist([]byte{0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 1, 2, 3, 4, 5, 6, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, nil)
			return err
		}()},
	} {
		if !errors.Is(c.err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", c.name, c.err)
		}
	}
	bad := bytes.Clone(good)
	bad[len(bad)-1] = 7 // name index 7 of 2 names
	if _, err := decodeFlows(bad, nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("name index out of range: %v", err)
	}
	if _, _, _, err := readMessage(bytes.NewReader([]byte{0xff, 0, 0, 0, 1}), nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("oversized message: %v", err)
	}
}

// FuzzDecode: no input panics a decoder, and what decodes re-encodes to
// something that decodes to the same.
func FuzzDecode(f *testing.F) {
	var e encoder
	f.Add(bytes.Clone(e.hello(&Hello{Unit: "u", Ports: []string{"a"}})))
	b, _ := e.flows(sampleFlows(), map[string]uint16{})
	f.Add(bytes.Clone(b))
	b, _ = e.removed([]dataplane.FlowKey{{Src: 1}})
	f.Add(bytes.Clone(b))
	b, _ = e.persist(samplePersist())
	f.Add(bytes.Clone(b))
	f.Add([]byte{0, 0, 0, 1, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		typ, p, _, err := readMessage(bytes.NewReader(data), nil)
		if err != nil {
			return
		}
		var e encoder
		switch typ {
		case msgHello:
			if h, err := decodeHello(p); err == nil {
				h2, err := decodeHello(e.hello(&h)[5:])
				if err != nil || h2.Unit != h.Unit || len(h2.Ports) != len(h.Ports) {
					t.Fatalf("hello re-decodes to %+v %v, want %+v", h2, err, h)
				}
			}
		case msgFlows:
			if fs, err := decodeFlows(p, nil); err == nil && len(fs) > 0 {
				b, _ := e.flows(fs, map[string]uint16{})
				fs2, err := decodeFlows(b[5:], nil)
				if err != nil || !reflect.DeepEqual(fs, fs2) {
					t.Fatalf("flows re-decode: %v", err)
				}
			}
		case msgRemoved:
			_, _ = decodeRemoved(p, nil)
		case msgPersist:
			if rs, err := decodePersist(p, nil); err == nil && len(rs) > 0 {
				b, _ := e.persist(rs)
				rs2, err := decodePersist(b[5:], nil)
				if err != nil || len(rs2) != len(rs) {
					t.Fatalf("persist re-decode: %v", err)
				}
			}
		}
	})
}

// BenchmarkFlowUpdates is the mirroring pipeline for one flow update, both
// ends on one goroutine: the active unit's scan of its table and encoding,
// the standby's decoding and install into its table. 1e9 / ns/op is the
// flow updates a second one core sustains for the whole pipeline.
func BenchmarkFlowUpdates(b *testing.B) {
	const n = 1 << 16
	epoch := time.Now()
	a := flowtable.New(2*n, flowtable.Timeouts{}, epoch)
	dst := flowtable.New(2*n, flowtable.Timeouts{}, epoch)
	var vs flowtable.VirtualStats
	vs.Name = "/Common/vs_http"
	for i := range n {
		k := flowtable.Key{Src: 0xc6120000 + uint32(i>>12), Dst: 0xc6120164, Sport: uint16(1024 + i&4095), Dport: 80, Proto: 6}
		if _, r := a.Insert(&flowtable.NewFlow{Fwd: k, Member: 0xc612020b, MemberPort: 8080, Egress: [2]int{1, 0}, VS: &vs, Mirror: true}, 0, flowtable.Seg{Flags: 2}); r != flowtable.OK {
			b.Fatal(r)
		}
	}
	var e encoder
	names := map[string]uint16{}
	var flows, got []dataplane.MirrorFlow
	b.ReportAllocs()
	updates := 0
	for b.Loop() {
		flows = flows[:0]
		for i := range flowtable.Shards {
			flows = a.ScanMirror(i, 1, flows)
		}
		for fs := flows; len(fs) > 0; {
			msg, k := e.flows(fs, names)
			fs = fs[k:]
			var err error
			if got, err = decodeFlows(msg[5:], got[:0]); err != nil {
				b.Fatal(err)
			}
			for j := range got {
				if r, err := dst.InstallMirror(&got[j], &vs, nil, nil, 1); r != flowtable.OK || err != nil {
					b.Fatal(r, err)
				}
			}
		}
		updates += len(flows)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(updates), "ns/update")
	b.ReportMetric(float64(updates)/b.Elapsed().Seconds(), "updates/s")
}
