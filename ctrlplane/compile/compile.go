package compile

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"lbx/ctrlplane/config"
	"lbx/dataplane"
	"lbx/pools"
)

// NetConfig is the network side of the appliance the traffic config is
// compiled against: what the boot config says about self IPs, and the
// data ports a net self's vlan may name.
type NetConfig struct {
	SelfIPs []dataplane.SelfIP
	// Ports are the data ports' names; nil: a net self's vlan is not
	// checked here (the dataplane's Install still is).
	Ports []string
	// Persist is the dataplane's persistence table: virtuals persist into
	// it and least-sessions counts its records. Nil (unit tests) lets the
	// engine attach its own on Install, without least-sessions counts.
	Persist *pools.PersistTable
}

// env is what config.Validate needs of n.
func (n NetConfig) env() config.Env {
	env := config.Env{SelfIPs: map[netip.Addr]string{}}
	for _, s := range n.SelfIPs {
		env.SelfIPs[s.Prefix.Addr()] = fullName(s.Name)
		env.Nets = append(env.Nets, config.ConnectedNet{Name: fullName(s.Name), Prefix: s.Prefix})
	}
	return env
}

// Compile validates c against n and builds the runtime Program; see
// CompileWithWarnings, whose warnings it drops.
func Compile(c *config.Config, n NetConfig) (*dataplane.Program, error) {
	prog, _, err := CompileWithWarnings(c, n)
	return prog, err
}

// CompileWithWarnings validates c against n (config.Validate: every
// problem at once, as errors.Join of *config.ValidationError) and builds
// the runtime Program; it builds nothing when there is a problem. It is
// pure: c is not changed (defaults are applied to a copy) and nothing
// outside the returned Program is touched. The Program holds specs only:
// counters, member health and slow-ramp starts are the dataplane's runtime
// state, kept by identity, so an apply does not reset them, and nobody
// writes into the Program once it is returned.
//
// Only what the dataplane implements is compiled: the self IPs (the boot
// config's and the net self objects), TCP and UDP virtual
// servers on one address and port or (network virtuals) on a network, with
// ip-protocol tcp, udp or any, forwarding (ip-forward) virtuals, net routes
// with gateways, their pool (method, members with
// ratios, priority groups, limits and states, slow ramp, service-down
// action), source-address and hash persistence, SNAT automap and SNAT
// pools, translate-address disabled (direct server return),
// translate-port disabled and enabled/disabled. Configured features that are accepted but do not work
// as configured yet come back as warnings, each naming the object and
// property: `ltm virtual /Common/vs: persist /Common/cookie: not
// implemented yet, …`.
func CompileWithWarnings(c *config.Config, n NetConfig) (*dataplane.Program, []string, error) {
	c = c.Clone()
	if c == nil {
		c = config.NewConfig()
	}
	c.ApplyDefaults()
	return CompileCompleted(c, n)
}

