package appliance_test

import (
	"regexp"
	"testing"

	"lbx/dataplane/porttest"
)

// A SNAT pool's address is what the servers see; the appliance answers
// their ARP for it, and the connection counts on the virtual as any other.
func TestSNATPoolSource(t *testing.T) {
	tb := newTestbed(t, testbedConfig(t))
	tb.exec("create ltm snatpool sp members add { 198.18.2.50 198.18.2.51 }")
	out, err := tb.app.Exec("modify ltm virtual vs_http source-address-translation { type snat pool sp }")
	if err != nil {
		t.Fatalf("modify ltm virtual: %v", err)
	}
	if out != "" {
		t.Errorf("modify ltm virtual said %q, want nothing (no warning)", out)
	}
	for i := range 6 {
		m := peerRe.FindStringSubmatch(get(t, tb.client, "http://198.18.1.100/"))
		if m == nil {
			t.Fatalf("request %d: no peer in answer", i)
		}
		if m[1] != "198.18.2.50" && m[1] != "198.18.2.51" {
			t.Errorf("request %d: the server saw %s, want an address of snatpool sp", i, m[1])
		}
	}
	show, err := tb.app.Exec("show ltm virtual /Common/vs_http")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`Total Connections\s+6\n`).MatchString(show) {
		t.Errorf("show ltm virtual does not count 6 connections:\n%s", show)
	}
}

// translate-port disabled sends the client's destination port to the
// member: the servers' :80 members serve a virtual on :8081 from their
// own :8081.
func TestTranslatePortDisabled(t *testing.T) {
	tb := newTestbed(t, testbedConfig(t))
	for name, h := range tb.servers {
		tb.lab.serveOn(h, 8081, name+"-8081")
	}
	tb.exec("create ltm virtual vs_keep destination 198.18.1.100:8081 ip-protocol tcp pool web_pool source-address-translation { type automap } translate-port disabled")
	want := regexp.MustCompile(`^server[1-3]-8081$`)
	for i := range 3 {
		name := porttest.ServerName(get(t, tb.client, "http://198.18.1.100:8081/"))
		if !want.MatchString(name) {
			t.Errorf("request %d answered by %q, want a server's :8081", i, name)
		}
	}
}
