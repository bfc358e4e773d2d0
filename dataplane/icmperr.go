package dataplane

import (
	"encoding/binary"

	"lbx/dataplane/drop"

	"lbx/dataplane/csum"
	"lbx/dataplane/flowtable"
)

// ICMP errors through NAT.
//
// A router or member that cannot deliver a packet lbx translated sends its
// ICMP error to the translated source: the SNAT address (or the client,
// without SNAT) for a packet lbx sent towards a member, the VIP for an
// answer lbx sent towards a client. The error quotes the packet as lbx sent
// it, so the quoted tuple reversed is the key of the flow's other
// direction, and that direction's translation is exactly what the error
// needs:
//
//   - outer source and destination become the hit's (the VIP and the
//     client for an error from the server side; the SNAT address and the
//     member for one from the client side). The outer source is replaced
//     even when a router, not the member, sent the error, as Linux's NAT
//     does: the inside addresses stay inside.
//   - the quoted packet is turned back into what its sender sent: quoted
//     source := hit destination, quoted destination := hit source, ports
//     likewise.
//   - the quoted IPv4 checksum and the quoted TCP/UDP checksum (when the
//     quote reaches it; a UDP checksum of 0 stays 0) are updated
//     incrementally, as Linux's NAT does, so a quote whose checksum was
//     right stays right; the outer IPv4 checksum too, and the ICMP checksum
//     (verified first) is recomputed over the message.
//
// On a DSR virtual the appliance never rewrites addresses: an error quoting
// a member's answer (VIP → client) is sent to that member with only the
// MAC changed (the member holds the VIP), and an error the member sends
// about a client's packet (quoting client → VIP, from the VIP) is routed
// unchanged to the client.
//
// An error that quotes no flow is dropped (drop.icmp-error-no-flow),
// unless it is addressed to a self IP: those are the local stack's (a UDP
// monitor's port unreachable) and take the local path as before.
//
// The flow is only read (FlowTable.peek): an error refreshes no timer and
// moves no TCP state.

const (
	icmpDestUnreachable = 3
	icmpTimeExceeded    = 11
	icmpParamProblem    = 12
)

// isICMPError reports whether an ICMP type is an error that quotes the
// packet it is about.
func isICMPError(t uint8) bool {
	return t == icmpDestUnreachable || t == icmpTimeExceeded || t == icmpParamProblem
}

// icmpQuote is the packet an ICMP error quotes, offsets into the frame.
type icmpQuote struct {
	ip       int // quoted IPv4 header
	l4       int // quoted transport header
	end      int // end of the ICMP message
	proto    uint8
	src, dst uint32
	sport    uint16
	dport    uint16
}

// parseICMPError reads the quoted packet of an ICMP error message (type
// checked by the caller) at frame[l4:end]: an IPv4 header and at least the
// 8 bytes of its transport header that hold the ports, of a TCP or UDP
// packet that is not a later fragment.
func parseICMPError(frame []byte, l4, end int) (icmpQuote, drop.Reason) {
	var q icmpQuote
	if end-l4 < icmpMinHdr+ipv4MinHdr+8 || end > len(frame) {
		return q, drop.Malformed
	}
	q.ip = l4 + icmpMinHdr
	ip := frame[q.ip:end]
	if ip[0]>>4 != 4 {
		return q, drop.Malformed
	}
	ihl := int(ip[0]&0x0f) * 4
	if ihl < ipv4MinHdr || len(ip) < ihl+8 {
		return q, drop.Malformed
	}
	if binary.BigEndian.Uint16(ip[6:8])&0x1fff != 0 {
		return q, drop.ICMPErrorNoFlow // a later fragment: no ports to match
	}
	q.proto = ip[9]
	if q.proto != ProtoTCP && q.proto != ProtoUDP {
		return q, drop.ICMPErrorNoFlow
	}
	q.src = binary.BigEndian.Uint32(ip[12:16])
	q.dst = binary.BigEndian.Uint32(ip[16:20])
	q.l4 = q.ip + ihl
	q.end = end
	q.sport = binary.BigEndian.Uint16(frame[q.l4:])
	q.dport = binary.BigEndian.Uint16(frame[q.l4+2:])
	return q, drop.None
}

