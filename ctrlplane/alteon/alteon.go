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

// The Alteon dialect: the /cfg/slb menus of an Alteon (AOS) over the one
// configuration model. It holds no objects of its own; each menu is a view
// of tmsh objects (README "The Alteon dialect" has the table):
//
//	/c/slb/real ID                 ltm node /Common/ID
//	/c/slb/group ID                ltm pool /Common/ID (members on port 0, "any")
//	/c/slb/virt ID/service PORT    ltm virtual /Common/ID_PORT
//	/c/slb/advhc/health ID TYPE    ltm monitor TYPE /Common/ID with Alteon timing
//	/c/l3/if N, gw N, route/ip4    net self /Common/ifN, net route (l3.go)
//
// A service's rport is its pool members' port: rport 0 (the default) keeps
// them on port 0, which the dataplane and the monitors take from the
// virtual server's port. Alteon's own objects hold what a tmsh object has no
// place for only while they have no tmsh form: a virt with no service yet is
// a draft of the session (altState.drafts).

// altKind is one menu of the tree.
type altKind uint8

const (
	altMain altKind = iota
	altCfg
	altSLB
	altReal
	altGroup
	altVirt
	altService
	altPIP
	altAdvhc
	altHealth
	altInfo
	altInfoSLB
	altStats
	altStatsSLB
	altOper
	altOperSLB
	altL3
	altL3If
	altL3Gw
	altL3Route
	altL3RouteIP4
	altL7
	altL7SLB
	altCntRule
	altInfoL3
	altL3VRRP
	altL3VRRPVr
	altL3VRRPTrack
)

// altFrame is one open menu: its kind and the object it is about.
type altFrame struct {
	kind altKind
	id   string // real, group, virt or health ID
	port uint16 // service port
	rule string // content rule number
}

// altCmd is one entry of a menu: a submenu (enter) or a command (run).
type altCmd struct {
	name     string
	args     string // usage of its arguments, e.g. "<real server ID>"
	help     string
	min, max int // number of arguments
	enter    func(a *altCtx, f altFrame, args []string) (altFrame, error)
	run      func(a *altCtx, f altFrame, args []string) (string, error)
}

// altMenu is a menu: its title (the prompt and help header) and entries.
type altMenu struct {
	title func(f altFrame) string
	path  func(f altFrame) string // the menu's path, for cur and diff
	cmds  []altCmd
}

// altCtx is what a command acts on: the session's candidate and drafts.
type altCtx struct {
	x  *execCtx
	st *altState
}

// altState is the Alteon side of a session: the open menu and the virts
// that have no service yet.
type altState struct {
	path   []altFrame // the open menus below Main, outermost first
	drafts map[string]*virtDraft
	// strings is the session's layer-7 string table (addstr): ID i+1 is
	// strings[i], "" once removed.
	strings []string
}

// virtDraft is a virt with no service: its settings wait for the first one.
type virtDraft struct {
	vip      netip.Addr
	disabled bool
	name     string
	mirror   bool
}

func newAltState() *altState { return &altState{drafts: map[string]*virtDraft{}} }

func (st *altState) frame() altFrame {
	if len(st.path) == 0 {
		return altFrame{kind: altMain}
	}
	return st.path[len(st.path)-1]
}

// Prompt is the Alteon prompt of the open menu: ">> Real Server 1# ".
func (st *altState) Prompt() string {
	f := st.frame()
	return ">> " + altMenus[f.kind].title(f) + "# "
}

var altMenus map[altKind]*altMenu

