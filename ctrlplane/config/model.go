package config

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Config is the traffic configuration in its spec form: what an operator
// wrote, as inert data. A dialect parses it (tmsh.ParseConfig) or edits it
// through the typed API (edit.go), ApplyDefaults completes it, Validate
// checks it, and only compile turns it into a runtime Program. Objects are
// keyed by their full name ("/Common/web_pool"); the sorted accessors give
// them in the deterministic order the printer uses.
//
// What has a runtime effect is listed at compile.CompileWithWarnings:
// virtual servers (TCP/UDP, one address and port) with their pools,
// persistence and SNAT automap, and the monitors (ctrlplane/health). The
// rest (SNAT pools, self IPs and routes of the config file, users) is
// validated, kept, listed and saved, and warned about where it is
// configured but not done.
type Config struct {
	Nodes       map[string]*Node
	Pools       map[string]*Pool
	Virtuals    map[string]*Virtual
	Monitors    map[string]*Monitor     // of every type; names are unique across types
	Persistence map[string]*Persistence // of every type
	Profiles    map[string]*LTMProfile  // ltm profile http and one-connect
	SNATPools   map[string]*SNATPool
	Policies    map[string]*Policy
	Selfs       map[string]*SelfIP
	Routes      map[string]*Route
	Users       map[string]*User
	Files       map[string]*SysFile // sys file ssl-cert and ssl-key

	// Unknown holds the stanzas of a loaded config file that lbx does not
	// implement (sys, net vlan, ltm rule, …), verbatim and in file order;
	// they are printed back after the known objects.
	Unknown []RawStanza
}

// RawStanza is a config file stanza lbx does not implement, kept verbatim.
type RawStanza struct {
	Header string // "sys global-settings", "ltm rule /Common/r": what notices name
	Text   string // the stanza as written, from its first word to its "}"
}

// RawProp is a property of a known object that lbx does not implement,
// kept verbatim (from its name to the end of its line, blocks included) and
// printed back inside its object.
type RawProp struct {
	Name string `json:"name"`
	Text string `json:"text"`
}

// Extras holds an object's unknown properties; every object kind embeds it.
type Extras struct {
	Extra []RawProp `json:"extra,omitempty"`
}

func (e *Extras) Keep(p RawProp) { e.Extra = append(e.Extra, p) }

// Opt is a property an object may inherit (monitors and persistence
// profiles take what they do not set from their defaults-from parent).
type Opt[T comparable] struct {
	V   T
	Set bool
}

// Some returns v as a set Opt.
func Some[T comparable](v T) Opt[T] { return Opt[T]{V: v, Set: true} }

// inherit sets dst to parent's value unless dst is set.
func inherit[T comparable](dst *Opt[T], parent Opt[T]) {
	if !dst.Set {
		*dst = parent
	}
}

// Session is a node's or member's session setting: whether it takes new
// connections. The zero value is BIG-IP's default, user-enabled (printed in
// saved configs as monitor-enabled).
type Session uint8

const (
	SessionUserEnabled Session = iota
	SessionUserDisabled
)

func (s Session) String() string {
	if s == SessionUserDisabled {
		return "user-disabled"
	}
	return "user-enabled"
}

// MarshalText makes it its tmsh word in JSON.
func (s Session) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// State is a node's or member's state setting. The zero value is user-up;
// user-down is "forced offline".
type State uint8

const (
	StateUserUp State = iota
	StateUserDown
)

func (s State) String() string {
	if s == StateUserDown {
		return "user-down"
	}
	return "user-up"
}

// MarshalText makes it its tmsh word in JSON.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MonitorRule is the monitor property of a pool, member or node: all of
// Names must be up (`a and b`), or at least Min of them (`min 1 of { a b }`).
// No names is none.
type MonitorRule struct {
	Names []string `json:"names"` // full monitor names
	Min   uint32   `json:"min"`   // 0: all of them
}

// String prints the rule as tmsh does.
func (r MonitorRule) String() string {
	switch {
	case len(r.Names) == 0:
		return "none"
	case r.Min > 0:
		return "min " + strconv.Itoa(int(r.Min)) + " of { " + strings.Join(r.Names, " ") + " }"
	}
	return strings.Join(r.Names, " and ")
}

