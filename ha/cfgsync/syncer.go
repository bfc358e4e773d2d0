package cfgsync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"lbx/ha/trust"
	"lbx/internal/atomicfile"
)

// Local is the unit's configuration as config sync sees it (the
// appliance's store).
type Local interface {
	// Version changes with every apply of the configuration.
	Version() uint64
	// Shared is the shared part of the running configuration, as text.
	Shared() (string, error)
	// ApplyShared replaces the shared part of the running configuration
	// with text, keeping the device-local part, all or nothing; the error
	// says why it was refused. It returns the shared part of what it
	// applied as Shared would have returned it then (a change committed
	// right after is then still told apart).
	ApplyShared(text string) (applied string, err error)
	// Authenticate checks a user that may add devices to the trust domain
	// (an administrator) and its password.
	Authenticate(user, password string) error
}

// Config configures a Syncer.
type Config struct {
	Device   string        // this unit's name (cm device)
	Listen   string        // the config-sync address, ADDR:PORT (port 0: any)
	StateDir string        // identity, trust and generations; empty: kept nowhere
	Poll     time.Duration // how often peers are asked (catch-up, auto-sync); 0: 1s
	Timeout  time.Duration // bounds one exchange; 0: 10s
	Logger   *slog.Logger
}

// maxConns bounds the connections served at once: a group has at most
// seven peers, each with one exchange at a time each way.
const maxConns = 32

// DefaultPort is the config-sync port when an address names none (BIG-IP's
// CMI port).
const DefaultPort = "4353"

// Syncer is one unit's config sync.
type Syncer struct {
	cfg   Config
	local Local
	cert  tls.Certificate
	log   *slog.Logger
	ln    net.Listener

	opMu sync.Mutex // serializes this unit's own operations: poll, to-group, from-group, status

	mu      sync.Mutex // guards the fields below
	peers   map[string]*Peer
	groups  map[string]*Group
	deleted map[string]Gen // group → the revision deleted here: an older definition is not taken back
	cur     Gen
	base    map[string]Gen // peer → the last generation both held
	maxSeen uint64
	version uint64         // Local's version at the last refresh
	known   bool           // version is set
	refused map[string]Gen // peer → generation it refused (not pushed again automatically)

	prompt  atomic.Value           // string: the last computed status, for the prompt (read without mu)
	trusted atomic.Pointer[[]Peer] // the trust store as TrustedDevice reads it (without mu): publishLocked

	nudge chan struct{} // Nudge: poll now
	conns chan struct{} // one token per connection served (at most maxConns)
	stop  chan struct{}
	wg    sync.WaitGroup
}

// New loads the unit's identity and state (making them at the first
// start) and listens on the config-sync address. Nothing is served before
// Start.
func New(cfg Config, local Local) (*Syncer, error) {
	if err := checkName(cfg.Device); err != nil {
		return nil, fmt.Errorf("config sync: device name %q: %w", cfg.Device, err)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Syncer{cfg: cfg, local: local, log: cfg.Logger, peers: map[string]*Peer{}, groups: map[string]*Group{}, deleted: map[string]Gen{},
		base: map[string]Gen{}, refused: map[string]Gen{}, nudge: make(chan struct{}, 1), conns: make(chan struct{}, maxConns), stop: make(chan struct{})}
	var err error
	if s.cert, err = trust.Identity(cfg.StateDir, cfg.Device); err != nil {
		return nil, fmt.Errorf("config sync: %w", err)
	}
	if err := s.load(); err != nil {
		return nil, err
	}
	s.publishLocked()
	s.prompt.Store(Standalone)
	if s.myGroupLocked() != nil {
		s.prompt.Store(AwaitingInitial)
	}
	listen, err := withPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("config sync: address %q: %w", cfg.Listen, err)
	}
	if s.ln, err = net.Listen("tcp", listen); err != nil {
		return nil, fmt.Errorf("config sync: %w", err)
	}
	return s, nil
}

