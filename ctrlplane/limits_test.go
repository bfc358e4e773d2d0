package ctrlplane

import (
	"encoding/json"
	"log/slog"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"lbx/ctrlplane/ctlsock"
	"lbx/ctrlplane/status"
)

// The requests, through the socket to the real dialects: 15 MB of
// "{" and a million-deep nesting fail at once with an error naming the
// limit, and what the server allocates for them is a small multiple of
// their size (its read buffer, the decoded text), garbage once answered.
// They once left the appliance at 4.4 GB and 712 MB.
func TestControlSocketHostileRequests(t *testing.T) {
	if raceEnabled {
		t.Skip("15 s under the race detector; the run without it covers this (it has no concurrency of its own)")
	}
	s, _ := newTestStore(t, DefaultConfigText())
	path := filepath.Join(t.TempDir(), "lbx.sock")
	srv, err := ctlsock.Listen(path, slog.New(slog.DiscardHandler), Dialects(s.st, status.FromDataplane(s.dp, nil))...)
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	defer srv.Close()
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
