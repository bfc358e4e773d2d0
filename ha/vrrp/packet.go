package vrrp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"lbx/dataplane/csum"
)

// Protocol numbers, addresses and limits of RFC 5798.
const (
	IPProto     = 112 // the IP protocol number of VRRP
	Version     = 3
	TypeAdvert  = 1
	TTL         = 255 // sent with, and required on receipt
	headerLen   = 8
	MaxAddrs    = 255 // the Count IPvX Addr field is one byte
	MaxInterval = 0xfff
)

// Group is the IPv4 multicast address advertisements are sent to, and
// GroupMAC its Ethernet address.
var (
	Group    = netip.AddrFrom4([4]byte{224, 0, 0, 18})
	GroupMAC = [6]byte{0x01, 0x00, 0x5e, 0x00, 0x00, 0x12}
)

// VirtualMAC is the virtual router MAC address of a VRID (RFC 5798 §7.3):
// 00-00-5E-00-01-{VRID}.
func VirtualMAC(vrid uint8) [6]byte {
	return [6]byte{0x00, 0x00, 0x5e, 0x00, 0x01, vrid}
}

// Advert is one VRRPv3 advertisement. Interval is the Max Adver Int in
// centiseconds (12 bits).
type Advert struct {
	VRID     uint8
	Priority uint8
	Interval uint16
	Addrs    []netip.Addr // IPv4
}

// Decode errors; Decode wraps them with the field at fault.
var (
	ErrShort    = errors.New("vrrp: packet too short")
	ErrVersion  = errors.New("vrrp: not version 3")
	ErrType     = errors.New("vrrp: not an advertisement")
	ErrLength   = errors.New("vrrp: address count does not match length")
	ErrChecksum = errors.New("vrrp: bad checksum")
	ErrVRID     = errors.New("vrrp: VRID 0")
)

// pseudo returns the one's-complement sum of the IPv4 pseudo-header
// (source, destination, zero, protocol, length) for a VRRP message of n
// bytes.
func pseudo(src, dst netip.Addr, n int) uint64 {
	var p [12]byte
	s4, d4 := src.As4(), dst.As4()
	copy(p[0:4], s4[:])
	copy(p[4:8], d4[:])
	p[9] = IPProto
	binary.BigEndian.PutUint16(p[10:12], uint16(n))
	return csum.Add(p[:], 0)
}

// Decode parses the VRRP message b (the IP payload) that came from src to
// dst, checking version, type, length and checksum. The returned Advert's
// Addrs is freshly allocated; b is not retained.
func Decode(b []byte, src, dst netip.Addr) (Advert, error) {
	if len(b) < headerLen {
		return Advert{}, fmt.Errorf("%w: %d bytes", ErrShort, len(b))
	}
	if v := b[0] >> 4; v != Version {
		return Advert{}, fmt.Errorf("%w: version %d", ErrVersion, v)
	}
	if t := b[0] & 0xf; t != TypeAdvert {
		return Advert{}, fmt.Errorf("%w: type %d", ErrType, t)
	}
	a := Advert{VRID: b[1], Priority: b[2], Interval: binary.BigEndian.Uint16(b[4:6]) & MaxInterval}
	if a.VRID == 0 {
		return Advert{}, ErrVRID
	}
	n := int(b[3])
	if len(b) != headerLen+4*n {
		return Advert{}, fmt.Errorf("%w: count %d in %d bytes", ErrLength, n, len(b))
	}
	if !src.Is4() || !dst.Is4() {
		return Advert{}, fmt.Errorf("vrrp: IPv4 pseudo-header needs IPv4 addresses, got %v > %v", src, dst)
	}
	if ^csum.Fold(csum.Add(b, pseudo(src, dst, len(b)))) != 0 {
		return Advert{}, ErrChecksum
	}
	a.Addrs = make([]netip.Addr, n)
	for i := range n {
		a.Addrs[i] = netip.AddrFrom4([4]byte(b[headerLen+4*i:]))
	}
	return a, nil
}

// Append appends a's wire form, with its checksum for src to dst, to b.
func (a Advert) Append(b []byte, src, dst netip.Addr) ([]byte, error) {
	switch {
	case a.VRID == 0:
		return b, ErrVRID
	case len(a.Addrs) > MaxAddrs:
		return b, fmt.Errorf("vrrp: %d addresses, at most %d", len(a.Addrs), MaxAddrs)
	case a.Interval > MaxInterval:
		return b, fmt.Errorf("vrrp: interval %d centiseconds, at most %d", a.Interval, MaxInterval)
	case !src.Is4() || !dst.Is4():
		return b, fmt.Errorf("vrrp: IPv4 only, got %v > %v", src, dst)
	}
	start := len(b)
	b = append(b, Version<<4|TypeAdvert, a.VRID, a.Priority, uint8(len(a.Addrs)), 0, 0, 0, 0)
	binary.BigEndian.PutUint16(b[start+4:], a.Interval)
	for _, ad := range a.Addrs {
		if !ad.Is4() {
			return b[:start], fmt.Errorf("vrrp: address %v is not IPv4", ad)
		}
		a4 := ad.As4()
		b = append(b, a4[:]...)
	}
	msg := b[start:]
	binary.BigEndian.PutUint16(msg[6:], ^csum.Fold(csum.Add(msg, pseudo(src, dst, len(msg)))))
	return b, nil
}

