package alteon

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"lbx/ctrlplane/config"
)

// The /cfg/l3 menus: IP interfaces, default gateways and static routes, as
// views of tmsh net self and net route objects (README "The Alteon
// dialect"):
//
//	/c/l3/if N                      net self /Common/ifN
//	/c/l3/gw N                      net route /Common/gwN (network default)
//	/c/l3/route/ip4 add D M G       net route /Common/route_D_BITS
//
// An interface's vlan is the lbx data port (VLAN) name, lbx-ext, not an
// Alteon VLAN number: lbx's VLANs are its data ports. Self IPs and routes
// whose names have no Alteon form (the boot config's, those made in tmsh)
// are listed as comments in /c/l3 and changed in tmsh.

const (
	maxAltIf = 256 // /c/l3/if 1-256
	maxAltGw = 4   // /c/l3/gw 1-4
)

// addL3Menus adds the /cfg/l3 menus to the tree.
func addL3Menus(m map[altKind]*altMenu) {
	fixed := func(s string) func(altFrame) string { return func(altFrame) string { return s } }
	m[altCfg].cmds = append(m[altCfg].cmds, sub("l3", "", "layer 3 menu: interfaces, gateways, static routes", altL3))
	m[altL3] = &altMenu{title: fixed("Layer 3"), path: fixed("/c/l3"), cmds: []altCmd{
		{name: "if", args: "<interface number 1-256>", help: "IP interface menu (a net self)", min: 1, max: 1, enter: enterNumbered(altL3If, "if", maxAltIf)},
		{name: "gw", args: "<default gateway number 1-4>", help: "default gateway menu (a default net route)", min: 1, max: 1, enter: enterNumbered(altL3Gw, "gw", maxAltGw)},
		sub("route", "", "static route menu", altL3Route),
		curCmd(),
	}}
	m[altInfo].cmds = append(m[altInfo].cmds, sub("l3", "", "layer 3 information menu", altInfoL3))
	m[altInfoL3] = &altMenu{title: fixed("Layer 3 Information"), path: fixed("/i/l3"), cmds: []altCmd{
		{name: "vrrp", help: "VRRP: this unit's virtual router (traffic-group-1) and its state", run: runInfoVRRP},
	}}
	m[altL3If] = &altMenu{title: func(f altFrame) string { return "IP Interface " + f.id }, path: func(f altFrame) string { return "/c/l3/if " + f.id }, cmds: ifCmds}
	m[altL3Gw] = &altMenu{title: func(f altFrame) string { return "Default gateway " + f.id }, path: func(f altFrame) string { return "/c/l3/gw " + f.id }, cmds: gwCmds}
	m[altL3Route] = &altMenu{title: fixed("IP Static Route"), path: fixed("/c/l3/route"), cmds: []altCmd{
		sub("ip4", "", "IPv4 static route menu", altL3RouteIP4),
		curCmd(),
	}}
	m[altL3RouteIP4] = &altMenu{title: fixed("IP4 Static Route"), path: fixed("/c/l3/route/ip4"), cmds: []altCmd{
		{name: "add", args: "<destination> <mask> <gateway> [<interface>]", help: "add a static route", min: 3, max: 4, run: runRouteAdd},
		{name: "rem", args: "<destination> <mask>", help: "remove a static route", min: 2, max: 2, run: runRouteRem},
		curCmd(),
	}}
}

// enterNumbered opens the menu of an interface or gateway number.
func enterNumbered(k altKind, what string, max uint32) func(*altCtx, altFrame, []string) (altFrame, error) {
	return func(_ *altCtx, _ altFrame, args []string) (altFrame, error) {
		n, err := altUint(args[0], 1, max)
		if err != nil {
			return altFrame{}, fmt.Errorf("%s %s: %w", what, args[0], err)
		}
		return altFrame{kind: k, id: strconv.Itoa(int(n))}, nil
	}
}

func ifName(id string) string { return altName("if" + id) }
func gwName(id string) string { return altName("gw" + id) }

// routeName is the net route an /c/l3/route/ip4 add makes for network p.
func routeName(p netip.Prefix) string {
	return altName("route_" + p.Addr().String() + "_" + strconv.Itoa(p.Bits()))
}