func init() {
	fixed := func(s string) func(altFrame) string { return func(altFrame) string { return s } }
	altMenus = map[altKind]*altMenu{
		altMain: {title: fixed("Main"), path: fixed("/"), cmds: []altCmd{
			sub("cfg", "", "configuration menu", altCfg),
			sub("info", "", "information (status) menu", altInfo),
			sub("stats", "", "statistics menu", altStats),
			sub("oper", "", "operations (runtime) menu", altOper),
		}},
		altCfg: {title: fixed("Configuration"), path: fixed("/c"), cmds: []altCmd{
			sub("slb", "", "server load balancing menu", altSLB),
			{name: "dump", help: "print the whole configuration (pending changes included)", run: runAltDump},
		}},
		altSLB: {title: fixed("Layer 4"), path: fixed("/c/slb"), cmds: []altCmd{
			{name: "real", args: "<real server ID>", help: "real server menu", min: 1, max: 1, enter: enterReal},
			{name: "group", args: "<real server group ID>", help: "real server group menu", min: 1, max: 1, enter: enterGroup},
			{name: "virt", args: "<virtual server ID>", help: "virtual server menu", min: 1, max: 1, enter: enterVirt},
			sub("advhc", "", "advanced health check menu", altAdvhc),
			sub("layer7", "", "layer 7 (content) load balancing menu", altL7),
			{name: "on", help: "globally turn server load balancing on (it always is)", run: func(*altCtx, altFrame, []string) (string, error) { return "", nil }},
			{name: "off", help: "globally turn server load balancing off (not supported)", run: func(*altCtx, altFrame, []string) (string, error) {
				return "", errors.New("slb off: lbx balances whenever a virtual service is configured; disable the virts instead")
			}},
			curCmd(),
		}},
		altReal:  {title: func(f altFrame) string { return "Real Server " + f.id }, path: func(f altFrame) string { return "/c/slb/real " + f.id }, cmds: realCmds},
		altGroup: {title: func(f altFrame) string { return "Real Server Group " + f.id }, path: func(f altFrame) string { return "/c/slb/group " + f.id }, cmds: groupCmds},
		altVirt:  {title: func(f altFrame) string { return "Virtual Server " + f.id }, path: func(f altFrame) string { return "/c/slb/virt " + f.id }, cmds: virtCmds},
		altService: {title: func(f altFrame) string { return "Virtual Server " + f.id + " " + u16(f.port) + " Service" },
			path: func(f altFrame) string { return "/c/slb/virt " + f.id + "/service " + u16(f.port) }, cmds: serviceCmds},
		altPIP: {title: func(f altFrame) string { return "Virtual Server " + f.id + " " + u16(f.port) + " Proxy IP" },
			path: func(f altFrame) string { return "/c/slb/virt " + f.id + "/service " + u16(f.port) + "/pip" }, cmds: pipCmds},
		altL7: {title: fixed("Layer 7"), path: fixed("/c/slb/layer7"), cmds: []altCmd{
			sub("slb", "", "layer 7 load balancing strings menu", altL7SLB),
		}},
		altL7SLB:   {title: fixed("Layer 7 SLB"), path: fixed("/c/slb/layer7/slb"), cmds: l7SLBCmds},
		altCntRule: {title: cntRuleTitle, path: cntRulePath, cmds: cntRuleCmds},
		altAdvhc: {title: fixed("Advanced Health Check"), path: fixed("/c/slb/advhc"), cmds: []altCmd{
			{name: "health", args: "<health check ID> [ICMP|TCP|TCPHALFOPEN|HTTP|HTTPS|UDP]", help: "health check menu (the type is needed to create one)", min: 1, max: 2, enter: enterHealth},
		}},
		altHealth: {title: func(f altFrame) string { return "Health check " + f.id }, path: func(f altFrame) string { return "/c/slb/advhc/health " + f.id }, cmds: healthCmds},
		altInfo: {title: fixed("Information"), path: fixed("/i"), cmds: []altCmd{
			sub("slb", "", "server load balancing information menu", altInfoSLB),
		}},
		altInfoSLB: {title: fixed("SLB Information"), path: fixed("/i/slb"), cmds: []altCmd{
			{name: "real", args: "[<real server ID>]", help: "real servers: address, groups and health", max: 1, run: runInfoReal},
			{name: "group", args: "<real server group ID>", help: "a group's real servers with their health and reason", min: 1, max: 1, run: runInfoGroup},
			{name: "virt", args: "[<virtual server ID>]", help: "virtual servers: their services with availability, group and reason", max: 1, run: runInfoVirt},
			{name: "dump", help: "print the running SLB configuration (no pending changes)", run: runInfoDump},
			{name: "trace", args: "<group ID> <real server ID>", help: "lbx: the real server's last health probes, packet by packet", min: 2, max: 2, run: runInfoTrace},
		}},
		altStats: {title: fixed("Statistics"), path: fixed("/stats"), cmds: []altCmd{
			sub("slb", "", "server load balancing statistics menu", altStatsSLB),
		}},
		altStatsSLB: {title: fixed("SLB Statistics"), path: fixed("/stats/slb"), cmds: []altCmd{
			{name: "virt", args: "<virtual server ID>", help: "a virt's services: availability, sessions and octets", min: 1, max: 1, run: runStatsVirt},
			{name: "group", args: "<real server group ID>", help: "a group's real servers: sessions and octets", min: 1, max: 1, run: runStatsGroup},
			{name: "real", args: "<real server ID>", help: "a real server's sessions and octets over every group", min: 1, max: 1, run: runStatsReal},
		}},
	}
	addOperMenus(altMenus)
	addL3Menus(altMenus)
	addVRRPMenus(altMenus)
}

func sub(name, args, help string, k altKind) altCmd {
	return altCmd{name: name, args: args, help: help, enter: func(_ *altCtx, f altFrame, _ []string) (altFrame, error) {
		return altFrame{kind: k, id: f.id, port: f.port}, nil
	}}
}

func curCmd() altCmd {
	return altCmd{name: "cur", help: "display the current configuration of this menu (pending changes included)",
		run: func(a *altCtx, f altFrame, _ []string) (string, error) { return altCur(a, f), nil }}
}

func delCmd(what string, run func(a *altCtx, f altFrame) error) altCmd {
	return altCmd{name: "del", help: "delete this " + what, run: func(a *altCtx, f altFrame, _ []string) (string, error) {
		if err := run(a, f); err != nil {
			return "", err
		}
		a.st.path = a.st.path[:len(a.st.path)-1]
		return "", nil
	}}
}

