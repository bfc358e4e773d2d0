package dataplane

import (
	"encoding/binary"

	"lbx/dataplane/drop"

	"lbx/dataplane/csum"
	"lbx/dataplane/flowtable"
	"lbx/dataplane/fragtrack"
)

// Fragmented UDP through a virtual server.
//
// lbx does not reassemble. It tracks each fragmented datagram by (source,
// destination, protocol, IP id): the first fragment (offset 0, which holds
// the UDP header) is looked up, or opens its flow, exactly as an
// unfragmented datagram, and gets the flow's NAT, ports and UDP checksum
// included (the checksum covers the whole datagram, but the incremental
// update only depends on the fields that change, all in the first
// fragment). The translation is recorded for the datagram, and every later
// fragment gets the same addresses and goes to the same next hop. The end
// host (the member, or the client for an answer) reassembles.
//
// Why it tracks instead of reassembling, and what that costs: package
// fragtrack's doc.
//
// Checks: a fragment with no payload, an MF fragment whose payload is not
// a multiple of 8 bytes, one that ends past 65535 bytes or past the end a
// last fragment gave, a first fragment too short for its UDP header, or a
// datagram with more than fragtrack.MaxHoles holes at once is malformed
// (drop.fragment-malformed); a fragment overlapping one already forwarded
// (an exact duplicate included) is dropped (drop.fragment-overlap), and so
// is the rest of its datagram, whose reassembly the member would have to
// guess at. A new first fragment for a datagram still tracked (the 16-bit
// id wrapped) starts it afresh. A datagram not complete fragtrack.Timeout
// after its first fragment (the engine's injected clock; Linux's
// ipfrag_time is the same 30 s) is forgotten and counted once in
// drop.fragment-incomplete; when the table is full a new datagram is
// refused (drop.fragment-table-full).
//
// TCP fragments and fragments for the appliance itself are dropped as
// before (drop.fragment), and so are fragments of a DSR member's answer
// routed through the appliance (drop.local-source: dsrReturn needs the
// ports of an unfragmented packet). The table runs under one mutex:
// fragments are rare and the unfragmented hot path never takes it.

const maxIPDatagram = 65535 // header included

// fragDest is what the fragment table keeps of a datagram for its later
// fragments: the first fragment's translation and next hop.
type fragDest struct {
	hit     flowtable.Hit
	nextHop uint32
}

// fragInfo is a fragment's place in its datagram.
type fragInfo struct {
	id     uint16
	lo, hi uint32 // payload bytes [lo, hi) of the datagram
	more   bool
}

// parseFragment checks a fragment's offsets and lengths.
func parseFragment(frame []byte, p *ipv4Packet) (fragInfo, drop.Reason) {
	ip := frame[ethHdrLen:]
	v := binary.BigEndian.Uint16(ip[6:8])
	fi := fragInfo{id: binary.BigEndian.Uint16(ip[4:6]), more: v&0x2000 != 0}
	n := uint32(p.total - p.ihl)
	fi.lo = uint32(v&0x1fff) * 8
	fi.hi = fi.lo + n
	if n == 0 || fi.more && n%8 != 0 || fi.hi+uint32(p.ihl) > maxIPDatagram {
		return fi, drop.FragmentMalformed
	}
	if fi.lo == 0 {
		if n < udpHdrLen {
			return fi, drop.FragmentMalformed
		}
		u := frame[p.l4:]
		if ul := uint32(binary.BigEndian.Uint16(u[4:6])); ul <= n {
			return fi, drop.FragmentMalformed // the datagram must extend past its first fragment
		}
	}
	return fi, drop.None
}

