package farm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"

	"lbx/farm/xdpfilter"
)

// Options are the command line's part of a member.
type Options struct {
	Config    *Config
	Interface string         // LAN interface; "" for <interface name> or the one whose subnet holds the VIP
	Bind      netip.AddrPort // membership address; zero: the interface's address in the VIP's subnet, port 7946
	Peers     []string       // members to join (host or host:port), besides the file's <node>s
	ModuleDir string         // holds bin/start_both and bin/stop_both; "" for none
	LogDir    string         // module.log and userlog.log; "" for ModuleDir/log, or no files without a module
	Socket    string         // control socket
	// SecretKey (16, 24 or 32 bytes) encrypts and authenticates the
	// membership traffic (memberlist's AES-GCM); nil: plain, and any host
	// of the LAN can join.
	SecretKey []byte
	// Membership timing; zero values take the defaults below.
	ProbeInterval time.Duration
}

// DefaultPort is memberlist's port for the farm.
const DefaultPort = 7946

// Member is one running farm member.
type Member struct {
	cfg    *Config
	opts   Options
	name   string
	ifname string
	ownMAC net.HardwareAddr
	vmac   net.HardwareAddr
	filter *xdpfilter.Filter
	ml     *memberlist.Memberlist
	net    *netSetup
	ctl    net.Listener
	scr    *scripts

	modlog *log.Logger
	files  []io.Closer

	mu        sync.Mutex
	state     State
	check     byte
	checkMsg  string
	restarts  []time.Time
	startedAt time.Time       // of the last start_both
	local     [Buckets]uint32 // the filter's bucket states
	meta      meta            // what this member publishes
	conns     [Buckets]int    // this member's connections per bucket (last scan)

	kick   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	done   chan struct{}
}

// Start sets the member up (VIP alias, filter, membership, control
// socket), runs start_both and begins checking; the member is WAIT until
// its checkers pass, then UP.
func Start(opts Options) (_ *Member, err error) {
	cfg := opts.Config
	m := &Member{cfg: cfg, opts: opts, state: StateWait, kick: make(chan struct{}, 1), done: make(chan struct{})}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			m.teardown()
		}
	}()
	if opts.LogDir == "" && opts.ModuleDir != "" {
		opts.LogDir = filepath.Join(opts.ModuleDir, "log")
		m.opts.LogDir = opts.LogDir
	}
	var modw, appw io.Writer = os.Stderr, io.Discard
	if opts.LogDir != "" {
		if err := os.MkdirAll(opts.LogDir, 0o755); err != nil {
			return nil, fmt.Errorf("farm: log dir: %w", err)
		}
		mf, err := os.OpenFile(filepath.Join(opts.LogDir, "module.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("farm: module log: %w", err)
		}
		m.files = append(m.files, mf)
		modw = io.MultiWriter(mf, os.Stderr)
		if cfg.UserLog {
			af, err := os.OpenFile(filepath.Join(opts.LogDir, "userlog.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				return nil, fmt.Errorf("farm: application log: %w", err)
			}
			m.files = append(m.files, af)
			appw = af
		}
	}
	m.modlog = log.New(modw, "", log.LstdFlags|log.LUTC)
	m.scr = &scripts{dir: opts.ModuleDir, out: appw, nice: cfg.NiceStop, force: cfg.ForceStop, log: m.modlog}

	m.net, err = setupNet(cfg, opts.Interface)
	if err != nil {
		return nil, err
	}
	m.ifname, m.ownMAC = m.net.ifname, m.net.mac
	m.vmac = xdpfilter.VirtualMAC(cfg.VIP.As4())
	var rules []xdpfilter.Rule
	for _, r := range cfg.Rules {
		p := uint8(6)
		if r.Proto == "udp" {
			p = 17
		}
		rules = append(rules, xdpfilter.Rule{Proto: p, Port: r.Port, OnPort: r.Filter == OnPort})
	}
	m.filter, err = xdpfilter.New(xdpfilter.Spec{VIP: cfg.VIP, VMAC: m.vmac, OwnMAC: m.ownMAC, Rules: rules})
	if err != nil {
		return nil, err
	}
	if err := m.filter.Attach(m.ifname); err != nil {
		return nil, err
	}
	if cfg.ARPReroute {
		if err := gratuitousARP(m.ifname, m.ownMAC, m.vmac, cfg.VIP); err != nil {
			m.modlog.Printf("arpreroute: %v", err)
		}
	}

	bind := opts.Bind
	if !bind.IsValid() {
		bind = netip.AddrPortFrom(m.net.self, DefaultPort)
	} else if bind.Port() == 0 {
		bind = netip.AddrPortFrom(bind.Addr(), DefaultPort)
	}
	m.name = bind.String()
	mc := memberlist.DefaultLANConfig()
	mc.Name = m.name
	mc.BindAddr, mc.BindPort = bind.Addr().String(), int(bind.Port())
	mc.AdvertiseAddr, mc.AdvertisePort = mc.BindAddr, mc.BindPort
	probe := opts.ProbeInterval
	if probe == 0 {
		probe = 400 * time.Millisecond
	}
	mc.ProbeInterval = probe
	mc.ProbeTimeout = probe / 2
	mc.SuspicionMult = 2
	mc.GossipInterval = 50 * time.Millisecond
	mc.PushPullInterval = 5 * time.Second
	mc.TCPTimeout = 2 * time.Second
	if len(opts.SecretKey) > 0 {
		mc.SecretKey = opts.SecretKey
	}
	mc.Delegate = delegate{m}
	mc.Events = events{m}
	mc.Logger = log.New(&filterDebug{w: modw}, "", log.LstdFlags|log.LUTC)
	m.meta = meta{State: StateWait}
	m.ml, err = memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("farm: membership on %s: %w", bind, err)
	}
	m.modlog.Printf("member %s on %s (MAC %s), VIP %s with virtual MAC %s, %d rule(s)", m.name, m.ifname, m.ownMAC, cfg.VIP, m.vmac, len(cfg.Rules))

	if opts.Socket != "" {
		if m.ctl, err = listenCtl(opts.Socket); err != nil {
			return nil, err
		}
		m.goWG(m.serveCtl)
	}
	if peers := m.peers(); len(peers) > 0 {
		if n, err := m.ml.Join(peers); err != nil {
			m.modlog.Printf("join %v: %d reached (%v); going on alone, retrying every %v", peers, n, err, rejoinEvery)
		} else {
			m.modlog.Printf("joined the farm through %d of %v", n, peers)
		}
		m.goWG(func() { m.rejoinLoop(peers) })
	}
	m.goWG(m.reconcileLoop)
	m.startBoth(m.ctx)
	m.goWG(m.checkLoop)
	return m, nil
}

