package pools

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// BIG-IP cookie persistence (insert mode) names its cookie BIGipServer<pool>
// and encodes the member in the value (F5 K6917):
//
//   - IPv4: "<a>.<p>.0000", where a is the address's four bytes read as a
//     little-endian uint32 and p the port's two bytes read as a
//     little-endian uint16, both in decimal: 10.1.1.100:80 is
//     "1677787402.20480.0000".
//   - IPv6: "vi<32 hex digits of the address>.<p>", p as for IPv4.
//
// Route-domain encodings ("rd<N>o…") are not supported.

// ErrBadCookie is wrapped by DecodeCookie.
var ErrBadCookie = errors.New("bad BIG-IP persistence cookie")

// CookieName returns the default cookie name for a pool: "BIGipServer" and
// the pool's full name with '/' written as '~' ("/Common/web" gives
// "BIGipServer~Common~web").
func CookieName(pool string) string {
	return "BIGipServer" + strings.ReplaceAll(pool, "/", "~")
}

// CookiePoolToken in a cookie profile's cookie-name stands for the pool
// the request goes to (an lbx extension, off unless written): with
// cookie-name ARRAffinity_%pool%, pool /Common/appFarm's cookie is
// ARRAffinity_appFarm, so pools that share the profile keep one cookie
// each, as ARR's farms do, instead of overwriting one another's as one
// fixed name does on BIG-IP.
const CookiePoolToken = "%pool%"

// CookieNameFor is the persistence cookie's name for pool: name with
// CookiePoolToken replaced by the pool's name (its base name, any byte
// that is not an HTTP token character written as '_'), name itself
// without the token, and CookieName(pool) when name is empty.
func CookieNameFor(name, pool string) string {
	if name == "" {
		return CookieName(pool)
	}
	if !strings.Contains(name, CookiePoolToken) {
		return name
	}
	base := []byte(pool[strings.LastIndexByte(pool, '/')+1:])
	for i, c := range base {
		if !tokenChar(c) {
			base[i] = '_'
		}
	}
	return strings.ReplaceAll(name, CookiePoolToken, string(base))
}

// tokenChar reports whether c may be in an HTTP token (RFC 9110 tchar),
// which is what a cookie name is.
func tokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func swap16(v uint16) uint16 { return v>>8 | v<<8 }

// EncodeCookie returns the cookie value for a member address and port.
func EncodeCookie(addr netip.Addr, port uint16) string {
	a := addr.Unmap()
	if a.Is4() {
		b := a.As4()
		v := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
		return strconv.FormatUint(uint64(v), 10) + "." + strconv.FormatUint(uint64(swap16(port)), 10) + ".0000"
	}
	b := a.As16()
	return "vi" + hex.EncodeToString(b[:]) + "." + strconv.FormatUint(uint64(swap16(port)), 10)
}

// DecodeCookie parses a cookie value EncodeCookie makes.
func DecodeCookie(v string) (netip.Addr, uint16, error) {
	bad := func(why string) (netip.Addr, uint16, error) {
		return netip.Addr{}, 0, fmt.Errorf("%w: %q: %s", ErrBadCookie, v, why)
	}
	if rest, ok := strings.CutPrefix(v, "vi"); ok {
		h, ps, ok := strings.Cut(rest, ".")
		if !ok || len(h) != 32 {
			return bad("want vi<32 hex digits>.<port>")
		}
		var b [16]byte
		if _, err := hex.Decode(b[:], []byte(h)); err != nil {
			return bad("address is not hex")
		}
		p, err := strconv.ParseUint(ps, 10, 16)
		if err != nil {
			return bad("port is not a 16-bit number")
		}
		return netip.AddrFrom16(b), swap16(uint16(p)), nil
	}
	as, rest, ok := strings.Cut(v, ".")
	if !ok {
		return bad("want <address>.<port>.0000")
	}
	ps, tail, ok := strings.Cut(rest, ".")
	if !ok || tail != "0000" {
		return bad("want <address>.<port>.0000")
	}
	a, err := strconv.ParseUint(as, 10, 32)
	if err != nil {
		return bad("address is not a 32-bit number")
	}
	p, err := strconv.ParseUint(ps, 10, 16)
	if err != nil {
		return bad("port is not a 16-bit number")
	}
	addr := netip.AddrFrom4([4]byte{byte(a), byte(a >> 8), byte(a >> 16), byte(a >> 24)})
	return addr, swap16(uint16(p)), nil
}

// CookieMember returns the member of p a persistence cookie names (address
// and port; a member of port 0 matches vport, the virtual's port) when it
// may take the persisted client: under the rules Pick applies to a
// persistence record (not forced offline, its monitor neither down nor
// checking, under its connection limits unless overrideLimits).
func (p *Pool) CookieMember(addr netip.Addr, port, vport uint16, overrideLimits bool) (*Member, bool) {
	if p == nil {
		return nil, false
	}
	addr = addr.Unmap()
	for i := range p.Members {
		m := &p.Members[i]
		mp := m.Port
		if mp == 0 {
			mp = vport
		}
		if m.Addr.Unmap() != addr || mp != port {
			continue
		}
		if p.persistUsable(i, overrideLimits) {
			return m, true
		}
		return nil, false
	}
	return nil, false
}
