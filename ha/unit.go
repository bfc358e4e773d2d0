package ha

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"lbx/dataplane"
	"lbx/ha/vrrp"
	"lbx/internal/clock"
)

// Port is a data port VRRP runs on and the unit's own address there, the
// advertisements' source.
type Port struct {
	Name string
	Addr netip.Addr
	// Peers, when set, get the advertisements unicast instead of the
	// group, and only their advertisements count on this port
	// (keepalived's unicast_peer; peers.go).
	Peers []netip.Addr
}

// Config is one unit's HA settings (the boot config's ha section).
type Config struct {
	Unit         string
	VRID         uint8
	Priority     uint8
	Preempt      bool
	PreemptDelay time.Duration
	Interval     time.Duration // a multiple of 10ms
	Ports        []Port
	Failsafe     Failsafe // failover conditions besides a dead peer (failsafe.go)
}

// Dataplane is what a Unit drives: *dataplane.Engine.
type Dataplane interface {
	SetStandby(bool)
	SetFloatingVIPs(bool)
	SetVirtualMAC([6]byte)
	SetVRRPSink(dataplane.VRRPSink)
	FloatingAddrs() []dataplane.FloatingAddr
	SendFrames(port string, frames [][]byte) error
}

var _ Dataplane = (*dataplane.Engine)(nil)

// GARPRepeats and GARPSpacing: a new active unit announces its addresses
// at once and GARPRepeats more times, GARPSpacing apart (a switch or host
// that missed the first still moves).
const (
	GARPRepeats = 3
	GARPSpacing = 200 * time.Millisecond
)

// State is the traffic group's state on this unit, in BIG-IP's words.
type State string

// The states.
const (
	Active  State = "active"
	Standby State = "standby"
	Offline State = "offline" // not taking part (run sys failover offline)
)

// Unit is one unit of the pair.
type Unit struct {
	cfg   Config
	dp    Dataplane
	clk   clock.Clock
	log   *slog.Logger
	r     *vrrp.Router
	ports map[string]Port
	vmac  [6]byte // the virtual router MAC: the floating addresses' MAC
	fs    failsafe
	local LocalSender // for unicast peers (peers.go)

	mu      sync.Mutex // guards the fields below
	offline bool
	since   time.Time // of the last state change
	changes int
	garps   uint64
	buf     []byte
	// Received advertisements (peers.go): from hosts that are not unicast
	// peers (ignored), and with another address list (counted).
	strangers, mismatches uint64
	lastMismatch          string
}