// rejoinEvery is how often a member that knows no other tries its peers
// again (two members started together may each have missed the other).
const rejoinEvery = 2 * time.Second

func (m *Member) rejoinLoop(peers []string) {
	t := time.NewTicker(rejoinEvery)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
		if m.ml.NumMembers() > 1 {
			continue
		}
		if n, err := m.ml.Join(peers); err == nil {
			m.modlog.Printf("joined the farm through %d of %v", n, peers)
		}
	}
}

// peers lists the members to join, without this one.
func (m *Member) peers() []string {
	var p []string
	for _, n := range m.cfg.Nodes {
		p = append(p, netip.AddrPortFrom(n.Addr, DefaultPort).String())
	}
	for _, s := range m.opts.Peers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			s = net.JoinHostPort(s, fmt.Sprint(DefaultPort))
		}
		p = append(p, s)
	}
	var out []string
	for _, s := range p {
		if s != m.name && !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func (m *Member) goWG(fn func()) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		fn()
	}()
}

// Done is closed when the member has shut down.
func (m *Member) Done() <-chan struct{} { return m.done }

// Shutdown takes the member out: its buckets go to the others at once
// (no drain: the process ends), it leaves the membership, runs stop_both
// and removes its filter.
func (m *Member) Shutdown() {
	m.mu.Lock()
	m.state = StateStop
	m.mu.Unlock()
	m.reconcile()
	if m.ml != nil {
		if err := m.ml.Leave(2 * time.Second); err != nil {
			m.modlog.Printf("leave: %v", err)
		}
	}
	if err := m.scr.stop(context.Background()); err != nil {
		m.modlog.Printf("stop_both: %v", err)
	}
	m.modlog.Printf("member %s shut down", m.name)
	m.teardown()
}

func (m *Member) teardown() {
	m.cancel()
	if m.ctl != nil {
		m.ctl.Close()
	}
	m.wg.Wait()
	if m.ml != nil {
		m.ml.Shutdown()
	}
	if m.filter != nil {
		m.filter.Close()
	}
	if m.net != nil {
		m.net.undo()
	}
	for _, f := range m.files {
		f.Close()
	}
	select {
	case <-m.done:
	default:
		close(m.done)
	}
}

// kickReconcile asks the reconcile loop for a pass.
func (m *Member) kickReconcile() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

