package status

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/health"
	"lbx/dataplane"
	"lbx/ha/cfgsync"
	"lbx/monitors"
	"lbx/pools"
)

// Runtime is the dataplane's live state of installed objects (the engine
// has it): counters, member health, pools as they run.
type Runtime interface {
	// VirtualStats returns an installed virtual's counters, nil when not
	// installed.
	VirtualStats(name string) *dataplane.VirtualStats
	// Pool returns an installed pool as the dataplane runs it, nil when no
	// installed virtual uses it.
	Pool(name string) *pools.Pool
	// Member returns an installed pool member, nil when not installed.
	Member(pool, member string) *pools.Member
}

// Operator is the dataplane's runtime disable of nodes by the operator,
// without a configuration change (Alteon's /oper/slb/dis; the engine has
// it): lost on restart, never saved.
type Operator interface {
	SetOperDisabled(node string, disabled bool)
	OperDisabled(node string) bool
}

// Counters are the dataplane's own counters (ports, drops by reason, flows).
type Counters interface {
	Counters() []dataplane.Counter
	Flows() int
}

// Persist is the dataplane's persistence table.
type Persist interface {
	PersistRecords(f pools.PersistFilter) []pools.PersistRecordView
	DeletePersistRecords(f pools.PersistFilter) int
}

// Health is the monitor engine's view (*health.Monitoring has it).
type Health interface {
	MemberStatus(pool, member string) (monitors.MemberStatus, bool)
	NodeStatus(node string) (monitors.MemberStatus, bool)
	InstanceHealth(owner, target, monitor string) (state, reason string, ok bool)
	Trace(pool, member string) []monitors.Result
}

var (
	_ Runtime  = (*dataplane.Engine)(nil)
	_ Operator = (*dataplane.Engine)(nil)
	_ Counters = (*dataplane.Engine)(nil)
	_ Persist  = (*dataplane.Engine)(nil)
	_ Health   = (*health.Monitoring)(nil)
)

// Sources is where status is read from. Any of them may be nil: a
// dataplane that keeps no counters, an appliance with no monitor engine.
type Sources struct {
	Program  func() *dataplane.Program // the installed program
	Runtime  Runtime
	Counters Counters
	Persist  Persist
	Health   Health
	Oper     Operator // nil: the dataplane has no runtime disable
	Failover Failover // nil: no HA (standalone)
	HTTP     HTTP     // nil: no HTTP virtuals' counters
	// CM is config sync (device groups, trust, sync status); nil: none.
	CM *cfgsync.Syncer
}

// HTTP gives the counters of the HTTP virtuals' proxies (package
// l7/proxy); ok is false for a virtual without a running proxy.
type HTTP interface {
	HTTPStats(virtual string) (st HTTPStats, ok bool)
}

// HTTPStats are an HTTP virtual's proxy counters since its proxy started:
// what show ltm virtual and show ltm profile http print, REST stats and the
// metrics export.
type HTTPStats struct {
	Requests       uint64    `json:"requests"`
	Responses      uint64    `json:"responses"`    // member answers relayed
	ByClass        [5]uint64 `json:"resp_class"`   // responses sent to clients, 1xx to 5xx
	BadRequests    uint64    `json:"bad_requests"` // 400
	Timeouts       uint64    `json:"timeouts"`     // 408
	HeaderTooLarge uint64    `json:"header_too_large"`
	BadGateway     uint64    `json:"bad_gateway"` // 502
	NoMember       uint64    `json:"no_member"`   // 503
	Reselects      uint64    `json:"reselects"`
	ServerAborts   uint64    `json:"server_aborts"`
	ConnectFails   uint64    `json:"connect_fails"`
	ServerConns    uint64    `json:"server_conns"`  // server-side connections opened
	ServerReuses   uint64    `json:"server_reuses"` // requests over a reused one
	IdleServer     int       `json:"idle_server_conns"`
	ClientBytesIn  uint64    `json:"client_bytes_in"`
	ClientBytesOut uint64    `json:"client_bytes_out"`
	ServerBytesIn  uint64    `json:"server_bytes_in"`
	ServerBytesOut uint64    `json:"server_bytes_out"`
	TLSFails       uint64    `json:"tls_handshake_fails"`
	Cookies        uint64    `json:"cookies_inserted"`
	Persisted      uint64    `json:"persisted"` // requests placed by a cookie or header
	Replies        uint64    `json:"replies"`   // answered by a policy
	Resets         uint64    `json:"resets"`    // reset by a policy
}