// withPort adds DefaultPort to an address without one.
func withPort(addr string) (string, error) {
	if addr == "" {
		return "", errors.New("empty")
	}
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr, nil
	}
	if strings.Count(addr, ":") > 1 && !strings.HasPrefix(addr, "[") {
		return net.JoinHostPort(addr, DefaultPort), nil
	}
	if strings.Contains(addr, ":") {
		return "", errors.New("want ADDR or ADDR:PORT")
	}
	return net.JoinHostPort(addr, DefaultPort), nil
}

// Start serves peers and starts the poll loop.
func (s *Syncer) Start() {
	s.wg.Add(2)
	go s.acceptLoop()
	go s.pollLoop()
}

// Close stops serving and polling and waits for every goroutine.
func (s *Syncer) Close() error {
	select {
	case <-s.stop:
		return nil
	default:
	}
	close(s.stop)
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

// Device is this unit's name.
func (s *Syncer) Device() string { return s.cfg.Device }

// Addr is the address the unit serves config sync on.
func (s *Syncer) Addr() string { return s.ln.Addr().String() }

// Fingerprint is the SHA-256 fingerprint of this unit's certificate.
func (s *Syncer) Fingerprint() string { return Fingerprint(s.cert.Certificate[0]) }

// Fingerprint is a certificate's SHA-256 fingerprint, as BIG-IP shows
// one: colon-separated upper-case hex.
func Fingerprint(der []byte) string { return trust.Fingerprint(der) }

// Certificate is this unit's device certificate, which connection
// mirroring presents too (package ha/mirror).
func (s *Syncer) Certificate() tls.Certificate { return s.cert }

// TrustedDevice names the device of the trust domain whose certificate is
// cert (DER); false when none is. It reads a copy of the trust store, so
// it never waits for an exchange (an apply holds the store's lock).
func (s *Syncer) TrustedDevice(cert []byte) (string, bool) {
	for _, p := range *s.trusted.Load() {
		if bytes.Equal(p.Cert, cert) {
			return p.Name, true
		}
	}
	return "", false
}

// Trusted reports whether the trust domain holds another device.
func (s *Syncer) Trusted() bool { return len(*s.trusted.Load()) > 0 }

// publishLocked refreshes the copy of the trust store TrustedDevice reads.
func (s *Syncer) publishLocked() {
	ps := make([]Peer, 0, len(s.peers))
	for _, p := range s.peers {
		ps = append(ps, *p)
	}
	s.trusted.Store(&ps)
}

// Peers are the trusted devices, by name.
func (s *Syncer) Peers() []Peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Peer, 0, len(s.peers))
	for _, p := range s.peers {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Groups are the device groups, by name.
func (s *Syncer) Groups() []Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Group, 0, len(s.groups))
	for _, g := range s.groups {
		c := *g
		c.Devices = slices.Clone(g.Devices)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// PutGroup creates or replaces a device group. This unit must be a member
// and every other member a trusted device; a unit is in one device group
// at most. The definition reaches the other members with the poll it
// starts.
func (s *Syncer) PutGroup(g Group) error {
	g.Devices = slices.Clone(g.Devices)
	if err := g.Check(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !g.Has(s.cfg.Device) {
		return fmt.Errorf("cm device-group %s: devices: must include this device, %s", g.Name, s.cfg.Device)
	}
	for _, d := range g.Devices {
		if d != s.cfg.Device && s.peers[d] == nil {
			return fmt.Errorf("cm device-group %s: devices: %s is not in the trust domain (modify cm trust-domain Root ca-devices add { ADDRESS } name %s username USER password PASSWORD)", g.Name, d, d)
		}
	}
	for _, o := range s.groups {
		if o.Name != g.Name && o.Has(s.cfg.Device) {
			return fmt.Errorf("cm device-group %s: this device is already in device group %s (one group per device)", g.Name, o.Name)
		}
	}
	rev := Gen{Seq: s.maxSeen + 1, Origin: s.cfg.Device}
	if old := s.groups[g.Name]; old != nil && old.Rev.Seq >= rev.Seq {
		rev.Seq = old.Rev.Seq + 1
	}
	g.Rev = rev
	s.seeLocked(rev)
	s.groups[g.Name] = &g
	delete(s.deleted, g.Name)
	if s.PromptStatus() == Standalone {
		s.prompt.Store(AwaitingInitial)
	}
	s.Nudge() // the members take the definition at once
	return s.persistLocked()
}

// DeleteGroup removes a device group from this unit; the other members
// keep theirs (delete it on each), and this unit does not take that
// definition back from them.
func (s *Syncer) DeleteGroup(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups[name] == nil {
		return fmt.Errorf("cm device-group %s: no such device group", name)
	}
	s.deleted[name] = s.groups[name].Rev
	delete(s.groups, name)
	if s.myGroupLocked() == nil {
		s.prompt.Store(Standalone)
	}
	return s.persistLocked()
}

// Untrust removes a device from the trust domain; a device group that
// still names it is refused.
func (s *Syncer) Untrust(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.peers[name] == nil {
		return fmt.Errorf("cm trust-domain Root: ca-devices: %s: not in the trust domain", name)
	}
	for _, g := range s.groups {
		if g.Has(name) {
			return fmt.Errorf("cm trust-domain Root: ca-devices: %s is a member of device group %s (remove it there first)", name, g.Name)
		}
	}
	delete(s.peers, name)
	delete(s.base, name)
	return s.persistLocked()
}

// myGroupLocked is the device group this unit is in; nil for none.
func (s *Syncer) myGroupLocked() *Group {
	for _, g := range s.groups {
		if g.Has(s.cfg.Device) {
			return g
		}
	}
	return nil
}

func (s *Syncer) seeLocked(g Gen) {
	if g.Seq > s.maxSeen {
		s.maxSeen = g.Seq
	}
}

// refreshLocked makes a new generation when the shared configuration
// changed on this unit since the last one.
func (s *Syncer) refreshLocked() error {
	v := s.local.Version()
	if s.known && v == s.version {
		return nil
	}
	text, err := s.local.Shared()
	if err != nil {
		return fmt.Errorf("config sync: shared configuration: %w", err)
	}
	s.version, s.known = v, true
	d := digest(text)
	if d == s.cur.Digest {
		return nil
	}
	s.cur = Gen{Seq: max(s.cur.Seq, s.maxSeen) + 1, Origin: s.cfg.Device, Digest: d}
	s.seeLocked(s.cur)
	s.log.Info("config sync: shared configuration changed on this device", "generation", s.cur.String())
	return s.persistLocked()
}

// tookLocked records that this unit now holds generation g, applied here
// as applied: its digest, so that it is not taken for a change of this
// unit's own, while a change committed since is (the next refresh reads
// the configuration again).
func (s *Syncer) tookLocked(g Gen, applied string) {
	s.cur = g.wire()
	s.cur.Digest = digest(applied)
	s.seeLocked(g)
	s.known = false
}

func digest(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

// persisted is cm.json.
type persisted struct {
	Peers      []Peer         `json:"peers"`
	Groups     []Group        `json:"groups"`
	Generation Gen            `json:"generation"`
	Base       map[string]Gen `json:"base"`
	Deleted    map[string]Gen `json:"deleted,omitempty"`
}

func (s *Syncer) statePath() string {
	if s.cfg.StateDir == "" {
		return ""
	}
	return filepath.Join(s.cfg.StateDir, "cm.json")
}

func (s *Syncer) load() error {
	path := s.statePath()
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("config sync: %w", err)
	}
	var p persisted
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("config sync: %s: %w", path, err)
	}
	for i := range p.Peers {
		if err := checkName(p.Peers[i].Name); err != nil {
			return fmt.Errorf("config sync: %s: peer %q: %w", path, p.Peers[i].Name, err)
		}
		s.peers[p.Peers[i].Name] = &p.Peers[i]
	}
	for i := range p.Groups {
		if err := p.Groups[i].Check(); err != nil {
			return fmt.Errorf("config sync: %s: %w", path, err)
		}
		s.groups[p.Groups[i].Name] = &p.Groups[i]
		s.seeLocked(p.Groups[i].Rev)
	}
	s.cur = p.Generation
	s.seeLocked(s.cur)
	for k, v := range p.Base {
		s.base[k] = v
		s.seeLocked(v)
	}
	for k, v := range p.Deleted {
		s.deleted[k] = v
		s.seeLocked(v)
	}
	return nil
}

// persistLocked saves the state (and publishes the trust store: every
// change of it is saved).
func (s *Syncer) persistLocked() error {
	s.publishLocked()
	path := s.statePath()
	if path == "" {
		return nil
	}
	p := persisted{Generation: s.cur, Base: s.base, Deleted: s.deleted}
	for _, n := range sortedNames(s.peers) {
		p.Peers = append(p.Peers, *s.peers[n])
	}
	for _, n := range sortedNames(s.groups) {
		p.Groups = append(p.Groups, *s.groups[n])
	}
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("config sync: %w", err)
	}
	if err := os.MkdirAll(s.cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("config sync: %w", err)
	}
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return fmt.Errorf("config sync: %s: %w", path, err)
	}
	return nil
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// clientTLS is the TLS configuration towards a peer: this unit's
// certificate, and the peer's accepted only when it is pin (nil: any, for
// the trust step, which reports it in *got).
func (s *Syncer) clientTLS(pin []byte, got *[]byte) *tls.Config {
	return trust.ClientConfig(s.cert, func(raw []byte) error {
		if pin != nil {
			if err := trust.Pinned(pin)(raw); err != nil {
				return err
			}
		}
		if got != nil {
			*got = slices.Clone(raw)
		}
		return nil
	})
}

