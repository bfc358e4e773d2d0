package config

import (
	"strings"
	"testing"
)

func TestExcerpt(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"plain", 60, "plain"},
		{"tab\there\x00\x1b[2J", 60, `tab\x09here\x00\x1b[2J`},
		{"bad \xff utf8", 60, "bad ? utf8"},
		{strings.Repeat("a", 100), 10, "aaaaaaaaaa…(100 bytes)"},
		{"ééééé", 3, "éé…(10 bytes)"}, // never cuts a rune in half
	}
	for _, tc := range tests {
		if got := Excerpt(tc.in, tc.max); got != tc.want {
			t.Errorf("Excerpt(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}
