package dataplane

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"lbx/dataplane/program"

	"lbx/dataplane/drop"

	"lbx/dataplane/flowtable"
	"lbx/dataplane/fragtrack"
	"lbx/dataplane/neighbor"
	"lbx/internal/clock"
	"lbx/pools"
)

const (
	// batchSize is how many frames one ReadBatch may return. 64 holds
	// the segments of one 64 KB GSO frame from a TAP port (about 45), so
	// that they leave in one batch and are joined into one GSO frame again
	// (docs/BENCHMARKS.md, TAP offload: +25 % bulk over 32).
	batchSize = 64
	// DefaultFlowCapacity is the flow table size when EngineConfig leaves it 0.
	DefaultFlowCapacity = 65536
	// DefaultPersistCapacity is the persistence table size when
	// EngineConfig leaves it 0.
	DefaultPersistCapacity = 65536
	// maxPorts bounds the port index stored in flow entries.
	maxPorts = 256
	// sweepInterval is how often idle flows and stale parked packets go.
	sweepInterval = time.Second
)

// EngineConfig is what an Engine is built from. Ports are fixed for the
// engine's life; configuration comes later, through Install.
type EngineConfig struct {
	Ports        []Port
	FlowCapacity int // default DefaultFlowCapacity
	// PersistCapacity is the size of the persistence table; default
	// DefaultPersistCapacity.
	PersistCapacity int
	Timeouts        Timeouts    // zero fields take DefaultTimeouts
	Clock           clock.Clock // default clock.System
	Logger          *slog.Logger
}

// portState is one port with what the engine keeps per port.
type portState struct {
	idx     int
	port    Port
	name    string
	mac     [6]byte
	neigh   neighbor.Table
	pending neighbor.Queue
	ctr     portCounters // counts of goroutines that are not port workers (see counterShard)
	beat    heartbeat    // the port worker's progress, for the HA watchdog (health.go)
}

// selfRT is a self IP resolved against the engine's ports.
type selfRT struct {
	addr, net, mask uint32
	bits            int
	port            int
	floating        bool // in traffic-group-1 (ha.go)
}

// installed is a Program as one engine runs it: the snapshot, its runtime
// state (counters, runtime pools, persistence; see runtime.go) and its self
// IPs resolved to port indexes. It is immutable once stored; the data path
// loads it once per batch.
type installed struct {
	*programRT
	selfs  []selfRT
	routes []routeRT // usable static routes, longest prefix first (route.go)
}

// connected returns the index in selfs of the self IP whose network holds a
// (longest prefix wins), or -1.
func (in *installed) connected(a uint32) int {
	best := -1
	for i := range in.selfs {
		s := &in.selfs[i]
		if a&s.mask == s.net && (best < 0 || s.bits > in.selfs[best].bits) {
			best = i
		}
	}
	return best
}

// connectedOn reports whether a is on a connected network of port.
func (in *installed) connectedOn(a uint32, port int) bool {
	for i := range in.selfs {
		if s := &in.selfs[i]; s.port == port && a&s.mask == s.net {
			return true
		}
	}
	return false
}

// selfOn reports whether a is a self IP on port.
func (in *installed) selfOn(a uint32, port int) bool {
	for i := range in.selfs {
		if s := &in.selfs[i]; s.port == port && s.addr == a {
			return true
		}
	}
	return false
}

// isLocal reports whether a is a self IP, a VIP or a SNAT pool address.
func (in *installed) isLocal(a uint32) bool {
	return in.isSelf(a) || in.prog.IsVIP(addr4(a)) || in.prog.IsSNATAddr(addr4(a))
}

type memberKey struct{ pool, member string }

