package ctrlplane

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"lbx/dataplane"
)

// Config is the traffic configuration in its spec form: what an operator
// wrote, as inert data. It is parsed from tmsh text (ParseConfig) or edited by
// commands, completed by ApplyDefaults, and turned into a runtime Program only
// by Compile. Objects are keyed by their full name ("/Common/web_pool"); the
// sorted accessors give them in the deterministic order the printer uses.
type Config struct {
	Nodes    map[string]*Node
	Pools    map[string]*Pool
	Virtuals map[string]*Virtual
}

// Node is an `ltm node`: a server address members refer to.
type Node struct {
	Name        string     // full name, "/Common/198.18.2.11"
	Address     netip.Addr // cannot be changed once created, as on BIG-IP
	Description string
}

// LBMode is a pool's load-balancing method.
type LBMode uint8

// Load-balancing methods that are implemented. The zero value is BIG-IP's
// default, round-robin.
const (
	LBRoundRobin LBMode = iota
)

// String returns the tmsh name of the method.
func (m LBMode) String() string {
	switch m {
	case LBRoundRobin:
		return "round-robin"
	}
	return "mode-" + strconv.Itoa(int(m))
}

// Pool is an `ltm pool`.
type Pool struct {
	Name        string
	Description string
	Mode        LBMode
	Members     []Member // in the order they were added; round-robin follows it
}

// Member is one pool member: a node and a service port. Its tmsh name is
// NODE:PORT (NODE.PORT when the node name is an IPv6 address).
type Member struct {
	Node        string     // full node name, "/Common/198.18.2.11"
	Port        uint16     // 0 is BIG-IP's "any": the virtual's port
	Address     netip.Addr // the node's address, filled in by ApplyDefaults
	Description string
}

// Name returns the member's full tmsh name, e.g. "/Common/198.18.2.11:80".
func (m *Member) Name() string { return memberName(m.Node, m.Port) }

func memberName(node string, port uint16) string {
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
	ProtocolTCP = Protocol(dataplane.ProtoTCP)
	ProtocolUDP = Protocol(dataplane.ProtoUDP)
)

// String returns the tmsh name of the protocol.
func (p Protocol) String() string {
	switch p {
	case ProtocolTCP:
		return "tcp"
	case ProtocolUDP:
		return "udp"
	}
	return strconv.Itoa(int(p))
}

// SNATType is the source-address-translation type of a virtual server.
type SNATType uint8

// Source address translation types. The zero value is "none".
const (
	SNATNone SNATType = iota
	SNATAutomap
)

// String returns the tmsh name of the type.
func (t SNATType) String() string {
	switch t {
	case SNATNone:
		return "none"
	case SNATAutomap:
		return "automap"
	}
	return "snat-" + strconv.Itoa(int(t))
}

// Profile is a profile attached to a virtual server.
type Profile struct {
	Name    string // full name, "/Common/fastL4"
	Context string // "", "all", "clientside" or "serverside"
}

// Virtual is an `ltm virtual`: an L4 virtual server.
type Virtual struct {
	Name        string
	Description string
	Destination netip.AddrPort // port 0 is "any"
	Protocol    Protocol
	Mask        netip.Addr
	Pool        string    // full pool name, "" for none
	Profiles    []Profile // sorted by name
	SNAT        SNATType
	Disabled    bool // the zero value is enabled, as BIG-IP creates virtuals
}

// NewConfig returns an empty configuration.
func NewConfig() *Config {
	return &Config{
		Nodes:    map[string]*Node{},
		Pools:    map[string]*Pool{},
		Virtuals: map[string]*Virtual{},
	}
}

// init makes the maps of a zero Config usable.
func (c *Config) init() {
	if c.Nodes == nil {
		c.Nodes = map[string]*Node{}
	}
	if c.Pools == nil {
		c.Pools = map[string]*Pool{}
	}
	if c.Virtuals == nil {
		c.Virtuals = map[string]*Virtual{}
	}
}

// Clone returns a deep copy; editing it never changes c.
func (c *Config) Clone() *Config {
	if c == nil {
		return nil
	}
	o := NewConfig()
	for k, n := range c.Nodes {
		o.Nodes[k] = n.clone()
	}
	for k, p := range c.Pools {
		o.Pools[k] = p.clone()
	}
	for k, v := range c.Virtuals {
		o.Virtuals[k] = v.clone()
	}
	return o
}

func (n *Node) clone() *Node { x := *n; return &x }

func (p *Pool) clone() *Pool {
	x := *p
	x.Members = slices.Clone(p.Members)
	return &x
}

func (v *Virtual) clone() *Virtual {
	x := *v
	x.Profiles = slices.Clone(v.Profiles)
	return &x
}

// NodeList returns the nodes sorted by name.
func (c *Config) NodeList() []*Node { return sortedValues(c.Nodes) }

// PoolList returns the pools sorted by name.
func (c *Config) PoolList() []*Pool { return sortedValues(c.Pools) }

// VirtualList returns the virtual servers sorted by name.
func (c *Config) VirtualList() []*Virtual { return sortedValues(c.Virtuals) }

func sortedValues[T any](m map[string]*T) []*T {
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
// address), members take their node's address, and a virtual gets ip-protocol
// tcp and a host mask when they were not given. It never fails; what it
// cannot complete is left for Compile to report.
func (c *Config) ApplyDefaults() {
	c.init()
	for _, p := range c.PoolList() {
		for i := range p.Members {
			m := &p.Members[i]
			n, ok := c.Nodes[m.Node]
			if !ok {
				addr := m.Address
				if !addr.IsValid() {
					a, err := netip.ParseAddr(baseName(m.Node))
					if err != nil {
						continue
					}
					addr = a
				}
				n = &Node{Name: m.Node, Address: addr}
				c.Nodes[m.Node] = n
			}
			if !m.Address.IsValid() {
				m.Address = n.Address
			}
		}
	}
	for _, v := range c.Virtuals {
		if v.Protocol == 0 {
			v.Protocol = ProtocolTCP
		}
		if !v.Mask.IsValid() {
			v.Mask = hostMask(v.Destination.Addr())
		}
	}
}

// hostMask is the all-ones mask of addr's family.
func hostMask(addr netip.Addr) netip.Addr {
	if addr.Is6() && !addr.Is4In6() {
		return netip.AddrFrom16([16]byte{0: 0xff, 1: 0xff, 2: 0xff, 3: 0xff, 4: 0xff, 5: 0xff, 6: 0xff, 7: 0xff,
			8: 0xff, 9: 0xff, 10: 0xff, 11: 0xff, 12: 0xff, 13: 0xff, 14: 0xff, 15: 0xff})
	}
	return netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// findMember returns the index of the member named node:port, or -1.
func (p *Pool) findMember(node string, port uint16) int {
	for i := range p.Members {
		if p.Members[i].Node == node && p.Members[i].Port == port {
			return i
		}
	}
	return -1
}
