package testbed

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// The default topology: a client segment and a server segment, each a bridge
// in the switch namespace, with the appliance's two TAP ports between them.
//
//	client 198.18.1.10 ──br-client── lbx-ext [lbx: self 198.18.1.2, VIP 198.18.1.100]
//	                                 lbx-int [lbx: self 198.18.2.2] ──br-server── server1..3 198.18.2.11-13
//	                                                                             iis        198.18.2.14
//	                                                                             server4..6 198.18.2.15-17
//
// server1..3 are the default config's pool members: HTTP on :80, UDP echo
// on :7, and the test ports 81 dead, 82 blackhole, 83 slow=2s, 84
// flap=3s/3s, 85 status=503 and 443 https (self-signed certificate) for
// monitor tests. iis is in no pool: an IIS 7.0 emulator on :80 (RST after
// the peer's FIN) and plain HTTP on :8001.
// server4..6 run the same server as server1..3 but are in no pool of the
// default config: tests that need more distinct members (priority groups
// of three) add them, and the default config, the demo and tests that
// count on three pooled servers are unchanged.
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
	// Serve is the emulated server the host runs; nil for none.
	Serve *ServerOptions
	// Pooled hosts are the members of the default config's pools.
	Pooled bool
	// Routes are static routes beyond the default one.
	Routes []Route
}

// Route is a host's static route.
type Route struct {
	To  netip.Prefix
	Via netip.Addr
}

// Appliance is one lbx appliance of a topology: a process in the switch
// namespace whose TAP ports join the topology's bridges.
type Appliance struct {
	Name string
	// Socket is its control socket; empty: Options.Socket for the first
	// appliance, NAME.sock in the state directory for the others.
	Socket string
	// Mgmt publishes its SSH and HTTPS management on the host (mgmt.go).
	Mgmt  bool
	Ports []AppliancePort
	// Config is its traffic config (bigip.conf); empty: Options.Config.
	Config string
	// Flows is its flow table's capacity (0: the boot default).
	Flows int
	// EmbeddedBoot boots it from the embedded default boot config (the
	// default topology's appliance) instead of the ports and self IPs
	// given as boot flags.
	EmbeddedBoot bool
	Boot         []string // more boot flags (the ha: section: topo.HA.Flags)
}

// AppliancePort is one data port: a TAP device on a bridge.
type AppliancePort struct {
	Device string
	Name   string // in the boot config; empty: Device
	Bridge string
	MAC    string
	Self   netip.Prefix // the port's self IP; invalid: none
}

// Topology is the whole testbed layout.
type Topology struct {
	// Name is "default" or the topology file's name.
	Name     string
	SwitchNS string
	Bridges  []string
	// TAPs maps each appliance port's device to the bridge it joins: a
	// TAP device, or with the afxdp driver a veth end whose peer
	// (PortPeer) is the bridge port.
	TAPs map[string]string
	// PortMACs are the appliance ports' MACs, as the default boot
	// config has them. TAPs and PortMACs are the first appliance's
	// ports: the VM and the AF_XDP driver serve only that one.
	PortMACs map[string]string
	// Appliances are the lbx processes; the first is the one the
	// testbed's Client, BootAppliance and CrashAppliance act on.
	Appliances []Appliance
	Hosts      []Host
	VIP        netip.Addr
}

