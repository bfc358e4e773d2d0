package config

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// MonitorType is the type of an `ltm monitor TYPE`.
type MonitorType uint8

// Monitor types lbx knows.
const (
	MonitorICMP MonitorType = iota
	MonitorGatewayICMP
	MonitorTCP
	MonitorTCPHalfOpen
	MonitorHTTP
	MonitorHTTPS
	MonitorUDP
	MonitorExternal
	MonitorTypeCount
)

var monitorTypeNames = [MonitorTypeCount]string{"icmp", "gateway-icmp", "tcp", "tcp-half-open", "http", "https", "udp", "external"}

// String returns the tmsh name of the type.
func (t MonitorType) String() string {
	if t < MonitorTypeCount {
		return monitorTypeNames[t]
	}
	return "type-" + strconv.Itoa(int(t))
}

// Builtin is the full name of the type's built-in monitor, every monitor's
// root parent: /Common/http, /Common/gateway_icmp, …
func (t MonitorType) Builtin() string {
	return "/" + CommonPartition + "/" + strings.ReplaceAll(t.String(), "-", "_")
}

// AddressOnly reports whether the type probes an address, not a service.
func (t MonitorType) AddressOnly() bool { return t == MonitorICMP || t == MonitorGatewayICMP }

// Monitor is an `ltm monitor TYPE NAME`: a health check. Properties not set
// are inherited from the defaults-from parent, up to the type's built-in
// (interval 5, timeout 16, …). The monitor engine runs them from the self
// IPs through the dataplane (ctrlplane/health turns them into checks).
type Monitor struct {
	Name         string
	Type         MonitorType
	DefaultsFrom string // full name; ApplyDefaults sets the type's built-in
	Description  string
	Interval     Opt[uint32] // seconds between probes
	Timeout      Opt[uint32] // seconds without an answer before down
	UpInterval   Opt[uint32] // seconds between probes while up; 0 uses interval
	TimeUntilUp  Opt[uint32] // seconds of answers before up
	ManualResume Opt[bool]   // a member that went down stays down until enabled
	Send         Opt[string]
	Recv         Opt[string]
	RecvDisable  Opt[string]
	Destination  Opt[string] // "*:*", "*:80", "10.0.0.1:80"; "*" or an address for icmp types
	CloseCheck   Opt[bool]   // tcp: true is close-check legacy (a RST answering our FIN fails the check)
	// AlteonRetry and AlteonRestore (lbx extensions, tmsh alteon-retry and
	// alteon-restr) switch the monitor to Alteon timing when either is
	// non-zero: down after AlteonRetry consecutive failed probes, up after
	// AlteonRestore consecutive good ones, each probe waiting at most
	// timeout. The Alteon dialect's health checks set them.
	AlteonRetry   Opt[uint32]
	AlteonRestore Opt[uint32]
	Run           Opt[string] // external: the program
	Args          Opt[string] // external: its arguments
	Extras
}

func (m *Monitor) Clone() *Monitor { x := *m; x.Extras = m.Extras.Clone(); return &x }

// builtinMonitors are BIG-IP's base monitors of each type, with every
// property set: the root of every monitor's inheritance. They are never
// printed in the saved config and cannot be changed or deleted.
var builtinMonitors = func() map[string]*Monitor {
	out := map[string]*Monitor{}
	for t := range MonitorTypeCount {
		m := &Monitor{
			Name: t.Builtin(), Type: t,
			Interval: Some[uint32](5), Timeout: Some[uint32](16), UpInterval: Some[uint32](0), TimeUntilUp: Some[uint32](0),
			ManualResume: Some(false), Send: Some(""), Recv: Some(""), RecvDisable: Some(""), CloseCheck: Some(false),
			AlteonRetry: Some[uint32](0), AlteonRestore: Some[uint32](0),
			Destination: Some("*:*"), Run: Some(""), Args: Some(""),
		}
		switch t {
		case MonitorICMP, MonitorGatewayICMP:
			m.Destination = Some("*")
		case MonitorHTTP, MonitorHTTPS:
			m.Send = Some("GET /\r\n")
		case MonitorUDP:
			m.Send = Some("default send string")
		}
		out[m.Name] = m
	}
	return out
}()

func BuiltinMonitor(name string) *Monitor { return builtinMonitors[name] }

// ParseMonitorDestination checks and canonicalizes a destination: "*", an
// address, or HOST:PORT with * for either.
func ParseMonitorDestination(s string, addressOnly bool) (string, error) {
	host, port := s, ""
	if !addressOnly {
		var err error
		if host, port, err = SplitAddrPort(s); err != nil {
			return "", fmt.Errorf("want ADDRESS:PORT, * for either")
		}
	}
	if host != "*" {
		a, err := netip.ParseAddr(host)
		if err != nil {
			return "", fmt.Errorf("%q: not an IP address or *", host)
		}
		host = a.String()
	}
	if addressOnly {
		return host, nil
	}
	if port != "*" {
		p, err := ParsePort(port)
		if err != nil {
			return "", err
		}
		port = strconv.Itoa(int(p))
	}
	sep := ":"
	if strings.Contains(host, ":") {
		sep = "."
	}
	return host + sep + port, nil
}

// Alteon reports whether the (effective) monitor runs under Alteon timing.
func (m *Monitor) Alteon() bool { return m.AlteonRetry.V > 0 || m.AlteonRestore.V > 0 }

// LookupMonitor finds a monitor of the configuration or a built-in.
func (c *Config) LookupMonitor(name string) *Monitor {
	if m := c.Monitors[name]; m != nil {
		return m
	}
	return BuiltinMonitor(name)
}

// EffectiveMonitor returns m with every property it does not set taken from
// its defaults-from chain, ending at its type's built-in.
func (c *Config) EffectiveMonitor(m *Monitor) Monitor {
	x := *m
	seen := map[string]bool{m.Name: true}
	for p := c.LookupMonitor(m.DefaultsFrom); p != nil && !seen[p.Name] && p.Type == m.Type; p = c.LookupMonitor(p.DefaultsFrom) {
		seen[p.Name] = true
		x.inherit(p)
	}
	x.inherit(builtinMonitors[m.Type.Builtin()])
	return x
}

// inherit takes every property m does not set from p.
func (m *Monitor) inherit(p *Monitor) {
	inherit(&m.Interval, p.Interval)
	inherit(&m.Timeout, p.Timeout)
	inherit(&m.UpInterval, p.UpInterval)
	inherit(&m.TimeUntilUp, p.TimeUntilUp)
	inherit(&m.ManualResume, p.ManualResume)
	inherit(&m.Send, p.Send)
	inherit(&m.Recv, p.Recv)
	inherit(&m.RecvDisable, p.RecvDisable)
	inherit(&m.Destination, p.Destination)
	inherit(&m.CloseCheck, p.CloseCheck)
	inherit(&m.AlteonRetry, p.AlteonRetry)
	inherit(&m.AlteonRestore, p.AlteonRestore)
	inherit(&m.Run, p.Run)
	inherit(&m.Args, p.Args)
}

// BuiltinNames returns the names of every built-in object (the base
// monitors and persistence profiles), sorted.
func BuiltinNames() []string {
	var out []string
	for name := range builtinMonitors {
		out = append(out, name)
	}
	for name := range builtinPersistence {
		out = append(out, name)
	}
	for name := range builtinProfiles {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}