// Failover is the unit's HA state (package ha), for show cm
// failover-status and run sys failover.
type Failover interface {
	FailoverStatus() FailoverStatus
	// FailoverAction is standby, offline or online.
	FailoverAction(action string) error
	// SetVRRP changes the unit's VRRP settings while it runs, or refuses
	// them (naming the setting) and keeps the old ones.
	SetVRRP(VRRPSettings) error
	// SetTrack replaces the unit's fail-safes while it runs, or refuses
	// them and keeps the old ones.
	SetTrack(TrackSettings) error
}

// TrackSettings are the fail-safes (Alteon's VRRP tracking) that change at
// run time: FailoverStatus's FailsafeVLANs, GatewayPool, GatewayMinUp and
// Watchdog.
type TrackSettings struct {
	VLANs        []string
	GatewayPool  string
	GatewayMinUp int
	Watchdog     time.Duration
}

// Track returns st's fail-safes, for a change to start from.
func (st FailoverStatus) Track() TrackSettings {
	return TrackSettings{VLANs: append([]string(nil), st.FailsafeVLANs...), GatewayPool: st.GatewayPool, GatewayMinUp: st.GatewayMinUp, Watchdog: st.Watchdog}
}

// VRRPSettings are the VRRP settings that change at run time (tmsh
// modify cm traffic-group, Alteon /c/l3/vrrp/vr 1): FailoverStatus's
// Priority, Preempt, PreemptDelay and Interval.
type VRRPSettings struct {
	Priority     int
	Preempt      bool
	PreemptDelay time.Duration
	Interval     time.Duration // a multiple of 10ms
}

// VRRP returns st's VRRP settings, for a change to start from.
func (st FailoverStatus) VRRP() VRRPSettings {
	return VRRPSettings{Priority: int(st.Priority), Preempt: st.Preempt, PreemptDelay: st.PreemptDelay, Interval: st.Interval}
}

// FailoverStatus is traffic-group-1's state on this unit.
type FailoverStatus struct {
	Unit         string
	State        string // active, standby, offline
	Since        time.Time
	Changes      int
	VRID         uint8
	Priority     uint8
	Peer         netip.Addr // the active peer's address, when standby
	PeerPriority uint8
	Interval     time.Duration
	MasterDown   time.Duration
	GARPsSent    uint64
	Yielding     bool             // run sys failover standby: not preempting until the peer is lost or online
	Mirroring    *MirroringStatus // nil: no connection mirroring (ha.mirror_addr empty)
	// Conditions are the fail-safe conditions holding (VLAN, gateway,
	// watchdog): while there is one the unit stays standby.
	Conditions []string
	// AddrMismatches counts heard advertisements with another address
	// list than this unit's; LastMismatch is the last one's detail.
	AddrMismatches uint64
	LastMismatch   string
	Strangers      uint64 // advertisements from hosts that are not unicast peers, ignored
	// Preempt and PreemptDelay: BIG-IP's auto-failback and its time.
	Preempt      bool
	PreemptDelay time.Duration
	Ports        []string     // the ports VRRP runs on
	Addrs        []netip.Addr // traffic-group-1's addresses on them
	// The fail-safes configured (the boot config's ha section).
	FailsafeVLANs []string
	GatewayPool   string
	GatewayMinUp  int
	Watchdog      time.Duration
}

// MirroringStatus is connection mirroring's state (package ha/mirror).
type MirroringStatus struct {
	Addr, Peer                string // this unit's mirroring address, the peer's
	Connected                 bool   // streaming to the peer (active unit)
	PeerUnit                  string // the unit whose stream was last received
	FlowsSent, FlowsReceived  uint64
	Installed, Refused        uint64 // of the flows received
	RemovedSent, RemovedRecv  uint64
	PersistSent, PersistRecv  uint64
	IgnoredRecv, DecodeErrors uint64
	Unauthenticated           uint64 // streams refused: not a trusted device's
	LastError                 string
}

