package mirror

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"lbx/dataplane"
	"lbx/ha/trust"
	"lbx/pools"
)

// Dataplane is what mirroring reads on the active unit and writes on the
// standby: *dataplane.Engine.
type Dataplane interface {
	Standby() bool
	EnableMirror()
	PortNames() []string
	MirrorDrain(flows []dataplane.MirrorFlow, removed []dataplane.FlowKey) ([]dataplane.MirrorFlow, []dataplane.FlowKey)
	MirrorScan(shard int, flows []dataplane.MirrorFlow) []dataplane.MirrorFlow
	MirrorPersist(out []pools.PersistEntry) []pools.PersistEntry
	MirrorInstall(flows []dataplane.MirrorFlow, egress []int) dataplane.MirrorResult
	MirrorRemove(keys []dataplane.FlowKey) int
	MirrorPersistInstall(recs []pools.PersistEntry) int
}

var _ Dataplane = (*dataplane.Engine)(nil)

// Trust is the device trust the stream is authenticated with: config
// sync's (*cfgsync.Syncer), so the devices that may mirror are the ones
// the trust step added, each known by the certificate it stored.
type Trust interface {
	// Certificate is this unit's device certificate.
	Certificate() tls.Certificate
	// TrustedDevice names the trusted device whose certificate is cert
	// (DER); false for none.
	TrustedDevice(cert []byte) (string, bool)
	// Trusted reports whether another device is trusted at all.
	Trusted() bool
}

// maxPending bounds the streams being accepted at once (handshakes and
// streams): one peer streams at a time, and a stranger's connections
// must not pile up.
const maxPending = 8

// streamAccepted is the byte the receiving unit answers a stream's hello
// with once it has checked the sender.
const streamAccepted = 0x01

// handshakeTimeout bounds a stream's TLS handshake, either side.
const handshakeTimeout = 2 * time.Second

// Config is the unit's mirroring settings (the boot config's ha section).
type Config struct {
	Unit   string
	Listen netip.AddrPort // where this unit receives the active peer's stream
	Peer   netip.AddrPort // where the peer receives this unit's stream
	// Interval is how often the active unit drains and sends what
	// changed (default 10 ms); Refresh how long a pass over the whole
	// flow table takes, resending every mirrored flow's idle deadline
	// (default 5 s); PersistEvery how often the persistence records of
	// mirrored virtuals are sent (default 1 s).
	Interval, Refresh, PersistEvery time.Duration
}

// Stats are the mirroring counters.
type Stats struct {
	Connected    bool   // a stream to the peer is open (active unit)
	PeerUnit     string // the unit whose stream this unit receives
	Sessions     uint64 // streams opened to the peer
	FlowsSent    uint64
	RemovedSent  uint64
	PersistSent  uint64
	BytesSent    uint64
	FlowsRecv    uint64
	Installed    uint64
	NoVirtual    uint64 // received for a virtual not installed or not mirrored here
	Refused      uint64
	RemovedRecv  uint64
	PersistRecv  uint64
	IgnoredRecv  uint64 // received while this unit was active
	DecodeErrors uint64
	// Unauthenticated counts the streams refused for want of a trusted
	// device's certificate (TLS handshake or hello naming another device).
	Unauthenticated uint64
	LastError       string
}

// Mirror streams this unit's mirrored flows to the peer while it is
// active, and installs the peer's while it is standby.
type Mirror struct {
	cfg Config
	dp  Dataplane
	log *slog.Logger

	ln     net.Listener
	stop   chan struct{}
	ctx    context.Context // ends with Close: bounds dials and handshakes
	cancel context.CancelFunc
	wg     sync.WaitGroup
	connMu sync.Mutex
	conns  map[net.Conn]bool // open connections, closed by Close

	connected                                 atomic.Bool
	sessions, flowsSent, removedSent, persSnt atomic.Uint64
	bytesSent, flowsRecv, installed, noVirt   atomic.Uint64
	refused, removedRecv, persRecv, ignored   atomic.Uint64
	decodeErrs, unauth                        atomic.Uint64
	mu                                        sync.Mutex // guards peerUnit, lastErr, warnedAt, current
	peerUnit, lastErr                         string
	trust                                     Trust
	pending                                   chan struct{} // one token per stream being accepted or received
	warnedAt                                  time.Time     // the last refusal logged (accept goroutines, under mu)
	current                                   net.Conn      // the stream being received (under mu)
}