// CompileCompleted is CompileWithWarnings of a configuration whose
// defaults are applied already (config.Config.ApplyDefaults), which it
// only reads: no copy, no second completion. The store compiles its
// candidate so, having completed it once; the Program shares nothing
// with c that c's owner may change.
func CompileCompleted(c *config.Config, n NetConfig) (*dataplane.Program, []string, error) {
	if err := config.ValidateCompleted(c, n.env()); err != nil {
		return nil, nil, err
	}
	var errs []error
	warnings := config.AddressWarnings(c)
	warnings = append(warnings, selfWarnings(c, n)...)
	add := func(obj config.Ref, prop string, err error) {
		errs = append(errs, config.Invalid(obj, prop, err))
	}
	warn := func(obj config.Ref, prop, what string) {
		warnings = append(warnings, obj.String()+": "+prop+": not implemented yet, "+what)
	}

	built := make(map[string]*pools.PoolConfig, len(c.Pools))
	for _, p := range c.PoolList() {
		obj := config.Ref{Kind: config.KindPool, Name: p.Name}
		var members []pools.Member
		if len(p.Members) > 0 {
			members = make([]pools.Member, 0, len(p.Members))
		}
		var nd *config.Node
		for i := range p.Members {
			m := &p.Members[i]
			if nd == nil || nd.Name != m.Node { // a node's members usually follow each other
				nd = c.Nodes[m.Node] // Validate checked it exists with this address
			}
			members = append(members, pools.Member{
				Name: m.Name(), Node: nd.Name, Addr: nd.Address, Port: m.Port,
				Ratio: m.Ratio, NodeRatio: nd.Ratio, Priority: m.PriorityGroup,
				ConnLimit: m.ConnectionLimit, NodeConnLimit: nd.ConnectionLimit,
				Disabled:      m.Session == config.SessionUserDisabled || nd.Session == config.SessionUserDisabled,
				ForcedOffline: m.State == config.StateUserDown || nd.State == config.StateUserDown,
			})
		}
		method, err := pools.ParseMethod(p.Mode.String())
		if err != nil {
			add(obj, "load-balancing-mode "+p.Mode.String(), err)
			continue
		}
		rp := &pools.PoolConfig{
			Name: p.Name, Method: method, Members: members,
			MinActiveMembers: p.MinActiveMembers,
			SlowRamp:         time.Duration(p.SlowRampTime) * time.Second,
			Sessions:         n.Persist,
		}
		if err := rp.Validate(); err != nil {
			add(obj, "", err)
			continue
		}
		built[p.Name] = rp
	}
	var vs []*dataplane.Virtual
	if len(c.Virtuals) > 0 {
		vs = make([]*dataplane.Virtual, 0, len(c.Virtuals))
	}
	for _, v := range c.VirtualList() {
		obj := config.Ref{Kind: config.KindVirtual, Name: v.Name}
		nerr := len(errs)
		l7 := compileL7(c, v, add, warn)
		if len(v.Policies) > 0 && l7 == nil {
			// The policies are validated and kept; lbx/l7/policy evaluates
			// them in the HTTP proxy of a virtual with an http profile.
			warn(obj, "policies "+strings.Join(v.Policies, " "), "the policies are kept but act only on a virtual with an http profile (an HTTP proxy); traffic is balanced at layer 4 to the virtual's pool")
		}
		if !v.TranslateAddress && v.SNAT != config.SNATNone {
			what := "automap"
			if v.SNAT == config.SNATSnatpool {
				what = "pool " + v.SNATPool
			}
			warnings = append(warnings, obj.String()+": translate-address disabled: source-address-translation "+what+
				" is not applied (direct server return rewrites only the destination MAC; the member answers the client directly)")
		}
		if v.Mirror && l7 != nil {
			warn(obj, "mirror enabled", "the connections of an HTTP virtual are the proxy's and are not mirrored; only layer-4 virtuals' flows are")
		}
		var persist *compiledPersist
		if !v.IPForward {
			persist = compilePersist(c, v, n.Persist, l7, add, warn)
		}
		rp := built[v.Pool]
		if len(errs) > nerr || v.Pool != "" && rp == nil {
			continue // a pool that did not build has its own error
		}
		d := v.Destination
		dv := &dataplane.Virtual{
			Name:        v.Name,
			Addr:        d.Addr(),
			Port:        d.Port(),
			Proto:       uint8(v.Protocol),
			Mask:        v.Mask,
			Forward:     v.IPForward,
			Pool:        rp,
			SNATAutomap: v.SNAT == config.SNATAutomap,
			// A forwarding virtual translates nothing, whatever its
			// translate-address says (BIG-IP creates them with it
			// disabled).
			DSR:      !v.TranslateAddress && !v.IPForward,
			KeepPort: !v.TranslatePort,
			Enabled:  !v.Disabled,
			Mirror:   v.Mirror,
		}
		if v.SNAT == config.SNATSnatpool {
			dv.SNATPool = slices.Clone(c.SNATPools[v.SNATPool].Members) // Validate checked it exists
		}
		if persist != nil {
			dv.Persist, dv.HashOffset, dv.HashLength = persist.ps, persist.hashOffset, persist.hashLength
		}
		if p := c.Pools[v.Pool]; p != nil {
			dv.ServiceDown = dataplane.ServiceDownAction(p.ServiceDownAction)
		}
		if l7 != nil && len(v.Policies) > 0 {
			if pc, extra := compilePolicies(c, v, built, add); pc != nil {
				l7.Policies, l7.Pools = pc, extra
			}
		}
		dv.L7 = l7
		vs = append(vs, dv)
	}
	if len(errs) > 0 {
		return nil, warnings, errors.Join(errs...)
	}
	prog := &dataplane.Program{SelfIPs: selfIPs(c, n), Virtuals: vs, Routes: routes(c)}
	if err := prog.Finalize(); err != nil {
		return nil, warnings, err
	}
	return prog, warnings, nil
}