// Engine is the dataplane: it owns the ports, the flow table, the neighbour
// tables and the counters, and runs the installed Program.
type Engine struct {
	ports   []*portState
	portIdx map[string]int
	flows   *flowtable.Table
	persist *pools.PersistTable
	clock   clock.Clock
	log     *slog.Logger

	cur atomic.Pointer[installed]
	// drops counts drops of goroutines that are not port workers; the
	// workers count into their own shards (counters.go), and readers sum
	// both.
	drops   [drop.NumReasons]atomic.Uint64
	shardMu sync.Mutex // guards shards; taken by readers and newShard, never per packet
	shards  []*counterShard

	conflictLog logLimit // address-conflict warnings

	frags fragtrack.Table[fragDest] // fragmented UDP datagrams in flight (frag.go)

	pressureMu sync.Mutex // guards pressure; Sweep runs on the sweeper or a test
	pressure   pressureLog

	downs chan memberKey // members gone down, for the sweeper's service-down actions
	sdown serviceDownCounters

	sink atomic.Pointer[sinkBox] // the local stack, if attached
	// HA (ha.go): the VRRP engine, if attached; whether traffic-group-1
	// is standby here; whether the VIPs are in it; VRRP frames handed over.
	vrrp      atomic.Pointer[VRRPSink]
	standby   atomic.Bool
	floatVIPs atomic.Bool
	vrrpRx    atomic.Uint64
	vmac      [6]byte // zero: none; set before Start
	ltx       localTx
	local     localCounters

	installMu sync.Mutex // serializes Install
	rt        *Runtime   // live state by identity; its current program is cur's

	lifeMu  sync.Mutex // guards started and closed
	started bool
	closed  bool
	stop    chan struct{}
	wg      sync.WaitGroup
}

