package flowtable

import (
	"testing"
	"time"

	"lbx/pools"
)

// A mirrored SNAT flow goes from one table to another through DrainMirror
// and InstallMirror: both keys, so the peer translates its packets the
// same way and its SNAT port is reserved there; its TCP state and idle
// deadline; its counts. A state change is queued once however often the
// flow changes before the drain; an unmirrored flow is never queued; a
// removal reaches the peer.
func TestMirrorDrainInstall(t *testing.T) {
	a := New(4096, Timeouts{}, testTime)
	b := New(4096, Timeouts{}, testTime)
	a.EnableMirror()
	snat := u32(selfInt.Addr())
	var vsA, vsB VirtualStats
	var msB pools.MemberStats
	k := Key{Src: cIP, Dst: vIP, Sport: 40001, Dport: 80, Proto: protoTCP}
	nf := NewFlow{Fwd: k, Member: mIP, MemberPort: 8080, SNAT: snat, Egress: [2]int{portInt, portExt}, VS: &vsA, Mirror: true}
	hit, r := a.Insert(&nf, 0, Seg{Flags: tcpSYN, Seq: 100, N: 1})
	if r != OK {
		t.Fatal(r)
	}
	// Unmirrored: never queued.
	other := nf
	other.Fwd.Sport, other.Mirror = 40002, false
	if _, r := a.Insert(&other, 0, Seg{Flags: tcpSYN, Seq: 5, N: 1}); r != OK {
		t.Fatal(r)
	}
	rev := Key{Src: mIP, Dst: snat, Sport: 8080, Dport: hit.Sport, Proto: protoTCP}
	a.Lookup(rev, 1, Seg{Flags: tcpSYN | tcpACK, Seq: 900, Ack: 101, N: 1})
	a.Lookup(k, 2, Seg{Flags: tcpACK, Seq: 101, Ack: 901})
	if st := a.MirrorStats(); st.Queued != 1 {
		t.Fatalf("queued %d after a flow was made and changed state twice, want 1", st.Queued)
	}
	now := int64(3 * time.Second)
	flows, removed := a.DrainMirror(now, nil, nil)
	if len(flows) != 1 || len(removed) != 0 {
		t.Fatalf("drain: %d flows, %d removals, want 1 and 0", len(flows), len(removed))
	}
	m := flows[0]
	if m.Fwd != k || m.Rev != rev || m.State != uint8(stateEstablished) || !m.Open || m.Idle != now-2 || m.Nxt != [2]uint32{101, 901} {
		t.Fatalf("record %+v", m)
	}
	if f2, _ := a.DrainMirror(now, nil, nil); len(f2) != 0 {
		t.Fatalf("second drain: %d flows, want none", len(f2))
	}
	if r, err := b.InstallMirror(&m, &vsB, &msB, nil, now); r != OK || err != nil {
		t.Fatalf("install: %v %v", r, err)
	}
	if vsB.CurConns.Load() != 1 || msB.CurConns.Load() != 1 {
		t.Errorf("peer counts: virtual %d, member %d current connections, want 1 and 1", vsB.CurConns.Load(), msB.CurConns.Load())
	}
	// Installed again (the periodic refresh): the same entry, counted once.
	m.Idle = 0
	if r, err := b.InstallMirror(&m, &vsB, &msB, nil, now); r != OK || err != nil || b.Len() != 1 || vsB.CurConns.Load() != 1 {
		t.Fatalf("reinstall: %v %v, %d flows, %d current", r, err, b.Len(), vsB.CurConns.Load())
	}
	// The peer translates both directions as the active unit did.
	h, ok := b.Lookup(rev, now+1, Seg{Flags: tcpACK, Seq: 901, Ack: 101})
	if !ok || h.Dst != cIP || h.Dport != 40001 || h.Src != vIP || h.Sport != 80 || h.Egress != portExt || h.VS != &vsB {
		t.Fatalf("peer reverse lookup: %+v %v", h, ok)
	}
	h, ok = b.Lookup(k, now+1, Seg{Flags: tcpACK, Seq: 101, Ack: 901})
	if !ok || h.Dst != mIP || h.Dport != 8080 || h.Src != snat || h.Sport != hit.Sport {
		t.Fatalf("peer forward lookup: %+v %v", h, ok)
	}
	// Its SNAT port is reserved there: another client with the same port
	// towards the same member gets another.
	k2 := Key{Src: cIP + 1, Dst: vIP, Sport: 40001, Dport: 80, Proto: protoTCP}
	h2, r := b.Insert(&NewFlow{Fwd: k2, Member: mIP, MemberPort: 8080, SNAT: snat, Egress: [2]int{portInt, portExt}}, now, Seg{Flags: tcpSYN})
	if r != OK || h2.Sport == hit.Sport {
		t.Errorf("a new flow on the peer got SNAT port %d (%v), the mirrored flow holds %d", h2.Sport, r, hit.Sport)
	}
	// Established: its idle timeout is 300 s from its last packet (the
	// half-open one ends after 10 s).
	if b.Sweep(testTime.Add(time.Duration(now) + 299*time.Second)); b.Len() != 1 {
		t.Errorf("%d flows after 299 s, want the mirrored one alone", b.Len())
	}
	// A removal on the active unit removes the peer's copy.
	a.RemoveIf(func(string) bool { return true })
	_, removed = a.DrainMirror(now, nil, nil)
	if len(removed) != 1 || removed[0] != k {
		t.Fatalf("removals %v, want the mirrored flow's key only", removed)
	}
	if !b.RemoveMirror(removed[0], now) || b.Len() != 0 || vsB.CurConns.Load() != 0 {
		t.Errorf("after the removal: %d flows, %d current connections", b.Len(), vsB.CurConns.Load())
	}
}

