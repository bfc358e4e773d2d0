package testbed

import "net/netip"

// The default topology: a client segment and a server segment, each a bridge
// in the switch namespace, with the appliance's two TAP ports between them.
//
//	client 198.18.1.10 ──br-client── lbx-ext [lbx: self 198.18.1.2, VIP 198.18.1.100]
//	                                 lbx-int [lbx: self 198.18.2.2] ──br-server── server1..3 198.18.2.11-13
//
// Addresses come from 198.18.0.0/15, the range RFC 2544 sets aside for
// benchmarking network devices, so they never collide with a real network.
// Every namespace name starts with "lbx-" and only these are ever removed.

// Host is one emulated machine: a namespace with one interface.
type Host struct {
	Name    string       // host name as used by `lbx testbed exec NAME`
	NS      string       // network namespace
	Addr    netip.Prefix // eth0's address
	Gateway netip.Addr   // default route (the appliance's self IP)
	Bridge  string       // segment it sits on
	SwEnd   string       // its veth end on the bridge
}

// Topology is the whole testbed layout.
type Topology struct {
	SwitchNS string
	Bridges  []string
	// TAPs maps each appliance TAP device to the bridge it joins.
	TAPs  map[string]string
	Hosts []Host
	VIP   netip.Addr
}

// DefaultTopology is the layout `lbx testbed up` builds.
func DefaultTopology() Topology {
	clientGW := netip.MustParseAddr("198.18.1.2")
	serverGW := netip.MustParseAddr("198.18.2.2")
	t := Topology{
		SwitchNS: "lbx-sw",
		Bridges:  []string{"br-client", "br-server"},
		TAPs:     map[string]string{"lbx-ext": "br-client", "lbx-int": "br-server"},
		VIP:      netip.MustParseAddr("198.18.1.100"),
		Hosts: []Host{
			{Name: "client", NS: "lbx-client", Addr: netip.MustParsePrefix("198.18.1.10/24"), Gateway: clientGW, Bridge: "br-client", SwEnd: "v-client"},
		},
	}
	for i, a := range []string{"198.18.2.11/24", "198.18.2.12/24", "198.18.2.13/24"} {
		name := []string{"server1", "server2", "server3"}[i]
		t.Hosts = append(t.Hosts, Host{Name: name, NS: "lbx-" + name, Addr: netip.MustParsePrefix(a), Gateway: serverGW, Bridge: "br-server", SwEnd: "v-" + name})
	}
	return t
}

// Host returns the named host.
func (t Topology) Host(name string) (Host, bool) {
	for _, h := range t.Hosts {
		if h.Name == name {
			return h, true
		}
	}
	return Host{}, false
}

// Namespaces lists every namespace the topology creates.
func (t Topology) Namespaces() []string {
	ns := []string{t.SwitchNS}
	for _, h := range t.Hosts {
		ns = append(ns, h.NS)
	}
	return ns
}

// Servers lists the server hosts.
func (t Topology) Servers() []Host {
	var s []Host
	for _, h := range t.Hosts {
		if h.Bridge == "br-server" {
			s = append(s, h)
		}
	}
	return s
}
