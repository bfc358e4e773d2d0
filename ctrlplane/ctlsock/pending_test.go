package ctlsock

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

// pend is a dialect whose sessions have changes pending after a "/c" line
// until "apply"; it has the optional Pending method.
type pend struct{ echo }

func (d pend) NewSession() Session { return &pendSession{echoSession: echoSession{d: d.echo}} }

type pendSession struct {
	echoSession
	pending bool
}

func (s *pendSession) Exec(line string) (string, error) {
	switch {
	case strings.HasPrefix(line, "/c"):
		s.pending = true
	case line == "apply":
		s.pending = false
	}
	return s.echoSession.Exec(line)
}

func (s *pendSession) Pending() bool { return s.pending }

// A session's Response says whether it holds pending changes, for the
// shell that asks before leaving; AlteonPending asks without changing
// anything, and a dialect without Pending never reports any.
func TestControlSocketPending(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lbx.sock")
	srv, err := Listen(path, slog.New(slog.DiscardHandler), echo{name: "tmsh"}, pend{echo{name: "alteon", prefix: "/"}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	defer srv.Close()
	c := &Client{Path: path, Session: "op"}
	steps := []struct {
		line    string // "" asks with AlteonPending
		pending bool
	}{
		{"", false},
		{"/c/slb/real 1", true},
		{"", true},
		{"/i/slb/real", true},
		{"apply", false},
		{"", false},
	}
	for _, st := range steps {
		var got bool
		if st.line == "" {
			got, err = c.AlteonPending()
		} else {
			var resp Response
			resp, err = c.roundTrip(Request{Op: "exec", Text: st.line, Session: c.Session, Dialect: "alteon"})
			got = resp.Pending
		}
		if err != nil || got != st.pending {
			t.Errorf("after %q: pending %v (err %v), want %v", st.line, got, err, st.pending)
		}
	}
	resp, err := c.roundTrip(Request{Op: "exec", Text: "/c/x", Session: c.Session, Dialect: "tmsh"})
	if err != nil || resp.Pending {
		t.Errorf("a dialect without Pending: pending %v, err %v", resp.Pending, err)
	}
}
