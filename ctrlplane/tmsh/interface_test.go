package tmsh

import (
	"strings"
	"testing"

	"lbx/ctrlplane/status"
	"lbx/dataplane"

	"github.com/google/go-cmp/cmp"
)

// fakeCounters is a dataplane's counter list.
type fakeCounters []dataplane.Counter

func (f fakeCounters) Counters() []dataplane.Counter { return f }
func (f fakeCounters) Flows() int                    { return 0 }

// fakeDrivers is a dataplane whose ports say how they move frames.
type fakeDrivers struct {
	fakeCounters
	info map[string]dataplane.PortInfo
}

func (f fakeDrivers) PortInfo(port string) (dataplane.PortInfo, bool) {
	i, ok := f.info[port]
	return i, ok
}

// TestNetInterfaceDrivers: with a dataplane that names its port drivers,
// show net interface adds their driver, mode, queues and ring counters.
func TestNetInterfaceDrivers(t *testing.T) {
	ctrs := fakeDrivers{
		fakeCounters: fakeCounters{
			{Name: "port.client.rx_packets", Value: 100}, {Name: "port.client.tx_packets", Value: 90},
			{Name: "port.client.rx_ring_full", Value: 7}, {Name: "port.client.rx_ring_empty", Value: 40},
			{Name: "port.client.tx_ring_full", Value: 2}, {Name: "port.client.tx_ring_empty", Value: 1},
			{Name: "port.server.rx_packets", Value: 80}, {Name: "port.server.tx_packets", Value: 95},
		},
		info: map[string]dataplane.PortInfo{
			"client": {Driver: "afxdp", Mode: "native/copy", Queues: 1, DeviceQueues: 1},
			"server": {Driver: "tap", Queues: 1, DeviceQueues: 1},
		},
	}
	s, dp := newTestStore(t, baseConf)
	d := New(s.st, status.Sources{Program: dp.Program, Counters: ctrs})
	got, err := d.Exec("show net interface")
	if err != nil {
		t.Fatal(err)
	}
	want := showRule +
		"Name         Driver  Mode             Queues      Rx Full     Rx Empty      Tx Full     Tx Empty\n" + showRule +
		"client       afxdp   native/copy         1/1            7           40            2            1\n" +
		"server       tap     -                   1/1            0            0            0            0\n"
	if _, after, ok := strings.Cut(got, "ICMP Echoes\n"); !ok || !strings.HasSuffix(after, want) {
		t.Errorf("show net interface:\n%s\nwant it to end with:\n%s", got, want)
	}
}

func TestNetInterfaceAndVLAN(t *testing.T) {
	ctrs := fakeCounters{
		{Name: "drop.no_route", Value: 4},
		{Name: "port.client.rx_packets", Value: 100}, {Name: "port.client.tx_packets", Value: 90}, {Name: "port.client.arp_replies", Value: 2},
		{Name: "port.client.arp_requests", Value: 1}, {Name: "port.client.icmp_echo_replies", Value: 3}, {Name: "port.client.rx_lost", Value: 5},
		{Name: "port.server.rx_packets", Value: 80}, {Name: "port.server.tx_packets", Value: 95}, {Name: "port.server.arp_replies", Value: 0},
		{Name: "port.server.arp_requests", Value: 0}, {Name: "port.server.icmp_echo_replies", Value: 0},
	}
	head := showRule + "Net::Interface\n" +
		"Name              Pkts In     Pkts Out      Drops  ARP Replies  ICMP Echoes\n" + showRule
	client := "client                100           90          5            2            3\n"
	server := "server                 80           95          0            0            0\n"
	vlan := func(n string) string {
		return "net vlan /Common/" + n + " {\n    interfaces {\n        " + n + " { }\n    }\n}\n"
	}
	const keptVLAN = "net vlan /Common/external { tag 4094 }"
	tests := []struct {
		name    string
		kept    bool // a net vlan stanza kept from a loaded file
		cmd     string
		want    string
		wantErr string
	}{
		{name: "show net interface", cmd: "show net interface", want: head + client + server},
		{name: "show net interface NAME", cmd: "show net interface server", want: head + server},
		{name: "show net interface missing", cmd: "show net interface eth9", wantErr: `show net interface: "eth9" is no data port of this appliance`},
		{name: "list net vlan", cmd: "list net vlan", want: vlan("client") + vlan("server")},
		{name: "list net vlan NAME", cmd: "list net vlan /Common/server", want: vlan("server")},
		{name: "list net vlan one-line", cmd: "list net vlan client one-line", want: "net vlan /Common/client { interfaces { client { } } }\n"},
		{name: "list net vlan with a kept stanza", kept: true, cmd: "list net vlan", want: vlan("client") + vlan("server") + keptVLAN + "\n"},
		{name: "list net vlan NAME of a kept stanza", kept: true, cmd: "list net vlan external", want: keptVLAN + "\n"},
		{name: "list net vlan missing", cmd: "list net vlan nope", wantErr: `list net vlan: "nope" is no data port`},
		{name: "create net vlan", cmd: "create net vlan v1 interfaces add { 1.1 }", wantErr: "create net vlan: not implemented in lbx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf := baseConf
			if tt.kept {
				conf += keptVLAN + "\n"
			}
			s, dp := newTestStore(t, conf)
			d := New(s.st, status.Sources{Program: dp.Program, Counters: ctrs})
			out, err := d.Exec(tt.cmd)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, out); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}
