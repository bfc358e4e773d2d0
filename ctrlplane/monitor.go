package ctrlplane

import (
	"fmt"
	"math"
	"net/netip"
	"regexp"
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
	monitorTypeCount
)

var monitorTypeNames = [monitorTypeCount]string{"icmp", "gateway-icmp", "tcp", "tcp-half-open", "http", "https", "udp", "external"}

// String returns the tmsh name of the type.
func (t MonitorType) String() string {
	if t < monitorTypeCount {
		return monitorTypeNames[t]
	}
	return "type-" + strconv.Itoa(int(t))
}

// builtin is the full name of the type's built-in monitor, every monitor's
// root parent: /Common/http, /Common/gateway_icmp, …
func (t MonitorType) builtin() string {
	return "/" + commonPartition + "/" + strings.ReplaceAll(t.String(), "-", "_")
}

// addressOnly reports whether the type probes an address, not a service.
func (t MonitorType) addressOnly() bool { return t == MonitorICMP || t == MonitorGatewayICMP }

// Monitor is an `ltm monitor TYPE NAME`: a health check. Properties not set
// are inherited from the defaults-from parent, up to the type's built-in
// (interval 5, timeout 16, …). The monitor engine runs them from the self
// IPs through the dataplane (health.go turns them into checks).
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

func (m *Monitor) clone() *Monitor { x := *m; x.Extras = m.Extras.clone(); return &x }

// builtinMonitors are BIG-IP's base monitors of each type, with every
// property set: the root of every monitor's inheritance. They are never
// printed in the saved config and cannot be changed or deleted.
var builtinMonitors = func() map[string]*Monitor {
	out := map[string]*Monitor{}
	for t := range monitorTypeCount {
		m := &Monitor{
			Name: t.builtin(), Type: t,
			Interval: set[uint32](5), Timeout: set[uint32](16), UpInterval: set[uint32](0), TimeUntilUp: set[uint32](0),
			ManualResume: set(false), Send: set(""), Recv: set(""), RecvDisable: set(""), CloseCheck: set(false),
			AlteonRetry: set[uint32](0), AlteonRestore: set[uint32](0),
			Destination: set("*:*"), Run: set(""), Args: set(""),
		}
		switch t {
		case MonitorICMP, MonitorGatewayICMP:
			m.Destination = set("*")
		case MonitorHTTP, MonitorHTTPS:
			m.Send = set("GET /\r\n")
		case MonitorUDP:
			m.Send = set("default send string")
		}
		out[m.Name] = m
	}
	return out
}()

func builtinMonitor(name string) *Monitor { return builtinMonitors[name] }