// Node is an `ltm node`: a server address members refer to. Its address,
// ratio, connection limit, monitor, session and state take effect on every
// member on it.
type Node struct {
	Name            string      `json:"name"`    // full name, "/Common/198.18.2.11"
	Address         netip.Addr  `json:"address"` // cannot be changed once created, as on BIG-IP
	Description     string      `json:"description"`
	ConnectionLimit uint32      `json:"connection_limit"` // 0: no limit
	Ratio           uint32      `json:"ratio"`            // 1 by default
	Monitor         MonitorRule `json:"monitor"`
	Session         Session     `json:"session"`
	State           State       `json:"state"`
	Extras
}

// NewNode returns a node with BIG-IP's defaults.
func NewNode(name string) *Node { return &Node{Name: name, Ratio: 1} }

// LBMode is a pool's load-balancing method: every BIG-IP method, and a
// few of lbx's own; lbx/pools implements each.
type LBMode uint8

// Load-balancing methods, BIG-IP's list. The zero value is BIG-IP's default,
// round-robin.
const (
	LBRoundRobin LBMode = iota
	LBRatioMember
	LBRatioNode
	LBLeastConnectionsMember
	LBLeastConnectionsNode
	LBWeightedLeastConnectionsMember
	LBWeightedLeastConnectionsNode
	LBRatioLeastConnectionsMember
	LBRatioLeastConnectionsNode
	LBObservedMember
	LBObservedNode
	LBPredictiveMember
	LBPredictiveNode
	LBFastestNode
	LBFastestAppResponse
	LBDynamicRatioMember
	LBDynamicRatioNode
	LBLeastSessions
	LBRatioSession
	// lbx extensions, for users of SafeKit farms and Alteons.
	LBSourceAddressHash
	LBSourceAddressPortHash
	LBAlteonMinMisses
	LBAlteonHash
	LBMaglev
	LBModeCount
)

var lbModeNames = [LBModeCount]string{
	"round-robin", "ratio-member", "ratio-node", "least-connections-member", "least-connections-node",
	"weighted-least-connections-member", "weighted-least-connections-node",
	"ratio-least-connections-member", "ratio-least-connections-node",
	"observed-member", "observed-node", "predictive-member", "predictive-node",
	"fastest-node", "fastest-app-response", "dynamic-ratio-member", "dynamic-ratio-node",
	"least-sessions", "ratio-session",
	"source-address-hash", "source-address-port-hash", "alteon-minmisses", "alteon-hash", "maglev",
}

// String returns the tmsh name of the method.
func (m LBMode) String() string {
	if m < LBModeCount {
		return lbModeNames[m]
	}
	return "mode-" + strconv.Itoa(int(m))
}