// DefaultTopology is the layout `lbx testbed up` builds.
func DefaultTopology() Topology {
	clientGW := netip.MustParseAddr("198.18.1.2")
	serverGW := netip.MustParseAddr("198.18.2.2")
	t := Topology{
		Name:     "default",
		SwitchNS: "lbx-sw",
		Bridges:  []string{"br-client", "br-server"},
		TAPs:     map[string]string{"lbx-ext": "br-client", "lbx-int": "br-server"},
		PortMACs: map[string]string{"lbx-ext": "02:00:5e:10:01:02", "lbx-int": "02:00:5e:10:02:02"},
		VIP:      netip.MustParseAddr("198.18.1.100"),
		Appliances: []Appliance{{Name: "lbx", Mgmt: true, EmbeddedBoot: true, Ports: []AppliancePort{
			{Device: "lbx-ext", Bridge: "br-client", MAC: "02:00:5e:10:01:02", Self: netip.MustParsePrefix("198.18.1.2/24")},
			{Device: "lbx-int", Bridge: "br-server", MAC: "02:00:5e:10:02:02", Self: netip.MustParsePrefix("198.18.2.2/24")},
		}}},
		Hosts: []Host{
			{Name: "client", NS: "lbx-client", Addr: netip.MustParsePrefix("198.18.1.10/24"), Gateway: clientGW, Bridge: "br-client", SwEnd: "v-client"},
		},
	}
	server := func(n int, pooled bool) Host {
		name := fmt.Sprintf("server%d", n)
		addr := 11 + n - 1
		if n > 3 { // 198.18.2.14 is iis
			addr++
		}
		return Host{
			Name: name, NS: "lbx-" + name, Addr: netip.MustParsePrefix(fmt.Sprintf("198.18.2.%d/24", addr)),
			Gateway: serverGW, Bridge: "br-server", SwEnd: "v-" + name, Pooled: pooled,
			Serve: &ServerOptions{Name: name, UDP: ":7", Listen: []Listen{
				{Port: 80, Mode: ModeHTTP},
				{Port: 81, Mode: ModeDead},
				{Port: 82, Mode: ModeBlackhole},
				{Port: 83, Mode: ModeSlow, Delay: 2 * time.Second},
				{Port: 84, Mode: ModeFlap, Up: 3 * time.Second, Down: 3 * time.Second},
				{Port: 85, Mode: ModeStatus, Status: 503},
				{Port: 443, Mode: ModeHTTPS},
			}},
		}
	}
	for n := 1; n <= 3; n++ {
		t.Hosts = append(t.Hosts, server(n, true))
	}
	t.Hosts = append(t.Hosts, Host{
		Name: "iis", NS: "lbx-iis", Addr: netip.MustParsePrefix("198.18.2.14/24"),
		Gateway: serverGW, Bridge: "br-server", SwEnd: "v-iis",
		Serve: &ServerOptions{Name: "iis", Listen: []Listen{
			{Port: 80, Mode: ModeIIS},
			{Port: 8001, Mode: ModeHTTP},
		}},
	})
	for n := 4; n <= 6; n++ {
		t.Hosts = append(t.Hosts, server(n, false))
	}
	return t
}

// PortPeer is the bridge end of the veth pair of an AF_XDP appliance port.
func PortPeer(device string) string { return device + "-br" }

// bootPorts is the appliance's ports as the --ports boot flag takes them,
// each named after its device, with driver.
func (a Appliance) bootPorts(driver string) (string, error) {
	type port struct {
		Name   string `json:"name"`
		Driver string `json:"driver"`
		Device string `json:"device"`
		MAC    string `json:"mac"`
	}
	var ports []port
	for _, p := range slices.SortedFunc(slices.Values(a.Ports), func(x, y AppliancePort) int { return strings.Compare(x.Device, y.Device) }) {
		ports = append(ports, port{Name: cmp.Or(p.Name, p.Device), Driver: driver, Device: p.Device, MAC: p.MAC})
	}
	b, err := json.Marshal(ports)
	return string(b), err
}

// bootSelfIPs is the appliance's self IPs as the --selfips boot flag takes
// them: /Common/self_DEVICE on each port that has one.
func (a Appliance) bootSelfIPs() (string, error) {
	type self struct {
		Name    string `json:"name"`
		Address string `json:"address"`
		Port    string `json:"port"`
	}
	selfs := []self{}
	for _, p := range a.Ports {
		if p.Self.IsValid() {
			selfs = append(selfs, self{Name: "/Common/self_" + p.Device, Address: p.Self.String(), Port: cmp.Or(p.Name, p.Device)})
		}
	}
	b, err := json.Marshal(selfs)
	return string(b), err
}

// Appliance returns the named appliance and its index; "" names the first.
func (t Topology) Appliance(name string) (Appliance, int, bool) {
	for i, a := range t.Appliances {
		if name == "" || a.Name == name {
			return a, i, true
		}
	}
	return Appliance{}, -1, false
}

// ApplianceNames lists the appliances' names in order.
func (t Topology) ApplianceNames() []string {
	var n []string
	for _, a := range t.Appliances {
		n = append(n, a.Name)
	}
	return n
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

// Servers lists the server hosts that are members of the default config's
// pools (server1..3), in order.
func (t Topology) Servers() []Host {
	var s []Host
	for _, h := range t.Hosts {
		if h.Pooled {
			s = append(s, h)
		}
	}
	return s
}

// Emulated lists every host that runs an emulated server: server1..3, iis
// and server4..6, in that order.
func (t Topology) Emulated() []Host {
	var s []Host
	for _, h := range t.Hosts {
		if h.Serve != nil {
			s = append(s, h)
		}
	}
	return s
}
