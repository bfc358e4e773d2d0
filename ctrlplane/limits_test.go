//go:build !race

// These tests move tens of megabytes through the control socket's
// byte-by-byte JSON scan, which the race detector slows tenfold; they have
// no concurrency of their own, so the run without it covers them, and a
// race build leaves them out rather than skipping them.

package ctrlplane

import (
	"encoding/json"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"lbx/ctrlplane/ctlsock"
	"lbx/ctrlplane/tmsh"
)

// The requests, through the socket to the real dialects: 15 MB of
// "{" and a million-deep nesting fail at once with an error naming the
// limit, and what the server allocates for them is a small multiple of
// their size (its read buffer, the decoded text), garbage once answered.
// They once left the appliance at 4.4 GB and 712 MB.
func TestControlSocketHostileRequests(t *testing.T) {
	s, _ := newTestStore(t, DefaultConfigText())
	path := s.serve(t)
	tests := []struct {
		name, text, err string
	}{
		{"15 MB of {", strings.Repeat("{", 15<<20), `"{" nested more than 64 deep, the limit`},
		{"1M-deep nesting", strings.Repeat("ltm pool p {\n", 1<<20), `line 65: "{" nested more than 64 deep, the limit`},
		{"15 MB of {}", strings.Repeat("{}", 15<<19), `more than 8388608 tokens`},
		{"15 MB of newlines, Alteon", "/c/slb/real 1/ena" + strings.Repeat("\n", 15<<20) + "/c/slb/real 1/rip 1.2.3.4.5", `line 15728641: real 1: rip: "1.2.3.4.5": want an IPv4 address`},
	}
	for _, tt := range tests {
		for _, op := range []string{"exec", "push"} {
			t.Run(tt.name+" "+op, func(t *testing.T) {
				// Encoded before measuring: the client's cost is not the
				// appliance's.
				msg, err := json.Marshal(ctlsock.Request{Op: op, Text: tt.text})
				if err != nil {
					t.Fatal(err)
				}
				conn, err := net.Dial("unix", path)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(30 * time.Second))
				answer := make([]byte, 0, 64<<10)
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				if _, err := conn.Write(msg); err != nil {
					t.Fatal(err)
				}
				for err == nil && len(answer) < cap(answer) {
					var n int
					n, err = conn.Read(answer[len(answer):cap(answer)])
					answer = answer[:len(answer)+n]
				}
				runtime.ReadMemStats(&after)
				var resp ctlsock.Response
				if err := json.Unmarshal(answer, &resp); err != nil || !strings.Contains(resp.Error, tt.err) {
					t.Fatalf("answer %q (%v), want an error with %q", answer, err, tt.err)
				}
				// The server's read buffer grows by doubling to less
				// than twice the message (less than four times it in
				// all), and the text is unquoted once and kept once: six
				// times the message at most, where it was 300 times.
				if n, limit := after.TotalAlloc-before.TotalAlloc, uint64(6*len(msg)); n > limit {
					t.Errorf("allocated %d MB for a %d MB request, want at most %d MB", n>>20, len(msg)>>20, limit>>20)
				}
			})
		}
	}
	c := &ctlsock.Client{Path: path}
	if out, err := c.Exec("list ltm pool"); err != nil || !strings.Contains(out, "ltm pool") {
		t.Fatalf("after the hostile requests: %v\n%s", err, out)
	}
}

// 1000 pools × 250 members through the real dialect: `list ltm pool` (19
// MB, past the old 16 MiB cap) comes back whole over the socket, and the
// saved text (33 MB) fits one message and parses back to itself, so it
// can be pushed and booted from. The push itself is left out: applying
// 1000 stanzas one by one is the apply-cost item's to make fast.
func TestControlSocketLargeConfig(t *testing.T) {
	var b strings.Builder
	for p := range 1000 {
		fmt.Fprintf(&b, "ltm pool /Common/p%d {\n    members {\n", p)
		for m := range 250 {
			a := fmt.Sprintf("10.%d.%d.%d", p/250, p%250, m+1)
			fmt.Fprintf(&b, "        /Common/%s:80 {\n            address %s\n        }\n", a, a)
		}
		b.WriteString("    }\n}\n")
	}
	s, _ := newTestStore(t, b.String())
	path := s.serve(t)
	want, err := s.Exec("list ltm pool")
	if err != nil {
		t.Fatal(err)
	}
	got, err := (&ctlsock.Client{Path: path}).Exec("list ltm pool")
	if err != nil || got != want {
		t.Fatalf("list over the socket: %d bytes, %v; want %d bytes", len(got), err, len(want))
	}
	if len(got) <= 16<<20 {
		t.Errorf("list of %d bytes does not pass the old 16 MiB cap", len(got))
	}
	saved := tmsh.Text(s.Running())
	msg, err := json.Marshal(ctlsock.Request{Op: "push", Text: saved})
	if err != nil || len(msg)+1 > ctlsock.MaxMessage {
		t.Fatalf("the saved text (%d bytes) does not fit one message: %d bytes, %v", len(saved), len(msg), err)
	}
	c, err := tmsh.ParseConfig(saved)
	if err != nil {
		t.Fatalf("the saved text does not parse back: %v", err)
	}
	if again := tmsh.Text(c); again != saved {
		t.Fatalf("the saved text parses back to a different config (%d bytes, was %d)", len(again), len(saved))
	}
}