func (m *Member) reconcileLoop() {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-m.kick:
		case <-t.C:
		}
		m.reconcile()
	}
}

// view is the farm as this member sees it: every member's meta by name.
func (m *Member) view() map[string]meta {
	v := map[string]meta{}
	if m.ml == nil {
		return v
	}
	for _, n := range m.ml.Members() {
		if n.Name == m.name {
			continue
		}
		if md, err := decodeMeta(n.Meta); err == nil {
			v[n.Name] = md
		}
	}
	return v
}

// reconcile computes the bucket owners from the UP members and brings
// the filter to them, then publishes what it accepts and drains. A bucket
// this member is assigned is taken only once no other member publishes it
// as accepted (so two members never both accept new flows in it), as Take
// while another still drains it; a bucket it loses stays Drain while it
// has connections in it.
func (m *Member) reconcile() {
	conns, scanErr := m.scanConns()
	others := m.view()
	m.mu.Lock()
	if scanErr == nil {
		m.conns = conns
	}
	var up []string
	for name, md := range others {
		if md.State == StateUp {
			up = append(up, name)
		}
	}
	if m.state == StateUp {
		up = append(up, m.name)
	}
	owner := Assign(up)
	var next meta
	next.State, next.Check, next.Restarts = m.state, m.check, byte(min(len(m.restarts), 255))
	changed := 0
	for b := range Buckets {
		var st uint32
		if owner[b] == m.name {
			st = xdpfilter.Own
			for _, md := range others {
				if md.Owned.has(b) {
					st = xdpfilter.Not
					break
				}
				if md.Draining.has(b) {
					st = xdpfilter.Take
				}
			}
		} else if m.local[b] != xdpfilter.Not && m.conns[b] > 0 {
			st = xdpfilter.Drain
		}
		if st != m.local[b] {
			if err := m.filter.SetBucket(b, st); err != nil {
				m.modlog.Printf("%v", err)
				continue
			}
			m.local[b] = st
			changed++
		}
		switch m.local[b] {
		case xdpfilter.Own, xdpfilter.Take:
			next.Owned.set(b)
		case xdpfilter.Drain:
			next.Draining.set(b)
		}
	}
	publish := next != m.meta
	m.meta = next
	m.mu.Unlock()
	if changed > 0 {
		m.modlog.Printf("buckets: %d changed; accepting %d, draining %d; %d member(s) UP", changed, next.Owned.count(), next.Draining.count(), len(up))
	}
	if publish && m.ml != nil {
		if err := m.ml.UpdateNode(time.Second); err != nil {
			m.modlog.Printf("publish: %v", err)
		}
	}
}

// setState changes the member's state, logs it and reconciles.
func (m *Member) setState(s State, why string) {
	m.mu.Lock()
	old := m.state
	m.state = s
	m.mu.Unlock()
	if old != s {
		m.modlog.Printf("state %s → %s: %s", old, s, why)
	}
	m.kickReconcile()
}