// NewEngine checks the configuration and allocates everything the data path
// needs: flow table, neighbour tables, parking slots. It starts nothing.
func NewEngine(cfg EngineConfig) (*Engine, error) {
	if len(cfg.Ports) == 0 {
		return nil, errors.New("dataplane: engine: ports: at least one port is required")
	}
	if len(cfg.Ports) > maxPorts {
		return nil, fmt.Errorf("dataplane: engine: ports: %d ports, at most %d supported", len(cfg.Ports), maxPorts)
	}
	if cfg.FlowCapacity < 0 {
		return nil, fmt.Errorf("dataplane: engine: flow-capacity %d: must not be negative", cfg.FlowCapacity)
	}
	if cfg.FlowCapacity == 0 {
		cfg.FlowCapacity = DefaultFlowCapacity
	}
	if cfg.PersistCapacity < 0 {
		return nil, fmt.Errorf("dataplane: engine: persist-capacity %d: must not be negative", cfg.PersistCapacity)
	}
	if cfg.PersistCapacity == 0 {
		cfg.PersistCapacity = DefaultPersistCapacity
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{
		portIdx: make(map[string]int, len(cfg.Ports)),
		clock:   cfg.Clock,
		log:     cfg.Logger,
		stop:    make(chan struct{}),
		downs:   make(chan memberKey, downQueue),
	}
	for i, p := range cfg.Ports {
		if p == nil {
			return nil, fmt.Errorf("dataplane: engine: port %d: nil", i)
		}
		name := p.Name()
		if _, dup := e.portIdx[name]; dup {
			return nil, fmt.Errorf("dataplane: engine: port %q: duplicate name", name)
		}
		mac := p.MAC()
		if len(mac) != 6 {
			return nil, fmt.Errorf("dataplane: engine: port %q: mac %q: want a 6-byte Ethernet address", name, mac)
		}
		ps := &portState{idx: i, port: p, name: name}
		copy(ps.mac[:], mac)
		ps.neigh.Init()
		ps.pending.Init(maxFrameLen)
		e.portIdx[name] = i
		e.ports = append(e.ports, ps)
	}
	e.ltx.ctr = e.newShard()
	e.flows = flowtable.New(cfg.FlowCapacity, cfg.Timeouts, cfg.Clock.Now())
	e.persist = pools.NewPersistTable(cfg.PersistCapacity)
	e.rt = NewRuntime(e.persist)
	e.rt.onHealth = e.healthChanged
	return e, nil
}

// Install validates p against the engine's ports and makes it the running
// program. It is all or nothing: on error the previous program keeps running.
// It does not write into p.
//
// The runtime state survives installs by identity (see runtime.go): a
// virtual's VirtualStats by its name, a member's MemberStats and Health by
// pool and member name, a node's NodeStats by address, and a pool's
// selection state while its spec is unchanged. After the swap, flows of
// virtuals that no longer exist are removed; flows of kept or modified
// virtuals carry on with the NAT they were created with.
func (e *Engine) Install(p *Program) error {
	if p == nil {
		return errors.New("dataplane: install: nil program")
	}
	if !p.Finalized() {
		return fmt.Errorf("dataplane: install: program generation %d: not finalized", p.Generation)
	}
	selfs := make([]selfRT, 0, len(p.SelfIPs))
	var errs []error
	for _, s := range p.SelfIPs {
		idx, ok := e.portIdx[s.Port]
		if !ok {
			errs = append(errs, fmt.Errorf("self %s: port %q: no such data port (have %s)", s.Name, s.Port, strings.Join(e.portNames(), ", ")))
			continue
		}
		pfx := s.Prefix.Masked()
		mask := uint32(0)
		if b := s.Prefix.Bits(); b > 0 {
			mask = ^uint32(0) << (32 - b)
		}
		selfs = append(selfs, selfRT{addr: program.U32(s.Prefix.Addr()), net: program.U32(pfx.Addr()), mask: mask, bits: s.Prefix.Bits(), port: idx, floating: s.Floating})
	}
	if len(errs) > 0 {
		return fmt.Errorf("dataplane: install: program generation %d: %w", p.Generation, errors.Join(errs...))
	}

	routes, unusable := resolveRoutes(p.Routes, &installed{selfs: selfs})
	for _, r := range unusable {
		e.log.Warn("dataplane: route not used: gateway not on a connected network", "route", r, "generation", p.Generation)
	}

	e.installMu.Lock()
	defer e.installMu.Unlock()
	var in, old *installed
	err := e.rt.install(p, e.Mono(), func(rt *programRT) error {
		if e.isClosed() {
			return errors.New("dataplane: install: engine closed")
		}
		in = &installed{programRT: rt, selfs: selfs, routes: routes}
		old = e.cur.Swap(in)
		return nil
	})
	if err != nil {
		return err
	}
	virtuals := make(map[string]bool, len(p.Virtuals))
	for _, v := range p.Virtuals {
		virtuals[v.Name] = true
	}
	if n := e.flows.RemoveIf(func(name string) bool { return !virtuals[name] }); n > 0 {
		e.log.Info("dataplane: removed flows of deleted virtuals", "flows", n, "generation", p.Generation)
	}
	oldGen := uint64(0)
	if old != nil {
		oldGen = old.prog.Generation
	}
	e.log.Info("dataplane: program installed", "generation", p.Generation, "previous", oldGen,
		"virtuals", len(p.Virtuals), "self-ips", len(p.SelfIPs))
	e.resolveMembersLocked(in)
	return nil
}

// resolveMembersLocked sends one ARP request for every pool member's next
// hop (the member on a connected network, its route's gateway otherwise)
// whose MAC is not known yet, so that the first packet of the first flow
// rarely has to wait.
func (e *Engine) resolveMembersLocked(in *installed) {
	seen := make(map[uint32]bool)
	var buf [ethHdrLen + arpLen]byte
	for _, v := range in.prog.Virtuals {
		if v.Pool == nil {
			continue
		}
		for _, m := range v.Pool.Members {
			si, a := in.route(program.U32(m.Addr))
			if a == 0 || si < 0 || seen[a] {
				continue
			}
			seen[a] = true
			ps := e.ports[in.selfs[si].port]
			if _, ok := ps.neigh.Lookup(addr4(a)); ok {
				continue
			}
			f := buildARP(buf[:], arpOpRequest, broadcastMAC, ps.mac, in.selfs[si].addr, [6]byte{}, a)
			if n, err := ps.port.WriteBatch([][]byte{f}); n == 1 {
				ps.ctr.txPackets.Add(1)
				ps.ctr.arpRequests.Add(1)
			} else {
				e.log.Debug("dataplane: arp request for member failed", "port", ps.name, "member", m.Addr, "next-hop", addr4(a), "err", err)
			}
		}
	}
}

func (e *Engine) portNames() []string {
	names := make([]string, len(e.ports))
	for i, p := range e.ports {
		names[i] = p.name
	}
	return names
}

// Program returns the running program, nil before the first Install.
func (e *Engine) Program() *Program {
	if in := e.cur.Load(); in != nil {
		return in.prog
	}
	return nil
}

// Start starts one goroutine per port and the sweeper. It does nothing when
// called again or after Close.
func (e *Engine) Start() {
	e.lifeMu.Lock()
	defer e.lifeMu.Unlock()
	if e.started || e.closed {
		return
	}
	e.started = true
	for i := range e.ports {
		e.wg.Add(1)
		go e.rxLoop(i)
	}
	e.wg.Add(1)
	go e.sweepLoop()
}

func (e *Engine) isClosed() bool {
	e.lifeMu.Lock()
	defer e.lifeMu.Unlock()
	return e.closed
}

// Close closes the ports, which ends the port goroutines, stops the sweeper
// and waits for all of them. Later calls return nil.
func (e *Engine) Close() error {
	e.lifeMu.Lock()
	if e.closed {
		e.lifeMu.Unlock()
		return nil
	}
	e.closed = true
	close(e.stop)
	e.lifeMu.Unlock()

	var errs []error
	for _, p := range e.ports {
		if err := p.port.Close(); err != nil {
			errs = append(errs, fmt.Errorf("dataplane: close port %s: %w", p.name, err))
		}
	}
	e.wg.Wait()
	return errors.Join(errs...)
}

func (e *Engine) rxLoop(i int) {
	defer e.wg.Done()
	p := e.ports[i]
	mem := make([]byte, batchSize*maxFrameLen)
	bufs := make([][]byte, batchSize)
	for j := range bufs {
		bufs[j] = mem[j*maxFrameLen : (j+1)*maxFrameLen : (j+1)*maxFrameLen]
	}
	sizes := make([]int, batchSize)
	w := e.newWorker(i)
	gp, _ := p.port.(GSOPort)
	var g GSOFrame
	backoff := 10 * time.Millisecond
	for {
		n, err := 0, error(nil)
		if gp != nil {
			g = GSOFrame{}
			n, err = gp.ReadGSO(bufs, sizes, &g)
			if err == nil && n == 0 && g.Buf != nil {
				p.beat.enter()
				if !w.gsoBatch(e.cur.Load(), g) {
					gp.CutGSO()
				}
				p.beat.leave()
				continue
			}
		} else {
			n, err = p.port.ReadBatch(bufs, sizes)
		}
		if n > 0 {
			p.beat.enter()
			w.batch(e.cur.Load(), bufs, sizes, min(n, len(bufs)))
			p.beat.leave()
			backoff = 10 * time.Millisecond
		}
		if err == nil {
			continue
		}
		select {
		case <-e.stop:
			return
		default:
		}
		e.log.Error("dataplane: port read failed", "port", p.name, "err", err, "retry-in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-e.stop:
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, time.Second)
	}
}

func (e *Engine) sweepLoop() {
	defer e.wg.Done()
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			e.Sweep(e.clock.Now())
		case k := <-e.downs:
			e.serviceDown(k)
		}
	}
}

