package config

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Env is what validation needs to know of the appliance beyond the
// configuration: the self IPs its boot config gives, which no virtual
// server or node may use as its address and whose networks' broadcast
// addresses are no host's.
type Env struct {
	SelfIPs map[netip.Addr]string // boot self IP name by address
	Nets    []ConnectedNet        // boot self IPs with their prefix lengths
}

// Validate checks the whole configuration as an apply would: references
// between objects, value ranges that depend on other values (a monitor's
// timeout and interval), duplicate and overlapping addresses, defaults-from
// chains. It reports every problem at once, as errors.Join of
// *ValidationError in bigip.conf order (monitors, persistence, snatpools,
// self IPs, routes, nodes, pools, virtual servers), and nil when there are
// none. It works on a copy with defaults applied; c is not changed.
//
// Value ranges of single properties (ratio 1-100, …) are checked where a
// value is read (ParseUint32 and the dialects' property tables), so a
// Config never holds one out of range; Validate checks them again for
// objects built in code.
func Validate(c *Config, env Env) error {
	c = c.Clone()
	if c == nil {
		c = NewConfig()
	}
	c.ApplyDefaults()
	return ValidateCompleted(c, env)
}

// ValidateCompleted is Validate of a configuration whose defaults are
// applied already (ApplyDefaults): it only reads c, so it neither copies
// nor completes it. The store's apply uses it on the candidate it has
// completed once and owns; at 100,000 members each copy and completion
// is a pass over all of them (docs/BENCHMARKS.md, "Applying 10,000
// virtual servers").
func ValidateCompleted(c *Config, env Env) error {
	var errs []error
	add := func(obj Ref, prop string, err error) { errs = append(errs, Invalid(obj, prop, err)) }

	validateMonitors(c, add)
	validatePersistence(c, add)
	validateFiles(c, add)
	validateProfiles(c, add)
	validateNet(c, env, add)
	validatePolicies(c, add)

	nets := connectedNets(c, env)
	selfs := map[netip.Addr]string{}
	for a, name := range env.SelfIPs {
		selfs[a] = name
	}
	for _, s := range c.Selfs {
		selfs[s.Address.Addr()] = s.Name
	}

	byAddr := map[netip.Addr]string{}
	for _, nd := range c.NodeList() {
		obj := Ref{Kind: KindNode, Name: nd.Name}
		switch a := nd.Address; {
		case !a.IsValid():
			add(obj, "address", ErrMissing)
		case !a.Is4():
			add(obj, "address "+a.String(), fmt.Errorf("IPv6: %w", ErrNotSupportedYet))
		case byAddr[a] != "":
			add(obj, "address "+a.String(), fmt.Errorf("already used by node %s", byAddr[a]))
		default:
			byAddr[a] = nd.Name
			switch why := unicastReason(a, nets, true); {
			case why != "":
				add(obj, "address "+a.String(), errors.New(why))
			case selfs[a] != "":
				add(obj, "address "+a.String(), fmt.Errorf("address is self IP %s (the appliance's own address)", selfs[a]))
			}
		}
		checkProp(obj, KindNode, "ratio", nd.Ratio, add)
		validateMonitorRule(c, obj, nd.Monitor, add)
	}

	for _, p := range c.PoolList() {
		obj := Ref{Kind: KindPool, Name: p.Name}
		validateMonitorRule(c, obj, p.Monitor, add)
		if p.Mode >= LBModeCount {
			add(obj, "load-balancing-mode "+p.Mode.String(), errors.New("unknown mode"))
		}
		checkProp(obj, KindPool, "min-active-members", p.MinActiveMembers, add)
		checkProp(obj, KindPool, "reselect-tries", p.ReselectTries, add)
		for _, m := range p.Members {
			// The property is named only for an error: a pass over
			// 100,000 valid members builds no string.
			prop := func() string { return "members " + m.Name() }
			nd, ok := c.Nodes[m.Node]
			switch {
			case !ok:
				add(obj, prop(), fmt.Errorf("node %s: %w", m.Node, ErrNoSuchNode))
			case m.Address != nd.Address:
				add(obj, prop(), fmt.Errorf("address %s does not match node %s address %s", m.Address, nd.Name, nd.Address))
			}
			for _, f := range []struct {
				name string
				v    uint32
			}{{"ratio", m.Ratio}, {"priority-group", m.PriorityGroup}} {
				if err := PropRange(KindMember, f.name).Check(f.v); err != nil {
					add(obj, prop()+" "+f.name+" "+strconv.FormatUint(uint64(f.v), 10), err)
				}
			}
		}
	}

	type destKey struct {
		d     netip.AddrPort
		mask  netip.Addr
		proto Protocol
	}
	dests := map[destKey]string{}
	for _, v := range c.VirtualList() {
		obj := Ref{Kind: KindVirtual, Name: v.Name}
		d := v.Destination
		dprop := "destination " + FormatDestination(d)
		network := validateMask(v, add)
		switch {
		case !d.Addr().IsValid():
			add(obj, "destination", ErrMissing)
		case !d.Addr().Is4():
			add(obj, dprop, fmt.Errorf("IPv6: %w", ErrNotSupportedYet))
		case network:
			// A network virtual owns no address: the host checks below
			// are for addresses the appliance answers ARP for.
		case selfs[d.Addr()] != "":
			add(obj, dprop, fmt.Errorf("address is self IP %s", selfs[d.Addr()]))
		case unicastReason(d.Addr(), nets, false) != "":
			add(obj, dprop, errors.New(unicastReason(d.Addr(), nets, false)))
		case byAddr[d.Addr()] != "":
			// One error for one clash, on the virtual: a node (a server)
			// on the VIP would have its traffic taken by the appliance's
			// ARP answers, and a member on the VIP would loop.
			add(obj, dprop, fmt.Errorf("address is the address of node %s (a server): the appliance would answer ARP for it and take its traffic", byAddr[d.Addr()]))
		}
		switch v.Protocol {
		case ProtocolTCP, ProtocolUDP, ProtocolAny:
		default:
			add(obj, "ip-protocol "+v.Protocol.String(), errors.New("want tcp, udp or any"))
		}
		if v.Pool != "" && c.Pools[v.Pool] == nil {
			add(obj, "pool "+v.Pool, ErrNoSuchPool)
		}
		if v.IPForward {
			switch {
			case v.Pool != "":
				add(obj, "ip-forward", fmt.Errorf("a forwarding virtual routes and has no pool (pool %s)", v.Pool))
			case v.SNAT != SNATNone:
				add(obj, "ip-forward", fmt.Errorf("a forwarding virtual translates nothing (source-address-translation %s)", v.SNAT))
			case len(v.Persist) > 0:
				add(obj, "ip-forward", errors.New("a forwarding virtual has no persistence"))
			}
		}
		hasProfile := func(name string) bool {
			return slices.ContainsFunc(v.Profiles, func(p Profile) bool { return p.Name == name })
		}
		var typed [ProfileTypeCount]string // the virtual's (first) profile of each type
		sniDefaults := 0
		for _, p := range v.Profiles {
			prop := "profiles " + p.Name
			switch p.Name {
			case "/Common/fastL4":
			case "/Common/tcp":
				if v.Protocol != ProtocolTCP {
					add(obj, prop, errors.New("needs ip-protocol tcp"))
				}
			case "/Common/udp":
				if v.Protocol != ProtocolUDP {
					add(obj, prop, errors.New("needs ip-protocol udp"))
				}
			default:
				lp := c.LookupProfile(p.Name)
				if lp == nil {
					add(obj, prop, ErrNotSupportedYet)
					continue
				}
				if lp.Type == ProfileClientSSL { // several: SNI chooses
					e := c.EffectiveProfile(lp)
					if e.Cert.V == "" || e.Key.V == "" {
						add(obj, prop, errors.New("a client-ssl profile needs cert and key"))
					}
					if e.SNIDefault.V {
						sniDefaults++
					}
					if typed[lp.Type] == "" {
						typed[lp.Type] = p.Name
					}
					continue
				}
				if o := typed[lp.Type]; o != "" {
					add(obj, prop, fmt.Errorf("a second %s profile (with %s)", lp.Type, o))
					continue
				}
				typed[lp.Type] = p.Name
				if lp.Type == ProfileHTTP {
					if v.Protocol != ProtocolTCP {
						add(obj, prop, errors.New("needs ip-protocol tcp"))
					}
					if hasProfile("/Common/fastL4") {
						add(obj, prop, errors.New("needs the tcp profile, not fastL4 (an HTTP virtual is a full proxy)"))
					}
				}
			}
		}
		for _, t := range []ProfileType{ProfileOneConnect, ProfileClientSSL, ProfileServerSSL} {
			if n := typed[t]; n != "" && typed[ProfileHTTP] == "" {
				add(obj, "profiles "+n, errors.New("needs an http profile"))
			}
		}
		if sniDefaults > 1 {
			add(obj, "profiles", fmt.Errorf("%d client-ssl profiles with sni-default enabled, want at most 1", sniDefaults))
		}
		if typed[ProfileHTTP] != "" {
			prop := "profiles " + typed[ProfileHTTP]
			switch {
			case v.IPForward:
				add(obj, prop, errors.New("a forwarding virtual has no http profile"))
			case network || d.Port() == 0:
				add(obj, prop, errors.New("an HTTP virtual is a host virtual on one port"))
			case !v.TranslateAddress:
				add(obj, "translate-address disabled", errors.New("an HTTP virtual is a full proxy: the appliance connects to the member itself"))
			}
		}
		switch {
		case v.SNAT != SNATSnatpool:
		case v.SNATPool == "":
			add(obj, "source-address-translation pool", ErrMissing)
		case c.SNATPools[v.SNATPool] == nil:
			add(obj, "source-address-translation pool "+v.SNATPool, ErrNoSuchSNATPool)
		}
		validateVirtualPersist(c, v, add)
		validateVirtualPolicies(c, v, add)
		if d.Addr().IsValid() {
			k := destKey{d, v.Mask, v.Protocol}
			if other, dup := dests[k]; dup {
				add(obj, dprop, fmt.Errorf("ip-protocol %s: overlaps virtual %s", v.Protocol, other))
			} else {
				dests[k] = v.Name
			}
		}
	}
	return errors.Join(errs...)
}