// Stop is `lbx farm stop`: the member goes STOP, its buckets move to the
// others while its connections drain (bounded by nicestoptimeout), then
// stop_both runs.
func (m *Member) Stop(ctx context.Context) error {
	m.mu.Lock()
	if m.state == StateStop {
		m.mu.Unlock()
		return errors.New("member is already STOP")
	}
	m.mu.Unlock()
	m.mu.Lock()
	m.check, m.checkMsg = checkNone, "" // the checker rests while STOP
	m.mu.Unlock()
	m.setState(StateStop, "stop requested")
	deadline := time.Now().Add(m.cfg.NiceStop)
	for time.Now().Before(deadline) {
		m.mu.Lock()
		busy := m.meta.Owned.count() + m.meta.Draining.count()
		m.mu.Unlock()
		if busy == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	m.modlog.Printf("buckets drained")
	return m.scr.stop(ctx)
}

// StartAgain is `lbx farm start` on a STOP member: start_both, then WAIT
// until the checkers pass; the restart count begins anew.
func (m *Member) StartAgain(ctx context.Context) error {
	m.mu.Lock()
	if m.state != StateStop {
		s := m.state
		m.mu.Unlock()
		return fmt.Errorf("member is %s, not STOP", s)
	}
	m.restarts = nil
	m.mu.Unlock()
	m.startBoth(ctx)
	m.setState(StateWait, "start requested")
	return nil
}

// MemberStatus is one line of `lbx farm status`.
type MemberStatus struct {
	Name     string `json:"name"`
	Self     bool   `json:"self"`
	State    string `json:"state"`
	Buckets  int    `json:"buckets"`
	Draining int    `json:"draining"`
	Checker  string `json:"checker"`
	Restarts int    `json:"restarts"`
}

// Status is what `lbx farm status` prints.
type Status struct {
	VIP       string         `json:"vip"`
	VMAC      string         `json:"vmac"`
	Interface string         `json:"interface"`
	Rules     []string       `json:"rules"`
	Members   []MemberStatus `json:"members"`
	Accepted  uint64         `json:"accepted"`
	Dropped   uint64         `json:"dropped"`
	ARP       uint64         `json:"arp_replies"`
	Malformed uint64         `json:"malformed"`
	Flows     int            `json:"flows"`
}

func checkName(c byte) string {
	switch c {
	case checkOK:
		return "ok"
	case checkFailed:
		return "failed"
	}
	return "-"
}

// Status reports the farm as this member sees it.
func (m *Member) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := Status{VIP: m.cfg.VIP.String(), VMAC: m.vmac.String(), Interface: m.ifname}
	for _, r := range m.cfg.Rules {
		s.Rules = append(s.Rules, fmt.Sprintf("%s/%d %s", r.Proto, r.Port, r.Filter))
	}
	self := MemberStatus{Name: m.name, Self: true, State: m.state.String(), Buckets: m.meta.Owned.count(), Draining: m.meta.Draining.count(), Checker: checkName(m.check), Restarts: len(m.restarts)}
	if m.checkMsg != "" && m.check == checkFailed {
		self.Checker += " (" + m.checkMsg + ")"
	}
	s.Members = append(s.Members, self)
	for name, md := range m.view() {
		s.Members = append(s.Members, MemberStatus{Name: name, State: md.State.String(), Buckets: md.Owned.count(), Draining: md.Draining.count(), Checker: checkName(md.Check), Restarts: int(md.Restarts)})
	}
	sort.Slice(s.Members, func(i, j int) bool { return s.Members[i].Name < s.Members[j].Name })
	if st, err := m.filter.Stats(); err == nil {
		s.Accepted, s.Dropped, s.ARP, s.Malformed = st[xdpfilter.StatAccepted], st[xdpfilter.StatDropped], st[xdpfilter.StatARP], st[xdpfilter.StatMalformed]
	}
	s.Flows = m.filter.Flows()
	return s
}

// Text prints a Status as `lbx farm status` does.
func (s Status) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "farm VIP %s (virtual MAC %s) on %s, rules %s\n", s.VIP, s.VMAC, s.Interface, strings.Join(s.Rules, ", "))
	fmt.Fprintf(&b, "%-22s %-5s %7s %6s %8s %8s  %s\n", "MEMBER", "STATE", "BUCKETS", "SHARE", "DRAINING", "RESTARTS", "CHECKER")
	for _, ms := range s.Members {
		name := ms.Name
		if ms.Self {
			name += " *"
		}
		fmt.Fprintf(&b, "%-22s %-5s %7d %5.1f%% %8d %8d  %s\n", name, ms.State, ms.Buckets, float64(ms.Buckets)*100/Buckets, ms.Draining, ms.Restarts, ms.Checker)
	}
	fmt.Fprintf(&b, "filter: accepted %d, left to others %d, ARP replies %d, malformed %d, recorded flows %d\n", s.Accepted, s.Dropped, s.ARP, s.Malformed, s.Flows)
	return b.String()
}

// delegate gives memberlist this member's metadata.
type delegate struct{ m *Member }

func (d delegate) NodeMeta(limit int) []byte {
	d.m.mu.Lock()
	defer d.m.mu.Unlock()
	return d.m.meta.encode()
}
func (d delegate) NotifyMsg([]byte)                           {}
func (d delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d delegate) LocalState(join bool) []byte                { return nil }
func (d delegate) MergeRemoteState(buf []byte, join bool)     {}

// events reconciles on every membership change.
type events struct{ m *Member }

func (e events) NotifyJoin(n *memberlist.Node) {
	e.m.modlog.Printf("member %s joined", n.Name)
	e.m.kickReconcile()
}
func (e events) NotifyLeave(n *memberlist.Node) {
	e.m.modlog.Printf("member %s left or failed", n.Name)
	e.m.kickReconcile()
}
func (e events) NotifyUpdate(n *memberlist.Node) { e.m.kickReconcile() }

// filterDebug drops memberlist's [DEBUG] lines from the module log.
type filterDebug struct{ w io.Writer }

func (f *filterDebug) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("[DEBUG]")) {
		return len(p), nil
	}
	return f.w.Write(p)
}