// MarshalText makes it its tmsh word in JSON.
func (m LBMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// ServiceDownAction is what a pool does to connections of a member that
// goes down. The zero value is none.
type ServiceDownAction uint8

const (
	ServiceDownNone ServiceDownAction = iota
	ServiceDownReset
	ServiceDownDrop
	ServiceDownReselect
)

var serviceDownNames = []string{"none", "reset", "drop", "reselect"}

func (a ServiceDownAction) String() string {
	if int(a) < len(serviceDownNames) {
		return serviceDownNames[a]
	}
	return "action-" + strconv.Itoa(int(a))
}

// MarshalText makes it its tmsh word in JSON.
func (a ServiceDownAction) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// Pool is an `ltm pool`; compile turns it into a pools.PoolConfig
// (reselect-tries, allow-snat and allow-nat are kept but have no effect
// yet).
type Pool struct {
	Name              string            `json:"name"`
	Description       string            `json:"description"`
	Mode              LBMode            `json:"mode"`
	Members           []Member          `json:"members"`            // in the order they were added; round-robin follows it
	MinActiveMembers  uint32            `json:"min_active_members"` // priority group activation; 0 disables it
	Monitor           MonitorRule       `json:"monitor"`
	SlowRampTime      uint32            `json:"slow_ramp_time"` // seconds; 10 by default
	ServiceDownAction ServiceDownAction `json:"service_down_action"`
	ReselectTries     uint32            `json:"reselect_tries"`
	AllowSNAT         bool              `json:"allow_snat"` // yes by default
	AllowNAT          bool              `json:"allow_nat"`  // yes by default
	Extras
}

// NewPool returns a pool with BIG-IP's defaults.
func NewPool(name string) *Pool {
	return &Pool{Name: name, SlowRampTime: 10, AllowSNAT: true, AllowNAT: true}
}

// Member is one pool member: a node and a service port. Its tmsh name is
// NODE:PORT (NODE.PORT when the node name is an IPv6 address).
type Member struct {
	Node            string     `json:"node"`    // full node name, "/Common/198.18.2.11"
	Port            uint16     `json:"port"`    // 0 is BIG-IP's "any": the virtual's port
	Address         netip.Addr `json:"address"` // the node's address, filled in by ApplyDefaults
	Description     string     `json:"description"`
	PriorityGroup   uint32     `json:"priority_group"`
	Ratio           uint32     `json:"ratio"`            // 1 by default
	ConnectionLimit uint32     `json:"connection_limit"` // 0: no limit
	Session         Session    `json:"session"`
	State           State      `json:"state"`
	Extras
}

// NewMember returns a member of node on port with BIG-IP's defaults.
func NewMember(node string, port uint16) Member { return Member{Node: node, Port: port, Ratio: 1} }

// Name returns the member's full tmsh name, e.g. "/Common/198.18.2.11:80".
func (m *Member) Name() string { return MemberName(m.Node, m.Port) }

func MemberName(node string, port uint16) string {
	sep := ":"
	if strings.Contains(node[strings.LastIndexByte(node, '/')+1:], ":") {
		sep = "."
	}
	return node + sep + strconv.Itoa(int(port))
}

// Protocol is a virtual server's ip-protocol.
type Protocol uint8

// Protocols a virtual server can carry. The zero value means "not given";
// ApplyDefaults turns it into tcp, BIG-IP's default.
const (
	ProtocolTCP = Protocol(6) // the IP protocol number
	ProtocolUDP = Protocol(17)
	ProtocolAny = Protocol(255) // every IP protocol
)

// String returns the tmsh name of the protocol.
func (p Protocol) String() string {
	switch p {
	case ProtocolTCP:
		return "tcp"
	case ProtocolUDP:
		return "udp"
	case ProtocolAny:
		return "any"
	}
	return strconv.Itoa(int(p))
}

// MarshalText makes it its tmsh word in JSON.
func (p Protocol) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// SNATType is the source-address-translation type of a virtual server.
type SNATType uint8

// Source address translation types. The zero value is "none".
const (
	SNATNone     SNATType = iota
	SNATAutomap           // translate to the egress self IP
	SNATSnatpool          // translate to a snatpool's addresses
)

// String returns the tmsh name of the type.
func (t SNATType) String() string {
	switch t {
	case SNATNone:
		return "none"
	case SNATAutomap:
		return "automap"
	case SNATSnatpool:
		return "snat"
	}
	return "snat-" + strconv.Itoa(int(t))
}

// MarshalText makes it its tmsh word in JSON.
func (t SNATType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// Profile is a profile attached to a virtual server.
type Profile struct {
	Name    string `json:"name"`    // full name, "/Common/fastL4"
	Context string `json:"context"` // "", "all", "clientside" or "serverside"
}

// PersistRef is one persistence profile a virtual server uses.
type PersistRef struct {
	Name    string `json:"name"`    // full name
	Default bool   `json:"default"` // `default yes`: the one used first
}

// Virtual is an `ltm virtual`: an L4 virtual server. Destination, mask
// (network virtuals), protocol (tcp, udp or any), pool, SNAT automap and
// SNAT pools, source-address and hash persistence, translate-address/port
// disabled, ip-forward (a forwarding virtual: routes, does not balance)
// and enabled have a runtime effect; connection limits and the http
// profile are kept and warned about, for the dataplane to come.
type Virtual struct {
	Name                string         `json:"name"`
	Description         string         `json:"description"`
	Destination         netip.AddrPort `json:"destination"` // port 0 is "any"
	Protocol            Protocol       `json:"protocol"`
	Mask                netip.Addr     `json:"mask"`       // 255.255.255.255: a host virtual; shorter: a network virtual
	IPForward           bool           `json:"ip_forward"` // tmsh ip-forward: route matching packets, no pool, no translation
	Pool                string         `json:"pool"`       // full pool name, "" for none
	Profiles            []Profile      `json:"profiles"`   // sorted by name
	SNAT                SNATType       `json:"snat"`
	SNATPool            string         `json:"snatpool"`             // full snatpool name when SNAT is SNATPool
	TranslateAddress    bool           `json:"translate_address"`    // enabled by default; disabled is direct server return
	TranslatePort       bool           `json:"translate_port"`       // enabled by default
	Persist             []PersistRef   `json:"persist"`              // sorted by name
	Policies            []string       `json:"policies"`             // full names of ltm policies, sorted
	FallbackPersistence string         `json:"fallback_persistence"` // full name, "" for none
	ConnectionLimit     uint32         `json:"connection_limit"`     // 0: no limit
	Disabled            bool           `json:"disabled"`             // the zero value is enabled, as BIG-IP creates virtuals
	Mirror              bool           `json:"mirror"`               // tmsh mirror enabled: its connections are mirrored to the HA peer
	Extras
}

// NewVirtual returns a virtual server with BIG-IP's defaults.
func NewVirtual(name string) *Virtual {
	return &Virtual{Name: name, TranslateAddress: true, TranslatePort: true}
}

// NewConfig returns an empty configuration.
func NewConfig() *Config {
	c := &Config{}
	c.EnsureMaps()
	return c
}

// init makes the maps of a zero Config usable.
func (c *Config) EnsureMaps() {
	initMap(&c.Nodes)
	initMap(&c.Pools)
	initMap(&c.Virtuals)
	initMap(&c.Monitors)
	initMap(&c.Persistence)
	initMap(&c.Profiles)
	initMap(&c.SNATPools)
	initMap(&c.Policies)
	initMap(&c.Selfs)
	initMap(&c.Routes)
	initMap(&c.Users)
	initMap(&c.Files)
}

func initMap[T any](m *map[string]*T) {
	if *m == nil {
		*m = map[string]*T{}
	}
}

// Clone returns a deep copy; editing it never changes c.
func (c *Config) Clone() *Config {
	if c == nil {
		return nil
	}
	return &Config{
		Nodes:       cloneMap(c.Nodes, (*Node).Clone),
		Pools:       cloneMap(c.Pools, (*Pool).Clone),
		Virtuals:    cloneMap(c.Virtuals, (*Virtual).Clone),
		Monitors:    cloneMap(c.Monitors, (*Monitor).Clone),
		Persistence: cloneMap(c.Persistence, (*Persistence).Clone),
		Profiles:    cloneMap(c.Profiles, (*LTMProfile).Clone),
		SNATPools:   cloneMap(c.SNATPools, (*SNATPool).Clone),
		Policies:    cloneMap(c.Policies, (*Policy).Clone),
		Selfs:       cloneMap(c.Selfs, (*SelfIP).Clone),
		Routes:      cloneMap(c.Routes, (*Route).Clone),
		Users:       cloneMap(c.Users, (*User).Clone),
		Files:       cloneMap(c.Files, (*SysFile).Clone),
		Unknown:     slices.Clone(c.Unknown),
	}
}

func cloneMap[T any](m map[string]*T, clone func(*T) *T) map[string]*T {
	out := make(map[string]*T, len(m))
	for k, v := range m {
		out[k] = clone(v)
	}
	return out
}

func (e Extras) Clone() Extras { return Extras{Extra: slices.Clone(e.Extra)} }

func (r MonitorRule) Clone() MonitorRule {
	return MonitorRule{Names: slices.Clone(r.Names), Min: r.Min}
}

func (n *Node) Clone() *Node {
	x := *n
	x.Monitor = n.Monitor.Clone()
	x.Extras = n.Extras.Clone()
	return &x
}

func (p *Pool) Clone() *Pool {
	x := *p
	x.Members = slices.Clone(p.Members)
	for i := range x.Members {
		x.Members[i].Extras = x.Members[i].Extras.Clone()
	}
	x.Monitor = p.Monitor.Clone()
	x.Extras = p.Extras.Clone()
	return &x
}

func (v *Virtual) Clone() *Virtual {
	x := *v
	x.Profiles = slices.Clone(v.Profiles)
	x.Persist = slices.Clone(v.Persist)
	x.Policies = slices.Clone(v.Policies)
	x.Extras = v.Extras.Clone()
	return &x
}

// NodeList returns the nodes sorted by name (a new slice).
func (c *Config) NodeList() []*Node {
	if l := frozenOf(c); l != nil {
		return slices.Clone(l.nodes)
	}
	return SortedValues(c.Nodes)
}

// PoolList returns the pools sorted by name (a new slice).
func (c *Config) PoolList() []*Pool {
	if l := frozenOf(c); l != nil {
		return slices.Clone(l.pools)
	}
	return SortedValues(c.Pools)
}

// VirtualList returns the virtual servers sorted by name (a new slice).
func (c *Config) VirtualList() []*Virtual {
	if l := frozenOf(c); l != nil {
		return slices.Clone(l.virtuals)
	}
	return SortedValues(c.Virtuals)
}

// frozen holds the sorted lists of the configurations Freeze froze.
var frozen sync.Map // *Config → *frozenLists

type frozenLists struct {
	nodes    []*Node
	pools    []*Pool
	virtuals []*Virtual
}

func frozenOf(c *Config) *frozenLists {
	if l, ok := frozen.Load(c); ok {
		return l.(*frozenLists)
	}
	return nil
}

// Freeze sorts c's nodes, pools and virtual servers once, and NodeList,
// PoolList and VirtualList return copies of those lists until thaw is
// called, instead of sorting at every call. The caller promises that c's
// Nodes, Pools and Virtuals maps do not change meanwhile (their objects'
// fields may; the lists hold pointers). An apply reads a completed
// candidate this way: validation, compile, the address checks and the
// monitor plan list a 50,000-node configuration eight times between them.
func Freeze(c *Config) (thaw func()) {
	l := &frozenLists{nodes: SortedValues(c.Nodes), pools: SortedValues(c.Pools), virtuals: SortedValues(c.Virtuals)}
	frozen.Store(c, l)
	return func() { frozen.CompareAndDelete(c, l) }
}

// MonitorList returns the monitors of the configuration (not the
// built-ins) sorted by name.
func (c *Config) MonitorList() []*Monitor { return SortedValues(c.Monitors) }

func SortedValues[T any](m map[string]*T) []*T {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]*T, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}

// ApplyDefaults completes a configuration the way BIG-IP does when objects
// are created, in one explicit step: a member whose node does not exist
// creates it (from the member's address, or from its name when that is an
// address), members take their node's address, a ratio of 0 (never valid)
// becomes 1, monitors and persistence profiles without defaults-from take
// their type's built-in parent, and a virtual gets ip-protocol tcp and a
// host mask when they were not given. Other defaults are set when an object
// is made (NewPool, NewVirtual, …). It never fails; what it cannot complete
// is left for Compile to report.
func (c *Config) ApplyDefaults() {
	c.EnsureMaps()
	// Missing nodes are made first from members that give an address, then
	// from members named by one, so the result does not depend on which
	// pool is visited first.
	pools := c.PoolList()
	for _, fromName := range []bool{false, true} {
		for _, p := range pools {
			p.makeNodes(c, fromName)
		}
	}
	for _, p := range pools {
		p.fillMembers(c)
	}
	for _, n := range c.Nodes {
		n.applyDefaults()
	}
	for _, m := range c.Monitors {
		m.applyDefaults()
	}
	for _, p := range c.Persistence {
		p.applyDefaults()
	}
	for _, p := range c.Profiles {
		p.applyDefaults()
	}
	for _, v := range c.Virtuals {
		v.applyDefaults()
	}
}

// HostMask is the all-ones mask of addr's family.
func HostMask(addr netip.Addr) netip.Addr {
	if addr.Is6() && !addr.Is4In6() {
		return netip.AddrFrom16([16]byte{0: 0xff, 1: 0xff, 2: 0xff, 3: 0xff, 4: 0xff, 5: 0xff, 6: 0xff, 7: 0xff,
			8: 0xff, 9: 0xff, 10: 0xff, 11: 0xff, 12: 0xff, 13: 0xff, 14: 0xff, 15: 0xff})
	}
	return netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// FindMember returns the index of the member named node:port, or -1.
func (p *Pool) FindMember(node string, port uint16) int {
	for i := range p.Members {
		if p.Members[i].Node == node && p.Members[i].Port == port {
			return i
		}
	}
	return -1
}

// LBModeNames returns the methods' tmsh names, in LBMode order.
func LBModeNames() []string { return slices.Clone(lbModeNames[:]) }

// ParseLBMode returns the method of a tmsh name.
func ParseLBMode(s string) (LBMode, bool) {
	i := slices.Index(lbModeNames[:], s)
	return LBMode(i), i >= 0
}

// ServiceDownNames returns the actions' tmsh names, in ServiceDownAction
// order.
func ServiceDownNames() []string { return slices.Clone(serviceDownNames) }