// FromDataplane collects the sources dp offers (the engine offers all),
// with h as the monitor engine (nil for none).
func FromDataplane(dp interface{ Program() *dataplane.Program }, h *health.Monitoring) Sources {
	s := Sources{Program: dp.Program}
	s.Runtime, _ = dp.(Runtime)
	s.Counters, _ = dp.(Counters)
	s.Persist, _ = dp.(Persist)
	s.Oper, _ = dp.(Operator)
	if h != nil {
		s.Health = h
	}
	return s
}

// Availability is BIG-IP's availability of an object: the colour of its
// status icon.
type Availability uint8

// Availabilities. The zero value is unknown (BIG-IP's blue square).
const (
	Unknown   Availability = iota
	Available              // green
	Offline                // red
)

func (a Availability) String() string {
	return [...]string{"unknown", "available", "offline"}[a]
}

// MarshalText makes an availability its word in JSON ("available").
func (a Availability) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// Reasons as BIG-IP words them.
const (
	ReasonOperDisabled     = pools.ReasonOperDisabled // Alteon's /oper/slb/dis
	ReasonUnmonitored      = "The children pool member(s) either don't have service checking enabled, or service check results are not available yet"
	ReasonNoMembers        = "The pool has no members"
	ReasonNoPool           = "The virtual server has no pool"
	ReasonForwarding       = "The virtual server forwards (ip-forward): no pool, routed by the routing table"
	ReasonVirtualAvailable = "The virtual server is available"
	ReasonMembersDown      = "The children pool member(s) are down"
	ReasonNodeUnmonitored  = "Node address does not have service checking enabled"
)

// Traffic is an object's counters.
type Traffic struct {
	PktsIn     uint64 `json:"pkts_in"`
	PktsOut    uint64 `json:"pkts_out"`
	BytesIn    uint64 `json:"bytes_in"`
	BytesOut   uint64 `json:"bytes_out"`
	TotalConns uint64 `json:"total_conns"`
	CurConns   int64  `json:"cur_conns"`
}

// add adds a member's counters.
func (t *Traffic) add(s *pools.MemberStats) {
	if s == nil {
		return
	}
	t.PktsIn += s.PktsIn.Load()
	t.PktsOut += s.PktsOut.Load()
	t.BytesIn += s.BytesIn.Load()
	t.BytesOut += s.BytesOut.Load()
	t.CurConns += s.CurConns.Load()
	t.TotalConns += s.TotalConns.Load()
}

func virtualTraffic(s *dataplane.VirtualStats) Traffic {
	if s == nil {
		return Traffic{}
	}
	return Traffic{
		PktsIn: s.PktsIn.Load(), PktsOut: s.PktsOut.Load(),
		BytesIn: s.BytesIn.Load(), BytesOut: s.BytesOut.Load(),
		CurConns: s.CurConns.Load(), TotalConns: s.TotalConns.Load(),
	}
}

// Virtual is a virtual server's status. Its availability follows its
// pool's, as on BIG-IP.
type Virtual struct {
	Name         string         `json:"name"`
	Availability Availability   `json:"availability"`
	Enabled      bool           `json:"enabled"`
	Reason       string         `json:"reason"`
	Destination  netip.AddrPort `json:"destination"`
	Mask         netip.Addr     `json:"mask"` // 255.255.255.255 for a host virtual
	// Type is BIG-IP's virtual server type: standard (balances through
	// its pool) or ip-forward (routes).
	Type     string  `json:"type"`
	Protocol string  `json:"protocol"`
	Pool     string  `json:"pool"` // "" for none
	Traffic  Traffic `json:"traffic"`
	// HTTP is the proxy's counters of an HTTP virtual, nil for a
	// layer-4 one.
	HTTP *HTTPStats `json:"http,omitempty"`
}

// Pool is a pool's status with its members'.
type Pool struct {
	Name             string       `json:"name"`
	Availability     Availability `json:"availability"`
	Reason           string       `json:"reason"`
	Mode             string       `json:"mode"`
	MinActiveMembers uint32       `json:"min_active_members"`
	// ActiveGroups are the priority groups taking traffic (priority group
	// activation); nil when the pool is not installed or has no PGA.
	ActiveGroups []uint32 `json:"active_groups"`
	Installed    bool     `json:"installed"`
	Traffic      Traffic  `json:"traffic"` // the members' summed
	Members      []Member `json:"members"`
}