// pressureInterval spaces "flow table under pressure" log lines.
const pressureInterval = int64(10e9)

// pressureLog is what the last "flow table under pressure" line reported.
type pressureLog struct {
	logged        bool
	at            int64
	evicted, full uint64 // FlowTable.Evicted and drop.flow-table-full then
}

// logPressureLocked says, at most once per pressureInterval, that the
// reaper evicted embryonic flows or new flows were refused since the last
// line. It runs on the sweeper, never per packet.
func (e *Engine) logPressureLocked(now int64) {
	p := &e.pressure
	ev, full := e.flows.Evicted(), e.dropSum(drop.FlowTableFull)
	if ev == p.evicted && full == p.full {
		return
	}
	if p.logged && now-p.at < pressureInterval {
		return
	}
	e.log.Warn("dataplane: flow table under pressure",
		"embryonic-evicted", ev-p.evicted, "refused", full-p.full,
		"flows", e.flows.Len(), "embryonic", e.flows.Embryonic(), "capacity", e.flows.Capacity())
	*p = pressureLog{logged: true, at: now, evicted: ev, full: full}
}

// Sweep removes idle flows, drops packets that waited too long for a
// neighbour, folds the neighbour tables' recent changes into their maps, and
// logs when the flow table is under pressure. The engine's
// sweeper calls it every second; tests driving a clock.Manual may call it
// directly.
func (e *Engine) Sweep(now time.Time) {
	if n := e.flows.Sweep(now); n > 0 {
		e.log.Debug("dataplane: swept idle flows", "flows", n)
	}
	m := e.flows.Mono(now)
	e.drops[drop.FragmentIncomplete].Add(uint64(e.frags.Sweep(m)))
	e.pressureMu.Lock()
	e.logPressureLocked(m)
	e.pressureMu.Unlock()
	if in := e.cur.Load(); in != nil {
		for _, p := range in.pools {
			p.pool.Tick(m)
		}
	}
	if n := e.persist.Expire(m); n > 0 {
		e.log.Debug("dataplane: expired persistence records", "records", n)
	}
	for _, p := range e.ports {
		p.neigh.Fold()
		if !p.pending.Waiting() {
			continue
		}
		p.pending.Lock()
		n := p.pending.ExpireLocked(m)
		p.pending.Unlock()
		e.drops[drop.NeighborTimeout].Add(uint64(n))
	}
}

