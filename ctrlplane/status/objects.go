package status

import (
	"net/netip"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"lbx/ctrlplane/config"
	"lbx/dataplane"
)

// The status of the objects that carry no traffic counters of their own
// (monitors, snatpools, self IPs, routes, users), of the flow table, the
// data ports and the build: what `show` prints of them and what `-o json`
// gives scripts. The json tags are the stable field names README lists.

// Monitor is a monitor's effective settings (its own, else inherited
// through defaults-from from its type's built-in) and where it checks.
type Monitor struct {
	Name         string `json:"name"`
	Type         string `json:"type"` // tmsh's word: http, tcp-half-open, …
	DefaultsFrom string `json:"defaults_from"`
	Description  string `json:"description"`
	Interval     uint32 `json:"interval"`      // seconds
	Timeout      uint32 `json:"timeout"`       // seconds
	UpInterval   uint32 `json:"up_interval"`   // seconds; 0: interval
	TimeUntilUp  uint32 `json:"time_until_up"` // seconds
	ManualResume bool   `json:"manual_resume"`
	Send         string `json:"send"`
	Recv         string `json:"recv"`
	RecvDisable  string `json:"recv_disable"`
	Destination  string `json:"destination"`
	CloseCheck   string `json:"close_check"` // lenient or legacy (tcp)
	AlteonRetry  uint32 `json:"alteon_retry"`
	AlteonRestr  uint32 `json:"alteon_restr"`
	Run          string `json:"run"`  // external
	Args         string `json:"args"` // external
	// Instances are the pool members and nodes it checks, with their state.
	Instances []Instance `json:"instances"`
}

// Monitor returns a monitor's status (a built-in one too); ok is false
// when there is none of that name.
func (v *View) Monitor(name string) (st Monitor, ok bool) {
	m := v.c.LookupMonitor(name)
	if m == nil {
		return st, false
	}
	e := v.c.EffectiveMonitor(m)
	cc := "lenient"
	if e.CloseCheck.V {
		cc = "legacy"
	}
	st = Monitor{
		Name: name, Type: m.Type.String(), DefaultsFrom: m.DefaultsFrom, Description: m.Description,
		Interval: e.Interval.V, Timeout: e.Timeout.V, UpInterval: e.UpInterval.V, TimeUntilUp: e.TimeUntilUp.V,
		ManualResume: e.ManualResume.V, Send: e.Send.V, Recv: e.Recv.V, RecvDisable: e.RecvDisable.V,
		Destination: e.Destination.V, CloseCheck: cc, AlteonRetry: e.AlteonRetry.V, AlteonRestr: e.AlteonRestore.V,
		Run: e.Run.V, Args: e.Args.V,
		Instances: v.MonitorInstances(name),
	}
	if st.Instances == nil {
		st.Instances = []Instance{}
	}
	return st, true
}

// SNATPool is an ltm snatpool: its addresses and the virtual servers that
// translate with it. The dataplane translates those with automap for now.
type SNATPool struct {
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Members     []netip.Addr `json:"members"`
	Virtuals    []string     `json:"virtuals"` // source-address-translation snat with this pool
}

// SNATPool returns a snatpool's status; ok is false when it does not exist.
func (v *View) SNATPool(name string) (st SNATPool, ok bool) {
	p := v.c.SNATPools[name]
	if p == nil {
		return st, false
	}
	st = SNATPool{Name: name, Description: p.Description, Members: append([]netip.Addr{}, p.Members...), Virtuals: []string{}}
	for _, vs := range v.c.VirtualList() {
		if vs.SNAT == config.SNATSnatpool && vs.SNATPool == name {
			st.Virtuals = append(st.Virtuals, vs.Name)
		}
	}
	return st, true
}

// Route is a net route and whether its gateway is on a connected network
// (a self IP's): the dataplane uses the route only then.
type Route struct {
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Network     netip.Prefix `json:"network"` // 0.0.0.0/0 for default
	Gateway     netip.Addr   `json:"gateway"`
	Reachable   bool         `json:"reachable"` // the gateway is on a connected network
	Connected   netip.Prefix `json:"connected"` // that network, when reachable
	Port        string       `json:"port"`      // its data port, when reachable
}

// Route returns a route's status; ok is false when it does not exist.
func (v *View) Route(name string) (st Route, ok bool) {
	r := v.c.Routes[name]
	if r == nil {
		return st, false
	}
	st = Route{Name: name, Description: r.Description, Network: r.Network, Gateway: r.Gateway}
	if prog := v.program(); prog != nil {
		for _, s := range prog.SelfIPs {
			if s.Prefix.Masked().Contains(r.Gateway) {
				st.Reachable, st.Connected, st.Port = true, s.Prefix.Masked(), s.Port
			}
		}
	}
	return st, true
}