// Member is a pool member's status.
type Member struct {
	Name    string     `json:"name"` // "/Common/10.0.0.1:80"
	Node    string     `json:"node"` // "/Common/10.0.0.1"
	Address netip.Addr `json:"address"`
	Port    uint16     `json:"port"`
	// Status is the word show prints: up, down, checking, unknown (not
	// monitored), disabled, offline (forced offline).
	Status  string  `json:"status"`
	Reason  string  `json:"reason"`
	Up      bool    `json:"up"`
	Traffic Traffic `json:"traffic"`
}

// Node is a node's status; its traffic is summed over every installed
// member on its address, as BIG-IP counts a node.
type Node struct {
	Name         string       `json:"name"`
	Address      netip.Addr   `json:"address"`
	Availability Availability `json:"availability"`
	State        string       `json:"state"` // enabled, disabled, forced offline
	Reason       string       `json:"reason"`
	Members      int          `json:"members"` // installed pool members on the node
	Traffic      Traffic      `json:"traffic"`
}

// Instance is one place a monitor checks: a pool member or a node.
type Instance struct {
	Owner  string `json:"owner"`  // "pool /Common/p", "node /Common/n"
	Target string `json:"target"` // the member or the node's address
	State  string `json:"state"`  // up, down, checking, unchecked, …
	Reason string `json:"reason"`
}

// Self is what the appliance does with a net self of the configuration.
type Self struct {
	Name        string       `json:"name"`
	Address     netip.Prefix `json:"address"` // address/prefix length
	VLAN        string       `json:"vlan"`    // the data port's full name
	Description string       `json:"description"`
	Active      bool         `json:"active"` // on a dataplane port: in the running program
	Port        string       `json:"port"`   // the port, when active
	Boot        bool         `json:"boot"`   // from the boot config (selfips)
}

// View reads status for one configuration (the running one, or a
// session's candidate) from src.
type View struct {
	c   *config.Config
	src Sources
}

// New returns a view of c.
func New(c *config.Config, src Sources) *View { return &View{c: c, src: src} }

// Config is the configuration the view shows.
func (v *View) Config() *config.Config { return v.c }

// Sources are where the view reads from.
func (v *View) Sources() Sources { return v.src }

func (v *View) program() *dataplane.Program {
	if v.src.Program == nil {
		return nil
	}
	return v.src.Program()
}

// Virtual returns a virtual server's status; ok is false when it does not
// exist.
func (v *View) Virtual(name string) (st Virtual, ok bool) {
	vs := v.c.Virtuals[name]
	if vs == nil {
		return st, false
	}
	st = Virtual{Name: name, Enabled: !vs.Disabled, Destination: vs.Destination, Mask: vs.Mask, Type: "standard", Protocol: vs.Protocol.String(), Pool: vs.Pool}
	switch p, found := v.Pool(vs.Pool); {
	case vs.IPForward:
		st.Type = "ip-forward"
		st.Availability, st.Reason = Available, ReasonForwarding
	case vs.Pool == "" || !found:
		st.Availability, st.Reason = Offline, ReasonNoPool
	case len(p.Members) == 0:
		st.Availability, st.Reason = Offline, ReasonNoMembers
	case p.Availability == Available:
		st.Availability, st.Reason = Available, ReasonVirtualAvailable
	case p.Availability == Offline:
		st.Availability, st.Reason = Offline, ReasonMembersDown
	default:
		st.Availability, st.Reason = Unknown, ReasonUnmonitored
	}
	if v.src.Runtime != nil {
		st.Traffic = virtualTraffic(v.src.Runtime.VirtualStats(name))
	}
	if v.src.HTTP != nil {
		if hs, ok := v.src.HTTP.HTTPStats(name); ok {
			st.HTTP = &hs
			// The local stack, not the dataplane, carries an HTTP
			// virtual's client side: its bytes are the proxy's.
			st.Traffic.BytesIn, st.Traffic.BytesOut = hs.ClientBytesIn, hs.ClientBytesOut
		}
	}
	return st, true
}