// RefusedError is a peer's refusal: its reason, as it gave it.
type RefusedError struct {
	Peer, Reason string
}

func (e *RefusedError) Error() string { return e.Peer + " refused: " + e.Reason }

// call sends m to addr and returns the reply; a reply with Error set
// returns a *RefusedError.
func (s *Syncer) call(name, addr string, pin []byte, got *[]byte, m *Message) (*Message, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	d := tls.Dialer{NetDialer: &net.Dialer{}, Config: s.clientTLS(pin, got)}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s (%s): %w", name, addr, err)
	}
	defer c.Close()
	deadline, _ := ctx.Deadline()
	if err := c.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("%s (%s): %w", name, addr, err)
	}
	if err := WriteMessage(c, m); err != nil {
		return nil, fmt.Errorf("%s (%s): %w", name, addr, err)
	}
	r, err := ReadMessage(c)
	if err != nil {
		return nil, fmt.Errorf("%s (%s): %w", name, addr, err)
	}
	if r.Kind != KindReply {
		return nil, fmt.Errorf("%s (%s): answered %q, not a reply", name, addr, r.Kind)
	}
	if r.Error != "" {
		return r, &RefusedError{Peer: name, Reason: r.Error}
	}
	return r, nil
}

// Trust adds the device at addr (ADDR or ADDR:PORT, its config-sync
// address) to the trust domain as name, authenticating on it with user
// and password (one of its administrators): each unit stores the other's
// certificate. It returns the peer's certificate fingerprint.
func (s *Syncer) Trust(addr, name, user, password string) (string, error) {
	if err := checkName(name); err != nil {
		return "", fmt.Errorf("name %q: %w", name, err)
	}
	if name == s.cfg.Device {
		return "", fmt.Errorf("name %s: that is this device", name)
	}
	full, err := withPort(addr)
	if err != nil {
		return "", fmt.Errorf("ca-devices %q: %w", addr, err)
	}
	var cert []byte
	_, err = s.call(name, full, nil, &cert, &Message{Kind: KindTrust, From: s.cfg.Device, Addr: s.Addr(), To: name, User: user, Password: password})
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peers[name] = &Peer{Name: name, Addr: full, Cert: cert}
	s.log.Info("config sync: device added to the trust domain", "device", name, "addr", full, "fingerprint", Fingerprint(cert))
	return Fingerprint(cert), s.persistLocked()
}