// New checks cfg and enables the dataplane's mirroring queues. The stream
// is mutual TLS with tr's certificates: only a trusted device's stream is
// received, and only a trusted device is streamed to. Nothing runs before
// Start.
func New(cfg Config, dp Dataplane, tr Trust, log *slog.Logger) (*Mirror, error) {
	if tr == nil {
		return nil, errors.New("ha: mirror_addr: connection mirroring is authenticated with config sync's device trust: set ha.configsync too")
	}
	if !cfg.Listen.IsValid() {
		return nil, errors.New("ha: mirror_addr: must be set (ADDR:PORT)")
	}
	if !cfg.Peer.IsValid() {
		return nil, errors.New("ha: mirror_peer: must be set (ADDR:PORT)")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Millisecond
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 5 * time.Second
	}
	if cfg.PersistEvery <= 0 {
		cfg.PersistEvery = time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dp.EnableMirror()
	ctx, cancel := context.WithCancel(context.Background())
	return &Mirror{cfg: cfg, dp: dp, log: log, trust: tr, stop: make(chan struct{}), ctx: ctx, cancel: cancel,
		conns: map[net.Conn]bool{}, pending: make(chan struct{}, maxPending)}, nil
}

// Start listens on the mirroring address and starts the sender.
func (m *Mirror) Start() error {
	ln, err := net.Listen("tcp", m.cfg.Listen.String())
	if err != nil {
		return fmt.Errorf("ha: mirror_addr %s: %w", m.cfg.Listen, err)
	}
	m.ln = ln
	m.wg.Add(2)
	go m.accept()
	go m.send()
	return nil
}

// Close stops both sides and waits for their goroutines.
func (m *Mirror) Close() {
	close(m.stop)
	m.cancel()
	if m.ln != nil {
		m.ln.Close()
	}
	m.connMu.Lock()
	for c := range m.conns {
		c.Close()
	}
	m.connMu.Unlock()
	m.wg.Wait()
}

// Stats returns the counters.
func (m *Mirror) Stats() Stats {
	m.mu.Lock()
	peer, last := m.peerUnit, m.lastErr
	m.mu.Unlock()
	return Stats{
		Connected: m.connected.Load(), PeerUnit: peer, Sessions: m.sessions.Load(),
		FlowsSent: m.flowsSent.Load(), RemovedSent: m.removedSent.Load(), PersistSent: m.persSnt.Load(), BytesSent: m.bytesSent.Load(),
		FlowsRecv: m.flowsRecv.Load(), Installed: m.installed.Load(), NoVirtual: m.noVirt.Load(), Refused: m.refused.Load(),
		RemovedRecv: m.removedRecv.Load(), PersistRecv: m.persRecv.Load(), IgnoredRecv: m.ignored.Load(),
		DecodeErrors: m.decodeErrs.Load(), Unauthenticated: m.unauth.Load(), LastError: last,
	}
}

func (m *Mirror) setErr(err error) {
	m.mu.Lock()
	m.lastErr = err.Error()
	m.mu.Unlock()
}

// track registers c to be closed by Close; false when closing already.
func (m *Mirror) track(c net.Conn, on bool) bool {
	m.connMu.Lock()
	defer m.connMu.Unlock()
	if !on {
		delete(m.conns, c)
		return true
	}
	select {
	case <-m.stop:
		return false
	default:
	}
	m.conns[c] = true
	return true
}

// wait sleeps d or until Close; false when closing.
func (m *Mirror) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-m.stop:
		return false
	case <-t.C:
		return true
	}
}

// --- the active side -----------------------------------------------------