// monitorFields are the inheritable properties, in name order.
var monitorFields = []optField[Monitor]{
	optUint("alteon-restr", "Alteon timing: good probes in a row to come up (0: BIG-IP timing)", 0, 1000, func(m *Monitor) *Opt[uint32] { return &m.AlteonRestore }),
	optUint("alteon-retry", "Alteon timing: failed probes in a row to go down (0: BIG-IP timing)", 0, 1000, func(m *Monitor) *Opt[uint32] { return &m.AlteonRetry }),
	optText("args", "arguments of the external program", func(m *Monitor) *Opt[string] { return &m.Args }).on(uint8(MonitorExternal)),
	{
		// lbx's switch for the IIS 7.0 quirk (see README "Health monitors"):
		// lenient accepts a server that answers the monitor's FIN with RST;
		// legacy fails it, as Alteon firmware before 23.2.9 did.
		name: "close-check", help: "lenient (a RST answering the monitor's FIN is fine) or legacy (it fails the check, as old Alteon firmware)",
		types: 1 << MonitorTCP,
		parse: func(c *cursor, m *Monitor) error {
			i, err := wordValue(c, "close-check", "lenient", "legacy")
			m.CloseCheck = set(i == 1)
			return err
		},
		value:   func(m *Monitor) (string, bool) { return yesNo(m.CloseCheck.V, "legacy", "lenient"), m.CloseCheck.Set },
		inherit: inheritOpt(func(m *Monitor) *Opt[bool] { return &m.CloseCheck }),
	},
	{
		name: "destination", help: "ADDRESS:PORT to probe, * for the member's own (icmp types: ADDRESS or *)",
		parse: func(c *cursor, m *Monitor) error {
			t, err := c.value("destination")
			if err != nil {
				return err
			}
			d, err := parseMonitorDestination(t.text, m.Type.addressOnly())
			if err != nil {
				return lineErrorf(t.line, "destination %q: %w", t.text, err)
			}
			m.Destination = set(d)
			return nil
		},
		value:   func(m *Monitor) (string, bool) { return m.Destination.V, m.Destination.Set },
		inherit: inheritOpt(func(m *Monitor) *Opt[string] { return &m.Destination }),
	},
	optUint("interval", "seconds between probes", 1, 86400, func(m *Monitor) *Opt[uint32] { return &m.Interval }),
	optSwitch("manual-resume", "a member marked down stays down until enabled", func(m *Monitor) *Opt[bool] { return &m.ManualResume }),
	optText("recv", "text a good answer contains", func(m *Monitor) *Opt[string] { return &m.Recv }).on(uint8(MonitorTCP), uint8(MonitorHTTP), uint8(MonitorHTTPS), uint8(MonitorUDP)),
	optText("recv-disable", "text of an answer that disables the member", func(m *Monitor) *Opt[string] { return &m.RecvDisable }).on(uint8(MonitorTCP), uint8(MonitorHTTP), uint8(MonitorHTTPS), uint8(MonitorUDP)),
	optText("run", "the external program", func(m *Monitor) *Opt[string] { return &m.Run }).on(uint8(MonitorExternal)),
	optText("send", "text sent to the member", func(m *Monitor) *Opt[string] { return &m.Send }).on(uint8(MonitorTCP), uint8(MonitorHTTP), uint8(MonitorHTTPS), uint8(MonitorUDP)),
	optUint("time-until-up", "seconds of good answers before up", 0, math.MaxUint32, func(m *Monitor) *Opt[uint32] { return &m.TimeUntilUp }),
	optUint("timeout", "seconds without a good answer before down", 1, math.MaxUint32, func(m *Monitor) *Opt[uint32] { return &m.Timeout }),
	optUint("up-interval", "seconds between probes while up, 0 uses interval", 0, 86400, func(m *Monitor) *Opt[uint32] { return &m.UpInterval }),
}

