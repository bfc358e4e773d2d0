package xdpfilter

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// ProgName is the filter's name in the kernel (bpftool prog shows it).
const ProgName = "lbx_farm"

// Buckets is the size of the bucket table (a power of two).
const Buckets = 256

// Bucket states in the filter's table.
const (
	// Not: another member's bucket: every packet is dropped.
	Not uint32 = 0
	// Own: this member's bucket: every packet is accepted, a TCP SYN's
	// flow recorded (for a later drain).
	Own uint32 = 1
	// Take: this member's bucket, which another member still drains: a
	// SYN is accepted and recorded, a TCP segment of a flow this member
	// recorded accepted, any other TCP segment dropped (it belongs to a
	// connection of the old owner). UDP is accepted.
	Take uint32 = 2
	// Drain: a bucket this member gave away but still has connections
	// in: segments of recorded flows are accepted, a SYN is dropped and
	// forgets its flow (a new connection of the new owner that reuses
	// the address and port), anything else dropped. UDP is dropped.
	Drain uint32 = 3
)

// Counters of the stats map (per CPU).
const (
	StatAccepted  = 0 // packets to the VIP on a rule port this member took
	StatDropped   = 1 // packets to the VIP on a rule port left to another member
	StatARP       = 2 // ARP requests for the VIP answered with the virtual MAC
	StatMalformed = 3 // packets to the VIP too short or with a bad header length
	numStats      = 4
)

// XDP verdicts.
const (
	xdpDrop = 1
	xdpPass = 2
	xdpTx   = 3
)

// Rule is one load-balanced port of the VIP.
type Rule struct {
	Proto  uint8 // 6 (TCP) or 17 (UDP)
	Port   uint16
	OnPort bool // hash address and source port (on_port), else the address (on_addr)
}

// Spec describes the filter of one member.
type Spec struct {
	VIP    netip.Addr       // IPv4
	VMAC   net.HardwareAddr // the virtual MAC ARP answers with
	OwnMAC net.HardwareAddr // the member's interface MAC: frames it accepts are readdressed to it, ARP replies sent from it
	Rules  []Rule
	Flows  int // capacity of the LRU map of recorded flows; 0: 65536
}

// native returns the native-endian word the program loads for b.
func native32(b []byte) int32 { return int32(binary.NativeEndian.Uint32(b)) }
func native16(b []byte) int16 { return int16(binary.NativeEndian.Uint16(b)) }

func be16native(v uint16) int32 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return int32(binary.NativeEndian.Uint16(b[:]))
}

// storeMAC stores mac at *(dst+off) as a word and a half.
func storeMAC(dst asm.Register, off int16, mac net.HardwareAddr) asm.Instructions {
	return asm.Instructions{
		asm.StoreImm(dst, off, int64(native32(mac[0:4])), asm.Word),
		asm.StoreImm(dst, off+4, int64(native16(mac[4:6])), asm.Half),
	}
}

// fmix32 emits MurmurHash3's finaliser on the low word of r, with tmp.
func fmix32(r, tmp asm.Register) asm.Instructions {
	c1, c2 := uint32(0x85ebca6b), uint32(0xc2b2ae35)
	return asm.Instructions{
		asm.Mov.Reg32(tmp, r), asm.RSh.Imm32(tmp, 16), asm.Xor.Reg32(r, tmp),
		asm.Mul.Imm32(r, int32(c1)),
		asm.Mov.Reg32(tmp, r), asm.RSh.Imm32(tmp, 13), asm.Xor.Reg32(r, tmp),
		asm.Mul.Imm32(r, int32(c2)),
		asm.Mov.Reg32(tmp, r), asm.RSh.Imm32(tmp, 16), asm.Xor.Reg32(r, tmp),
	}
}

// count emits: stats[idx]++ (per CPU), then return verdict. R1-R5 and R0
// are clobbered.
func count(stats *ebpf.Map, idx int32, verdict int32) asm.Instructions {
	return asm.Instructions{
		asm.StoreImm(asm.R10, -32, int64(idx), asm.Word),
		asm.LoadMapPtr(asm.R1, stats.FD()),
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, -32),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, fmt.Sprintf("ret%d", verdict)),
		asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord),
		asm.Add.Imm(asm.R1, 1),
		asm.StoreMem(asm.R0, 0, asm.R1, asm.DWord),
		asm.Ja.Label(fmt.Sprintf("ret%d", verdict)),
	}
}

