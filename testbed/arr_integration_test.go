package testbed

import (
	"path/filepath"
	"strings"
	"testing"
)

// upARR brings the arr topology up (topo/builtin/arr): a BIG-IP in front
// of two ARR nodes and their content servers.
func upARR(t *testing.T) *Testbed {
	t.Helper()
	requireRoot(t)
	topo, err := LoadTopology("arr")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tb, err := Up(Options{
		Binary:   lbxBinary,
		StateDir: filepath.Join(dir, "state"),
		Socket:   filepath.Join(dir, "lbx.sock"),
		Topology: &topo,
	})
	if err != nil {
		t.Fatalf("testbed up --topology arr: %v", err)
	}
	t.Cleanup(func() {
		if err := tb.Down(); err != nil {
			t.Errorf("testbed down: %v", err)
		}
	})
	return tb
}

// The paper's third scenario: the ARR nodes route by URL, host name and
// user agent, whichever node the BIG-IP picks.
func TestIntegrationARRRouting(t *testing.T) {
	tb := upARR(t)
	vip := "http://" + tb.Topo.VIP.String()
	for _, c := range []struct {
		name string
		args []string
		want []string // the servers allowed to answer
	}{
		{"jpg", []string{vip + "/img/logo.jpg"}, []string{"static1", "static2"}},
		{"css", []string{vip + "/site.css"}, []string{"static1", "static2"}},
		{"js", []string{vip + "/app.js"}, []string{"static1", "static2"}},
		{"static dir", []string{vip + "/static/index.html"}, []string{"static1", "static2"}},
		{"dynamic", []string{vip + "/cart.aspx"}, []string{"app1", "app2"}},
		{"root", []string{vip + "/"}, []string{"app1", "app2"}},
		{"host", []string{"-H", "Host: shop.example", vip + "/cart.aspx"}, []string{"shop1"}},
		{"user agent", []string{"-A", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)", vip + "/cart.aspx"}, []string{"mobile1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			seen := map[string]int{}
			for range 6 {
				got := ServerName(curl(t, tb, c.args...))
				if !strings.Contains(" "+strings.Join(c.want, " ")+" ", " "+got+" ") {
					t.Fatalf("curl %v answered by %q, want one of %v", c.args, got, c.want)
				}
				seen[got]++
			}
			if len(c.want) > 1 && len(seen) < 2 {
				t.Errorf("curl %v: six requests all reached %v: want both of %v", c.args, seen, c.want)
			}
		})
	}
}