// validateVirtualPersist checks a virtual's persist and fallback-persistence
// references: each profile exists, and with several one is the default.
func validateVirtualPersist(c *Config, v *Virtual, add func(Ref, string, error)) {
	obj := Ref{Kind: KindVirtual, Name: v.Name}
	defaults := 0
	for _, r := range v.Persist {
		if c.LookupPersistence(r.Name) == nil {
			add(obj, "persist "+r.Name, ErrNoSuchProfile)
		}
		if r.Default {
			defaults++
		}
	}
	if len(v.Persist) > 1 && defaults != 1 {
		add(obj, "persist", fmt.Errorf("%d profiles marked default yes, want 1", defaults))
		return
	}
	if f := v.FallbackPersistence; f != "" && c.LookupPersistence(f) == nil {
		add(obj, "fallback-persistence "+f, ErrNoSuchProfile)
	}
}

// checkDefaultsFrom checks o's defaults-from chain (monitors, profiles):
// its parent exists and is of o's type, and no object of the chain
// inherits from itself. info gives an object's name, type and parent.
func checkDefaultsFrom[T any](obj Ref, o *T, what string, noSuch error, lookup func(string) *T, info func(*T) (name, typ, parent string), add func(Ref, string, error)) {
	name, typ, parent := info(o)
	p := lookup(parent)
	if p == nil {
		add(obj, "defaults-from "+parent, noSuch)
		return
	}
	if _, ptyp, _ := info(p); ptyp != typ {
		add(obj, "defaults-from "+parent, fmt.Errorf("is a %s %s, want %s", ptyp, what, typ))
		return
	}
	seen := map[string]bool{name: true}
	for q := p; q != nil; {
		qname, _, qparent := info(q)
		if qparent == "" {
			return
		}
		if seen[qname] {
			add(obj, "defaults-from "+parent, errors.New("inherits from itself"))
			return
		}
		seen[qname] = true
		q = lookup(qparent)
	}
}

