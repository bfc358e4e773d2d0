package ctrlplane

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"lbx/dataplane"
	"lbx/pools"
)

// NetConfig is the network side of the appliance the traffic config is
// compiled against: what the boot config says about self IPs.
type NetConfig struct {
	SelfIPs []dataplane.SelfIP
	// Persist is the dataplane's persistence table: virtuals persist into
	// it and least-sessions counts its records. Nil (unit tests) lets the
	// engine attach its own on Install, without least-sessions counts.
	Persist *pools.PersistTable
}

// ValidationError is one problem Compile found, naming the object and the
// property (with its value) it is about.
type ValidationError struct {
	Object   string // "ltm virtual /Common/vs"
	Property string // "pool /Common/nope"; empty when about the whole object
	Err      error
}

func (e *ValidationError) Error() string {
	if e.Property == "" {
		return e.Object + ": " + e.Err.Error()
	}
	return e.Object + ": " + e.Property + ": " + e.Err.Error()
}

func (e *ValidationError) Unwrap() error { return e.Err }

// Errors Compile wraps, for callers that test with errors.Is.
var (
	ErrNoSuchPool      = errors.New("no such pool")
	ErrNoSuchNode      = errors.New("no such node")
	ErrNoSuchMonitor   = errors.New("no such monitor")
	ErrNoSuchProfile   = errors.New("no such profile")
	ErrNoSuchSNATPool  = errors.New("no such snatpool")
	ErrMissing         = errors.New("missing")
	ErrNotSupportedYet = errors.New("not supported yet")
)

// Compile validates c against n and builds the runtime Program; see
// CompileWithWarnings, whose warnings it drops.
func Compile(c *Config, n NetConfig) (*dataplane.Program, error) {
	prog, _, err := CompileWithWarnings(c, n)
	return prog, err
}

