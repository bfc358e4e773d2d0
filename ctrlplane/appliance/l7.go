package appliance

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"net/textproto"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"lbx/ctrlplane/status"
	"lbx/dataplane"
	"lbx/dataplane/l7spec"
	"lbx/dataplane/localstack"
	"lbx/internal/pemfile"
	"lbx/l7/policy"
	"lbx/l7/proxy"
)

// l7Virtuals runs a proxy (package l7/proxy) for each installed HTTP
// virtual, listening on its VIP and port in the local stack, whose
// server-side connections leave from the self IPs. Each install syncs
// them: a new virtual gets a listener, a changed one its new configuration
// (open connections carry on), a removed one is closed with its
// connections. Other virtuals are not disturbed.
type l7Virtuals struct {
	eng *dataplane.Engine
	ls  *localstack.Stack
	log *slog.Logger

	mu     sync.Mutex
	byName map[string]*l7Virtual
}

type l7Virtual struct {
	dest  netip.AddrPort
	proxy *proxy.Proxy
	// snat are the virtual's SNAT pool addresses (nil: the self IP on the
	// member's network, as automap); the dialler takes them in turn.
	snat atomic.Pointer[[]netip.Addr]
	next atomic.Uint32
}

// dial opens a server-side connection: from the next SNAT pool address,
// else from the self IP on the member's network.
func (r *l7Virtual) dial(ls *localstack.Stack) proxy.Dialer {
	return func(ctx context.Context, dst netip.AddrPort) (net.Conn, error) {
		if as := r.snat.Load(); as != nil && len(*as) > 0 {
			src := (*as)[int(r.next.Add(1)-1)%len(*as)]
			return ls.DialTCPFrom(ctx, src, dst)
		}
		return ls.DialServer(ctx, netip.Addr{}, dst)
	}
}

// setSNAT sets the virtual's SNAT addresses; it reports whether they
// changed.
func (r *l7Virtual) setSNAT(v *dataplane.Virtual) bool {
	var old []netip.Addr
	if p := r.snat.Load(); p != nil {
		old = *p
	}
	if slices.Equal(old, v.SNATPool) {
		return false
	}
	if len(v.SNATPool) == 0 {
		r.snat.Store(nil)
		return true
	}
	as := slices.Clone(v.SNATPool)
	r.snat.Store(&as)
	return true
}

func newL7Virtuals(eng *dataplane.Engine, ls *localstack.Stack, log *slog.Logger) *l7Virtuals {
	return &l7Virtuals{eng: eng, ls: ls, log: log, byName: map[string]*l7Virtual{}}
}

// tlsConfigs are the TLS settings of one HTTP virtual, loaded from its
// profiles' PEM files.
type tlsConfigs struct{ client, server *tls.Config }

// loadTLS loads the certificates and keys of p's HTTP virtuals, before p is
// installed: a file that cannot be read or does not hold a matching
// certificate and key fails the install, naming the virtual, the profile
// and the file; the key's content is never logged or printed.
func loadTLS(p *dataplane.Program) (map[string]tlsConfigs, error) {
	out := map[string]tlsConfigs{}
	for _, v := range p.Virtuals {
		if v.L7 == nil || len(v.L7.ClientTLS) == 0 && v.L7.ServerTLS == nil {
			continue
		}
		var tc tlsConfigs
		if cs := v.L7.ClientTLS; len(cs) > 0 {
			certs := make([]tls.Certificate, len(cs))
			def := 0
			for i, c := range cs {
				pair, err := loadPair(c)
				if err != nil {
					return nil, fmt.Errorf("ltm virtual %s: profiles %s: %w", v.Name, c.Profile, err)
				}
				certs[i] = pair
				if c.Default {
					def = i
				}
			}
			tc.client = &tls.Config{
				MinVersion: tls.VersionTLS12,
				GetCertificate: func(hi *tls.ClientHelloInfo) (*tls.Certificate, error) {
					for i, c := range cs {
						if c.SNI != "" && strings.EqualFold(c.SNI, hi.ServerName) {
							return &certs[i], nil
						}
					}
					return &certs[def], nil
				},
			}
		}
		if s := v.L7.ServerTLS; s != nil {
			// As BIG-IP's serverssl (peer-cert-mode ignore): the member's
			// certificate is not verified.
			tc.server = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}
			if s.Configured() {
				pair, err := loadPair(*s)
				if err != nil {
					return nil, fmt.Errorf("ltm virtual %s: profiles %s: %w", v.Name, s.Profile, err)
				}
				tc.server.Certificates = []tls.Certificate{pair}
			}
		}
		out[v.Name] = tc
	}
	return out, nil
}