// validateMonitors checks defaults-from chains and the effective values.
func validateMonitors(c *Config, add func(Ref, string, error)) {
	for _, m := range c.MonitorList() {
		obj := m.Ref()
		checkDefaultsFrom(obj, m, "monitor", ErrNoSuchMonitor, c.LookupMonitor, func(x *Monitor) (string, string, string) {
			return x.Name, x.Type.String(), x.DefaultsFrom
		}, add)
		e := c.EffectiveMonitor(m)
		for _, f := range []struct {
			name string
			v    Opt[uint32]
		}{{"interval", m.Interval}, {"up-interval", m.UpInterval}, {"timeout", m.Timeout}, {"alteon-retry", m.AlteonRetry}, {"alteon-restr", m.AlteonRestore}} {
			if f.v.Set {
				checkProp(obj, KindMonitor, f.name, f.v.V, add)
			}
		}
		if !e.Alteon() && e.Timeout.V <= e.Interval.V {
			add(obj, "timeout "+strconv.FormatUint(uint64(e.Timeout.V), 10), fmt.Errorf("must be greater than interval %d", e.Interval.V))
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
func validateMonitorRule(c *Config, obj Ref, r MonitorRule, add func(Ref, string, error)) {
	seen := map[string]bool{}
	for _, n := range r.Names {
		switch {
		case c.LookupMonitor(n) == nil:
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

// validatePersistence checks defaults-from chains, iRule references and
// source-addr masks.
func validatePersistence(c *Config, add func(Ref, string, error)) {
	for _, p := range SortedValues(c.Persistence) {
		obj := p.Ref()
		q := c.LookupPersistence(p.DefaultsFrom)
		switch {
		case q == nil:
			add(obj, "defaults-from "+p.DefaultsFrom, ErrNoSuchProfile)
		case q.Type != p.Type:
			add(obj, "defaults-from "+p.DefaultsFrom, fmt.Errorf("is a %s profile, want %s", q.Type, p.Type))
		default:
			seen := map[string]bool{p.Name: true}
			for r := q; r != nil && r.DefaultsFrom != ""; r = c.LookupPersistence(r.DefaultsFrom) {
				if seen[r.Name] {
					add(obj, "defaults-from "+p.DefaultsFrom, fmt.Errorf("inherits from itself"))
					break
				}
				seen[r.Name] = true
			}
		}
		if n := p.CookieName.V; p.CookieName.Set && n != "" && !httpToken(n) {
			add(obj, "cookie-name "+n, errors.New("not a cookie name (an HTTP token; %pool% may stand for the pool)"))
		}
		if h := p.HeaderName.V; p.HeaderName.Set && h != "" && !httpToken(h) {
			add(obj, "header-name "+h, errors.New("not an HTTP header name"))
		}
		if p.Rule.Set && p.Rule.V != "" && !c.HasRawObject("ltm rule", p.Rule.V) {
			add(obj, "rule "+p.Rule.V, fmt.Errorf("no such iRule (ltm rule)"))
		}
	}
}

// httpToken reports whether s is an HTTP token (RFC 9110), as header
// names are.
func httpToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return s != ""
}

// MaskBits turns a dotted IPv4 netmask into a prefix length.
func MaskBits(mask string) (int, error) {
	a, err := netip.ParseAddr(mask)
	if err != nil || !a.Is4() {
		return 0, errors.New("not an IPv4 netmask")
	}
	b := a.As4()
	m := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := 0
	for n < 32 && m&(1<<(31-n)) != 0 {
		n++
	}
	if m<<n != 0 {
		return 0, errors.New("not a contiguous netmask")
	}
	return n, nil
}

// validateNet checks snatpools, self IPs and routes.
func validateNet(c *Config, env Env, add func(Ref, string, error)) {
	for _, p := range SortedValues(c.SNATPools) {
		obj := Ref{Kind: KindSNATPool, Name: p.Name}
		if len(p.Members) == 0 {
			add(obj, "members", ErrMissing)
		}
		for _, a := range p.Members {
			if !a.Is4() {
				add(obj, "members "+a.String(), fmt.Errorf("IPv6: %w", ErrNotSupportedYet))
			}
		}
	}
	addrs := map[netip.Addr]string{}
	for _, s := range SortedValues(c.Selfs) {
		obj := Ref{Kind: KindSelf, Name: s.Name}
		switch a := s.Address.Addr(); {
		case !s.Address.IsValid():
			add(obj, "address", ErrMissing)
		case addrs[a] != "":
			add(obj, "address "+s.Address.String(), fmt.Errorf("already used by self %s", addrs[a]))
		default:
			addrs[a] = s.Name
			if why := unicastReason(a, []ConnectedNet{{Name: s.Name, Prefix: s.Address}}, true); why != "" {
				add(obj, "address "+s.Address.String(), errors.New(why))
			}
		}
		if boot := env.SelfIPs[s.Address.Addr()]; boot != "" && boot != s.Name {
			add(obj, "address "+s.Address.String(), fmt.Errorf("already used by self %s of the boot config (selfips)", boot))
		}
		if s.VLAN == "" {
			add(obj, "vlan", ErrMissing)
		}
		if s.TrafficGroup != "" && !slices.Contains(TrafficGroups, s.TrafficGroup) {
			add(obj, "traffic-group "+s.TrafficGroup, fmt.Errorf("no such traffic group (there are %s)", strings.Join(TrafficGroups, " and ")))
		}
	}
	validateFloating(c, add)
	nets := map[netip.Prefix]string{}
	for _, r := range SortedValues(c.Routes) {
		obj := Ref{Kind: KindRoute, Name: r.Name}
		switch {
		case !r.Network.IsValid():
			add(obj, "network", ErrMissing)
		case nets[r.Network.Masked()] != "":
			add(obj, "network "+FormatNetwork(r.Network), fmt.Errorf("already routed by %s", nets[r.Network.Masked()]))
		default:
			nets[r.Network.Masked()] = r.Name
		}
		switch {
		case !r.Gateway.IsValid():
			add(obj, "gw", ErrMissing)
		case r.Network.IsValid() && r.Gateway.Is4() != r.Network.Addr().Is4():
			add(obj, "gw "+r.Gateway.String(), errors.New("not of the network's address family"))
		}
	}
}

// validateMask checks a virtual's destination mask: an IPv4 netmask whose
// network the destination address is (no host bits set). It reports
// whether the virtual is a network virtual (a mask shorter than the host
// mask); a host mask or an invalid one reports false.
func validateMask(v *Virtual, add func(Ref, string, error)) bool {
	d := v.Destination.Addr()
	if !v.Mask.IsValid() || !d.Is4() || v.Mask == HostMask(d) {
		return false
	}
	obj := Ref{Kind: KindVirtual, Name: v.Name}
	prop := "mask " + v.Mask.String()
	if !v.Mask.Is4() {
		add(obj, prop, errors.New("not an IPv4 netmask"))
		return false
	}
	bits, err := MaskBits(v.Mask.String())
	if err != nil {
		add(obj, prop, err)
		return false
	}
	if p := netip.PrefixFrom(d, bits).Masked(); p.Addr() != d {
		add(obj, prop, fmt.Errorf("destination %s has host bits outside the mask (the network is %s)", d, p.Addr()))
		return false
	}
	return true
}

// validateFloating checks that every floating self IP is on the network of
// a non-floating self IP of its VLAN, as BIG-IP requires: the unit's own
// address is what it advertises VRRP from and probes with, the floating
// one moves.
func validateFloating(c *Config, add func(Ref, string, error)) {
	for _, s := range SortedValues(c.Selfs) {
		if !s.Floating() || !s.Address.IsValid() {
			continue
		}
		ok := false
		for _, o := range c.Selfs {
			if !o.Floating() && o.VLAN == s.VLAN && o.Address.Masked() == s.Address.Masked() {
				ok = true
				break
			}
		}
		if !ok {
			add(Ref{Kind: KindSelf, Name: s.Name}, "traffic-group "+s.TrafficGroup,
				fmt.Errorf("a floating self IP needs a non-floating self IP on network %s of vlan %s", s.Address.Masked(), s.VLAN))
		}
	}
}