// send runs while the Mirror is open: while this unit is active it keeps
// a stream to the peer open and feeds it.
func (m *Mirror) send() {
	defer m.wg.Done()
	warned := time.Time{}
	for {
		if m.dp.Standby() {
			if !m.wait(m.cfg.Interval) {
				return
			}
			continue
		}
		c, err := m.dial()
		// Close closes the TCP connection under the TLS one: it does not
		// wait for a write in progress.
		if err == nil && !m.track(c.NetConn(), true) {
			c.Close()
			return
		}
		if err == nil {
			err = m.session(c)
			m.track(c.NetConn(), false)
			c.Close()
			m.connected.Store(false)
		}
		if err != nil {
			m.setErr(err)
			if time.Since(warned) > 10*time.Second {
				m.log.Warn("ha: mirroring to the peer", "peer", m.cfg.Peer.String(), "err", err)
				warned = time.Now()
			}
		}
		if !m.wait(200 * time.Millisecond) {
			return
		}
	}
}

// errNoTrust: no device is trusted yet, so there is nobody to stream to.
var errNoTrust = errors.New("no device in the trust domain yet (modify cm trust-domain Root ca-devices add …): not streaming")

// dial opens the stream to the peer: TCP, then TLS with this unit's
// certificate, the peer's taken only when it is a trusted device's.
func (m *Mirror) dial() (*tls.Conn, error) {
	if !m.trust.Trusted() {
		return nil, errNoTrust
	}
	ctx, cancel := context.WithTimeout(m.ctx, handshakeTimeout)
	defer cancel()
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: time.Second}, Config: trust.ClientConfig(m.trust.Certificate(), func(raw []byte) error {
		if _, ok := m.trust.TrustedDevice(raw); !ok {
			return fmt.Errorf("the peer at %s presented certificate %s, which is no trusted device's", m.cfg.Peer, trust.Fingerprint(raw))
		}
		return nil
	})}
	c, err := d.DialContext(ctx, "tcp", m.cfg.Peer.String())
	if err != nil {
		return nil, fmt.Errorf("mirroring to %s: %w", m.cfg.Peer, err)
	}
	return c.(*tls.Conn), nil
}

// sender is one stream's state.
type sender struct {
	m       *Mirror
	c       net.Conn
	w       *bufio.Writer
	enc     encoder
	names   map[string]uint16
	flows   []dataplane.MirrorFlow
	removed []dataplane.FlowKey
	pers    []pools.PersistEntry
}

func (s *sender) write(b []byte) error {
	_ = s.c.SetWriteDeadline(time.Now().Add(2 * time.Second))
	_, err := s.w.Write(b)
	s.m.bytesSent.Add(uint64(len(b)))
	return err
}

func (s *sender) sendFlows() error {
	for fs := s.flows; len(fs) > 0; {
		b, n := s.enc.flows(fs, s.names)
		if err := s.write(b); err != nil {
			return err
		}
		s.m.flowsSent.Add(uint64(n))
		fs = fs[n:]
	}
	for ks := s.removed; len(ks) > 0; {
		b, n := s.enc.removed(ks)
		if err := s.write(b); err != nil {
			return err
		}
		s.m.removedSent.Add(uint64(n))
		ks = ks[n:]
	}
	s.flows, s.removed = s.flows[:0], s.removed[:0]
	return nil
}

func (s *sender) sendPersist() error {
	s.pers = s.m.dp.MirrorPersist(s.pers[:0])
	for rs := s.pers; len(rs) > 0; {
		b, n := s.enc.persist(rs)
		if err := s.write(b); err != nil {
			return err
		}
		s.m.persSnt.Add(uint64(n))
		rs = rs[n:]
	}
	return nil
}

func (s *sender) flush() error {
	_ = s.c.SetWriteDeadline(time.Now().Add(2 * time.Second))
	return s.w.Flush()
}