// handleFragment forwards one fragment of a UDP datagram (see above).
func (w *worker) handleFragment(in *installed, frame []byte, p *ipv4Packet) drop.Reason {
	if p.proto != ProtoUDP {
		return drop.Fragment
	}
	fi, r := parseFragment(frame, p)
	if r != drop.None {
		return r
	}
	if fi.lo == 0 {
		return w.firstFragment(in, frame, p, fi)
	}
	k := fragtrack.Key{Src: p.src, Dst: p.dst, ID: fi.id, Proto: p.proto}
	d, v, forgotten := w.e.frags.Later(k, fi.lo, fi.hi, fi.more, w.now)
	if forgotten > 0 {
		w.ctr.drops[drop.FragmentIncomplete].Add(uint64(forgotten))
	}
	switch v {
	case fragtrack.NoFirst:
		return drop.FragmentNoFirst
	case fragtrack.Overlap:
		return drop.FragmentOverlap
	case fragtrack.Malformed:
		return drop.FragmentMalformed
	}
	hit, nextHop := d.hit, d.nextHop
	if p.ttl <= 1 {
		return drop.TTLExceeded
	}
	if !hit.DSR {
		rewriteAddrs(frame, p, hit.Src, hit.Dst)
	}
	decTTL(frame, p)
	w.count(hit.VS, hit.MS, hit.Dir == flowtable.Forward, uint64(p.total)) // statbatch.go
	return w.send(in, hit.Egress, frame[:ethHdrLen+p.total], nextHop)
}

// firstFragment looks up or opens the flow of a datagram's first fragment,
// records the datagram, and forwards the fragment translated.
func (w *worker) firstFragment(in *installed, frame []byte, p *ipv4Packet, fi fragInfo) drop.Reason {
	p.sport = binary.BigEndian.Uint16(frame[p.l4:])
	p.dport = binary.BigEndian.Uint16(frame[p.l4+2:])
	k := flowtable.Key{Src: p.src, Dst: p.dst, Sport: p.sport, Dport: p.dport, Proto: p.proto}
	hit, ok := w.e.flows.Lookup(k, w.now, flowtable.Seg{})
	if !ok {
		vi := in.prog.LookupIndex(addr4(p.dst), p.dport, p.proto)
		if vi < 0 {
			if in.isLocal(p.dst) {
				return drop.Fragment // the local stack does not reassemble
			}
			return drop.NotForUs
		}
		vs := in.prog.Virtuals[vi]
		if !vs.Enabled {
			return drop.VirtualDisabled
		}
		if p.ttl <= 1 {
			return drop.TTLExceeded
		}
		var r drop.Reason
		if hit, r = w.newFlow(in, vs, &in.virts[vi], k, flowtable.Seg{}); r != drop.None {
			return r
		}
	} else if p.ttl <= 1 {
		return drop.TTLExceeded
	}
	nextHop := in.hitHop(&hit) // route.go

	fk := fragtrack.Key{Src: p.src, Dst: p.dst, ID: fi.id, Proto: p.proto}
	forgotten, ok := w.e.frags.First(fk, fi.hi, w.now, fragDest{hit, nextHop})
	if forgotten > 0 {
		w.ctr.drops[drop.FragmentIncomplete].Add(uint64(forgotten))
	}
	if !ok {
		return drop.FragmentTableFull
	}

	if !hit.DSR {
		rewriteNAT(frame, p, hit.Src, hit.Dst, hit.Sport, hit.Dport)
	}
	decTTL(frame, p)
	w.count(hit.VS, hit.MS, hit.Dir == flowtable.Forward, uint64(p.total)) // statbatch.go
	return w.send(in, hit.Egress, frame[:ethHdrLen+p.total], nextHop)
}

// rewriteAddrs sets a later fragment's addresses, fixing the IPv4 header
// checksum (it has no transport header).
func rewriteAddrs(frame []byte, p *ipv4Packet, src, dst uint32) {
	ip := frame[ethHdrLen:]
	sum := binary.BigEndian.Uint16(ip[10:12])
	sum = csum.Adjust32(sum, p.src, src)
	sum = csum.Adjust32(sum, p.dst, dst)
	binary.BigEndian.PutUint32(ip[12:16], src)
	binary.BigEndian.PutUint32(ip[16:20], dst)
	binary.BigEndian.PutUint16(ip[10:12], sum)
	p.src, p.dst = src, dst
}
