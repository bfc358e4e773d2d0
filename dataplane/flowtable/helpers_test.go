package flowtable

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// The addresses and ports of the tests, as in dataplane's harness.
var (
	client   = netip.MustParseAddr("198.18.0.10")
	vip      = netip.MustParseAddr("198.18.0.100")
	members  = []netip.Addr{netip.MustParseAddr("198.18.1.11"), netip.MustParseAddr("198.18.1.12")}
	selfInt  = netip.MustParsePrefix("198.18.1.2/24")
	testTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
)

const (
	portExt = 0
	portInt = 1
)

// u32 converts an IPv4 address to host order.
func u32(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

// flags is a TCP segment carrying only flags, for tests that do not look at
// sequence numbers.
func flags(f uint8) Seg { return Seg{Flags: f} }