// session feeds one stream: hello, every mirrored flow and persistence
// record, then each interval what changed, part of the table again
// (Refresh), and the persistence records (PersistEvery); when the unit
// turns standby it sends what changed last and ends.
func (m *Mirror) session(c net.Conn) error {
	s := &sender{m: m, c: c, w: bufio.NewWriterSize(c, 256<<10), names: map[string]uint16{}}
	// What was queued before this stream (a standby's installs and
	// removals) is not news: the full pass below sends the table as it is.
	s.flows, s.removed = m.dp.MirrorDrain(nil, nil)
	s.flows, s.removed = s.flows[:0], s.removed[:0]
	if err := s.write(s.enc.hello(&Hello{Unit: m.cfg.Unit, Ports: m.dp.PortNames()})); err != nil {
		return err
	}
	if err := s.flush(); err != nil {
		return err
	}
	// The peer accepts the stream with one byte once it has checked this
	// unit's certificate and hello (TLS 1.3 completes the client's side of
	// the handshake before the server has checked the client's
	// certificate): a refusal is told here, with the peer's reason.
	_ = c.SetReadDeadline(time.Now().Add(handshakeTimeout))
	var ack [1]byte
	if _, err := io.ReadFull(c, ack[:]); err != nil {
		return fmt.Errorf("mirroring to %s: the peer did not accept the stream: %w", m.cfg.Peer, err)
	}
	if ack[0] != streamAccepted {
		return fmt.Errorf("mirroring to %s: the peer answered %#x, not the stream's acceptance", m.cfg.Peer, ack[0])
	}
	m.sessions.Add(1)
	m.connected.Store(true)
	m.mu.Lock()
	m.lastErr = "" // streaming: what kept it from streaming is over
	m.mu.Unlock()
	for i := range dataplane.FlowShards {
		s.flows = m.dp.MirrorScan(i, s.flows)
		if len(s.flows) >= maxBatch/2 {
			if err := s.sendFlows(); err != nil {
				return err
			}
		}
	}
	if err := s.sendFlows(); err != nil {
		return err
	}
	if err := s.sendPersist(); err != nil {
		return err
	}
	if err := s.flush(); err != nil {
		return err
	}
	// Refresh: the table in Refresh/Interval steps, at least one shard a
	// step.
	steps := max(1, int(m.cfg.Refresh/m.cfg.Interval))
	perStep := max(1, (dataplane.FlowShards+steps-1)/steps)
	next, lastPersist := 0, time.Now()
	tick := time.NewTicker(m.cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
			return nil
		case <-tick.C:
		}
		standby := m.dp.Standby()
		s.flows, s.removed = m.dp.MirrorDrain(s.flows, s.removed)
		if !standby {
			for range perStep {
				s.flows = m.dp.MirrorScan(next, s.flows)
				next = (next + 1) % dataplane.FlowShards
			}
		}
		if err := s.sendFlows(); err != nil {
			return err
		}
		if standby || time.Since(lastPersist) >= m.cfg.PersistEvery {
			lastPersist = time.Now()
			if err := s.sendPersist(); err != nil {
				return err
			}
		}
		if err := s.flush(); err != nil {
			return err
		}
		if standby {
			return nil // the peer is taking over: it has what this unit had
		}
	}
}

// --- the standby side ----------------------------------------------------

func (m *Mirror) accept() {
	defer m.wg.Done()
	for {
		c, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.stop:
				return
			default:
			}
			m.setErr(err)
			if !m.wait(100 * time.Millisecond) {
				return
			}
			continue
		}
		select {
		case m.pending <- struct{}{}:
		default:
			m.refuse(c.RemoteAddr(), fmt.Errorf("more than %d streams at once", maxPending))
			c.Close()
			continue
		}
		if !m.track(c, true) {
			c.Close()
			return
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			defer func() { <-m.pending }()
			defer m.track(c, false)
			defer c.Close()
			tc, device, err := m.handshake(c)
			if err != nil {
				m.refuse(c.RemoteAddr(), err)
				return
			}
			// receive ends only on an error; the peer closing its
			// stream (io.EOF), Close or a newer stream (net.ErrClosed) is
			// none.
			if err := m.receive(tc, c, device); !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				switch {
				case errors.Is(err, errUntrusted):
					m.refuse(c.RemoteAddr(), err)
				case errors.Is(err, ErrMalformed):
					m.setErr(err)
					m.decodeErrs.Add(1)
					m.log.Warn("ha: mirroring stream from the peer", "peer", c.RemoteAddr().String(), "err", err)
				default:
					m.setErr(err)
				}
			}
		}()
	}
}

// errUntrusted: the stream is not a trusted device's.
var errUntrusted = errors.New("not a trusted device")