// CompileWithWarnings validates c against n and builds the runtime Program.
// It reports every problem at once (errors.Join of *ValidationError) and
// builds nothing then. It is pure: c is not changed (defaults are applied to
// a copy) and nothing outside the returned Program is touched. The Program
// holds specs only: counters, member health and slow-ramp starts are the
// dataplane's runtime state, kept by identity, so an apply does not reset
// them, and nobody writes into the Program once it is returned.
//
// The whole model is validated (references, in-range values, duplicates,
// overlapping destinations), but only what the dataplane implements is
// compiled: TCP and UDP virtual servers on one address and port, their
// pool (method, members with ratios, priority groups, limits and states,
// slow ramp, service-down action), source-address and hash persistence,
// SNAT automap and enabled/disabled. Configured features that are
// accepted but do not work as configured yet come back as warnings, each
// naming the object and property: `ltm virtual /Common/vs: persist
// /Common/cookie: not implemented yet, …`.
func CompileWithWarnings(c *Config, n NetConfig) (*dataplane.Program, []string, error) {
	c = c.Clone()
	if c == nil {
		c = NewConfig()
	}
	c.ApplyDefaults()
	var errs []error
	var warnings []string
	add := func(obj, prop string, err error) {
		errs = append(errs, &ValidationError{Object: obj, Property: prop, Err: err})
	}
	warn := func(obj, prop, what string) {
		warnings = append(warnings, obj+": "+prop+": not implemented yet, "+what)
	}

	validateMonitors(c, add)
	validatePersistence(c, add)
	validateNet(c, add)

	nodeOK := map[string]bool{}
	byAddr := map[netip.Addr]string{}
	for _, nd := range c.NodeList() {
		obj := nodeKind.objectName(nd.Name)
		a := nd.Address
		switch {
		case !a.IsValid():
			add(obj, "address", ErrMissing)
		case !a.Is4():
			add(obj, "address "+a.String(), fmt.Errorf("IPv6: %w", ErrNotSupportedYet))
		case byAddr[a] != "":
			add(obj, "address "+a.String(), fmt.Errorf("already used by node %s", byAddr[a]))
		default:
			byAddr[a] = nd.Name
			nodeOK[nd.Name] = true
		}
		validateMonitorRule(c, obj, nd.Monitor, add)
	}

	built := map[string]*pools.PoolConfig{}
	for _, p := range c.PoolList() {
		obj := poolKind.objectName(p.Name)
		validateMonitorRule(c, obj, p.Monitor, add)
		var members []pools.Member
		for _, m := range p.Members {
			prop := "members " + m.Name()
			nd, ok := c.Nodes[m.Node]
			switch {
			case !ok:
				add(obj, prop, fmt.Errorf("node %s: %w", m.Node, ErrNoSuchNode))
			case m.Address != nd.Address:
				add(obj, prop, fmt.Errorf("address %s does not match node %s address %s", m.Address, nd.Name, nd.Address))
			case !nodeOK[m.Node]:
				// The node's own error says why.
			default:
				members = append(members, pools.Member{
					Name: m.Name(), Node: nd.Name, Addr: nd.Address, Port: m.Port,
					Ratio: m.Ratio, NodeRatio: nd.Ratio, Priority: m.PriorityGroup,
					ConnLimit: m.ConnectionLimit, NodeConnLimit: nd.ConnectionLimit,
					Disabled:      m.Session == SessionUserDisabled || nd.Session == SessionUserDisabled,
					ForcedOffline: m.State == StateUserDown || nd.State == StateUserDown,
				})
			}
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
	selfs := map[netip.Addr]string{}
	for _, s := range n.SelfIPs {
		selfs[s.Prefix.Addr()] = s.Name
	}
	for _, s := range c.Selfs {
		selfs[s.Address.Addr()] = s.Name
	}
	type destKey struct {
		d     netip.AddrPort
		proto Protocol
	}
	dests := map[destKey]string{}
	var vs []*dataplane.Virtual
	for _, v := range c.VirtualList() {
		obj := virtualKind.objectName(v.Name)
		nerr := len(errs)
		d := v.Destination
		dprop := "destination " + formatDestination(d)
		switch {
		case !d.Addr().IsValid():
			add(obj, "destination", ErrMissing)
		case !d.Addr().Is4():
			add(obj, dprop, fmt.Errorf("IPv6: %w", ErrNotSupportedYet))
		case selfs[d.Addr()] != "":
			add(obj, dprop, fmt.Errorf("address is self IP %s", selfs[d.Addr()]))
		}
		switch v.Protocol {
		case ProtocolTCP, ProtocolUDP:
		case ProtocolAny:
			add(obj, "ip-protocol any", fmt.Errorf("%w (tcp or udp)", ErrNotSupportedYet))
		default:
			add(obj, "ip-protocol "+v.Protocol.String(), errors.New("want tcp or udp"))
		}
		if v.Mask != hostMask(d.Addr()) {
			add(obj, "mask "+v.Mask.String(), fmt.Errorf("network virtual servers: %w (mask must be %s)", ErrNotSupportedYet, hostMask(d.Addr())))
		}
		var rp *pools.PoolConfig
		if v.Pool != "" {
			if rp = built[v.Pool]; rp == nil {
				add(obj, "pool "+v.Pool, ErrNoSuchPool)
			}
		}
		for _, p := range v.Profiles {
			prop := "profiles " + p.Name
			switch p.Name {
			case "/Common/fastL4":
			case "/Common/tcp", "/Common/http":
				if v.Protocol != ProtocolTCP {
					add(obj, prop, errors.New("needs ip-protocol tcp"))
				} else if p.Name == "/Common/http" {
					warn(obj, prop, "traffic is balanced at layer 4")
				}
			case "/Common/udp":
				if v.Protocol != ProtocolUDP {
					add(obj, prop, errors.New("needs ip-protocol udp"))
				}
			default:
				add(obj, prop, ErrNotSupportedYet)
			}
		}
		switch {
		case v.SNAT != SNATSnatpool:
		case v.SNATPool == "":
			add(obj, "source-address-translation pool", ErrMissing)
		case c.SNATPools[v.SNATPool] == nil:
			add(obj, "source-address-translation pool "+v.SNATPool, ErrNoSuchSNATPool)
		default:
			warn(obj, "source-address-translation pool "+v.SNATPool, "automap is used")
		}
		if !v.TranslateAddress {
			warn(obj, "translate-address disabled", "the destination address is translated")
		}
		if !v.TranslatePort {
			warn(obj, "translate-port disabled", "the destination port is translated")
		}
		persist := compilePersist(c, v, n.Persist, add, warn)
		if d.Addr().IsValid() {
			k := destKey{d, v.Protocol}
			if other, dup := dests[k]; dup {
				add(obj, dprop, fmt.Errorf("ip-protocol %s: overlaps virtual %s", v.Protocol, other))
			} else {
				dests[k] = v.Name
			}
		}
		if len(errs) > nerr {
			continue
		}
		dv := &dataplane.Virtual{
			Name:        v.Name,
			Addr:        d.Addr(),
			Port:        d.Port(),
			Proto:       uint8(v.Protocol),
			Pool:        rp,
			SNATAutomap: v.SNAT == SNATAutomap || v.SNAT == SNATSnatpool,
			Enabled:     !v.Disabled,
		}
		if persist != nil {
			dv.Persist, dv.HashOffset, dv.HashLength = persist.ps, persist.hashOffset, persist.hashLength
		}
		if p := c.Pools[v.Pool]; p != nil {
			dv.ServiceDown = dataplane.ServiceDownAction(p.ServiceDownAction)
		}
		vs = append(vs, dv)
	}
	if len(errs) > 0 {
		return nil, warnings, errors.Join(errs...)
	}
	prog := &dataplane.Program{SelfIPs: slices.Clone(n.SelfIPs), Virtuals: vs}
	if err := prog.Finalize(); err != nil {
		return nil, warnings, err
	}
	return prog, warnings, nil
}