// ipverCmd accepts the IP version line every dump prints; lbx balances
// IPv4 only.
func ipverCmd() altCmd {
	return altCmd{name: "ipver", args: "v4|v6", help: "set the IP version (v4; IPv6 is not supported yet)", min: 1, max: 1,
		run: func(_ *altCtx, f altFrame, args []string) (string, error) {
			switch args[0] {
			case "v4":
				return "", nil
			case "v6":
				return "", fmt.Errorf("ipver v6: IPv6: %w", config.ErrNotSupportedYet)
			}
			return "", fmt.Errorf("ipver %q: want v4 or v6", args[0])
		}}
}

func u16(n uint16) string { return strconv.Itoa(int(n)) }

// --- names ------------------------------------------------------------

// altName is the tmsh object name of an Alteon ID.
func altName(id string) string { return "/" + config.CommonPartition + "/" + id }

func checkAltID(what, id string) error {
	if err := config.CheckBaseName(id); err != nil {
		return fmt.Errorf("%s %q: %w", what, id, err)
	}
	return nil
}

// serviceName is the virtual server of a virt's service.
func serviceName(virt string, port uint16) string { return altName(virt + "_" + u16(port)) }

// virtOf splits a virtual server's name into its virt ID and service port
// when it follows the dialect's ID_PORT form and port is its destination
// port; else the virt is the whole name.
func virtOf(v *config.Virtual) (id string, port uint16) {
	base := config.BaseName(v.Name)
	if i := strings.LastIndexByte(base, '_'); i > 0 {
		if p, err := strconv.ParseUint(base[i+1:], 10, 16); err == nil && uint16(p) == v.Destination.Port() {
			return base[:i], uint16(p)
		}
	}
	return base, v.Destination.Port()
}

// services returns the virtual servers of a virt, by port.
func virtServices(c *config.Config, id string) []*config.Virtual {
	var out []*config.Virtual
	for _, v := range c.VirtualList() {
		if vid, _ := virtOf(v); vid == id {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b *config.Virtual) int { return int(a.Destination.Port()) - int(b.Destination.Port()) })
	return out
}

// --- real servers -------------------------------------------------------

func enterReal(a *altCtx, _ altFrame, args []string) (altFrame, error) {
	if err := checkAltID("real", args[0]); err != nil {
		return altFrame{}, err
	}
	return altFrame{kind: altReal, id: args[0]}, nil
}

// real returns a copy of the real server's node, or a new one (disabled,
// as Alteon creates a real) when create is set; a setter puts it back.
func (a *altCtx) real(id string, create bool) (*config.Node, error) {
	name := altName(id)
	if n := a.x.Config().Nodes[name]; n != nil {
		return n.Clone(), nil
	}
	if !create {
		return nil, fmt.Errorf("real %s does not exist", id)
	}
	n := config.NewNode(name)
	n.Session = config.SessionUserDisabled
	return n, nil
}

func realSetter(name, args, help string, n int, set func(a *altCtx, nd *config.Node, args []string) error) altCmd {
	return altCmd{name: name, args: args, help: help, min: n, max: n, run: func(a *altCtx, f altFrame, args []string) (string, error) {
		nd, err := a.real(f.id, true)
		if err != nil {
			return "", err
		}
		if err := set(a, nd, args); err != nil {
			return "", fmt.Errorf("real %s: %s: %w", f.id, name, err)
		}
		return "", a.x.Put(nd)
	}}
}

var realCmds = []altCmd{
	ipverCmd(),
	realSetter("rip", "<IP address>", "set the real server's IP address", 1, func(a *altCtx, nd *config.Node, args []string) error {
		ip, err := netip.ParseAddr(args[0])
		if err != nil || !ip.Is4() {
			return fmt.Errorf("%q: want an IPv4 address", args[0])
		}
		nd.Address = ip
		for _, p := range a.x.Config().Pools {
			for i := range p.Members {
				if p.Members[i].Node == nd.Name {
					p.Members[i].Address = ip
				}
			}
		}
		return nil
	}),
	realSetter("ena", "", "enable the real server", 0, func(_ *altCtx, nd *config.Node, _ []string) error {
		nd.Session = config.SessionUserEnabled
		return nil
	}),
	realSetter("dis", "", "disable the real server (no new connections)", 0, func(_ *altCtx, nd *config.Node, _ []string) error {
		nd.Session = config.SessionUserDisabled
		return nil
	}),
	realSetter("name", "<name>|none", "set a descriptive name", 1, func(_ *altCtx, nd *config.Node, args []string) error {
		nd.Description = noneEmpty(args[0])
		return nil
	}),
	realSetter("maxcon", "<0-200000>", "set the maximum connections (0: no limit)", 1, func(_ *altCtx, nd *config.Node, args []string) error {
		n, err := altUint(args[0], 0, 200000)
		nd.ConnectionLimit = n
		return err
	}),
	altTiming("inter"), altTiming("retry"), altTiming("restr"),
	delCmd("real server", func(a *altCtx, f altFrame) error {
		name := altName(f.id)
		if a.x.Config().Nodes[name] == nil {
			return fmt.Errorf("real %s does not exist", f.id)
		}
		if err := altInUse(a.x.Config(), config.Ref{Kind: config.KindNode, Name: name}); err != nil {
			return err
		}
		return a.x.Delete(config.Ref{Kind: config.KindNode, Name: name})
	}),
	curCmd(),
}