// parseMask reads a dotted IPv4 netmask.
func parseMask(s string) (int, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return 0, fmt.Errorf("%q: want an IPv4 netmask such as 255.255.255.0", s)
	}
	return config.MaskBits(s)
}

// maskOf is the dotted netmask of a prefix length.
func maskOf(bits int) string {
	m := uint32(0)
	if bits > 0 {
		m = ^uint32(0) << (32 - bits)
	}
	return netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}).String()
}

// --- /c/l3/if -------------------------------------------------------------

// iface returns a copy of interface id's self IP, or a new one on a /24
// until mask says otherwise.
func (a *altCtx) iface(id string) *config.SelfIP {
	if s := a.x.Config().Selfs[ifName(id)]; s != nil {
		return s.Clone()
	}
	return &config.SelfIP{Name: ifName(id)}
}

func ifSetter(name, args, help string, n int, set func(s *config.SelfIP, args []string) error) altCmd {
	return altCmd{name: name, args: args, help: help, min: n, max: n, run: func(a *altCtx, f altFrame, args []string) (string, error) {
		s := a.iface(f.id)
		if err := set(s, args); err != nil {
			return "", fmt.Errorf("if %s: %s: %w", f.id, name, err)
		}
		return "", a.x.Put(s)
	}}
}

var ifCmds = []altCmd{
	ipverCmd(),
	ifSetter("addr", "<IP address>", "set the interface's IP address (a /24 until mask sets it)", 1, func(s *config.SelfIP, args []string) error {
		ip, err := netip.ParseAddr(args[0])
		if err != nil || !ip.Is4() {
			return fmt.Errorf("%q: want an IPv4 address", args[0])
		}
		bits := 24
		if s.Address.IsValid() {
			bits = s.Address.Bits()
		}
		s.Address = netip.PrefixFrom(ip, bits)
		return nil
	}),
	ifSetter("mask", "<netmask>", "set the interface's subnet mask", 1, func(s *config.SelfIP, args []string) error {
		bits, err := parseMask(args[0])
		if err != nil {
			return err
		}
		if !s.Address.IsValid() {
			return errors.New("set addr first")
		}
		s.Address = netip.PrefixFrom(s.Address.Addr(), bits)
		return nil
	}),
	ifSetter("vlan", "<data port>", "set the interface's VLAN: an lbx data port (lbx-ext), not a VLAN number", 1, func(s *config.SelfIP, args []string) error {
		if _, err := strconv.Atoi(args[0]); err == nil {
			return fmt.Errorf("%q: lbx's VLANs are its data ports: give the port's name (lbx-ext), not an Alteon VLAN number", args[0])
		}
		if err := config.CheckBaseName(args[0]); err != nil {
			return err
		}
		s.VLAN = altName(args[0])
		return nil
	}),
	ifSetter("descr", "<description>|none", "set a description", 1, func(s *config.SelfIP, args []string) error {
		s.Description = noneEmpty(args[0])
		return nil
	}),
	{name: "ena", help: "enable the interface (an lbx self IP is enabled while it exists)", run: func(*altCtx, altFrame, []string) (string, error) { return "", nil }},
	{name: "dis", help: "disable the interface (not supported: del removes it)", run: func(_ *altCtx, f altFrame, _ []string) (string, error) {
		return "", fmt.Errorf("if %s: dis: an lbx self IP cannot be disabled; del removes it", f.id)
	}},
	delCmd("interface", func(a *altCtx, f altFrame) error {
		r := config.Ref{Kind: config.KindSelf, Name: ifName(f.id)}
		if a.x.Config().Selfs[r.Name] == nil {
			return fmt.Errorf("if %s does not exist", f.id)
		}
		return a.x.Delete(r)
	}),
	curCmd(),
}

// --- /c/l3/gw -------------------------------------------------------------

