package pools

import "strings"

// keyTextMax is how many bytes of a persistence key a record keeps for
// show: a host name or a typical header value fits; a longer one is cut
// and shown with "..." after it.
const keyTextMax = 30

// KeyText is the beginning of a hash or universal persistence key (the
// header's value, the host name), kept in its record so that show prints
// the key as BIG-IP does instead of its hash. It is a value of fixed size
// (32 bytes), so making and storing one never allocates.
type KeyText struct {
	b   [keyTextMax]byte
	n   uint8
	cut bool
}

// MakeKeyText keeps the first bytes of s.
func MakeKeyText(s string) KeyText {
	var k KeyText
	k.n = uint8(copy(k.b[:], s))
	k.cut = len(s) > keyTextMax
	return k
}

// IsZero reports whether no key text was kept.
func (k KeyText) IsZero() bool { return k.n == 0 }

// String is the key as show prints it: printable ASCII as is (a
// backslash doubled), any other byte as \xNN, "..." when it was cut.
func (k KeyText) String() string {
	var b strings.Builder
	for _, c := range k.b[:k.n] {
		switch {
		case c == '\\':
			b.WriteString(`\\`)
		case c > ' ' && c < 0x7f:
			b.WriteByte(c)
		default:
			const hex = "0123456789abcdef"
			b.WriteString(`\x`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	if k.cut {
		b.WriteString("...")
	}
	return b.String()
}