// altTiming refuses the real-server timing of old firmware with a pointer to
// where lbx keeps it.
func altTiming(name string) altCmd {
	return altCmd{name: name, args: "<n>", help: "old firmware's per-real health timing: set it on an advhc health check", min: 1, max: 1,
		run: func(_ *altCtx, f altFrame, _ []string) (string, error) {
			return "", fmt.Errorf("real %s: %s: lbx keeps health timing on the health check: /c/slb/advhc/health ID TYPE/%s, then /c/slb/group ID/health ID", f.id, name, name)
		}}
}

func noneEmpty(s string) string {
	if s == "none" {
		return ""
	}
	return s
}

func altUint(s string, lo, hi uint32) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || s[0] == '+' || uint32(n) < lo || uint32(n) > hi {
		return 0, fmt.Errorf("%q: want a number from %d to %d", s, lo, hi)
	}
	return uint32(n), nil
}

// findMemberNode returns the index of the first member on node, or -1.
func findMemberNode(p *config.Pool, node string) int {
	for i := range p.Members {
		if p.Members[i].Node == node {
			return i
		}
	}
	return -1
}

// --- groups ------------------------------------------------------------

// Alteon metrics and the load-balancing modes they are.
var altMetrics = []struct {
	name string
	mode config.LBMode
}{
	{"roundrobin", config.LBRoundRobin},
	{"leastconns", config.LBLeastConnectionsMember},
	{"minmisses", config.LBAlteonMinMisses},
	{"hash", config.LBAlteonHash},
	{"response", config.LBFastestAppResponse},
}

func enterGroup(a *altCtx, _ altFrame, args []string) (altFrame, error) {
	if err := checkAltID("group", args[0]); err != nil {
		return altFrame{}, err
	}
	return altFrame{kind: altGroup, id: args[0]}, nil
}

// group returns a copy of the group's pool, or a new one with Alteon's
// defaults (metric leastconns) when create is set; a setter puts it back.
func (a *altCtx) group(id string, create bool) (*config.Pool, error) {
	name := altName(id)
	if p := a.x.Config().Pools[name]; p != nil {
		return p.Clone(), nil
	}
	if !create {
		return nil, fmt.Errorf("group %s does not exist", id)
	}
	p := config.NewPool(name)
	p.Mode = config.LBLeastConnectionsMember
	p.SlowRampTime = 0
	return p, nil
}

func groupSetter(name, args, help string, n int, set func(a *altCtx, p *config.Pool, args []string) error) altCmd {
	return altCmd{name: name, args: args, help: help, min: n, max: n, run: func(a *altCtx, f altFrame, args []string) (string, error) {
		p, err := a.group(f.id, true)
		if err != nil {
			return "", err
		}
		if err := set(a, p, args); err != nil {
			return "", fmt.Errorf("group %s: %s: %w", f.id, name, err)
		}
		return "", a.x.Put(p)
	}}
}

// memberPort is the port a new member of p takes: its members' (the
// rport of the services using it), else 0.
func memberPort(p *config.Pool) uint16 {
	if len(p.Members) > 0 {
		return p.Members[0].Port
	}
	return 0
}

func groupMember(a *altCtx, p *config.Pool, id string) (int, error) {
	i := findMemberNode(p, altName(id))
	if i < 0 {
		return -1, fmt.Errorf("real %s is not in the group", id)
	}
	return i, nil
}

