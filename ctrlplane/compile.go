package ctrlplane

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"lbx/dataplane"
	"lbx/pools"
)

// NetConfig is the network side of the appliance the traffic config is
// compiled against: what the boot config says about self IPs.
type NetConfig struct {
	SelfIPs []dataplane.SelfIP
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
	ErrMissing         = errors.New("missing")
	ErrNotSupportedYet = errors.New("not supported yet")
)

// Compile validates c against n and builds the runtime Program. It reports
// every problem at once (errors.Join of *ValidationError) and builds nothing
// then. It is pure: c is not changed (defaults are applied to a copy) and
// nothing outside the returned Program is touched. Counters (Virtual.Stats,
// Member.Stats) are left nil: the dataplane keeps them by identity and
// attaches them on Install, so an apply does not reset them.
func Compile(c *Config, n NetConfig) (*dataplane.Program, error) {
	c = c.Clone()
	if c == nil {
		c = NewConfig()
	}
	c.ApplyDefaults()
	var errs []error
	add := func(obj, prop string, err error) {
		errs = append(errs, &ValidationError{Object: obj, Property: prop, Err: err})
	}

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
	}

	built := map[string]*pools.Pool{}
	for _, p := range c.PoolList() {
		obj := poolKind.objectName(p.Name)
		if p.Mode != LBRoundRobin {
			add(obj, "load-balancing-mode "+p.Mode.String(), ErrNotSupportedYet)
		}
		rp := &pools.Pool{Name: p.Name, Selector: &pools.RoundRobin{}}
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
				rp.Members = append(rp.Members, pools.Member{
					Name: m.Name(), Addr: nd.Address, Port: m.Port,
				})
			}
		}
		built[p.Name] = rp
	}

	selfs := map[netip.Addr]string{}
	for _, s := range n.SelfIPs {
		selfs[s.Prefix.Addr()] = s.Name
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
		if v.Protocol != ProtocolTCP && v.Protocol != ProtocolUDP {
			add(obj, "ip-protocol "+v.Protocol.String(), errors.New("want tcp or udp"))
		}
		if v.Mask != hostMask(d.Addr()) {
			add(obj, "mask "+v.Mask.String(), fmt.Errorf("network virtual servers: %w (mask must be %s)", ErrNotSupportedYet, hostMask(d.Addr())))
		}
		var rp *pools.Pool
		if v.Pool != "" {
			if rp = built[v.Pool]; rp == nil {
				add(obj, "pool "+v.Pool, ErrNoSuchPool)
			}
		}
		for _, p := range v.Profiles {
			prop := "profiles " + p.Name
			switch baseName(p.Name) {
			case "fastL4":
			case "tcp":
				if v.Protocol != ProtocolTCP {
					add(obj, prop, errors.New("needs ip-protocol tcp"))
				}
			case "udp":
				if v.Protocol != ProtocolUDP {
					add(obj, prop, errors.New("needs ip-protocol udp"))
				}
			default:
				add(obj, prop, ErrNotSupportedYet)
			}
		}
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
		vs = append(vs, &dataplane.Virtual{
			Name:        v.Name,
			Addr:        d.Addr(),
			Port:        d.Port(),
			Proto:       uint8(v.Protocol),
			Pool:        rp,
			SNATAutomap: v.SNAT == SNATAutomap,
			Enabled:     !v.Disabled,
		})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	prog := &dataplane.Program{SelfIPs: slices.Clone(n.SelfIPs), Virtuals: vs}
	if err := prog.Finalize(); err != nil {
		return nil, err
	}
	return prog, nil
}
