package config

import (
	"fmt"
	"unicode/utf8"
)

// Excerpt returns the runes of s that start in its first max bytes,
// printable: control characters are escaped, invalid UTF-8 becomes '?',
// and a cut excerpt ends with "…(N bytes)".
func Excerpt(s string, max int) string {
	out := make([]byte, 0, min(len(s), max)+16)
	for i, r := range s {
		if i >= max {
			return string(fmt.Appendf(out, "…(%d bytes)", len(s)))
		}
		switch {
		case r == utf8.RuneError:
			out = append(out, '?')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			out = fmt.Appendf(out, "\\x%02x", r)
		default:
			out = utf8.AppendRune(out, r)
		}
	}
	return string(out)
}