var groupCmds = []altCmd{
	ipverCmd(),
	groupSetter("add", "<real server ID>", "add a real server to the group", 1, func(a *altCtx, p *config.Pool, args []string) error {
		nd, err := a.real(args[0], false)
		if err != nil {
			return err
		}
		if findMemberNode(p, nd.Name) >= 0 {
			return fmt.Errorf("real %s is already in the group", args[0])
		}
		m := config.NewMember(nd.Name, memberPort(p))
		m.Address = nd.Address
		p.Members = append(p.Members, m)
		return nil
	}),
	groupSetter("rem", "<real server ID>", "remove a real server from the group", 1, func(a *altCtx, p *config.Pool, args []string) error {
		i, err := groupMember(a, p, args[0])
		if err == nil {
			p.Members = slices.Delete(p.Members, i, i+1)
		}
		return err
	}),
	groupSetter("ena", "<real server ID>", "enable a real server in this group", 1, func(a *altCtx, p *config.Pool, args []string) error {
		i, err := groupMember(a, p, args[0])
		if err == nil {
			p.Members[i].Session = config.SessionUserEnabled
		}
		return err
	}),
	groupSetter("dis", "<real server ID>", "disable a real server in this group (no new connections)", 1, func(a *altCtx, p *config.Pool, args []string) error {
		i, err := groupMember(a, p, args[0])
		if err == nil {
			p.Members[i].Session = config.SessionUserDisabled
		}
		return err
	}),
	groupSetter("metric", "roundrobin|leastconns|minmisses|hash|response", "set the metric that picks the next real server", 1, func(_ *altCtx, p *config.Pool, args []string) error {
		var names []string
		for _, m := range altMetrics {
			if m.name == args[0] {
				p.Mode = m.mode
				return nil
			}
			names = append(names, m.name)
		}
		return fmt.Errorf("%q: want %s", args[0], altOrList(names))
	}),
	groupSetter("health", "<health check ID>|none", "set the group's health check", 1, func(a *altCtx, p *config.Pool, args []string) error {
		if args[0] == "none" {
			p.Monitor = config.MonitorRule{}
			return nil
		}
		m, err := altHealthMonitor(a.x.Config(), args[0])
		if err != nil {
			return err
		}
		p.Monitor = config.MonitorRule{Names: []string{m}}
		return nil
	}),
	groupSetter("slowstr", "<0-600>", "set the slow start time in seconds", 1, func(_ *altCtx, p *config.Pool, args []string) error {
		n, err := altUint(args[0], 0, 600)
		p.SlowRampTime = n
		return err
	}),
	groupSetter("name", "<name>|none", "set a descriptive name", 1, func(_ *altCtx, p *config.Pool, args []string) error {
		p.Description = noneEmpty(args[0])
		return nil
	}),
	{name: "backup", args: "r<ID>|g<ID>|none", help: "backup real server or group (not supported: use priority groups from tmsh)", min: 1, max: 1,
		run: func(_ *altCtx, f altFrame, _ []string) (string, error) {
			return "", fmt.Errorf("group %s: backup: %w; tmsh priority groups give the same (min-active-members)", f.id, config.ErrNotSupportedYet)
		}},
	delCmd("group", func(a *altCtx, f altFrame) error {
		name := altName(f.id)
		if a.x.Config().Pools[name] == nil {
			return fmt.Errorf("group %s does not exist", f.id)
		}
		if err := altInUse(a.x.Config(), config.Ref{Kind: config.KindPool, Name: name}); err != nil {
			return err
		}
		return a.x.Delete(config.Ref{Kind: config.KindPool, Name: name})
	}),
	curCmd(),
}

// Alteon's predefined health checks are the built-in monitors.
var altPredefined = map[string]config.MonitorType{
	"icmp": config.MonitorICMP, "tcp": config.MonitorTCP, "tcphalfopen": config.MonitorTCPHalfOpen,
	"http": config.MonitorHTTP, "https": config.MonitorHTTPS, "udp": config.MonitorUDP,
}

// altHealthMonitor resolves a group's health check to a monitor name.
func altHealthMonitor(c *config.Config, id string) (string, error) {
	if t, ok := altPredefined[id]; ok {
		return t.Builtin(), nil
	}
	name := altName(id)
	if c.Monitors[name] == nil {
		return "", fmt.Errorf("health check %s does not exist (predefined: icmp, tcp, tcphalfopen, http, https, udp; or /c/slb/advhc/health %s TYPE)", id, id)
	}
	return name, nil
}

// --- virtual servers -------------------------------------------------------

func enterVirt(a *altCtx, _ altFrame, args []string) (altFrame, error) {
	if err := checkAltID("virt", args[0]); err != nil {
		return altFrame{}, err
	}
	return altFrame{kind: altVirt, id: args[0]}, nil
}

// draft returns the draft of a virt that has no service, making a new,
// disabled one when there is none. A virt with services has no draft: its
// services hold its settings.
func (a *altCtx) draft(id string) *virtDraft {
	d := a.st.drafts[id]
	if d == nil {
		d = &virtDraft{disabled: true}
		a.st.drafts[id] = d
	}
	return d
}

// virtSetter sets a virt's setting on its services, or on its draft while it
// has none; set gets exactly one of the two.
func virtSetter(name, args, help string, n int, set func(a *altCtx, d *virtDraft, v *config.Virtual, args []string) error) altCmd {
	return altCmd{name: name, args: args, help: help, min: n, max: n, run: func(a *altCtx, f altFrame, args []string) (string, error) {
		vs := virtServices(a.x.Config(), f.id)
		if len(vs) == 0 {
			if err := set(a, a.draft(f.id), nil, args); err != nil {
				return "", fmt.Errorf("virt %s: %s: %w", f.id, name, err)
			}
			return "", nil
		}
		for _, v := range vs {
			v = v.Clone()
			if err := set(a, nil, v, args); err != nil {
				return "", fmt.Errorf("virt %s: %s: %w", f.id, name, err)
			}
			if err := a.x.Replace(v); err != nil {
				return "", err
			}
		}
		return "", nil
	}}
}

