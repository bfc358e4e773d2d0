package xdpfilter

import (
	"errors"
	"fmt"
	"net"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// Filter is the loaded program with its maps, attached or not.
type Filter struct {
	spec    Spec
	prog    *ebpf.Program
	buckets *ebpf.Map // array: bucket → Not/Own/Take/Drain
	flows   *ebpf.Map // LRU hash: {saddr, sport, dport} of recorded flows
	stats   *ebpf.Map // per-CPU array of counters
	link    link.Link
}

// New checks spec and loads the program; every bucket starts Not.
func New(spec Spec) (*Filter, error) {
	if !spec.VIP.Is4() {
		return nil, fmt.Errorf("xdp filter: VIP %v is not IPv4", spec.VIP)
	}
	if len(spec.VMAC) != 6 || len(spec.OwnMAC) != 6 {
		return nil, fmt.Errorf("xdp filter: MACs %v and %v must be Ethernet MACs", spec.VMAC, spec.OwnMAC)
	}
	if len(spec.Rules) == 0 {
		return nil, errors.New("xdp filter: no rules")
	}
	for _, r := range spec.Rules {
		if r.Proto != unix.IPPROTO_TCP && r.Proto != unix.IPPROTO_UDP {
			return nil, fmt.Errorf("xdp filter: rule protocol %d, want tcp or udp", r.Proto)
		}
	}
	if spec.Flows == 0 {
		spec.Flows = 65536
	}
	f := &Filter{spec: spec}
	var err error
	if f.buckets, err = ebpf.NewMap(&ebpf.MapSpec{Name: "lbx_farm_bkt", Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: Buckets}); err != nil {
		return nil, fmt.Errorf("xdp filter: bucket map: %w", err)
	}
	if f.flows, err = ebpf.NewMap(&ebpf.MapSpec{Name: "lbx_farm_flows", Type: ebpf.LRUHash, KeySize: 8, ValueSize: 4, MaxEntries: uint32(spec.Flows)}); err != nil {
		f.Close()
		return nil, fmt.Errorf("xdp filter: flow map: %w", err)
	}
	if f.stats, err = ebpf.NewMap(&ebpf.MapSpec{Name: "lbx_farm_stats", Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: numStats}); err != nil {
		f.Close()
		return nil, fmt.Errorf("xdp filter: stats map: %w", err)
	}
	f.prog, err = ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         ProgName,
		Type:         ebpf.XDP,
		License:      "Dual MIT/GPL",
		Instructions: instructions(spec, f.buckets, f.flows, f.stats),
	})
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("xdp filter: load: %w", err)
	}
	return f, nil
}

// Program is the loaded program (for BPF_PROG_TEST_RUN in tests).
func (f *Filter) Program() *ebpf.Program { return f.prog }

// SetBucket writes one bucket's state; each write is atomic, so a packet
// sees the old state or the new one.
func (f *Filter) SetBucket(b int, state uint32) error {
	if b < 0 || b >= Buckets || state > Drain {
		return fmt.Errorf("xdp filter: bucket %d state %d out of range", b, state)
	}
	if err := f.buckets.Update(uint32(b), state, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("xdp filter: bucket %d: %w", b, err)
	}
	return nil
}

// Bucket reads one bucket's state.
func (f *Filter) Bucket(b int) (uint32, error) {
	var v uint32
	err := f.buckets.Lookup(uint32(b), &v)
	return v, err
}

// Stats sums the counters over the CPUs.
func (f *Filter) Stats() ([numStats]uint64, error) {
	var out [numStats]uint64
	for i := range numStats {
		var per []uint64
		if err := f.stats.Lookup(uint32(i), &per); err != nil {
			return out, fmt.Errorf("xdp filter: stats: %w", err)
		}
		for _, v := range per {
			out[i] += v
		}
	}
	return out, nil
}

// Flows counts the recorded flows (walking the map; for status, not the
// hot path).
func (f *Filter) Flows() int {
	var k [8]byte
	var v uint32
	n := 0
	it := f.flows.Iterate()
	for it.Next(&k, &v) {
		n++
	}
	return n
}

// Attach attaches the program to the interface in generic (SKB) mode
// through a BPF link. Generic mode: the filter readdresses the frames it
// accepts (the virtual MAC to the interface's) and answers ARP with
// XDP_TX, which generic mode does on any driver, veth included, without an
// XDP program on the peer. A BPF link: the program is detached by the
// kernel when the process ends, however it ends (kill -9 included), so a
// dead member's kernel stops accepting the VIP's flows at once instead of
// filtering with a bucket table nobody updates.
func (f *Filter) Attach(ifname string) error {
	ifc, err := net.InterfaceByName(ifname)
	if err != nil {
		return fmt.Errorf("xdp filter: interface %s: %w", ifname, err)
	}
	l, err := link.AttachXDP(link.XDPOptions{Program: f.prog, Interface: ifc.Index, Flags: link.XDPGenericMode})
	if err != nil {
		return fmt.Errorf("xdp filter: attach to %s: %w", ifname, err)
	}
	f.link = l
	return nil
}

// Close detaches the program (when attached) and frees the maps.
func (f *Filter) Close() error {
	var err error
	if f.link != nil {
		err = f.link.Close()
		f.link = nil
	}
	for _, m := range []*ebpf.Map{f.buckets, f.flows, f.stats} {
		if m != nil {
			m.Close()
		}
	}
	if f.prog != nil {
		f.prog.Close()
	}
	return err
}

// VirtualMAC derives the farm's virtual MAC from the VIP: locally
// administered unicast 02:fa followed by the VIP's four bytes, the same on
// every member.
func VirtualMAC(vip [4]byte) net.HardwareAddr {
	return net.HardwareAddr{0x02, 0xfa, vip[0], vip[1], vip[2], vip[3]}
}