// instructions builds the program. Registers: R6 the SYN/UDP mark, R7
// data, R8 data_end, R9 the layer-4 header.
//
// Stack: -4 bucket key, -16..-9 flow key {saddr, sport, dport}, -24 flow
// value, -32 stats key.
func instructions(s Spec, buckets, flows, stats *ebpf.Map) asm.Instructions {
	vip := s.VIP.As4()
	vipW := native32(vip[:])
	in := asm.Instructions{
		asm.LoadMem(asm.R7, asm.R1, 0, asm.Word), // data
		asm.LoadMem(asm.R8, asm.R1, 4, asm.Word), // data_end
		asm.Mov.Reg(asm.R2, asm.R7),
		asm.Add.Imm(asm.R2, 42),
		asm.JGT.Reg(asm.R2, asm.R8, "ret2"), // shorter than an ARP or UDP frame: not ours
		asm.LoadMem(asm.R2, asm.R7, 12, asm.Half),
		asm.JEq.Imm(asm.R2, be16native(0x0806), "arp"),
		asm.JNE.Imm(asm.R2, be16native(0x0800), "ret2"),
		asm.LoadMem(asm.R2, asm.R7, 30, asm.Word),
		asm.JNE.Imm32(asm.R2, vipW, "ret2"),
		// Non-first fragments carry no ports: they pass everywhere and
		// only the member that took the first fragment reassembles.
		asm.LoadMem(asm.R2, asm.R7, 20, asm.Half),
		asm.And.Imm(asm.R2, be16native(0x1fff)),
		asm.JNE.Imm(asm.R2, 0, "ret2"),
		asm.LoadMem(asm.R3, asm.R7, 14, asm.Byte),
		asm.And.Imm(asm.R3, 0x0f),
		asm.JLT.Imm(asm.R3, 5, "malformed"),
		asm.LSh.Imm(asm.R3, 2),
		asm.Mov.Reg(asm.R9, asm.R7),
		asm.Add.Imm(asm.R9, 14),
		asm.Add.Reg(asm.R9, asm.R3),
		asm.Mov.Reg(asm.R2, asm.R9),
		asm.Add.Imm(asm.R2, 8),
		asm.JGT.Reg(asm.R2, asm.R8, "malformed"),
		asm.LoadMem(asm.R4, asm.R7, 23, asm.Byte), // protocol
		asm.LoadMem(asm.R5, asm.R9, 2, asm.Half),  // destination port
	}
	for _, r := range s.Rules {
		next := fmt.Sprintf("rule_%d_%d", r.Proto, r.Port)
		target := "hash_addr"
		if r.OnPort {
			target = "hash_port"
		}
		in = append(in,
			asm.JNE.Imm(asm.R4, int32(r.Proto), next),
			asm.JEq.Imm(asm.R5, be16native(r.Port), target),
			asm.Mov.Imm(asm.R0, 0).WithSymbol(next),
		)
	}
	in = append(in, asm.Ja.Label("ret2")) // to the VIP but on no rule's port
	// Only the hash blocks a rule jumps to are emitted: the verifier
	// refuses unreachable instructions.
	var onAddr, onPort bool
	for _, r := range s.Rules {
		onAddr = onAddr || !r.OnPort
		onPort = onPort || r.OnPort
	}
	if onPort {
		// on_port: hash the address, then the source port into it.
		in = append(in, asm.LoadMem(asm.R1, asm.R7, 26, asm.Word).WithSymbol("hash_port"))
		in = append(in, fmix32(asm.R1, asm.R2)...)
		in = append(in, asm.LoadMem(asm.R2, asm.R9, 0, asm.Half), asm.Xor.Reg32(asm.R1, asm.R2))
		in = append(in, fmix32(asm.R1, asm.R2)...)
		if onAddr {
			in = append(in, asm.Ja.Label("bucket"))
		}
	}
	if onAddr {
		in = append(in, asm.LoadMem(asm.R1, asm.R7, 26, asm.Word).WithSymbol("hash_addr"))
		in = append(in, fmix32(asm.R1, asm.R2)...)
	}
	in = append(in,
		asm.And.Imm(asm.R1, Buckets-1).WithSymbol("bucket"),
		asm.StoreMem(asm.R10, -4, asm.R1, asm.Word),
		// flow key
		asm.LoadMem(asm.R2, asm.R7, 26, asm.Word),
		asm.StoreMem(asm.R10, -16, asm.R2, asm.Word),
		asm.LoadMem(asm.R2, asm.R9, 0, asm.Half),
		asm.StoreMem(asm.R10, -12, asm.R2, asm.Half),
		asm.StoreMem(asm.R10, -10, asm.R5, asm.Half),
		asm.StoreImm(asm.R10, -24, 1, asm.Word),
		// R6: 2 for UDP, 1 for a TCP SYN without ACK, 0 for other TCP.
		asm.Mov.Imm(asm.R6, 2),
		asm.JNE.Imm(asm.R4, 6, "lookup"),
		asm.Mov.Reg(asm.R2, asm.R9),
		asm.Add.Imm(asm.R2, 14),
		asm.JGT.Reg(asm.R2, asm.R8, "malformed"),
		asm.LoadMem(asm.R2, asm.R9, 13, asm.Byte),
		asm.And.Imm(asm.R2, 0x12),
		asm.Mov.Imm(asm.R6, 0),
		asm.JNE.Imm(asm.R2, 0x02, "lookup"),
		asm.Mov.Imm(asm.R6, 1),
		asm.LoadMapPtr(asm.R1, buckets.FD()).WithSymbol("lookup"),
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, -4),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "drop"),
		asm.LoadMem(asm.R3, asm.R0, 0, asm.Word),
		asm.JEq.Imm(asm.R3, int32(Own), "own"),
		asm.JEq.Imm(asm.R3, int32(Take), "take"),
		asm.JEq.Imm(asm.R3, int32(Drain), "drain"),
		asm.Ja.Label("drop"),
		// Own: record a SYN's flow, accept.
		asm.JNE.Imm(asm.R6, 1, "accept").WithSymbol("own"),
		asm.Ja.Label("record"),
		// Take: UDP accepted; SYN recorded and accepted; other TCP only
		// when recorded.
		asm.JEq.Imm(asm.R6, 2, "accept").WithSymbol("take"),
		asm.JEq.Imm(asm.R6, 1, "record"),
		asm.Ja.Label("known"),
		// Drain: UDP dropped; SYN forgets the flow, dropped; other TCP
		// accepted when recorded.
		asm.JEq.Imm(asm.R6, 2, "drop").WithSymbol("drain"),
		asm.JNE.Imm(asm.R6, 1, "known"),
		asm.LoadMapPtr(asm.R1, flows.FD()),
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, -16),
		asm.FnMapDeleteElem.Call(),
		asm.Ja.Label("drop"),
		asm.LoadMapPtr(asm.R1, flows.FD()).WithSymbol("known"),
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, -16),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "drop"),
		asm.Ja.Label("accept"),
		asm.LoadMapPtr(asm.R1, flows.FD()).WithSymbol("record"),
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, -16),
		asm.Mov.Reg(asm.R3, asm.R10),
		asm.Add.Imm(asm.R3, -24),
		asm.Mov.Imm(asm.R4, 0), // BPF_ANY
		asm.FnMapUpdateElem.Call(),
		// Accept: the frame came to the virtual MAC; readdress it to
		// the interface so the kernel takes it as its own.
		asm.Mov.Imm(asm.R0, 0).WithSymbol("accept"),
	)
	in = append(in, storeMAC(asm.R7, 0, s.OwnMAC)...)
	in = append(in, count(stats, StatAccepted, xdpPass)...)
	in = append(in, asm.Mov.Imm(asm.R0, 0).WithSymbol("drop"))
	in = append(in, count(stats, StatDropped, xdpDrop)...)
	in = append(in, asm.Mov.Imm(asm.R0, 0).WithSymbol("malformed"))
	in = append(in, count(stats, StatMalformed, xdpDrop)...)

	// ARP: a request for the VIP is answered here with the virtual MAC
	// as sender hardware address, sent from the interface's own MAC (so
	// no switch learns the virtual MAC); a request whose sender is the
	// VIP (another member's gratuitous ARP) is dropped; the rest passes.
	vmac := s.VMAC
	in = append(in,
		asm.LoadMem(asm.R2, asm.R7, 16, asm.Half).WithSymbol("arp"),
		asm.JNE.Imm(asm.R2, be16native(0x0800), "ret2"),
		asm.LoadMem(asm.R2, asm.R7, 18, asm.Half),
		asm.JNE.Imm(asm.R2, int32(native16([]byte{6, 4})), "ret2"),
		asm.LoadMem(asm.R2, asm.R7, 20, asm.Half),
		asm.JNE.Imm(asm.R2, be16native(1), "ret2"),
		asm.LoadMem(asm.R4, asm.R7, 28, asm.Word), // spa
		asm.JEq.Imm32(asm.R4, vipW, "ret1"),
		asm.LoadMem(asm.R2, asm.R7, 38, asm.Word), // tpa
		asm.JNE.Imm32(asm.R2, vipW, "ret2"),
		asm.LoadMem(asm.R2, asm.R7, 22, asm.Word), // sha
		asm.LoadMem(asm.R3, asm.R7, 26, asm.Half),
		asm.StoreMem(asm.R7, 0, asm.R2, asm.Word), // eth dst = sha
		asm.StoreMem(asm.R7, 4, asm.R3, asm.Half),
		asm.StoreMem(asm.R7, 32, asm.R2, asm.Word), // tha = sha
		asm.StoreMem(asm.R7, 36, asm.R3, asm.Half),
		asm.StoreMem(asm.R7, 38, asm.R4, asm.Word), // tpa = spa
		asm.StoreImm(asm.R7, 28, int64(vipW), asm.Word),
		asm.StoreImm(asm.R7, 20, int64(be16native(2)), asm.Half),
	)
	in = append(in, storeMAC(asm.R7, 6, s.OwnMAC)...)
	in = append(in, storeMAC(asm.R7, 22, vmac)...)
	in = append(in, count(stats, StatARP, xdpTx)...)
	in = append(in,
		asm.Mov.Imm(asm.R0, xdpDrop).WithSymbol("ret1"),
		asm.Return(),
		asm.Mov.Imm(asm.R0, xdpPass).WithSymbol("ret2"),
		asm.Return(),
		asm.Mov.Imm(asm.R0, xdpTx).WithSymbol("ret3"),
		asm.Return(),
	)
	return in
}