var gwCmds = []altCmd{
	ipverCmd(),
	{name: "addr", args: "<IP address>", help: "set the default gateway's IP address", min: 1, max: 1, run: func(a *altCtx, f altFrame, args []string) (string, error) {
		ip, err := netip.ParseAddr(args[0])
		if err != nil || !ip.Is4() {
			return "", fmt.Errorf("gw %s: addr: %q: want an IPv4 address", f.id, args[0])
		}
		r := &config.Route{Name: gwName(f.id), Network: netip.PrefixFrom(netip.IPv4Unspecified(), 0)}
		if old := a.x.Config().Routes[r.Name]; old != nil {
			r = old.Clone()
		}
		r.Gateway = ip
		return "", a.x.Put(r)
	}},
	{name: "ena", help: "enable the gateway (an lbx route is used while it exists)", run: func(*altCtx, altFrame, []string) (string, error) { return "", nil }},
	{name: "dis", help: "disable the gateway (not supported: del removes it)", run: func(_ *altCtx, f altFrame, _ []string) (string, error) {
		return "", fmt.Errorf("gw %s: dis: an lbx route cannot be disabled; del removes it", f.id)
	}},
	delCmd("default gateway", func(a *altCtx, f altFrame) error {
		r := config.Ref{Kind: config.KindRoute, Name: gwName(f.id)}
		if a.x.Config().Routes[r.Name] == nil {
			return fmt.Errorf("gw %s does not exist", f.id)
		}
		return a.x.Delete(r)
	}),
	curCmd(),
}

// --- /c/l3/route/ip4 ------------------------------------------------------

// routeArgs reads a destination and mask into a network.
func routeArgs(dest, mask string) (netip.Prefix, error) {
	d, err := netip.ParseAddr(dest)
	if err != nil || !d.Is4() {
		return netip.Prefix{}, fmt.Errorf("destination %q: want an IPv4 address", dest)
	}
	bits, err := parseMask(mask)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("mask %w", err)
	}
	p := netip.PrefixFrom(d, bits)
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("destination %s has host bits outside mask %s (the network is %s)", d, mask, p.Masked().Addr())
	}
	return p, nil
}

// routeFor is the route of network p, under any name.
func routeFor(c *config.Config, p netip.Prefix) *config.Route {
	for _, r := range c.Routes {
		if r.Network.Masked() == p {
			return r
		}
	}
	return nil
}

// runRouteAdd adds a static route. Adding one that exists with the same
// gateway (a dump pushed back) changes nothing; another gateway is an
// error, as the switch refuses a duplicate.
func runRouteAdd(a *altCtx, _ altFrame, args []string) (string, error) {
	p, err := routeArgs(args[0], args[1])
	if err != nil {
		return "", fmt.Errorf("add: %w", err)
	}
	gw, err := netip.ParseAddr(args[2])
	if err != nil || !gw.Is4() {
		return "", fmt.Errorf("add: gateway %q: want an IPv4 address", args[2])
	}
	if len(args) == 4 {
		// The interface is where the gateway is; lbx finds it itself.
		if _, err := altUint(args[3], 1, maxAltIf); err != nil {
			return "", fmt.Errorf("add: interface %s: %w", args[3], err)
		}
	}
	if old := routeFor(a.x.Config(), p); old != nil {
		if old.Gateway == gw {
			return "", nil
		}
		return "", fmt.Errorf("add: route %s %s exists (%s, gateway %s); rem it first", args[0], args[1], old.Name, old.Gateway)
	}
	return "", a.x.Put(&config.Route{Name: routeName(p), Network: p, Gateway: gw})
}

func runRouteRem(a *altCtx, _ altFrame, args []string) (string, error) {
	p, err := routeArgs(args[0], args[1])
	if err != nil {
		return "", fmt.Errorf("rem: %w", err)
	}
	r := routeFor(a.x.Config(), p)
	if r == nil {
		return "", fmt.Errorf("rem: no route %s %s", args[0], args[1])
	}
	return "", a.x.Delete(r.Ref())
}

// --- dump -----------------------------------------------------------------

// numberedID is N when name is /Common/<prefix>N with N in 1..max.
func numberedID(name, prefix string, max int) (string, bool) {
	base := config.BaseName(name)
	if name != altName(base) || !strings.HasPrefix(base, prefix) {
		return "", false
	}
	n, err := strconv.Atoi(base[len(prefix):])
	if err != nil || n < 1 || n > max || strconv.Itoa(n) != base[len(prefix):] {
		return "", false
	}
	return base[len(prefix):], true
}