// parseMonitorDestination checks and canonicalizes a destination: "*", an
// address, or HOST:PORT with * for either.
func parseMonitorDestination(s string, addressOnly bool) (string, error) {
	host, port := s, ""
	if !addressOnly {
		var err error
		if host, port, err = splitAddrPort(s); err != nil {
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
		p, err := parsePort(port)
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

// alteon reports whether the (effective) monitor runs under Alteon timing.
func (m *Monitor) alteon() bool { return m.AlteonRetry.V > 0 || m.AlteonRestore.V > 0 }

// monitor finds a monitor of the configuration or a built-in.
func (c *Config) monitor(name string) *Monitor {
	if m := c.Monitors[name]; m != nil {
		return m
	}
	return builtinMonitor(name)
}

// effectiveMonitor returns m with every property it does not set taken from
// its defaults-from chain, ending at its type's built-in.
func (c *Config) effectiveMonitor(m *Monitor) Monitor {
	x := *m
	seen := map[string]bool{m.Name: true}
	for p := c.monitor(m.DefaultsFrom); p != nil && !seen[p.Name] && p.Type == m.Type; p = c.monitor(p.DefaultsFrom) {
		seen[p.Name] = true
		for _, f := range monitorFields {
			f.inherit(&x, p)
		}
	}
	for _, f := range monitorFields {
		f.inherit(&x, builtinMonitors[m.Type.builtin()])
	}
	return x
}

func printMonitor(b *strings.Builder, c *Config, m *Monitor, all bool) {
	eff := c.effectiveMonitor(m)
	printOpt(b, "ltm monitor "+m.Type.String()+" "+m.Name, uint8(m.Type), monitorFields, m, &eff, m.DefaultsFrom, m.Description, m.Extras, all)
}

// monitorInUse says why a monitor cannot be deleted: a pool, member or node
// uses it, or another monitor inherits from it.
func monitorInUse(c *Config, name string) error {
	inUse := func(by string) error {
		return coded("01070083:3: Monitor %s is in use by %s.", name, by)
	}
	for _, p := range c.PoolList() {
		if ruleUses(p.Monitor, name) {
			return inUse("ltm pool " + p.Name)
		}
	}
	for _, n := range c.NodeList() {
		if ruleUses(n.Monitor, name) {
			return inUse("ltm node " + n.Name)
		}
	}
	for _, m := range c.MonitorList() {
		if m.DefaultsFrom == name {
			return inUse("ltm monitor " + m.Type.String() + " " + m.Name + " (defaults-from)")
		}
	}
	return nil
}

func ruleUses(r MonitorRule, name string) bool {
	for _, n := range r.Names {
		if n == name {
			return true
		}
	}
	return false
}

// monitorKinds are the `ltm monitor TYPE` kinds, one per type.
var monitorKinds = func() []*objKind {
	var out []*objKind
	for t := range monitorTypeCount {
		out = append(out, newKind(kindSpec[Monitor]{
			module: "ltm", kind: "monitor " + t.String(), title: "Monitor", plural: t.String() + " monitors",
			createArgs: "[defaults-from MONITOR] [PROPERTY …]",
			props: optProps(uint8(t), monitorFields,
				func(m *Monitor) *string { return &m.DefaultsFrom }, func(m *Monitor) *string { return &m.Description }),
			objects: func(c *Config) map[string]*Monitor { return c.Monitors },
			newObj:  func(name string) *Monitor { return &Monitor{Name: name, Type: t} },
			match:   func(m *Monitor) bool { return m.Type == t },
			builtin: builtinMonitor,
			inUse:   monitorInUse,
			print:   printMonitor,
		}))
	}
	return out
}()

// validateMonitors checks defaults-from chains and the effective values.
func validateMonitors(c *Config, add func(obj, prop string, err error)) {
	for _, m := range c.MonitorList() {
		obj := "ltm monitor " + m.Type.String() + " " + m.Name
		p := c.monitor(m.DefaultsFrom)
		switch {
		case p == nil:
			add(obj, "defaults-from "+m.DefaultsFrom, ErrNoSuchMonitor)
		case p.Type != m.Type:
			add(obj, "defaults-from "+m.DefaultsFrom, fmt.Errorf("is a %s monitor, want %s", p.Type, m.Type))
		default:
			seen := map[string]bool{m.Name: true}
			for q := p; q != nil && q.DefaultsFrom != ""; q = c.monitor(q.DefaultsFrom) {
				if seen[q.Name] {
					add(obj, "defaults-from "+m.DefaultsFrom, fmt.Errorf("inherits from itself"))
					break
				}
				seen[q.Name] = true
			}
		}
		e := c.effectiveMonitor(m)
		if !e.alteon() && e.Timeout.V <= e.Interval.V {
			add(obj, "timeout "+u32(e.Timeout.V), fmt.Errorf("must be greater than interval %d", e.Interval.V))
		}
		if m.Type == MonitorExternal && e.Run.V == "" {
			add(obj, "run", ErrMissing)
		}
		for _, re := range []struct{ prop, v string }{{"recv", e.Recv.V}, {"recv-disable", e.RecvDisable.V}} {
			if _, err := regexp.Compile(re.v); err != nil {
				add(obj, re.prop+" "+strconv.Quote(re.v), fmt.Errorf("not a regular expression: %w", err))
			}
		}
	}
}

// validateMonitorRule checks a pool's or node's monitor rule.
func validateMonitorRule(c *Config, obj string, r MonitorRule, add func(obj, prop string, err error)) {
	seen := map[string]bool{}
	for _, n := range r.Names {
		switch {
		case c.monitor(n) == nil:
			add(obj, "monitor "+n, ErrNoSuchMonitor)
		case seen[n]:
			add(obj, "monitor "+n, fmt.Errorf("listed twice"))
		}
		seen[n] = true
	}
	if r.Min > uint32(len(r.Names)) {
		add(obj, "monitor "+r.String(), fmt.Errorf("min %d of %d monitors", r.Min, len(r.Names)))
	}
}