// acceptLoop serves peers until Close.
func (s *Syncer) acceptLoop() {
	defer s.wg.Done()
	// Which certificate is accepted depends on the request (any for
	// trust, a trusted device's for the rest): serve checks it.
	srv := trust.ServerConfig(s.cert, nil)
	for {
		c, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.stop:
				return
			default:
			}
			s.log.Warn("config sync: accept", "err", err)
			select {
			case <-s.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		select {
		case s.conns <- struct{}{}:
		default:
			s.log.Warn("config sync: too many connections at once; one refused", "remote", c.RemoteAddr().String(), "max", maxConns)
			c.Close()
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-s.conns }()
			s.serveConn(tls.Server(c, srv))
		}()
	}
}

func (s *Syncer) serveConn(c *tls.Conn) {
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(s.cfg.Timeout)); err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	if err := c.HandshakeContext(ctx); err != nil {
		s.log.Info("config sync: handshake", "remote", c.RemoteAddr().String(), "err", err)
		return
	}
	m, err := ReadMessage(c)
	if err != nil {
		s.log.Info("config sync: bad request", "remote", c.RemoteAddr().String(), "err", err)
		return
	}
	reply := s.serve(m, c.ConnectionState().PeerCertificates[0].Raw)
	reply.Kind, reply.From = KindReply, s.cfg.Device
	if err := WriteMessage(c, reply); err != nil {
		s.log.Info("config sync: reply", "remote", c.RemoteAddr().String(), "err", err)
	}
}