var virtCmds = []altCmd{
	ipverCmd(),
	virtSetter("vip", "<IP address>", "set the virtual server's IP address", 1, func(_ *altCtx, d *virtDraft, v *config.Virtual, args []string) error {
		ip, err := netip.ParseAddr(args[0])
		if err != nil || !ip.Is4() {
			return fmt.Errorf("%q: want an IPv4 address", args[0])
		}
		if v == nil {
			d.vip = ip
		} else {
			v.Destination = netip.AddrPortFrom(ip, v.Destination.Port())
			v.Mask = config.HostMask(ip)
		}
		return nil
	}),
	virtSetter("ena", "", "enable the virtual server", 0, func(_ *altCtx, d *virtDraft, v *config.Virtual, _ []string) error {
		if v == nil {
			d.disabled = false
		} else {
			v.Disabled = false
		}
		return nil
	}),
	virtSetter("dis", "", "disable the virtual server", 0, func(_ *altCtx, d *virtDraft, v *config.Virtual, _ []string) error {
		if v == nil {
			d.disabled = true
		} else {
			v.Disabled = true
		}
		return nil
	}),
	virtSetter("vname", "<name>|none", "set a descriptive name", 1, func(_ *altCtx, d *virtDraft, v *config.Virtual, args []string) error {
		if v == nil {
			d.name = noneEmpty(args[0])
		} else {
			v.Description = noneEmpty(args[0])
		}
		return nil
	}),
	virtSetter("mirror", "ena|dis", "mirror the virtual server's connections to the HA peer (tmsh mirror enabled)", 1, func(_ *altCtx, d *virtDraft, v *config.Virtual, args []string) error {
		var on bool
		switch args[0] {
		case "ena":
			on = true
		case "dis":
		default:
			return fmt.Errorf("%q: want ena or dis", args[0])
		}
		if v == nil {
			d.mirror = on
		} else {
			v.Mirror = on
		}
		return nil
	}),
	{name: "service", args: "<virtual port> [<application>]", help: "virtual service menu (application: http, https, dns, basic-slb, …)", min: 1, max: 2, enter: enterService},
	delCmd("virtual server", func(a *altCtx, f altFrame) error {
		vs := virtServices(a.x.Config(), f.id)
		if len(vs) == 0 && a.st.drafts[f.id] == nil {
			return fmt.Errorf("virt %s does not exist", f.id)
		}
		for _, v := range vs {
			if err := a.deleteService(v); err != nil {
				return err
			}
		}
		delete(a.st.drafts, f.id)
		return nil
	}),
	curCmd(),
}

func enterService(a *altCtx, f altFrame, args []string) (altFrame, error) {
	port, err := config.ParsePort(args[0])
	if err != nil || port == 0 {
		return altFrame{}, fmt.Errorf("virt %s: service %q: want a port from 1 to 65535", f.id, args[0])
	}
	return altFrame{kind: altService, id: f.id, port: port}, nil
}

// service returns a copy of the service's virtual server, or a new one
// from the virt (vip, state, name) when create is set; a setter puts it
// back.
func (a *altCtx) service(f altFrame, create bool) (*config.Virtual, error) {
	for _, v := range virtServices(a.x.Config(), f.id) {
		if v.Destination.Port() == f.port {
			return v.Clone(), nil
		}
	}
	if !create {
		return nil, fmt.Errorf("virt %s has no service %d", f.id, f.port)
	}
	// The virt's settings come from its other services, or its draft.
	d := virtDraft{disabled: true}
	if vs := virtServices(a.x.Config(), f.id); len(vs) > 0 {
		d = virtDraft{vip: vs[0].Destination.Addr(), disabled: vs[0].Disabled, name: vs[0].Description, mirror: vs[0].Mirror}
	} else if dp := a.st.drafts[f.id]; dp != nil {
		d = *dp
		delete(a.st.drafts, f.id)
	}
	v := config.NewVirtual(serviceName(f.id, f.port))
	v.Destination = netip.AddrPortFrom(d.vip, f.port)
	if d.vip.IsValid() {
		v.Mask = config.HostMask(d.vip)
	}
	v.Protocol = config.ProtocolTCP
	v.Disabled = d.disabled
	v.Description = d.name
	v.Mirror = d.mirror
	return v, nil
}

func serviceSetter(name, args, help string, n int, set func(a *altCtx, f altFrame, v *config.Virtual, args []string) error) altCmd {
	return altCmd{name: name, args: args, help: help, min: n, max: n, run: func(a *altCtx, f altFrame, args []string) (string, error) {
		v, err := a.service(f, true)
		if err != nil {
			return "", err
		}
		if err := set(a, f, v, args); err != nil {
			return "", fmt.Errorf("virt %s service %d: %s: %w", f.id, f.port, name, err)
		}
		return "", a.x.Put(v)
	}}
}

// sharers are the other virtual servers that use pool.
func sharers(c *config.Config, pool string, self *config.Virtual) []*config.Virtual {
	var out []*config.Virtual
	for _, v := range c.VirtualList() {
		if v.Pool == pool && v.Name != self.Name {
			out = append(out, v)
		}
	}
	return out
}