// Pool returns a pool's status and its members'; ok is false when it does
// not exist.
func (v *View) Pool(name string) (st Pool, ok bool) {
	p := v.c.Pools[name]
	if p == nil {
		return st, false
	}
	st = Pool{Name: name, Mode: p.Mode.String(), MinActiveMembers: p.MinActiveMembers}
	var installed *pools.Pool
	if v.src.Runtime != nil {
		installed = v.src.Runtime.Pool(name)
	}
	st.Installed = installed != nil
	if installed != nil && p.MinActiveMembers > 0 {
		// Availability does not depend on the time (pools.Available).
		st.ActiveGroups = installed.ActiveGroups(0)
	}
	up := 0
	for i := range p.Members {
		m := v.member(p, &p.Members[i])
		if m.Up {
			up++
		}
		st.Traffic.PktsIn += m.Traffic.PktsIn
		st.Traffic.PktsOut += m.Traffic.PktsOut
		st.Traffic.BytesIn += m.Traffic.BytesIn
		st.Traffic.BytesOut += m.Traffic.BytesOut
		st.Traffic.CurConns += m.Traffic.CurConns
		st.Traffic.TotalConns += m.Traffic.TotalConns
		st.Members = append(st.Members, m)
	}
	switch {
	case len(p.Members) == 0:
		st.Availability, st.Reason = Offline, ReasonNoMembers
	case v.monitored(p):
		st.Availability, st.Reason = Available, fmt.Sprintf("%d of %d members are up", up, len(p.Members))
		if up == 0 {
			st.Availability = Offline
		}
	default:
		st.Availability, st.Reason = Unknown, ReasonUnmonitored
	}
	return st, true
}

// monitored reports whether the pool's own monitor or one of its members'
// node monitors checks it.
func (v *View) monitored(p *config.Pool) bool {
	if len(p.Monitor.Names) > 0 {
		return true
	}
	for i := range p.Members {
		if n := v.c.Nodes[p.Members[i].Node]; n != nil && len(n.Monitor.Names) > 0 {
			return true
		}
	}
	return false
}

// Member returns one member's status; ok is false when the pool or the
// member does not exist.
func (v *View) Member(pool, member string) (Member, bool) {
	p := v.c.Pools[pool]
	if p == nil {
		return Member{}, false
	}
	for i := range p.Members {
		if p.Members[i].Name() == member {
			return v.member(p, &p.Members[i]), true
		}
	}
	return Member{}, false
}

// member is a member's status: the operator's state first (forced
// offline, disabled), then the monitors'.
func (v *View) member(p *config.Pool, m *config.Member) Member {
	st := Member{Name: m.Name(), Node: m.Node, Address: m.Address, Port: m.Port}
	var live *pools.Member
	if v.src.Runtime != nil {
		live = v.src.Runtime.Member(p.Name, m.Name())
	}
	var hs pools.HealthState
	if live != nil {
		hs = live.Health.State()
		st.Traffic.add(live.Stats)
	}
	status, reason := hs.String(), ""
	if hs == pools.HealthUnchecked {
		status, reason = "unknown", "no monitor"
	}
	if v.src.Health != nil { // monitored by its pool's or its node's monitor
		if ms, ok := v.src.Health.MemberStatus(p.Name, m.Name()); ok {
			if live == nil { // a pool no virtual server uses is not installed
				status = ms.State.String()
				hs = health.HealthState(ms.State)
			}
			reason = ms.Reason
			if reason == "" && hs == pools.HealthUp {
				reason = "monitor " + p.Monitor.String() + " up"
			}
		}
	}
	switch {
	case m.State == config.StateUserDown:
		status, reason = "offline", "forced offline by the operator; "+status
	case m.Session == config.SessionUserDisabled:
		status, reason = "disabled", "disabled by the operator; "+status
	case v.src.Oper != nil && v.src.Oper.OperDisabled(m.Node):
		status, reason = "disabled", "operational, not in the configuration; "+status
	}
	st.Status, st.Reason, st.Up = status, reason, status == "up"
	return st
}

// nodeAvailability is BIG-IP's word for a node's monitor state.
var nodeAvailability = [...]Availability{
	monitors.Checking: Unknown, monitors.Up: Available, monitors.Down: Offline, monitors.Disabled: Available,
}