// loadPair reads a TLS profile's certificate chain and key, from the PEM
// given inline in the sys file objects or from their files. Its errors
// name the profile's property, the sys file object and where its PEM is
// (content or source path), and never quote the key or its passphrase.
func loadPair(c l7spec.Cert) (tls.Certificate, error) {
	where := func(prop, obj, typ, file, inline string) string {
		switch {
		case obj != "" && inline != "":
			return prop + " " + obj + " (sys file " + typ + " " + obj + " content)"
		case obj != "":
			return prop + " " + obj + " (sys file " + typ + " " + obj + " source-path file:" + file + ")"
		}
		return prop + " " + file
	}
	cw, kw := where("cert", c.CertObj, "ssl-cert", c.CertFile, c.CertPEM), where("key", c.KeyObj, "ssl-key", c.KeyFile, c.KeyPEM)
	read := func(inline, file, what string) ([]byte, error) {
		if inline != "" {
			return []byte(inline), nil
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, pathErr(err))
		}
		return b, nil
	}
	certPEM, err := read(c.CertPEM, c.CertFile, cw)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := read(c.KeyPEM, c.KeyFile, kw)
	if err != nil {
		return tls.Certificate{}, err
	}
	certs, err := pemfile.Certs(certPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: %w", cw, err)
	}
	key, err := pemfile.Key(keyPEM, c.Passphrase)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: %s: %w", kw, pemfile.Field(err), err)
	}
	if err := pemfile.Match(certs[0], key); err != nil {
		return tls.Certificate{}, fmt.Errorf("%s does not match %s: %w", kw, cw, err)
	}
	pair := tls.Certificate{PrivateKey: key, Leaf: certs[0]}
	for _, x := range certs {
		pair.Certificate = append(pair.Certificate, x.Raw)
	}
	return pair, nil
}

// pathErr is a file error without the path, which the message gives.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// proxyConfig is an installed HTTP virtual as its proxy runs it.
func (l *l7Virtuals) proxyConfig(v *dataplane.Virtual, tc tlsConfigs) *proxy.Config {
	s := v.L7
	cfg := &proxy.Config{
		Virtual: v.Name, Port: v.Port,
		HTTP: proxy.HTTP{
			InsertXFF: s.InsertXFF, HeaderInsert: s.HeaderInsert, HeaderErase: s.HeaderErase,
			RedirectRewrite: s.RedirectRewrite, ServerAgent: s.ServerAgent,
			MaxHeaderSize: s.MaxHeaderSize, MaxRequests: s.MaxRequests,
		},
		Persist: l.eng.VirtualPersist(v.Name),
		TLS:     tc.client, ServerTLS: tc.server,
	}
	if v.Pool != nil {
		cfg.Pool = v.Pool.Name
	}
	if vs := l.eng.VirtualStats(v.Name); vs != nil {
		cfg.CurConns, cfg.TotalConns = &vs.CurConns, &vs.TotalConns
	}
	if oc := s.OneConnect; oc != nil {
		cfg.OneConnect = &proxy.OneConnect{SourceMask: oc.SourceMask, MaxReuse: oc.MaxReuse, MaxSize: oc.MaxSize, IdleTimeout: oc.IdleTimeout}
	}
	if ck := s.Cookie; ck != nil {
		cfg.Cookie = &proxy.Cookie{Name: ck.Name, Expire: ck.Expire, Passive: ck.Passive, Rewrite: ck.Rewrite, Hash: ck.Hash, Persist: ck.Persist}
	}
	if u := s.Universal; u != nil {
		cfg.Universal = &proxy.Universal{Header: textproto.CanonicalMIMEHeaderKey(u.Header), Persist: u.Persist}
	}
	if pc, ok := s.Policies.(*policy.Compiled); ok && pc != nil {
		cfg.Router = &policyRouter{virtual: v.Name, port: v.Port, pc: pc, log: l.log}
	}
	return cfg
}

