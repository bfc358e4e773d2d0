package appliance

import (
	"errors"
	"log/slog"
	"net/netip"
	"sync"

	"lbx/dataplane"
	"lbx/dataplane/localstack"
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
}

func newL7Virtuals(eng *dataplane.Engine, ls *localstack.Stack, log *slog.Logger) *l7Virtuals {
	return &l7Virtuals{eng: eng, ls: ls, log: log, byName: map[string]*l7Virtual{}}
}

// proxyConfig is an installed HTTP virtual as its proxy runs it.
func (l *l7Virtuals) proxyConfig(v *dataplane.Virtual) *proxy.Config {
	s := v.L7
	cfg := &proxy.Config{
		Virtual: v.Name, Port: v.Port,
		HTTP: proxy.HTTP{
			InsertXFF: s.InsertXFF, HeaderInsert: s.HeaderInsert, HeaderErase: s.HeaderErase,
			RedirectRewrite: s.RedirectRewrite, ServerAgent: s.ServerAgent,
			MaxHeaderSize: s.MaxHeaderSize, MaxRequests: s.MaxRequests,
		},
		Persist: l.eng.VirtualPersist(v.Name),
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
		cfg.Cookie = &proxy.Cookie{Name: ck.Name, Expire: ck.Expire, Passive: ck.Passive}
	}
	return cfg
}

// sync makes the running proxies those of p's HTTP virtuals; it runs after
// p is installed. A listener that cannot be opened is an error (the
// virtual's other state is installed; the next install retries).
func (l *l7Virtuals) sync(p *dataplane.Program) error {
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
		cfg := l.proxyConfig(v)
		if r := l.byName[name]; r != nil {
			r.proxy.SetConfig(cfg)
			continue
		}
		dest := netip.AddrPortFrom(v.Addr, v.Port)
		ln, err := l.ls.ListenTCP(dest)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		px := proxy.New(cfg, proxy.Options{Backend: l.eng, Dial: l.ls.DialTCP, Now: l.eng.Mono, Logger: l.log})
		l.byName[name] = &l7Virtual{dest: dest, proxy: px}
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