// Frame header sizes.
const (
	ethLen  = 14
	ipv4Len = 20
)

// AppendFrame appends an Ethernet frame carrying a from srcMAC and src to
// the VRRP group: IPv4 with TTL 255, no options, DF clear.
func (a Advert) AppendFrame(b []byte, srcMAC [6]byte, src netip.Addr) ([]byte, error) {
	start := len(b)
	b = append(b, GroupMAC[:]...)
	b = append(b, srcMAC[:]...)
	b = append(b, 0x08, 0x00)
	b, err := a.AppendPacket(b, src, Group)
	if err != nil {
		return b[:start], err
	}
	return b, nil
}

// AppendPacket appends the IPv4 packet carrying a from src to dst (the
// group, or a unicast peer): TTL 255, no options, DF clear.
func (a Advert) AppendPacket(b []byte, src, dst netip.Addr) ([]byte, error) {
	ip := len(b)
	b = append(b, make([]byte, ipv4Len)...)
	b, err := a.Append(b, src, dst)
	if err != nil {
		return b[:ip], err
	}
	h := b[ip : ip+ipv4Len]
	h[0] = 0x45
	h[1] = 0xc0 // DSCP CS6 (network control), as routers send
	binary.BigEndian.PutUint16(h[2:], uint16(len(b)-ip))
	h[8] = TTL
	h[9] = IPProto
	s4, d4 := src.As4(), dst.As4()
	copy(h[12:16], s4[:])
	copy(h[16:20], d4[:])
	binary.BigEndian.PutUint16(h[10:], csum.Sum(h, 0))
	return b, nil
}

// ParseFrame decodes an Ethernet frame carrying a VRRP advertisement. It
// returns the IPv4 source (the sender's primary address) and the advert.
// It requires TTL 255 (RFC 5798 §7.1) and an unfragmented datagram.
func ParseFrame(f []byte) (netip.Addr, Advert, error) {
	if len(f) < ethLen+ipv4Len || f[12] != 0x08 || f[13] != 0x00 {
		return netip.Addr{}, Advert{}, fmt.Errorf("%w: not an IPv4 frame", ErrShort)
	}
	ip := f[ethLen:]
	ihl := int(ip[0]&0xf) * 4
	if ip[0]>>4 != 4 || ihl < ipv4Len || len(ip) < ihl {
		return netip.Addr{}, Advert{}, fmt.Errorf("%w: bad IPv4 header", ErrShort)
	}
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if total < ihl || total > len(ip) {
		return netip.Addr{}, Advert{}, fmt.Errorf("%w: IPv4 total length %d of %d", ErrShort, total, len(ip))
	}
	if ip[9] != IPProto {
		return netip.Addr{}, Advert{}, fmt.Errorf("vrrp: IP protocol %d", ip[9])
	}
	if ip[8] != TTL {
		return netip.Addr{}, Advert{}, fmt.Errorf("vrrp: TTL %d, want 255", ip[8])
	}
	if binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 {
		return netip.Addr{}, Advert{}, errors.New("vrrp: fragmented")
	}
	if csum.Sum(ip[:ihl], 0) != 0 {
		return netip.Addr{}, Advert{}, fmt.Errorf("vrrp: IPv4 header: %w", ErrChecksum)
	}
	src := netip.AddrFrom4([4]byte(ip[12:16]))
	dst := netip.AddrFrom4([4]byte(ip[16:20]))
	a, err := Decode(ip[ihl:total], src, dst)
	return src, a, err
}

// GratuitousARP returns a gratuitous ARP announcing that ip is at mac: a
// broadcast request whose sender and target address are both ip (RFC 5227
// §3's announcement), which the new master sends for each virtual address.
func GratuitousARP(mac [6]byte, ip netip.Addr) []byte {
	f := make([]byte, 42)
	copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:12], mac[:])
	binary.BigEndian.PutUint16(f[12:], 0x0806)
	a := f[ethLen:]
	binary.BigEndian.PutUint16(a[0:], 1)      // Ethernet
	binary.BigEndian.PutUint16(a[2:], 0x0800) // IPv4
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:], 1) // request
	copy(a[8:14], mac[:])
	ip4 := ip.As4()
	copy(a[14:18], ip4[:])
	copy(a[24:28], ip4[:]) // target MAC stays zero
	return f
}