// User is an auth user's role and password scheme; never the password or
// its hash.
type User struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Role        string `json:"role"` // admin, operator, guest, no-access
	// Password is the scheme of the stored hash: bcrypt, sha512-crypt (a
	// BIG-IP hash lbx cannot verify), unknown, or none (cannot log in).
	Password string `json:"password"`
}

// User returns a user's status; ok is false when there is none.
func (v *View) User(name string) (st User, ok bool) {
	u := v.c.Users[name]
	if u == nil {
		return st, false
	}
	scheme := "none"
	switch {
	case strings.HasPrefix(u.PasswordHash, "$2"):
		scheme = "bcrypt"
	case strings.HasPrefix(u.PasswordHash, "$6$"):
		scheme = "sha512-crypt"
	case u.PasswordHash != "":
		scheme = "unknown"
	}
	return User{Name: name, Description: u.Description, Role: u.Role.String(), Password: scheme}, true
}

// Connection is one flow of the dataplane's flow table, as `show sys
// connection` prints it.
type Connection struct {
	CSClient    netip.AddrPort `json:"cs_client"` // the client
	CSServer    netip.AddrPort `json:"cs_server"` // the virtual server
	SSClient    netip.AddrPort `json:"ss_client"` // the source towards the member (the client or the SNAT address)
	SSServer    netip.AddrPort `json:"ss_server"` // the member
	Protocol    string         `json:"protocol"`  // tcp, udp, or the IP protocol number
	IdleSeconds int64          `json:"idle_seconds"`
	Virtual     string         `json:"virtual"`
}

// Connections converts the dataplane's connections.
func Connections(conns []dataplane.Connection) []Connection {
	out := make([]Connection, 0, len(conns))
	for _, c := range conns {
		out = append(out, Connection{
			CSClient: c.CSClient, CSServer: c.CSServer, SSClient: c.SSClient, SSServer: c.SSServer,
			Protocol: ProtocolName(c.Protocol), IdleSeconds: int64(c.Idle.Seconds()), Virtual: c.Virtual,
		})
	}
	return out
}

// ProtocolName is an IP protocol's tmsh word.
func ProtocolName(p uint8) string {
	switch p {
	case dataplane.ProtoTCP:
		return "tcp"
	case dataplane.ProtoUDP:
		return "udp"
	}
	return strconv.Itoa(int(p))
}

// Interface is a data port: lbx's interfaces and VLANs are the boot
// config's ports. Its counters are the dataplane's port counters.
type Interface struct {
	Name            string `json:"name"`
	PktsIn          uint64 `json:"pkts_in"`
	PktsOut         uint64 `json:"pkts_out"`
	Drops           uint64 `json:"drops"` // packets the port lost
	ARPReplies      uint64 `json:"arp_replies"`
	ICMPEchoReplies uint64 `json:"icmp_echo_replies"`
	// How the port moves frames, when its driver says (dataplane.PortInfo):
	// driver "tap" or "afxdp", the AF_XDP attach/bind mode, the device
	// queues served of those it has, and the ring counters (AF_XDP).
	Driver       string `json:"driver,omitempty"`
	Mode         string `json:"mode,omitempty"`
	Queues       int    `json:"queues,omitempty"`
	DeviceQueues int    `json:"device_queues,omitempty"`
	RxRingFull   uint64 `json:"rx_ring_full,omitempty"`
	RxRingEmpty  uint64 `json:"rx_ring_empty,omitempty"`
	TxRingFull   uint64 `json:"tx_ring_full,omitempty"`
	TxRingEmpty  uint64 `json:"tx_ring_empty,omitempty"`
}

// portInfoSource is a dataplane that says how its ports move frames.
type portInfoSource interface {
	PortInfo(port string) (dataplane.PortInfo, bool)
}

// Interfaces are the data ports in the dataplane's order, from its
// counters, or from the installed self IPs when it keeps none.
func (v *View) Interfaces() []Interface {
	var out []Interface
	find := func(name string) *Interface {
		for i := range out {
			if out[i].Name == name {
				return &out[i]
			}
		}
		out = append(out, Interface{Name: name})
		return &out[len(out)-1]
	}
	if v.src.Counters != nil {
		for _, c := range v.src.Counters.Counters() {
			rest, ok := strings.CutPrefix(c.Name, "port.")
			if !ok {
				continue
			}
			i := strings.LastIndexByte(rest, '.')
			if i < 0 {
				continue
			}
			p := find(rest[:i])
			switch rest[i+1:] {
			case "rx_packets":
				p.PktsIn = c.Value
			case "tx_packets":
				p.PktsOut = c.Value
			case "rx_lost":
				p.Drops = c.Value
			case "arp_replies":
				p.ARPReplies = c.Value
			case "icmp_echo_replies":
				p.ICMPEchoReplies = c.Value
			case "rx_ring_full":
				p.RxRingFull = c.Value
			case "rx_ring_empty":
				p.RxRingEmpty = c.Value
			case "tx_ring_full":
				p.TxRingFull = c.Value
			case "tx_ring_empty":
				p.TxRingEmpty = c.Value
			}
		}
	}
	if p := v.program(); p != nil {
		for _, s := range p.SelfIPs {
			find(s.Port)
		}
	}
	if src, ok := v.src.Counters.(portInfoSource); ok {
		for i := range out {
			if info, ok := src.PortInfo(out[i].Name); ok {
				out[i].Driver, out[i].Mode, out[i].Queues, out[i].DeviceQueues = info.Driver, info.Mode, info.Queues, info.DeviceQueues
			}
		}
	}
	return out
}