// Flows returns the number of flows in the table.
func (e *Engine) Flows() int { return e.flows.Len() }

// FlowCapacity returns how many flows the table can hold.
func (e *Engine) FlowCapacity() int { return e.flows.Capacity() }

// Drops returns the counter of one drop reason.
func (e *Engine) Drops(r drop.Reason) uint64 {
	if r >= drop.NumReasons {
		return 0
	}
	return e.dropSum(r)
}

// Counters returns every drop counter ("drop.<reason>") and every port's
// counters ("port.<name>.<counter>"), in a stable order.
func (e *Engine) Counters() []Counter {
	drops, ports, localRx := e.sums()
	cs := make([]Counter, 0, int(drop.NumReasons)+8+6*len(e.ports))
	for r := drop.Reason(1); r < drop.NumReasons; r++ {
		cs = append(cs, Counter{Name: "drop." + r.String(), Value: drops[r]})
	}
	cs = append(cs,
		Counter{"flows.embryonic", uint64(e.flows.Embryonic())},
		Counter{"flows.embryonic_evicted", e.flows.Evicted()},
		Counter{"flows.closed_recycled", e.flows.Recycled()},
		Counter{"local.rx_packets", localRx},
		Counter{"local.tx_packets", e.local.tx.Load()},
		Counter{"ha.vrrp_rx_packets", e.vrrpRx.Load()},
		Counter{"service_down.reset_flows", e.sdown.reset.Load()},
		Counter{"service_down.dropped_flows", e.sdown.drop.Load()},
		Counter{"service_down.reselected_flows", e.sdown.reselect.Load()},
		Counter{"service_down.lost_events", e.sdown.lost.Load()},
	)
	for i, p := range e.ports {
		pre := "port." + p.name + "."
		c := &ports[i]
		cs = append(cs,
			Counter{pre + "rx_packets", c.rxPackets},
			Counter{pre + "tx_packets", c.txPackets},
			Counter{pre + "arp_replies", c.arpReplies},
			Counter{pre + "arp_requests", c.arpRequests},
			Counter{pre + "icmp_echo_replies", c.icmpEchoes},
		)
		if _, ok := p.port.(GSOPort); ok {
			cs = append(cs, Counter{pre + "gso_whole_in", c.gsoWhole})
		}
		if lc, ok := p.port.(LossCounter); ok {
			cs = append(cs, Counter{pre + "rx_lost", lc.RxLost()})
		}
		if pc, ok := p.port.(PortCounters); ok {
			n := len(cs)
			cs = pc.PortCounters(cs)
			for i := n; i < len(cs); i++ {
				cs[i].Name = pre + cs[i].Name
			}
		}
	}
	return cs
}