// icmpError handles an ICMP error about a translated flow. It reports
// false, leaving the packet to the rest of handleIPv4, for ICMP that is not
// an error and for errors to a self IP that quote no flow.
func (w *worker) icmpError(in *installed, frame []byte, p *ipv4Packet) (bool, drop.Reason) {
	end := ethHdrLen + p.total
	if p.fragment || end-p.l4 < icmpMinHdr || !isICMPError(frame[p.l4]) {
		return false, drop.None
	}
	q, r := parseICMPError(frame, p.l4, end)
	if r == drop.ICMPErrorNoFlow && in.isSelf(p.dst) {
		return false, drop.None
	}
	if r != drop.None {
		return true, r
	}
	if csum.Sum(frame[p.l4:end], 0) != 0 {
		return true, drop.BadChecksum
	}
	k := flowtable.Key{Src: q.dst, Dst: q.src, Sport: q.dport, Dport: q.sport, Proto: q.proto}
	hit, ok := w.e.flows.Peek(k, w.now)
	if !ok {
		// A DSR member's error about a client's packet quotes the
		// client's own tuple, the flow's forward key.
		fwd := flowtable.Key{Src: q.src, Dst: q.dst, Sport: q.sport, Dport: q.dport, Proto: q.proto}
		if h, ok := w.e.flows.Peek(fwd, w.now); ok && h.DSR && p.src == q.dst && p.dst == q.src {
			return true, w.icmpErrorDSRReturn(in, frame, p)
		}
		if in.isSelf(p.dst) {
			return false, drop.None
		}
		return true, drop.ICMPErrorNoFlow
	}
	if in.isLocal(p.src) {
		return true, drop.LocalSource
	}
	if p.ttl <= 1 {
		return true, drop.TTLExceeded
	}
	if !hit.DSR { // DSR: the member holds the VIP, only the MAC changes
		translateICMPError(frame, p, &q, &hit)
	}
	decTTL(frame, p)
	return true, w.send(in, hit.Egress, frame[:end], in.hitHop(&hit)) // route.go
}

// icmpErrorDSRReturn routes a DSR member's ICMP error (from the VIP, about
// a client's packet) to the client unchanged, as dsrReturn does the
// member's answers.
func (w *worker) icmpErrorDSRReturn(in *installed, frame []byte, p *ipv4Packet) drop.Reason {
	ci := in.connected(p.dst)
	if ci < 0 {
		return drop.NoRoute
	}
	if p.ttl <= 1 {
		return drop.TTLExceeded
	}
	decTTL(frame, p)
	return w.send(in, in.selfs[ci].port, frame[:ethHdrLen+p.total], p.dst)
}

// translateICMPError rewrites an ICMP error for the flow direction hit:
// outer addresses to the hit's, the quoted packet back to what its sender
// sent, and every checksum.
func translateICMPError(frame []byte, p *ipv4Packet, q *icmpQuote, hit *flowtable.Hit) {
	ip := frame[ethHdrLen:]
	hsum := binary.BigEndian.Uint16(ip[10:12])
	hsum = csum.Adjust32(hsum, p.src, hit.Src)
	hsum = csum.Adjust32(hsum, p.dst, hit.Dst)
	binary.BigEndian.PutUint32(ip[12:16], hit.Src)
	binary.BigEndian.PutUint32(ip[16:20], hit.Dst)
	binary.BigEndian.PutUint16(ip[10:12], hsum)
	p.src, p.dst = hit.Src, hit.Dst

	// The quoted packet went from q.src:sport to q.dst:dport; its sender
	// sent it from hit.Dst:dport to hit.Src:sport.
	nsrc, ndst, nsport, ndport := hit.Dst, hit.Src, hit.Dport, hit.Sport
	qip := frame[q.ip:]
	qsum := binary.BigEndian.Uint16(qip[10:12])
	qsum = csum.Adjust32(qsum, q.src, nsrc)
	qsum = csum.Adjust32(qsum, q.dst, ndst)
	binary.BigEndian.PutUint32(qip[12:16], nsrc)
	binary.BigEndian.PutUint32(qip[16:20], ndst)
	binary.BigEndian.PutUint16(qip[10:12], qsum)

	l4 := frame[q.l4:q.end]
	binary.BigEndian.PutUint16(l4[0:2], nsport)
	binary.BigEndian.PutUint16(l4[2:4], ndport)
	if co := l4ChecksumOffset(q.proto); len(l4) >= co+2 {
		lsum := binary.BigEndian.Uint16(l4[co : co+2])
		if q.proto == ProtoTCP || lsum != 0 {
			lsum = csum.Adjust32(lsum, q.src, nsrc)
			lsum = csum.Adjust32(lsum, q.dst, ndst)
			lsum = csum.Adjust16(lsum, q.sport, nsport)
			lsum = csum.Adjust16(lsum, q.dport, ndport)
			if q.proto == ProtoUDP && lsum == 0 {
				lsum = 0xffff
			}
			binary.BigEndian.PutUint16(l4[co:co+2], lsum)
		}
	}

	icmp := frame[p.l4:q.end]
	icmp[2], icmp[3] = 0, 0
	binary.BigEndian.PutUint16(icmp[2:4], csum.Sum(icmp, 0))
}