var serviceCmds = []altCmd{
	serviceSetter("group", "<real server group ID>", "set the service's real server group", 1, func(a *altCtx, _ altFrame, v *config.Virtual, args []string) error {
		p, err := a.group(args[0], false)
		if err != nil {
			return err
		}
		v.Pool = p.Name
		return nil
	}),
	serviceSetter("rport", "<real port>", "set the port the real servers listen on (0: the service port)", 1, func(a *altCtx, f altFrame, v *config.Virtual, args []string) error {
		port, err := config.ParsePort(args[0])
		if err != nil {
			return err
		}
		p := a.x.Config().Pools[v.Pool]
		if p == nil {
			return errors.New("set the group first; the real port is kept on the group's real servers")
		}
		p = p.Clone()
		if port == f.port {
			port = 0 // the same as the service port
		}
		if others := sharers(a.x.Config(), p.Name, v); port != memberPort(p) && len(others) > 0 {
			id, op := virtOf(others[0])
			return fmt.Errorf("group %s is also used by virt %s service %d; lbx keeps the real port on the group's members, so services sharing a group share their rport", config.BaseName(p.Name), id, op)
		}
		for i := range p.Members {
			p.Members[i].Port = port
		}
		return a.x.Replace(p)
	}),
	serviceSetter("protocol", "tcp|udp", "set the protocol of the service", 1, func(_ *altCtx, _ altFrame, v *config.Virtual, args []string) error {
		switch args[0] {
		case "tcp":
			v.Protocol = config.ProtocolTCP
		case "udp":
			v.Protocol = config.ProtocolUDP
		default:
			return fmt.Errorf("%q: want tcp or udp", args[0])
		}
		return nil
	}),
	serviceSetter("nonat", "ena|dis", "direct server return: ena sends to the real server with the virtual address kept, only the MAC rewritten (tmsh translate-address disabled)", 1, func(_ *altCtx, _ altFrame, v *config.Virtual, args []string) error {
		switch args[0] {
		case "ena":
			v.TranslateAddress = false
		case "dis":
			v.TranslateAddress = true
		default:
			return fmt.Errorf("%q: want ena or dis", args[0])
		}
		return nil
	}),
	sub("pip", "", "proxy IP (source NAT) menu", altPIP),
	{name: "cntrules", args: "<content rule number>", help: "layer 7 content rule menu (an ltm policy rule)", min: 1, max: 1, enter: enterCntRule},
	delCmd("virtual service", func(a *altCtx, f altFrame) error {
		v, err := a.service(f, false)
		if err != nil {
			return err
		}
		return a.deleteService(v)
	}),
	curCmd(),
}

var pipCmds = []altCmd{
	serviceSetter("mode", "disable|egress", "proxy IP mode: egress translates the client address to the egress self IP (tmsh SNAT automap)", 1, func(_ *altCtx, _ altFrame, v *config.Virtual, args []string) error {
		switch args[0] {
		case "disable":
			v.SNAT = config.SNATNone
		case "egress":
			v.SNAT = config.SNATAutomap
		default:
			return fmt.Errorf("%q: want disable or egress", args[0])
		}
		return nil
	}),
	curCmd(),
}

// --- health checks -----------------------------------------------------------

// Alteon health check types and the monitor types they are.
var altHealthTypes = []struct {
	name string
	typ  config.MonitorType
}{
	{"ICMP", config.MonitorICMP}, {"TCP", config.MonitorTCP}, {"TCPHALFOPEN", config.MonitorTCPHalfOpen},
	{"HTTP", config.MonitorHTTP}, {"HTTPS", config.MonitorHTTPS}, {"UDP", config.MonitorUDP},
}

func altHealthType(t config.MonitorType) (string, bool) {
	for _, h := range altHealthTypes {
		if h.typ == t {
			return h.name, true
		}
	}
	return "", false
}

// Alteon's defaults for a new health check.
const (
	altDefaultInter   = 5
	altDefaultTimeout = 5
	altDefaultRetry   = 4
	altDefaultRestr   = 2
)

func enterHealth(a *altCtx, _ altFrame, args []string) (altFrame, error) {
	id := args[0]
	if _, ok := altPredefined[id]; ok {
		return altFrame{}, fmt.Errorf("health %s is predefined; create your own (e.g. /c/slb/advhc/health my_%s %s)", id, id, strings.ToUpper(id))
	}
	if err := checkAltID("health", id); err != nil {
		return altFrame{}, err
	}
	name := altName(id)
	m := a.x.Config().Monitors[name]
	if len(args) == 1 {
		if m == nil {
			return altFrame{}, fmt.Errorf("health %s does not exist; give its type to create it (ICMP, TCP, TCPHALFOPEN, HTTP, HTTPS or UDP)", id)
		}
		return altFrame{kind: altHealth, id: id}, nil
	}
	typ, ok := config.MonitorType(0), false
	for _, h := range altHealthTypes {
		if strings.EqualFold(h.name, args[1]) {
			typ, ok = h.typ, true
		}
	}
	switch {
	case !ok:
		return altFrame{}, fmt.Errorf("health %s: type %q: want ICMP, TCP, TCPHALFOPEN, HTTP, HTTPS or UDP", id, args[1])
	case m != nil && m.Type != typ:
		return altFrame{}, fmt.Errorf("health %s is a %s health check, not %s", id, strings.ToUpper(m.Type.String()), strings.ToUpper(args[1]))
	case m == nil && config.BuiltinMonitor(name) != nil:
		return altFrame{}, fmt.Errorf("health %s: the name is a built-in monitor", id)
	case m == nil:
		m = &config.Monitor{Name: name, Type: typ, DefaultsFrom: typ.Builtin(),
			Interval: config.Some[uint32](altDefaultInter), Timeout: config.Some[uint32](altDefaultTimeout),
			AlteonRetry: config.Some[uint32](altDefaultRetry), AlteonRestore: config.Some[uint32](altDefaultRestr)}
		if err := a.x.Create(m); err != nil {
			return altFrame{}, err
		}
	}
	return altFrame{kind: altHealth, id: id}, nil
}