// PortInfo returns how the named port moves frames (driver, mode,
// queues), when its driver says.
func (e *Engine) PortInfo(port string) (PortInfo, bool) {
	i, ok := e.portIdx[port]
	if !ok {
		return PortInfo{}, false
	}
	d, ok := e.ports[i].port.(PortDescriber)
	if !ok {
		return PortInfo{}, false
	}
	return d.PortInfo(), true
}

// Neighbor returns the MAC learned for ip on a port.
func (e *Engine) Neighbor(port string, ip netip.Addr) (net.HardwareAddr, bool) {
	i, ok := e.portIdx[port]
	if !ok {
		return nil, false
	}
	mac, ok := e.ports[i].neigh.Lookup(ip)
	if !ok {
		return nil, false
	}
	return net.HardwareAddr(mac[:]), true
}

// MemberHealth returns the Health of a pool member by identity, creating it
// (unchecked) when the member is not installed yet, so that the monitor
// engine and the dataplane share one value across applies.
func (e *Engine) MemberHealth(pool, member string) *pools.Health {
	return e.rt.MemberHealth(pool, member)
}

// VirtualStats returns the counters of the installed virtual server name,
// nil when the running program has no such virtual.
func (e *Engine) VirtualStats(name string) *VirtualStats { return e.rt.VirtualStats(name) }

// Pool returns the pool name as the running program runs it (members with
// their health, counters and slow-ramp start), nil when no installed
// virtual uses it; see Runtime.Pool.
func (e *Engine) Pool(name string) *pools.Pool { return e.rt.Pool(name) }

// VirtualPersist returns the installed virtual's runtime persistence (its
// compiled spec with the engine's table), nil for none.
func (e *Engine) VirtualPersist(name string) *pools.Persist { return e.rt.VirtualPersist(name) }

// Member returns member of pool as the running program runs it, nil when
// it is not installed; see Runtime.Member.
func (e *Engine) Member(pool, member string) *pools.Member { return e.rt.Member(pool, member) }

// SetOperDisabled disables or enables a node at runtime, without a
// configuration change; see Runtime.SetOperDisabled.
func (e *Engine) SetOperDisabled(node string, disabled bool) { e.rt.SetOperDisabled(node, disabled) }

// OperDisabled reports whether the operator disabled node at runtime.
func (e *Engine) OperDisabled(node string) bool { return e.rt.OperDisabled(node) }

// PersistTable is the engine's persistence table, which the control plane
// compiles virtuals' persistence and least-sessions against.
func (e *Engine) PersistTable() *pools.PersistTable { return e.persist }

// PersistRecords lists the unexpired persistence records f matches (show
// ltm persistence persist-records).
func (e *Engine) PersistRecords(f pools.PersistFilter) []pools.PersistRecordView {
	return e.persist.Records(e.Mono(), f)
}

// DeletePersistRecords removes the records f matches and returns how many.
func (e *Engine) DeletePersistRecords(f pools.PersistFilter) int { return e.persist.Delete(f) }

// Mono is the engine's monotonic time in ns: the clock of pools.Request.Now
// and of pools.Health.Set.
func (e *Engine) Mono() int64 { return e.flows.Mono(e.clock.Now()) }

// ResetVirtualStats is the runtime's (reset-stats ltm virtual).
func (e *Engine) ResetVirtualStats(name string) int { return e.rt.ResetVirtualStats(name) }

// ResetPoolStats is the runtime's (reset-stats ltm pool).
func (e *Engine) ResetPoolStats(name string) int { return e.rt.ResetPoolStats(name) }

// ResetNodeStats is the runtime's (reset-stats ltm node).
func (e *Engine) ResetNodeStats(addr netip.Addr) int { return e.rt.ResetNodeStats(addr) }