// sync makes the running proxies those of p's HTTP virtuals; it runs after
// p is installed. A listener that cannot be opened is an error (the
// virtual's other state is installed; the next install retries).
func (l *l7Virtuals) sync(p *dataplane.Program, tcs map[string]tlsConfigs) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	want := map[string]*dataplane.Virtual{}
	for _, v := range p.Virtuals {
		if v.L7 != nil {
			want[v.Name] = v
		}
	}
	for name, r := range l.byName {
		if v := want[name]; v == nil || netip.AddrPortFrom(v.Addr, v.Port) != r.dest {
			r.proxy.Close()
			delete(l.byName, name)
		}
	}
	var errs []error
	for name, v := range want {
		cfg := l.proxyConfig(v, tcs[name])
		if r := l.byName[name]; r != nil {
			changed := r.setSNAT(v)
			r.proxy.SetConfig(cfg)
			if changed {
				r.proxy.CloseIdle() // reused connections would keep the old source address
			}
			continue
		}
		dest := netip.AddrPortFrom(v.Addr, v.Port)
		ln, err := l.ls.ListenTCP(dest)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r := &l7Virtual{dest: dest}
		r.setSNAT(v)
		px := proxy.New(cfg, proxy.Options{Backend: l.eng, Dial: r.dial(l.ls), Now: l.eng.Mono, Logger: l.log})
		r.proxy = px
		l.byName[name] = r
		go func() {
			if err := px.Serve(ln); err != nil && !errors.Is(err, proxy.ErrClosed) {
				l.log.Error("http virtual: listener failed", "virtual", name, "err", err)
			}
		}()
	}
	return errors.Join(errs...)
}

// Proxy returns the running proxy of an HTTP virtual, nil for none.
func (l *l7Virtuals) Proxy(name string) *proxy.Proxy {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.byName[name]; r != nil {
		return r.proxy
	}
	return nil
}

// close stops every proxy.
func (l *l7Virtuals) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for name, r := range l.byName {
		r.proxy.Close()
		delete(l.byName, name)
	}
}

// HTTPStats implements status.HTTP: the counters of an HTTP virtual's
// proxy.
func (l *l7Virtuals) HTTPStats(virtual string) (status.HTTPStats, bool) {
	px := l.Proxy(virtual)
	if px == nil {
		return status.HTTPStats{}, false
	}
	c := px.Counters()
	st := status.HTTPStats{
		Requests: c.Requests.Load(), Responses: c.Responses.Load(),
		BadRequests: c.BadRequests.Load(), Timeouts: c.Timeouts.Load(), HeaderTooLarge: c.HeaderTooLarge.Load(),
		BadGateway: c.BadGateway.Load(), NoMember: c.NoMember.Load(), Reselects: c.Reselects.Load(),
		ServerAborts: c.ServerAborts.Load(), ConnectFails: c.ConnectFails.Load(),
		ServerConns: c.ServerConns.Load(), ServerReuses: c.ServerReuses.Load(), IdleServer: px.IdleServerConns(),
		ClientBytesIn: c.ClientBytesIn.Load(), ClientBytesOut: c.ClientBytesOut.Load(),
		ServerBytesIn: c.ServerBytesIn.Load(), ServerBytesOut: c.ServerBytesOut.Load(),
		TLSFails: c.TLSHandshakeFails.Load(), Cookies: c.CookiesInserted.Load(),
		Persisted: c.CookiesHonoured.Load() + c.HeaderPersisted.Load(), Replies: c.Replies.Load(), Resets: c.Resets.Load(),
	}
	for i := range st.ByClass {
		st.ByClass[i] = c.Status[i+1].Load()
	}
	return st, true
}