// handshake is the receiving side's TLS handshake: the peer must present
// a trusted device's certificate; it returns that device's name.
func (m *Mirror) handshake(c net.Conn) (*tls.Conn, string, error) {
	var device string
	tc := tls.Server(c, trust.ServerConfig(m.trust.Certificate(), func(raw []byte) error {
		name, ok := m.trust.TrustedDevice(raw)
		if !ok {
			return fmt.Errorf("%w: certificate %s", errUntrusted, trust.Fingerprint(raw))
		}
		device = name
		return nil
	}))
	ctx, cancel := context.WithTimeout(m.ctx, handshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, "", fmt.Errorf("TLS handshake: %w", err)
	}
	return tc, device, nil
}

// refuse counts and reports a stream refused for want of trust, logging
// at most one every 10 s.
func (m *Mirror) refuse(from net.Addr, err error) {
	m.unauth.Add(1)
	err = fmt.Errorf("refused a stream from %s: %w", from, err)
	m.mu.Lock()
	m.lastErr = err.Error()
	warn := time.Since(m.warnedAt) > 10*time.Second
	if warn {
		m.warnedAt = time.Now()
	}
	m.mu.Unlock()
	if warn {
		m.log.Warn("ha: mirroring", "err", err)
	}
}

// receive installs one stream's records while this unit is standby, until
// the stream ends; it returns why. device is the trusted device the TLS
// handshake authenticated: the hello must name it. raw is the connection
// under c: an accepted stream closes the one received before it (one
// peer streams at a time, and a stream whose peer vanished without a
// word, a crashed host, must not hold its place for ever).
func (m *Mirror) receive(c, raw net.Conn, device string) error {
	r := bufio.NewReaderSize(c, 256<<10)
	var buf []byte
	typ, p, buf, err := readMessage(r, buf)
	if err != nil {
		return err
	}
	if typ != msgHello {
		return malformed("first message of type %d, want hello", typ)
	}
	h, err := decodeHello(p)
	if err != nil {
		return err
	}
	if h.Unit != device {
		return fmt.Errorf("%w: the hello names unit %q, the certificate is device %s's", errUntrusted, h.Unit, device)
	}
	_ = c.SetWriteDeadline(time.Now().Add(handshakeTimeout))
	if _, err := c.Write([]byte{streamAccepted}); err != nil {
		return err
	}
	m.mu.Lock()
	old := m.current
	m.current = raw
	m.mu.Unlock()
	if old != nil {
		old.Close()
	}
	defer func() {
		m.mu.Lock()
		if m.current == raw {
			m.current = nil
		}
		m.mu.Unlock()
	}()
	m.mu.Lock()
	m.peerUnit = h.Unit
	m.mu.Unlock()
	// The peer's port indices to this unit's, by name.
	own := map[string]int{}
	for i, n := range m.dp.PortNames() {
		own[n] = i
	}
	egress := make([]int, len(h.Ports))
	for i, n := range h.Ports {
		egress[i] = -1
		if j, ok := own[n]; ok {
			egress[i] = j
		} else {
			m.log.Warn("ha: mirroring: the peer's port is not here; its flows are refused", "peer", h.Unit, "port", n)
		}
	}
	var flows []dataplane.MirrorFlow
	var keys []dataplane.FlowKey
	var pers []pools.PersistEntry
	for {
		typ, p, buf, err = readMessage(r, buf)
		if err != nil {
			return err
		}
		active := !m.dp.Standby()
		switch typ {
		case msgFlows:
			if flows, err = decodeFlows(p, flows[:0]); err != nil {
				return err
			}
			m.flowsRecv.Add(uint64(len(flows)))
			if active {
				m.ignored.Add(uint64(len(flows)))
				continue
			}
			res := m.dp.MirrorInstall(flows, egress)
			m.installed.Add(uint64(res.Installed))
			m.noVirt.Add(uint64(res.NoVirtual))
			m.refused.Add(uint64(res.Refused))
		case msgRemoved:
			if keys, err = decodeRemoved(p, keys[:0]); err != nil {
				return err
			}
			if active {
				m.ignored.Add(uint64(len(keys)))
				continue
			}
			m.removedRecv.Add(uint64(m.dp.MirrorRemove(keys)))
		case msgPersist:
			if pers, err = decodePersist(p, pers[:0]); err != nil {
				return err
			}
			if active {
				m.ignored.Add(uint64(len(pers)))
				continue
			}
			m.persRecv.Add(uint64(m.dp.MirrorPersistInstall(pers)))
		default:
			return malformed("message type %d", typ)
		}
	}
}
