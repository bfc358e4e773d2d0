package tmsh

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"lbx/ctrlplane/status"
	"lbx/ctrlplane/tmsh/conf"
	"lbx/dataplane"

	"github.com/google/go-cmp/cmp"
)

// fakeConns is a dataplane whose flow table is a list, filtered with the
// dataplane's own ConnFilter.
type fakeConns struct {
	*fakeDataplane
	conns []dataplane.Connection
}

func (f *fakeConns) Connections(sel dataplane.ConnFilter) []dataplane.Connection {
	var out []dataplane.Connection
	for _, c := range f.conns {
		if sel.Match(c) {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeConns) DeleteConnections(sel dataplane.ConnFilter) int {
	n := len(f.conns)
	f.conns = slices.DeleteFunc(f.conns, sel.Match)
	return n - len(f.conns)
}

func TestSysConnection(t *testing.T) {
	ap := netip.MustParseAddrPort
	all := []dataplane.Connection{
		{CSClient: ap("198.18.0.10:40000"), CSServer: ap("198.18.1.100:80"), SSClient: ap("198.18.2.1:40000"), SSServer: ap("10.0.0.1:80"), Protocol: dataplane.ProtoTCP, Virtual: "/Common/vs", Idle: 3 * time.Second},
		{CSClient: ap("198.18.0.11:5353"), CSServer: ap("198.18.1.100:53"), SSClient: ap("198.18.0.11:5353"), SSServer: ap("10.0.0.2:53"), Protocol: dataplane.ProtoUDP, Virtual: "/Common/dns", Idle: 1500 * time.Millisecond},
	}
	const head = "Sys::Connections\n"
	line0 := "198.18.0.10:40000  198.18.1.100:80  198.18.2.1:40000  10.0.0.1:80  tcp  3  /Common/vs\n"
	line1 := "198.18.0.11:5353  198.18.1.100:53  198.18.0.11:5353  10.0.0.2:53  udp  1  /Common/dns\n"
	tests := []struct {
		name     string
		cmd      string
		want     string
		wantLeft int // connections left after the command
		wantErr  string
	}{
		{name: "show all", cmd: "show sys connection", want: head + line0 + line1 + "Total records returned: 2\n", wantLeft: 2},
		{name: "show cs-client-addr", cmd: "show sys connection cs-client-addr 198.18.0.11", want: head + line1 + "Total records returned: 1\n", wantLeft: 2},
		{name: "show cs-server-addr", cmd: "show sys connection cs-server-addr 198.18.1.100", want: head + line0 + line1 + "Total records returned: 2\n", wantLeft: 2},
		{name: "show ss-server-addr and port", cmd: "show sys connection ss-server-addr 10.0.0.1 ss-server-port 80", want: head + line0 + "Total records returned: 1\n", wantLeft: 2},
		{name: "show none", cmd: "show sys connection cs-client-port 1", want: head + "Total records returned: 0\n", wantLeft: 2},
		{name: "delete by ss-server-addr", cmd: "delete sys connection ss-server-addr 10.0.0.2", wantLeft: 1},
		{name: "delete all", cmd: "delete sys connection", wantLeft: 0},
		{name: "bad filter", cmd: "show sys connection client 1.2.3.4", wantErr: `show sys connection: unexpected "client", want one of cs-client-addr`, wantLeft: 2},
		{name: "bad address", cmd: "delete sys connection cs-client-addr nope", wantErr: `delete sys connection cs-client-addr "nope": not an IP address`, wantLeft: 2},
		{name: "bad port", cmd: "show sys connection ss-server-port 70000", wantErr: "want a port from 1 to 65535", wantLeft: 2},
		{name: "missing value", cmd: "show sys connection cs-client-addr", wantErr: "cs-client-addr", wantLeft: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dp := newTestStore(t, baseConf)
			fc := &fakeConns{fakeDataplane: dp, conns: slices.Clone(all)}
			d := New(s.st, status.Sources{Program: dp.Program, Runtime: fc})
			before := conf.Text(s.Running())
			out, err := d.Exec(tt.cmd)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if diff := cmp.Diff(tt.want, out); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			if len(fc.conns) != tt.wantLeft {
				t.Errorf("%d connections left, want %d", len(fc.conns), tt.wantLeft)
			}
			if conf.Text(s.Running()) != before {
				t.Error("the configuration changed")
			}
		})
	}
	t.Run("no flow table", func(t *testing.T) {
		s, _ := newTestStore(t, baseConf)
		if _, err := s.Exec("show sys connection"); err == nil || !strings.Contains(err.Error(), "keeps no flow table") {
			t.Fatalf("error = %v, want the dataplane to say it keeps no flow table", err)
		}
	})
}