// l3Blocks is the /c/l3 part of a dump: interfaces, gateways, routes, and
// a comment for each self IP or route without an Alteon form.
func l3Blocks(c *config.Config) []altBlock {
	var out []altBlock
	notes := altBlock{path: l3NotesPath}
	ifs := map[string]*config.SelfIP{}
	for _, s := range config.SortedValues(c.Selfs) {
		id, ok := numberedID(s.Name, "if", maxAltIf)
		if !ok {
			what := "made in tmsh"
			if s.Boot {
				what = "from the boot config"
			}
			notes.note("net self %s %s vlan %s (%s; no Alteon interface number)", s.Name, s.Address, config.BaseName(s.VLAN), what)
			continue
		}
		ifs[id] = s
	}
	for _, id := range sortedIDs(ifs) {
		s := ifs[id]
		b := altBlock{path: "/c/l3/if " + id}
		b.add("ena")
		b.add("ipver v4")
		if s.Address.IsValid() {
			b.add("addr %s", s.Address.Addr())
			b.add("mask %s", maskOf(s.Address.Bits()))
		}
		if s.VLAN != "" {
			b.add("vlan %s", config.BaseName(s.VLAN))
		}
		if s.Description != "" {
			b.add("descr %q", s.Description)
		}
		out = append(out, b)
	}
	gws := map[string]*config.Route{}
	routes := altBlock{path: routeBlockPath}
	rs := config.SortedValues(c.Routes)
	slices.SortFunc(rs, func(x, y *config.Route) int {
		if d := x.Network.Addr().Compare(y.Network.Addr()); d != 0 {
			return d
		}
		return x.Network.Bits() - y.Network.Bits()
	})
	for _, r := range rs {
		if id, ok := numberedID(r.Name, "gw", maxAltGw); ok && r.Network.Bits() == 0 && r.Network.Addr().Is4() {
			gws[id] = r
			continue
		}
		if !r.Network.Addr().Is4() {
			notes.note("net route %s %s gw %s (not IPv4)", r.Name, config.FormatNetwork(r.Network), r.Gateway)
			continue
		}
		routes.add("add %s %s %s", r.Network.Addr(), maskOf(r.Network.Bits()), r.Gateway)
	}
	for _, id := range sortedIDs(gws) {
		b := altBlock{path: "/c/l3/gw " + id}
		b.add("ena")
		b.add("ipver v4")
		b.add("addr %s", gws[id].Gateway)
		out = append(out, b)
	}
	if len(routes.lines) > 0 {
		out = append(out, routes)
	}
	if len(notes.lines) > 0 {
		out = append([]altBlock{notes}, out...)
	}
	return out
}

// l3NotesPath holds the comments on self IPs and routes without an
// Alteon form; diff leaves it out.
const l3NotesPath = "/c/l3"

// routeBlockPath is the menu whose dump lines are one add per route.
const routeBlockPath = "/c/l3/route/ip4"

// routeDiff turns the route menu's old and new add lines into the
// commands between them: a rem for each route gone, an add for each new.
func routeDiff(old, cur []string) []string {
	var out []string
	for _, l := range old {
		if !slices.Contains(cur, l) {
			f := strings.Fields(l)
			out = append(out, "rem "+f[1]+" "+f[2])
		}
	}
	for _, l := range cur {
		if !slices.Contains(old, l) {
			out = append(out, l)
		}
	}
	return out
}

// runInfoVRRP is /info/l3/vrrp: the unit's one virtual router (the boot
// config's ha section), in Alteon's words: master, backup or init.
func runInfoVRRP(a *altCtx, _ altFrame, _ []string) (string, error) {
	f := a.x.src.Failover
	if f == nil {
		return "VRRP information: none (no ha section in the boot config; standalone)\n", nil
	}
	st := f.FailoverStatus()
	state := map[string]string{"active": "MASTER", "standby": "BACKUP", "offline": "INIT"}[st.State]
	var b strings.Builder
	b.WriteString("VRRP information:\n")
	fmt.Fprintf(&b, "  1: vrid %d, %s, prio %d, advertisement %s, master down %s, %s\n",
		st.VRID, config.TrafficGroup1, st.Priority, st.Interval, st.MasterDown, state)
	if st.State == "standby" && st.Peer.IsValid() {
		fmt.Fprintf(&b, "     master %s, prio %d\n", st.Peer, st.PeerPriority)
	}
	return b.String(), nil
}
