package ctrlplane

import (
	"slices"
	"testing"

	"lbx/ctrlplane/ctlsock"
)

// Op complete reaches each dialect's command table over the socket: pool
// names in tmsh, real IDs in the Alteon session's open menu.
func TestControlSocketComplete(t *testing.T) {
	s, _ := newTestStore(t, DefaultConfigText())
	path := s.serve(t)
	c := &ctlsock.Client{Path: path, Session: "op"}
	if _, err := c.Exec("create ltm pool wx_pool; create ltm pool wy_pool"); err != nil {
		t.Fatal(err)
	}
	got, err := c.Complete("tmsh", "list ltm pool w")
	if err != nil {
		t.Fatal(err)
	}
	if w := words(got); !slices.Equal(w, []string{"web_pool", "wx_pool", "wy_pool"}) {
		t.Errorf("tmsh: list ltm pool w: %v", w)
	}
	if _, _, err := c.ExecAlteon("/c/slb/real 5/rip 198.18.2.15"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ExecAlteon(".."); err != nil {
		t.Fatal(err)
	}
	got, err = c.Complete("alteon", "real ")
	if err != nil {
		t.Fatal(err)
	}
	if w := words(got); !slices.Contains(w, "5") {
		t.Errorf("alteon: real IDs in the session's open menu: %v", w)
	}
	got, err = c.Complete("", "sh ltm po")
	if err != nil || !slices.Equal(words(got), []string{"pool"}) {
		t.Errorf("default dialect: sh ltm po: %v, %v", got, err)
	}
}

func words(cs []ctlsock.Candidate) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Word)
	}
	return out
}
