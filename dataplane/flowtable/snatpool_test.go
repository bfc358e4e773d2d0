package flowtable

import (
	"net/netip"
	"testing"
)

var poolAddrs = []netip.Addr{netip.MustParseAddr("198.18.1.200"), netip.MustParseAddr("198.18.1.201")}

// TestSNATPool64kFlows: one translation address carries more than 64k
// concurrent flows, its ports allocated per member address and port; the
// pool's other address takes over when the first's ports towards the
// members run out, and past both the drop is named.
func TestSNATPool64kFlows(t *testing.T) {
	ft := New(200_000, Timeouts{}, testTime)
	pool := []uint32{u32(poolAddrs[0])}
	perMember := map[uint32]map[uint16]bool{}
	const flows = 70_000
	for i := range flows {
		k := Key{Src: cIP + uint32(i/30000), Dst: vIP, Sport: uint16(1024 + i%30000), Dport: 80, Proto: protoUDP}
		member := mIP + uint32(i%3)
		hit, r := ft.Insert(&NewFlow{Fwd: k, Member: member, MemberPort: 8080, SNATs: pool, Egress: [2]int{portInt, portExt}}, 0, Seg{})
		if r != OK {
			t.Fatalf("flow %d: insert: %v", i, r)
		}
		if hit.Src != pool[0] {
			t.Fatalf("flow %d: source %s, want %s", i, addr4(hit.Src), poolAddrs[0])
		}
		if perMember[member] == nil {
			perMember[member] = map[uint16]bool{}
		}
		if perMember[member][hit.Sport] {
			t.Fatalf("flow %d: port %d given twice towards %s", i, hit.Sport, addr4(member))
		}
		perMember[member][hit.Sport] = true
	}
	if ft.Len() != flows {
		t.Errorf("Len = %d, want %d", ft.Len(), flows)
	}
	// Every port of one residue towards one member, from many clients:
	// the second address takes over, then the drop.
	ft = New(flowShards*4*(65536-snatPortMin)/flowShards, Timeouts{}, testTime)
	pool = []uint32{u32(poolAddrs[0]), u32(poolAddrs[1])}
	used := map[uint32]int{}
	var last Refusal
	for i := range 4 * (65536 - snatPortMin) / flowShards {
		k := Key{Src: cIP + uint32(i), Dst: vIP, Sport: 40000, Dport: 80, Proto: protoUDP}
		var hit Hit
		if hit, last = ft.Insert(&NewFlow{Fwd: k, Member: mIP, MemberPort: 8080, SNATs: pool, Egress: [2]int{portInt, portExt}}, 0, Seg{}); last != OK {
			break
		}
		used[hit.Src]++
	}
	if last != SNATPortsExhausted {
		t.Errorf("last insert = %v, want %v", last, SNATPortsExhausted)
	}
	if len(used) != 2 {
		t.Errorf("flows by translation address %v: want both addresses used", used)
	}
}