// VLAN is a data port seen as a VLAN, with itself as its one untagged
// interface.
type VLAN struct {
	Name       string   `json:"name"` // /Common/PORT
	Interfaces []string `json:"interfaces"`
}

// Version is lbx's build, as `show sys version` prints it.
type Version struct {
	Product string `json:"product"` // lbx
	Version string `json:"version"` // the module version, or dev
	Build   string `json:"build"`   // the VCS revision, or none
	Edition string `json:"edition"` // the Go release it was built with
	Date    string `json:"date"`    // the VCS commit time, or unknown
}

// BuildVersion is the running binary's build.
func BuildVersion() Version {
	v := Version{Product: "lbx", Version: "dev", Build: "none", Edition: "Go " + strings.TrimPrefix(runtime.Version(), "go"), Date: "unknown"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if m := bi.Main.Version; m != "" && m != "(devel)" {
			v.Version = m
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Build = s.Value
			case "vcs.time":
				v.Date = s.Value
			}
		}
	}
	return v
}

// Persistence is a persistence profile's effective settings (after
// defaults-from) and the virtual servers using it.
type Persistence struct {
	Name                    string `json:"name"`
	Type                    string `json:"type"` // source-addr, cookie, hash
	DefaultsFrom            string `json:"defaults_from"`
	Description             string `json:"description"`
	Timeout                 uint32 `json:"timeout"` // seconds; 0: as long as the connection
	MatchAcrossServices     bool   `json:"match_across_services"`
	MatchAcrossVirtuals     bool   `json:"match_across_virtuals"`
	MatchAcrossPools        bool   `json:"match_across_pools"`
	OverrideConnectionLimit bool   `json:"override_connection_limit"`
	Mask                    string `json:"mask"`
	HashAlgorithm           string `json:"hash_algorithm"`
	Method                  string `json:"method"`
	CookieName              string `json:"cookie_name"`
	Expiration              string `json:"expiration"`
	AlwaysSend              bool   `json:"always_send"`
	HashOffset              uint32 `json:"hash_offset"`
	HashLength              uint32 `json:"hash_length"`
	Rule                    string `json:"rule"`
	HeaderName              string `json:"header_name"`
	// Virtuals use it (persist), or as fallback (fallback-persistence).
	Virtuals         []string `json:"virtuals"`
	FallbackVirtuals []string `json:"fallback_virtuals"`
}

// Persistence returns a persistence profile's status (a built-in one too);
// ok is false when there is none of that name.
func (v *View) Persistence(name string) (st Persistence, ok bool) {
	p := v.c.LookupPersistence(name)
	if p == nil {
		return st, false
	}
	e := v.c.EffectivePersistence(p)
	st = Persistence{
		Name: name, Type: p.Type.String(), DefaultsFrom: p.DefaultsFrom, Description: p.Description,
		Timeout: e.Timeout.V, MatchAcrossServices: e.MatchAcrossServices.V, MatchAcrossVirtuals: e.MatchAcrossVirtuals.V,
		MatchAcrossPools: e.MatchAcrossPools.V, OverrideConnectionLimit: e.OverrideConnectionLimit.V, Mask: e.Mask.V,
		HashAlgorithm: e.HashAlgorithm.V, Method: e.Method.V, CookieName: e.CookieName.V, Expiration: e.Expiration.V,
		AlwaysSend: e.AlwaysSend.V, HashOffset: e.HashOffset.V, HashLength: e.HashLength.V, Rule: e.Rule.V, HeaderName: e.HeaderName.V,
		Virtuals: []string{}, FallbackVirtuals: []string{},
	}
	for _, vs := range v.c.VirtualList() {
		for _, r := range vs.Persist {
			if r.Name == name {
				st.Virtuals = append(st.Virtuals, vs.Name)
			}
		}
		if vs.FallbackPersistence == name {
			st.FallbackVirtuals = append(st.FallbackVirtuals, vs.Name)
		}
	}
	return st, true
}