func refuse(format string, a ...any) *Message { return &Message{Error: fmt.Sprintf(format, a...)} }

// serve answers one request from the holder of cert.
func (s *Syncer) serve(m *Message, cert []byte) *Message {
	if m.Kind == KindTrust {
		return s.serveTrust(m, cert)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.peers[m.From]
	if p == nil || !bytes.Equal(p.Cert, cert) {
		return refuse("device %s (certificate %s) is not in the trust domain of %s", m.From, Fingerprint(cert), s.cfg.Device)
	}
	s.seeLocked(m.Gen)
	s.adoptLocked(m.Group, m.From)
	if err := s.refreshLocked(); err != nil {
		return refuse("%v", err)
	}
	g := s.myGroupLocked()
	if g == nil || !g.Has(m.From) {
		return refuse("%s and %s share no device group", s.cfg.Device, m.From)
	}
	switch m.Kind {
	case KindStatus:
		s.commonLocked(m.From, m.Gen, m.Base)
		return &Message{Gen: s.cur.wire(), Base: s.base[m.From].wire(), Group: copyGroup(g)}
	case KindPull:
		text, err := s.local.Shared()
		if err != nil {
			return refuse("%v", err)
		}
		return &Message{Gen: s.cur.wire(), Base: s.base[m.From].wire(), Config: text}
	case KindPush:
		return s.servePushLocked(m)
	}
	return refuse("%q: not a request", m.Kind)
}

func copyGroup(g *Group) *Group {
	c := *g
	c.Devices = slices.Clone(g.Devices)
	return &c
}

func (s *Syncer) servePushLocked(m *Message) *Message {
	if s.cur.Same(m.Gen) {
		s.base[m.From] = m.Gen
		return &Message{Gen: s.cur.wire(), Base: m.Gen, Error: errString(s.persistLocked())}
	}
	// A push that is not forced applies only over the generation the
	// sender takes for the common one: this unit must not have changed
	// since.
	if !m.Force {
		if m.Base.IsZero() {
			return refuse("%s and %s have not synced yet (Awaiting Initial Sync): run cm config-sync to-group on one of them", s.cfg.Device, m.From)
		}
		if !s.cur.Same(m.Base) {
			return refuse("sync conflict: %s holds generation %s, not %s, the last one %s shared with it; choose with run cm config-sync to-group or from-group",
				s.cfg.Device, s.cur, m.Base, m.From)
		}
	}
	applied, err := s.local.ApplyShared(m.Config)
	if err != nil {
		s.log.Warn("config sync: refused a configuration", "from", m.From, "generation", m.Gen.String(), "err", err)
		return refuse("%s kept its configuration: %v", s.cfg.Device, err)
	}
	s.tookLocked(m.Gen, applied)
	s.base[m.From] = m.Gen
	delete(s.refused, m.From)
	s.log.Info("config sync: applied the group's configuration", "from", m.From, "generation", m.Gen.String())
	return &Message{Gen: s.cur.wire(), Base: m.Gen, Error: errString(s.persistLocked())}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// serveTrust adds the caller to the trust domain when it names this
// device and authenticates as one of its administrators.
func (s *Syncer) serveTrust(m *Message, cert []byte) *Message {
	if m.To != s.cfg.Device {
		return refuse("this device is %s, not %s", s.cfg.Device, m.To)
	}
	if m.From == s.cfg.Device {
		return refuse("device %s: that is this device's own name", m.From)
	}
	if _, err := withPort(m.Addr); err != nil {
		return refuse("device %s: config-sync address %q: %v", m.From, m.Addr, err)
	}
	if err := s.local.Authenticate(m.User, m.Password); err != nil {
		s.log.Warn("config sync: trust refused", "device", m.From, "user", m.User, "err", err)
		return refuse("authentication of %q on %s failed", m.User, s.cfg.Device)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peers[m.From] = &Peer{Name: m.From, Addr: m.Addr, Cert: slices.Clone(cert)}
	s.log.Info("config sync: device added to the trust domain", "device", m.From, "addr", m.Addr, "fingerprint", Fingerprint(cert), "by", m.User)
	return &Message{Error: errString(s.persistLocked())}
}

// adoptLocked takes a peer's device-group definition when it is newer
// than this unit's (or new to it) and names this unit; a newer one that
// no longer names this unit removes the group here.
func (s *Syncer) adoptLocked(g *Group, from string) {
	if g == nil || !g.Has(from) {
		return
	}
	old := s.groups[g.Name]
	if old != nil && !g.Rev.Newer(old.Rev) {
		return
	}
	if del, ok := s.deleted[g.Name]; ok && !g.Rev.Newer(del) {
		return // deleted here
	}
	s.seeLocked(g.Rev)
	if !g.Has(s.cfg.Device) {
		if old != nil {
			delete(s.groups, g.Name)
			s.log.Info("config sync: removed from device group", "group", g.Name, "by", from)
			s.persistLogged()
		}
		return
	}
	if mine := s.myGroupLocked(); mine != nil && mine.Name != g.Name {
		s.log.Warn("config sync: ignored a second device group", "group", g.Name, "from", from, "member of", mine.Name)
		return
	}
	for _, d := range g.Devices {
		if d != s.cfg.Device && s.peers[d] == nil {
			s.log.Warn("config sync: device group names a device not in the trust domain", "group", g.Name, "device", d)
		}
	}
	s.groups[g.Name] = copyGroup(g)
	s.log.Info("config sync: device group definition taken", "group", g.Name, "from", from, "revision", g.Rev.String())
	s.persistLogged()
}

// persistLogged is persistLocked where the caller has no one to return
// the error to.
func (s *Syncer) persistLogged() {
	if err := s.persistLocked(); err != nil {
		s.log.Warn("config sync: state not saved", "err", err)
	}
}