func healthSetter(name, args, help string, set func(m *config.Monitor, arg string) error) altCmd {
	return altCmd{name: name, args: args, help: help, min: 1, max: 1, run: func(a *altCtx, f altFrame, args []string) (string, error) {
		m := a.x.Config().Monitors[altName(f.id)]
		if m == nil {
			return "", fmt.Errorf("health %s does not exist", f.id)
		}
		m = m.Clone()
		if err := set(m, args[0]); err != nil {
			return "", fmt.Errorf("health %s: %s: %w", f.id, name, err)
		}
		return "", a.x.Replace(m)
	}}
}

func healthUint(get func(m *config.Monitor) *config.Opt[uint32], lo, hi uint32) func(m *config.Monitor, arg string) error {
	return func(m *config.Monitor, arg string) error {
		n, err := altUint(arg, lo, hi)
		if err == nil {
			*get(m) = config.Some(n)
		}
		return err
	}
}

// destination parts of a monitor: "*:80" → ("*", "80"); icmp types keep an
// address only.
func monitorDest(m *config.Monitor) (host, port string) {
	d := m.Destination.V
	if !m.Destination.Set {
		d = "*:*"
		if m.Type.AddressOnly() {
			d = "*"
		}
	}
	if m.Type.AddressOnly() {
		return d, "*"
	}
	h, p, err := config.SplitAddrPort(d)
	if err != nil {
		return "*", "*"
	}
	return h, p
}

func setMonitorDest(m *config.Monitor, host, port string) {
	if m.Type.AddressOnly() {
		m.Destination = config.Some(host)
		return
	}
	sep := ":"
	if strings.Contains(host, ":") {
		sep = "."
	}
	m.Destination = config.Some(host + sep + port)
}

var healthCmds = []altCmd{
	healthSetter("name", "<name>|none", "set a descriptive name", func(m *config.Monitor, arg string) error {
		m.Description = noneEmpty(arg)
		return nil
	}),
	healthSetter("dport", "<port>|none", "set the destination port (none: the real port of the service)", func(m *config.Monitor, arg string) error {
		if m.Type.AddressOnly() {
			return fmt.Errorf("%s health checks have no port", strings.ToUpper(m.Type.String()))
		}
		host, _ := monitorDest(m)
		port := "*"
		if arg != "none" && arg != "0" {
			p, err := config.ParsePort(arg)
			if err != nil {
				return err
			}
			port = u16(p)
		}
		setMonitorDest(m, host, port)
		return nil
	}),
	healthSetter("dest", "<IP address>|none", "set the destination address (none: the real server's)", func(m *config.Monitor, arg string) error {
		_, port := monitorDest(m)
		host := "*"
		if arg != "none" {
			ip, err := netip.ParseAddr(arg)
			if err != nil || !ip.Is4() {
				return fmt.Errorf("%q: want an IPv4 address or none", arg)
			}
			host = ip.String()
		}
		setMonitorDest(m, host, port)
		return nil
	}),
	healthSetter("inter", "<1-600>", "set the interval between checks, in seconds", healthUint(func(m *config.Monitor) *config.Opt[uint32] { return &m.Interval }, 1, 600)),
	healthSetter("timeout", "<1-600>", "set how long one check waits for an answer, in seconds", healthUint(func(m *config.Monitor) *config.Opt[uint32] { return &m.Timeout }, 1, 600)),
	healthSetter("retry", "<1-63>", "set the failed checks in a row that take a server down", healthUint(func(m *config.Monitor) *config.Opt[uint32] { return &m.AlteonRetry }, 1, 63)),
	healthSetter("restr", "<1-63>", "set the good checks in a row that bring a server back", healthUint(func(m *config.Monitor) *config.Opt[uint32] { return &m.AlteonRestore }, 1, 63)),
	healthSetter("closechk", "lenient|legacy", "lbx: how a TCP check judges a RST answering its FIN (legacy: fail, as AOS before 23.2.9)", func(m *config.Monitor, arg string) error {
		if m.Type != config.MonitorTCP {
			return fmt.Errorf("only TCP health checks close with a FIN")
		}
		switch arg {
		case "lenient":
			m.CloseCheck = config.Some(false)
		case "legacy":
			m.CloseCheck = config.Some(true)
		default:
			return fmt.Errorf("%q: want lenient or legacy", arg)
		}
		return nil
	}),
	delCmd("health check", func(a *altCtx, f altFrame) error {
		name := altName(f.id)
		m := a.x.Config().Monitors[name]
		if m == nil {
			return fmt.Errorf("health %s does not exist", f.id)
		}
		if err := altInUse(a.x.Config(), m.Ref()); err != nil {
			return err
		}
		return a.x.Delete(m.Ref())
	}),
	curCmd(),
}

// altOrList words a choice: "a, b or c".
func altOrList(words []string) string {
	if len(words) == 1 {
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