// Node returns a node's status; ok is false when it does not exist.
func (v *View) Node(name string) (st Node, ok bool) {
	n := v.c.Nodes[name]
	if n == nil {
		return st, false
	}
	st = Node{Name: name, Address: n.Address, Availability: Unknown, Reason: ReasonNodeUnmonitored, State: "enabled"}
	if prog := v.program(); prog != nil && v.src.Runtime != nil {
		seen := map[*pools.MemberStats]bool{}
		for _, vs := range prog.Virtuals {
			if vs.Pool == nil {
				continue
			}
			rp := v.src.Runtime.Pool(vs.Pool.Name)
			if rp == nil {
				continue
			}
			for i := range rp.Members {
				m := &rp.Members[i]
				if m.Addr == n.Address && m.Stats != nil && !seen[m.Stats] {
					seen[m.Stats] = true
					st.Members++
					st.Traffic.add(m.Stats)
				}
			}
		}
	}
	if v.src.Health != nil {
		if ns, ok := v.src.Health.NodeStatus(name); ok && int(ns.State) < len(nodeAvailability) {
			st.Availability, st.Reason = nodeAvailability[ns.State], ns.Reason
		}
	}
	if v.src.Oper != nil && v.src.Oper.OperDisabled(name) {
		st.State = pools.ReasonOperDisabled
	}
	if n.Session == config.SessionUserDisabled {
		st.State = "disabled"
	}
	if n.State == config.StateUserDown {
		st.State = "forced offline"
	}
	return st, true
}

// MonitorInstances lists where a monitor checks (every member of the pools
// using it, every node using it) with each check's state.
func (v *View) MonitorInstances(monitor string) []Instance {
	var out []Instance
	add := func(owner, target string) {
		in := Instance{Owner: owner, Target: target, State: "unchecked", Reason: "no monitor engine attached"}
		if v.src.Health != nil {
			if s, r, ok := v.src.Health.InstanceHealth(owner, target, monitor); ok {
				in.State, in.Reason = s, r
			}
		}
		out = append(out, in)
	}
	for _, p := range v.c.PoolList() {
		if !p.Monitor.Uses(monitor) {
			continue
		}
		for i := range p.Members {
			add("pool "+p.Name, p.Members[i].Name())
		}
	}
	for _, n := range v.c.NodeList() {
		if n.Monitor.Uses(monitor) {
			add("node "+n.Name, n.Address.String())
		}
	}
	return out
}

// Self returns what the appliance does with a net self; ok is false when
// it does not exist.
func (v *View) Self(name string) (st Self, ok bool) {
	s := v.c.Selfs[name]
	if s == nil {
		return st, false
	}
	st = Self{Name: name, Address: s.Address, VLAN: s.VLAN, Description: s.Description, Boot: s.Boot}
	if prog := v.program(); prog != nil {
		for _, ps := range prog.SelfIPs {
			if ps.Prefix == s.Address && ps.Port == s.Port() {
				st.Active, st.Port = true, ps.Port
			}
		}
	}
	return st, true
}

// MonitorTrace is a monitored member's last probes.
type MonitorTrace struct {
	Status monitors.MemberStatus
	Probes []monitors.Result
}

// Trace returns a monitored member's status and last probes; ok is false
// when no monitor engine checks it.
func (v *View) Trace(pool, member string) (MonitorTrace, bool) {
	if v.src.Health == nil {
		return MonitorTrace{}, false
	}
	st, ok := v.src.Health.MemberStatus(pool, member)
	if !ok {
		return MonitorTrace{}, false
	}
	return MonitorTrace{Status: st, Probes: v.src.Health.Trace(pool, member)}, true
}

// TraceText prints a member's trace as both dialects show it (tmsh show
// ltm monitor-trace, Alteon /info/slb/trace): a header with its status,
// reason and transitions, then its probes as a short tcpdump.
func TraceText(pool, member string, tr MonitorTrace) string {
	const rule = "---------------------------------------------------------------\n"
	var b strings.Builder
	line := func(label, value string) { fmt.Fprintf(&b, "  %-17s: %s\n", label, value) }
	b.WriteString(rule + "Ltm::Monitor Trace: " + pool + " " + member + "\n" + rule)
	line("Status", tr.Status.State.String())
	if tr.Status.Reason != "" {
		line("Reason", tr.Status.Reason)
	}
	line("Transitions", fmt.Sprint(tr.Status.Transitions))
	b.WriteByte('\n')
	b.WriteString(monitors.FormatTrace(tr.Probes))
	return b.String()
}
