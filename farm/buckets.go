package farm

import (
	"encoding/binary"
	"hash/fnv"
	"net/netip"
	"sort"
)

// Buckets is the number of hash buckets the filter spreads flows over.
const Buckets = 256

// Assign gives each bucket an owner among members (names every member
// knows alike, e.g. "10.0.0.1:7946") by rendezvous hashing: bucket b goes
// to the member with the highest weight(member, b). Every member computes
// the same table from the same set, whatever its order; when a member
// joins it takes only buckets it now wins, when one leaves only its
// buckets move. An empty set owns nothing ("" everywhere).
func Assign(members []string) [Buckets]string {
	var owner [Buckets]string
	if len(members) == 0 {
		return owner
	}
	m := append([]string(nil), members...)
	sort.Strings(m)
	seeds := make([]uint64, len(m))
	for i, name := range m {
		h := fnv.New64a()
		h.Write([]byte(name))
		seeds[i] = h.Sum64()
	}
	for b := range Buckets {
		best, bestW := 0, uint64(0)
		for i := range m {
			w := mix64(seeds[i] ^ (uint64(b)+1)*0x9e3779b97f4a7c15)
			if i == 0 || w > bestW {
				best, bestW = i, w
			}
		}
		owner[b] = m[best]
	}
	return owner
}

// mix64 is a 64-bit finaliser (splitmix64's), spreading the bits of x.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Share counts the buckets each member owns.
func Share(owner [Buckets]string) map[string]int {
	s := map[string]int{}
	for _, o := range owner {
		if o != "" {
			s[o]++
		}
	}
	return s
}

// BucketOf is the bucket of a client as the XDP filter computes it: the
// client's IPv4 address, and for on_port its source port (ignored for
// on_addr). The filter loads the address and port as the host's
// native-endian words of their network-order bytes, so this does too.
func BucketOf(client netip.Addr, port uint16, f Filter) int {
	a := client.As4()
	h := Fmix32(binary.NativeEndian.Uint32(a[:]))
	if f == OnPort {
		var p [2]byte
		binary.BigEndian.PutUint16(p[:], port)
		h = Fmix32(h ^ uint32(binary.NativeEndian.Uint16(p[:])))
	}
	return int(h & (Buckets - 1))
}

// Fmix32 is MurmurHash3's 32-bit finaliser, the filter's hash step.
func Fmix32(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}
