//go:build !race

// This test moves 19 MB through the control socket's byte-by-byte JSON
// scan, which the race detector slows tenfold; a race build leaves it out
// (TestControlSocketMessageLimit runs the same paths there).

package ctlsock

import "testing"

// 1000 pools × 250 members (19 MB, more than the old 16 MiB cap) are
// pushed and listed back whole.
func TestControlSocketLargeConfig(t *testing.T) {
	text := bigConfig(1000, 250)
	if len(text) <= 16<<20 {
		t.Fatalf("config of %d bytes does not exceed the old cap", len(text))
	}
	_, path := startServer(t, nil, &store{})
	c := &Client{Path: path}
	if _, err := c.Push(text); err != nil {
		t.Fatalf("push %d bytes: %v", len(text), err)
	}
	out, err := c.Exec("list ltm pool")
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if out != text {
		t.Fatalf("listed %d bytes, pushed %d: they differ", len(out), len(text))
	}
}