// ScanMirror finds mirrored flows made before EnableMirror and skips the
// others; InstallMirror refuses records that cannot be a flow, naming
// why, and installs nothing for them.
func TestMirrorScanAndRefusals(t *testing.T) {
	a := New(4096, Timeouts{}, testTime)
	for i := range 100 {
		k := Key{Src: cIP, Dst: vIP, Sport: uint16(2000 + i), Dport: 53, Proto: protoUDP}
		if _, r := a.Insert(&NewFlow{Fwd: k, Member: mIP, MemberPort: 53, Egress: [2]int{portInt, portExt}, Mirror: i%2 == 0}, 0, Seg{}); r != OK {
			t.Fatal(r)
		}
	}
	a.EnableMirror()
	var flows []MirrorFlow
	for i := range Shards {
		flows = a.ScanMirror(i, 1, flows)
	}
	if len(flows) != 50 {
		t.Fatalf("scan found %d mirrored flows, want 50", len(flows))
	}
	b := New(4096, Timeouts{}, testTime)
	for _, bad := range []MirrorFlow{
		{Fwd: Key{Proto: protoUDP, Sport: 1}, Rev: Key{Proto: protoTCP, Dport: 1}},
		{Fwd: Key{Proto: 1, Sport: 1}, Rev: Key{Proto: 1, Dport: 1}},
		{Fwd: Key{Proto: protoUDP, Sport: 1}, Rev: Key{Proto: protoUDP, Dport: 2}},
		{Fwd: Key{Proto: protoTCP, Sport: 1}, Rev: Key{Proto: protoTCP, Dport: 1}, State: MaxState + 1},
		{Fwd: Key{Proto: protoTCP, Sport: 1}, Rev: Key{Proto: protoTCP, Dport: 1}, State: uint8(stateUDP)},
	} {
		if _, err := b.InstallMirror(&bad, nil, nil, nil, 0); err == nil {
			t.Errorf("%+v installed", bad)
		}
	}
	if b.Len() != 0 {
		t.Errorf("%d flows after refused installs", b.Len())
	}
}

// BenchmarkConnectionMirror is BenchmarkConnectionClose's connection on
// one goroutine, without and with mirroring; with it, the mirror
// goroutine's drain runs every 256 connections in the same loop, so ns/op
// is the hot path's cost plus the drain's share. No allocation either way.
func BenchmarkConnectionMirror(b *testing.B) {
	for _, mirror := range []bool{false, true} {
		b.Run(map[bool]string{false: "off", true: "on"}[mirror], func(b *testing.B) {
			ft := New(65536, Timeouts{}, testTime)
			ft.EnableMirror()
			flows, removed := make([]MirrorFlow, 0, 4096), make([]Key, 0, 4096)
			now := int64(0)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				nf := NewFlow{
					Fwd:    Key{Src: cIP + uint32(i/28232), Dst: vIP, Sport: uint16(32768 + i%28232), Dport: 80, Proto: protoTCP},
					Member: mIP + uint32(i%4), MemberPort: 8080, Egress: [2]int{portInt, portExt}, Mirror: mirror,
				}
				rev := Key{Src: nf.Member, Sport: nf.MemberPort, Dst: nf.Fwd.Src, Dport: nf.Fwd.Sport, Proto: protoTCP}
				if _, why := ft.Insert(&nf, now, flags(tcpSYN)); why != OK {
					b.Fatalf("refused: %v", why)
				}
				ft.Lookup(rev, now, flags(tcpSYN|tcpACK))
				ft.Lookup(nf.Fwd, now, flags(tcpACK))
				ft.Lookup(nf.Fwd, now, flags(tcpFIN|tcpACK))
				ft.Lookup(rev, now, flags(tcpFIN|tcpACK))
				ft.Lookup(nf.Fwd, now, flags(tcpACK))
				now += int64(10 * time.Microsecond)
				if i%256 == 255 {
					flows, removed = ft.DrainMirror(now, flows[:0], removed[:0])
				}
			}
		})
	}
}
