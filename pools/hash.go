package pools

import "net/netip"

// The hashes below are part of lbx's behaviour, not an implementation
// detail: two units in a farm, or one unit before and after a restart, must
// map a client to the same member. They are therefore fixed functions
// (FNV-1a folded through the SplitMix64 finalizer), never hash/maphash with
// a per-process seed.

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// mix64 is the SplitMix64 finalizer: a bijection on uint64 with full
// avalanche, used to turn structured input into uniform bits.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hashString is FNV-1a over s, started from seed, then mixed.
func hashString(seed uint64, s string) uint64 {
	h := uint64(fnvOffset) ^ seed
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return mix64(h)
}

// NameHash is the stable 64-bit hash lbx uses for object names in
// persistence keys (profile and scope) and for member identities. It is the
// same on every unit and across restarts.
func NameHash(name string) uint64 { return hashString(0, name) }

// hashAddr hashes a client address, and its port when withPort is set. IPv4
// and IPv4-mapped IPv6 addresses hash alike.
func hashAddr(a netip.Addr, port uint16, withPort bool) uint64 {
	b := a.Unmap().As16()
	h := uint64(fnvOffset)
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	if withPort {
		h ^= uint64(port >> 8)
		h *= fnvPrime
		h ^= uint64(port & 0xff)
		h *= fnvPrime
	}
	return mix64(h)
}

// hrwScore is the rendezvous (highest random weight) score of a member with
// identity hash m for a key hash k.
func hrwScore(k, m uint64) uint64 { return mix64(k ^ m) }