// New builds a unit, standby: the dataplane's gate is set and the VIPs are
// put in traffic-group-1. Nothing is sent before Start.
func New(cfg Config, dp Dataplane, clk clock.Clock, log *slog.Logger) (*Unit, error) {
	if cfg.Unit == "" {
		return nil, errors.New("ha: unit name: must be set")
	}
	if len(cfg.Ports) == 0 {
		return nil, errors.New("ha: ports: none to advertise on")
	}
	if clk == nil {
		clk = clock.System{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	u := &Unit{cfg: cfg, dp: dp, clk: clk, log: log, ports: map[string]Port{}, since: clk.Now(), vmac: vrrp.VirtualMAC(cfg.VRID)}
	u.local, _ = dp.(LocalSender)
	for _, p := range cfg.Ports {
		if !p.Addr.Is4() {
			return nil, fmt.Errorf("ha: port %s: address %v is not IPv4", p.Name, p.Addr)
		}
		for _, peer := range p.Peers {
			if !peer.Is4() || peer == p.Addr {
				return nil, fmt.Errorf("ha: port %s: unicast peer %v: want another unit's IPv4 address", p.Name, peer)
			}
		}
		if len(p.Peers) > 0 && u.local == nil {
			return nil, fmt.Errorf("ha: port %s: unicast peers need a dataplane that sends local packets", p.Name)
		}
		u.ports[p.Name] = p
	}
	r, err := vrrp.New(vrrp.Config{
		VRID: cfg.VRID, Priority: cfg.Priority, Preempt: cfg.Preempt, PreemptDelay: cfg.PreemptDelay,
		Interval: cfg.Interval, Primary: cfg.Ports[0].Addr,
	}, clk, vrrp.Hooks{Send: u.send, OnState: u.onState})
	if err != nil {
		return nil, fmt.Errorf("ha: %w", err)
	}
	u.r = r
	u.fs.cfg = cfg.Failsafe
	u.fs.health, _ = dp.(Health)
	dp.SetStandby(true)
	dp.SetFloatingVIPs(true)
	dp.SetVirtualMAC(u.vmac)
	return u, nil
}

// Start hooks the unit to the dataplane's VRRP frames and starts the
// election.
func (u *Unit) Start() {
	u.dp.SetVRRPSink(u.receive)
	u.startFailsafe() // starts the router unless a fail-safe holds
}

// Close leaves the pair: priority 0 (the peer takes over after its skew
// time), the gate set, the hook removed.
func (u *Unit) Close() {
	u.stopFailsafe()
	u.r.Shutdown()
	u.dp.SetVRRPSink(nil)
	u.dp.SetStandby(true)
}

// receive runs on a port's receive goroutine.
func (u *Unit) receive(port string, frame []byte) {
	if _, ok := u.ports[port]; !ok {
		return // VRRP on a port not in ha.ports
	}
	src, a, err := vrrp.ParseFrame(frame)
	if err != nil {
		u.log.Debug("ha: bad VRRP frame", "port", port, "err", err)
		return
	}
	if !u.heard(port, src, a) { // peers.go
		return
	}
	u.r.Receive(src, a)
}

// send puts an advertisement on every port (the router's lock is held).
func (u *Unit) send(a vrrp.Advert) {
	floating := u.dp.FloatingAddrs()
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, p := range u.cfg.Ports {
		a.Addrs = a.Addrs[:0:0]
		for _, f := range floating {
			if f.Port == p.Name && len(a.Addrs) < vrrp.MaxAddrs {
				a.Addrs = append(a.Addrs, f.Addr)
			}
		}
		if len(p.Peers) > 0 {
			u.sendUnicast(p, a) // peers.go
			continue
		}
		f, err := a.AppendFrame(u.buf[:0], u.vmac, p.Addr)
		if err != nil {
			u.log.Warn("ha: advertisement", "port", p.Name, "err", err)
			continue
		}
		u.buf = f
		if err := u.dp.SendFrames(p.Name, [][]byte{f}); err != nil {
			u.log.Warn("ha: advertisement", "port", p.Name, "err", err)
		}
	}
}

// onState follows the router (its lock held).
func (u *Unit) onState(from, to vrrp.State) {
	u.mu.Lock()
	u.since = u.clk.Now()
	u.changes++
	u.mu.Unlock()
	switch {
	case to == vrrp.Master:
		u.dp.SetStandby(false)
		u.log.Info("ha: traffic-group-1 active", "unit", u.cfg.Unit, "was", from.String())
		u.garp()
		for i := 1; i <= GARPRepeats; i++ {
			u.clk.AfterFunc(time.Duration(i)*GARPSpacing, func() {
				if u.r.State() == vrrp.Master {
					u.garp()
				}
			})
		}
	case from == vrrp.Master:
		u.dp.SetStandby(true)
		u.log.Info("ha: traffic-group-1 standby", "unit", u.cfg.Unit, "now", to.String())
	}
}

// garp announces every address of traffic-group-1 on its port.
func (u *Unit) garp() {
	var n uint64
	for _, f := range u.dp.FloatingAddrs() {
		if _, ok := u.ports[f.Port]; !ok {
			continue // a VIP on every port: announced on the HA ports only
		}
		if err := u.dp.SendFrames(f.Port, [][]byte{vrrp.GratuitousARP(u.vmac, f.Addr)}); err != nil {
			u.log.Warn("ha: gratuitous ARP", "port", f.Port, "addr", f.Addr, "err", err)
			continue
		}
		n++
	}
	u.mu.Lock()
	u.garps += n
	u.mu.Unlock()
}

// GoStandby hands traffic-group-1 to the peer (run sys failover standby):
// the unit stays standby until the peer is lost or Online.
func (u *Unit) GoStandby() { u.r.Standby() }

// GoOffline takes the unit out of the election (run sys failover offline):
// priority 0 if it was active, then silence; it stays standby.
func (u *Unit) GoOffline() {
	u.fs.mu.Lock()
	defer u.fs.mu.Unlock()
	u.mu.Lock()
	u.offline = true
	u.mu.Unlock()
	u.r.Shutdown()
	u.dp.SetStandby(true)
}

// GoOnline ends GoStandby and GoOffline (run sys failover online).
// While a fail-safe holds, the unit rejoins when it clears.
func (u *Unit) GoOnline() {
	u.fs.mu.Lock()
	defer u.fs.mu.Unlock()
	u.mu.Lock()
	u.offline = false
	u.mu.Unlock()
	if u.fs.tripped {
		u.fs.online = true
		return
	}
	u.r.Online()
}

// VRRPSettings are the settings Reconfigure changes.
type VRRPSettings = vrrp.Settings

// Reconfigure changes the unit's VRRP settings (priority, preemption and
// its delay, advertisement interval) while it runs (vrrp.Router's
// Reconfigure), or refuses them and keeps the old ones. Config holds the
// settings the unit started with; Status shows the current ones.
func (u *Unit) Reconfigure(s VRRPSettings) error {
	if err := u.r.Reconfigure(s); err != nil {
		return fmt.Errorf("ha: %w", err)
	}
	u.log.Info("ha: VRRP settings changed at run time", "unit", u.cfg.Unit, "priority", s.Priority, "preempt", s.Preempt,
		"preempt_delay", s.PreemptDelay, "advert_interval", s.Interval)
	return nil
}

// Status is the unit's failover status, for show cm failover-status.
type Status struct {
	Unit           string
	State          State
	Since          time.Time
	Changes        int // state changes since start
	VRID           uint8
	Priority       uint8
	Preempt        bool
	PreemptDelay   time.Duration
	Ports          []string     // ha.ports
	Addrs          []netip.Addr // traffic-group-1's addresses on them
	Failsafe       Failsafe
	Peer           netip.Addr // the master's address as last heard, when standby
	PeerPriority   uint8
	Interval       time.Duration
	MasterDown     time.Duration
	GARPsSent      uint64
	YieldingToPeer bool
	// Conditions are the fail-safe conditions holding (BIG-IP's failover
	// conditions): while there is one the unit stays standby.
	Conditions []string
	// AddrMismatches counts heard advertisements whose address list is
	// not this unit's (RFC 5798 §7.1: logged, still counted);
	// LastMismatch describes the last.
	AddrMismatches uint64
	LastMismatch   string
	// Strangers counts advertisements ignored because they came from a
	// host that is not a unicast peer.
	Strangers uint64
}

// Status returns the unit's status.
func (u *Unit) Status() Status {
	rs := u.r.Status()
	conds, fsCfg := u.failsafeConditions()
	var ports []string
	for _, p := range u.cfg.Ports {
		ports = append(ports, p.Name)
	}
	var addrs []netip.Addr
	for _, f := range u.dp.FloatingAddrs() {
		if _, ok := u.ports[f.Port]; ok && !slices.Contains(addrs, f.Addr) {
			addrs = append(addrs, f.Addr)
		}
	}
	set := u.r.Settings()
	u.mu.Lock()
	defer u.mu.Unlock()
	st := Status{Unit: u.cfg.Unit, State: Standby, Since: u.since, Changes: u.changes, VRID: u.cfg.VRID, Priority: set.Priority,
		Preempt: set.Preempt, PreemptDelay: set.PreemptDelay, Ports: ports, Addrs: addrs, Failsafe: fsCfg,
		Interval: set.Interval, MasterDown: rs.MasterDownInterval, GARPsSent: u.garps, YieldingToPeer: rs.Yielding, Conditions: conds,
		AddrMismatches: u.mismatches, LastMismatch: u.lastMismatch, Strangers: u.strangers}
	switch {
	case u.offline:
		st.State = Offline
	case rs.State == vrrp.Master:
		st.State = Active
	default:
		st.Peer, st.PeerPriority = rs.Master, rs.MasterPriority
	}
	return st
}