// routes are the configuration's net routes (Validate checked them); the
// dataplane uses those whose gateway is on a connected network.
func routes(c *config.Config) []dataplane.Route {
	var out []dataplane.Route
	for _, r := range config.SortedValues(c.Routes) {
		if !r.Network.Addr().Is4() {
			continue // IPv6: Validate refuses an IPv6 self IP, so no gateway is reachable
		}
		out = append(out, dataplane.Route{Name: r.Name, Network: r.Network.Masked(), Gateway: r.Gateway})
	}
	return out
}

// selfIPs are the boot config's self IPs, then the configuration's net self
// objects (by name) that are not among them: a net self's vlan is its
// port.
func selfIPs(c *config.Config, n NetConfig) []dataplane.SelfIP {
	out := slices.Clone(n.SelfIPs)
	for _, s := range config.SortedValues(c.Selfs) {
		if slices.ContainsFunc(n.SelfIPs, func(b dataplane.SelfIP) bool { return fullName(b.Name) == s.Name }) {
			continue // a boot self IP, merged into the config
		}
		if n.Ports != nil && !slices.Contains(n.Ports, s.Port()) {
			continue // not on a data port: SelfWarnings says so
		}
		out = append(out, dataplane.SelfIP{Name: s.Name, Prefix: s.Address, Port: s.Port(), Floating: s.Floating()})
	}
	return out
}

// BootSelfs are n's self IPs as the net self objects the store merges into
// every configuration it applies (config.MergeBootSelfs).
func (n NetConfig) BootSelfs() []*config.SelfIP {
	out := make([]*config.SelfIP, 0, len(n.SelfIPs))
	for _, b := range n.SelfIPs {
		out = append(out, &config.SelfIP{
			Name: fullName(b.Name), Address: b.Prefix, VLAN: "/" + config.CommonPartition + "/" + b.Port,
			Description: config.BootSelfDescription, Boot: true,
		})
	}
	return out
}

// fullName is a boot self IP's name in /Common when it has no partition.
func fullName(name string) string {
	if full, err := config.FullName(name); err == nil {
		return full
	}
	return name
}

// selfWarnings name the net self objects whose vlan is no data port: they
// are kept (a BIG-IP config loads whole) but not on the dataplane.
func selfWarnings(c *config.Config, n NetConfig) []string {
	if n.Ports == nil {
		return nil
	}
	var out []string
	for _, s := range config.SortedValues(c.Selfs) {
		if s.VLAN == "" || slices.Contains(n.Ports, s.Port()) {
			continue
		}
		vlans := make([]string, len(n.Ports))
		for i, p := range n.Ports {
			vlans[i] = "/" + config.CommonPartition + "/" + p
		}
		out = append(out, fmt.Sprintf("%s: vlan %s: no such data port, the address is not on the dataplane (a VLAN is the data port of its name: %s)",
			s.Ref(), s.VLAN, strings.Join(vlans, ", ")))
	}
	return out
}
