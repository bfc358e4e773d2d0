package appliance

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"

	"lbx/ctrlplane"
	"lbx/ctrlplane/compile"
	"lbx/ctrlplane/config"
	"lbx/ctrlplane/ctlsock"
	"lbx/ctrlplane/health"
	"lbx/ctrlplane/metrics"
	"lbx/ctrlplane/rest"
	"lbx/ctrlplane/sshd"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/store"
	"lbx/ctrlplane/tmsh"
	"lbx/dataplane"
	"lbx/dataplane/localstack"
	"lbx/ha"
	"lbx/ha/cfgsync"
	"lbx/ha/mirror"
	"lbx/internal/clock"
	"lbx/l7/proxy"
	"lbx/monitors"
	"lbx/monitors/netprobe"
)

// Config is what an appliance is built from.
type Config struct {
	// Ports are the data ports. The appliance owns them from New on, also
	// when New fails, and closes them.
	Ports []dataplane.Port
	// SelfIPs are the appliance's own addresses, each on a port.
	SelfIPs []dataplane.SelfIP
	// FlowCapacity sizes the flow table; 0: dataplane.DefaultFlowCapacity.
	FlowCapacity int
	// SavedPath is the saved traffic config (bigip.conf) that New boots
	// and `save sys config` writes; empty: start empty, saving disabled.
	// The keys of sys file ssl-key objects given inline are kept beside
	// it, in SavedPath's directory's filestore/ (tmsh.Codec).
	SavedPath string
	// Fallback boots from SavedPath's backup when the saved file is
	// corrupt, instead of failing.
	Fallback bool
	// Socket, when set, is the control socket New listens on and serves.
	Socket string
	// SSHListen, when set (ADDR:PORT), serves the CLI over SSH there
	// (package sshd) with the host key at SSHHostKey (generated there at
	// the first start; empty: a new key each start).
	SSHListen, SSHHostKey string
	// SSHKeysDir holds the users' public keys for SSH key login
	// (SSHKeysDir/USER, authorized_keys format); empty: passwords only.
	SSHKeysDir string
	// SSHUsersDir keeps each SSH user's shell history and `cli
	// preference` across sessions (SSHUsersDir/USER/…); empty: a
	// session's end with it.
	SSHUsersDir string
	// RESTListen, when set (ADDR:PORT), serves the iControl REST API and
	// /metrics over HTTPS there. RESTCert and RESTKey are PEM files; when
	// empty, a self-signed pair is generated at RESTStateDir/rest.crt and
	// rest.key at the first start and kept (RESTStateDir empty: a new
	// pair each start).
	RESTListen, RESTCert, RESTKey, RESTStateDir string
	// Metrics is served at /metrics on the REST listener to any
	// authenticated user; nil: the appliance's own (MetricsHandler).
	Metrics http.Handler
	// AdminPassword, when set, creates the auth user admin with it at
	// boot if there is none (ctrlplane.EnsureAdmin).
	AdminPassword string
	// AdminPasswordPrompt, when set, is asked for the first admin's
	// password when AdminPassword is empty and the booted configuration
	// has no auth user admin (`lbx run` on a console); "" creates none.
	AdminPasswordPrompt func() (string, error)
	// Power, when set, is what tmsh reboot/shutdown and Alteon
	// /boot/reset, /boot/halt call (the VM appliance's clean stop); nil:
	// they are refused, as on a process appliance.
	Power store.PowerFunc
	// Logger receives every part's logs; nil discards.
	Logger *slog.Logger
	// Clock drives the dataplane's flow and ARP timeouts; nil: the
	// system clock.
	Clock clock.Clock
	// MonitorClock drives the monitors' intervals and timeouts; nil: the
	// system clock. Tests pass a clock.Manual and step it.
	MonitorClock clock.Clock
	// External runs external monitors; nil: monitors.ExternalProber.
	External monitors.Prober
	// HA, when set, makes the appliance one unit of an active/standby
	// pair (package ha): it boots standby and VRRP decides.
	HA *ha.Config
	// HAClock drives VRRP's timers; nil: the system clock.
	HAClock clock.Clock
	// Sync, when set, serves config sync (package ha/cfgsync) on its
	// Listen address: device groups, trust, run cm config-sync. Its
	// Logger is the appliance's when nil.
	Sync *cfgsync.Config
	// Mirror, with HA and Sync, turns connection mirroring on (package
	// ha/mirror), authenticated with config sync's device trust.
	Mirror *mirror.Config
}

// Appliance is one running appliance.
type Appliance struct {
	eng   *dataplane.Engine
	ls    *localstack.Stack
	mon   *health.Monitoring
	store *store.Store
	tmsh  *tmsh.Dialect
	srv   *ctlsock.Server // nil without a control socket
	ssh   *sshd.Server    // nil without SSH
	rest  *rest.Server    // nil without REST
	l7    *l7Virtuals     // the proxies of the HTTP virtuals

	dialects []ctlsock.Dialect // tmsh first, as the control socket serves them
	ha       *ha.Unit          // nil without HA
	sync     *cfgsync.Syncer   // nil without config sync
	mirror   *mirror.Mirror    // nil without connection mirroring

	closeOnce sync.Once
	closeErr  error
}

// New builds the appliance, boots its saved configuration and starts it.
func New(cfg Config) (a *Appliance, err error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	eng, err := dataplane.NewEngine(dataplane.EngineConfig{
		Ports:        cfg.Ports,
		FlowCapacity: cfg.FlowCapacity,
		Clock:        cfg.Clock,
		Logger:       logger,
	})
	if err != nil {
		for _, p := range cfg.Ports {
			if p != nil {
				p.Close()
			}
		}
		return nil, err
	}
	a = &Appliance{eng: eng}
	defer func() {
		if err != nil {
			err = errors.Join(err, a.Close())
			a = nil
		}
	}()
	// The local stack carries the appliance's own traffic (health probes)
	// from its self IPs through the dataplane's ports.
	selfs := make([]netip.Prefix, 0, len(cfg.SelfIPs))
	for _, s := range cfg.SelfIPs {
		selfs = append(selfs, s.Prefix)
	}
	if a.ls, err = localstack.New(eng, selfs, logger); err != nil {
		return a, err
	}
	eng.SetLocalSink(a.ls)
	external := cfg.External
	if external == nil {
		external = &monitors.ExternalProber{}
	}
	a.mon = health.NewMonitoring(monitors.Config{
		Prober: &netprobe.Prober{Stack: a.ls, External: external},
		Clock:  cfg.MonitorClock,
		Logger: logger,
	}, eng, eng.Mono)
	ports := make([]string, 0, len(cfg.Ports))
	for _, p := range cfg.Ports {
		ports = append(ports, p.Name())
	}
	a.l7 = newL7Virtuals(eng, a.ls, logger)
	sdp := &stackedDataplane{Engine: eng, ls: a.ls, l7: a.l7, log: logger}
	a.store = store.New(sdp,
		compile.NetConfig{SelfIPs: cfg.SelfIPs, Ports: ports, Persist: eng.PersistTable()}, tmsh.Codec{Filestore: tmsh.FilestoreFor(cfg.SavedPath)}, cfg.SavedPath, logger)
	a.store.AttachChecker(a.mon)
	if cfg.Power != nil {
		a.store.SetPower(cfg.Power)
	}
	src := status.FromDataplane(eng, a.mon)
	src.HTTP = a.l7
	src.Counters = withStack{eng, a.ls}
	if cfg.HA != nil {
		// Standby (the gate set) before the first frame is read.
		if a.ha, err = ha.New(*cfg.HA, eng, cfg.HAClock, logger); err != nil {
			return a, err
		}
		src.Failover = failover{u: a.ha}
		// The gateway fail-safe reads the pool's members ten times a
		// second, one call at a time: the running config is copied only
		// when it changes.
		var cfgVersion uint64
		var cfg *config.Config
		a.ha.SetPoolUp(func(pool string) (up, total int, ok bool) {
			if v := a.store.Version(); cfg == nil || v != cfgVersion {
				cfg, cfgVersion = a.store.Running(), v
			}
			st, ok := status.New(cfg, src).Pool(pool)
			for _, m := range st.Members {
				if m.Up {
					up++
				}
			}
			return up, len(st.Members), ok
		})
	}
	if cfg.Sync != nil {
		sc := *cfg.Sync
		if sc.Logger == nil {
			sc.Logger = logger
		}
		if a.sync, err = cfgsync.New(sc, syncLocal{st: a.store, save: cfg.SavedPath != "", log: logger}); err != nil {
			return a, err
		}
		sdp.installed = a.sync.Nudge
		src.CM = a.sync
	}
	if cfg.HA != nil && cfg.Mirror != nil {
		// The stream is mutual TLS with config sync's device trust.
		var tr mirror.Trust
		if a.sync != nil {
			tr = a.sync
		}
		if a.mirror, err = mirror.New(*cfg.Mirror, eng, tr, logger); err != nil {
			return a, err
		}
		src.Failover = failover{a.ha, a.mirror, cfg.Mirror}
	}
	a.tmsh = tmsh.New(a.store, src)
	if err := a.store.BootWithFallback(cfg.Fallback); err != nil {
		return a, err
	}
	eng.Start()
	if a.ha != nil {
		a.ha.Start()
	}
	if a.sync != nil {
		a.sync.Start()
	}
	if a.mirror != nil {
		if err := a.mirror.Start(); err != nil {
			return a, err
		}
	}
	password, from := cfg.AdminPassword, "the boot config's admin password"
	if password == "" && cfg.AdminPasswordPrompt != nil && a.store.Running().Users["admin"] == nil {
		if password, err = cfg.AdminPasswordPrompt(); err != nil {
			return a, fmt.Errorf("admin password: %w", err)
		}
		from = "the password typed at the console"
	}
	if created, err := ctrlplane.EnsureAdmin(a.store, password); err != nil {
		return a, err
	} else if created {
		logger.Info("auth user admin created from " + from)
	} else if a.store.Running().Users["admin"] == nil {
		logger.Warn("no auth user admin: SSH and REST logins need one (ssh.admin_password, $LBX_ADMIN_PASSWORD, or create auth user on the control socket)")
	}
	dialects := ctrlplane.Dialects(a.store, src)
	a.dialects = dialects
	if cfg.Socket != "" {
		if a.srv, err = ctlsock.Listen(cfg.Socket, logger, dialects...); err != nil {
			return a, err
		}
		a.srv.Serve()
	}
	if cfg.SSHListen != "" {
		if err := a.serveSSH(cfg, dialects, logger); err != nil {
			return a, err
		}
	}
	if cfg.RESTListen != "" {
		if cfg.Metrics == nil {
			cfg.Metrics = a.MetricsHandler()
		}
		a.rest, err = rest.Listen(rest.Config{
			Listen: cfg.RESTListen, CertFile: cfg.RESTCert, KeyFile: cfg.RESTKey, StateDir: cfg.RESTStateDir,
			Store: a.store, Status: src, Tmsh: a.tmsh, Metrics: cfg.Metrics, Logger: logger,
		})
		if err != nil {
			return a, err
		}
		a.rest.Serve()
		logger.Info("rest serving", "addr", a.rest.Addr().String())
	}
	return a, nil
}

// Engine returns the dataplane engine: counters, flows, neighbours.
func (a *Appliance) Engine() *dataplane.Engine { return a.eng }

// Dialects are the appliance's command dialects, tmsh first: what a
// console login (package console) runs a user's CLI in.
func (a *Appliance) Dialects() []ctlsock.Dialect { return a.dialects }

// User is the auth user name of the running configuration; nil when
// there is none.
func (a *Appliance) User(name string) *config.User { return a.store.Running().Users[name] }

// Store returns the configuration store: Running, Begin, Update.
func (a *Appliance) Store() *store.Store { return a.store }

// Monitoring returns the monitor engine's glue; its Scheduler is the
// monitor engine.
func (a *Appliance) Monitoring() *health.Monitoring { return a.mon }

// Stack returns the local stack.
func (a *Appliance) Stack() *localstack.Stack { return a.ls }

// MetricsHandler returns a handler serving the appliance's metrics in
// Prometheus's text format (package metrics), for the management
// listener's /metrics. Each call builds a new registry; the handler reads
// everything at scrape time.
func (a *Appliance) MetricsHandler() http.Handler {
	src := status.FromDataplane(a.eng, a.mon)
	src.HTTP = a.l7
	src.Counters = withStack{a.eng, a.ls}
	return metrics.Handler(metrics.Sources{
		Config:    a.store,
		Status:    src,
		Dataplane: a.eng,
		Monitors:  a.mon,
	})
}

// RESTAddr is the address the REST API listens on; "" without one.
func (a *Appliance) RESTAddr() string {
	if a.rest == nil {
		return ""
	}
	return a.rest.Addr().String()
}

// HTTPProxy returns the proxy of the installed HTTP virtual name, nil for
// none: its counters and idle server connections.
func (a *Appliance) HTTPProxy(name string) *proxy.Proxy { return a.l7.Proxy(name) }

// withStack is the engine's counters followed by the local stack's
// (local.ack_delay_*), as `show sys dataplane` prints them.
type withStack struct {
	*dataplane.Engine
	ls *localstack.Stack
}

func (w withStack) Counters() []dataplane.Counter {
	return append(w.Engine.Counters(), w.ls.Counters()...)
}

// failover is the HA unit as tmsh's show and run commands see it.
type failover struct {
	u    *ha.Unit
	m    *mirror.Mirror // nil: no mirroring
	mcfg *mirror.Config
}

func (f failover) FailoverStatus() status.FailoverStatus {
	s := f.u.Status()
	st := status.FailoverStatus{Unit: s.Unit, State: string(s.State), Since: s.Since, Changes: s.Changes, VRID: s.VRID,
		Priority: s.Priority, Peer: s.Peer, PeerPriority: s.PeerPriority, Interval: s.Interval, MasterDown: s.MasterDown,
		GARPsSent: s.GARPsSent, Yielding: s.YieldingToPeer, Conditions: s.Conditions,
		AddrMismatches: s.AddrMismatches, LastMismatch: s.LastMismatch, Strangers: s.Strangers,
		Preempt: s.Preempt, PreemptDelay: s.PreemptDelay, Ports: s.Ports, Addrs: s.Addrs,
		FailsafeVLANs: s.Failsafe.VLANs, GatewayPool: s.Failsafe.GatewayPool, GatewayMinUp: s.Failsafe.GatewayMinUp, Watchdog: s.Failsafe.Watchdog}
	if f.m != nil {
		m := f.m.Stats()
		st.Mirroring = &status.MirroringStatus{Addr: f.mcfg.Listen.String(), Peer: f.mcfg.Peer.String(), Connected: m.Connected,
			PeerUnit: m.PeerUnit, FlowsSent: m.FlowsSent, FlowsReceived: m.FlowsRecv, Installed: m.Installed, Refused: m.Refused + m.NoVirtual,
			RemovedSent: m.RemovedSent, RemovedRecv: m.RemovedRecv, PersistSent: m.PersistSent, PersistRecv: m.PersistRecv,
			IgnoredRecv: m.IgnoredRecv, DecodeErrors: m.DecodeErrors, Unauthenticated: m.Unauthenticated, LastError: m.LastError}
	}
	return st
}

func (f failover) FailoverAction(action string) error {
	switch action {
	case "standby":
		f.u.GoStandby()
	case "offline":
		f.u.GoOffline()
	case "online":
		f.u.GoOnline()
	default:
		return fmt.Errorf("%q: want standby, offline or online", action)
	}
	return nil
}

func (f failover) SetVRRP(s status.VRRPSettings) error {
	if s.Priority < 1 || s.Priority > 254 {
		return fmt.Errorf("priority: %d: must be 1..254", s.Priority)
	}
	return f.u.Reconfigure(ha.VRRPSettings{Priority: uint8(s.Priority), Preempt: s.Preempt, PreemptDelay: s.PreemptDelay, Interval: s.Interval})
}

func (f failover) SetTrack(t status.TrackSettings) error {
	return f.u.SetFailsafe(ha.Failsafe{VLANs: t.VLANs, GatewayPool: t.GatewayPool, GatewayMinUp: t.GatewayMinUp, Watchdog: t.Watchdog})
}

// Mirror returns the appliance's connection mirroring; nil without it.
func (a *Appliance) Mirror() *mirror.Mirror { return a.mirror }

// HA returns the appliance's HA unit; nil without HA.
func (a *Appliance) HA() *ha.Unit { return a.ha }

// Exec runs one tmsh command, as the control socket does.
func (a *Appliance) Exec(cmd string) (string, error) { return a.tmsh.Exec(cmd) }

// Push runs a tmsh script as one transaction, as the control socket's push
// does: applied whole or not at all.
func (a *Appliance) Push(script string) (string, error) { return a.tmsh.Push(script) }

// Close stops the appliance: the control socket first, so no command runs
// against a dataplane going away, then the monitors, the local stack and
// the engine with its ports. It waits for every goroutine and returns the
// errors of all the parts; later calls return the same.
func (a *Appliance) Close() error {
	a.closeOnce.Do(func() {
		var errs []error
		if a.rest != nil {
			if err := a.rest.Close(); err != nil {
				errs = append(errs, fmt.Errorf("rest: %w", err))
			}
		}
		if a.ssh != nil {
			if err := a.ssh.Close(); err != nil {
				errs = append(errs, fmt.Errorf("ssh: %w", err))
			}
		}
		if a.srv != nil {
			if err := a.srv.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		if a.sync != nil {
			if err := a.sync.Close(); err != nil {
				errs = append(errs, fmt.Errorf("config sync: %w", err))
			}
		}
		if a.mon != nil {
			if err := a.mon.Close(); err != nil {
				errs = append(errs, fmt.Errorf("monitors: %w", err))
			}
		}
		if a.l7 != nil {
			a.l7.close()
		}
		if a.ha != nil {
			a.ha.Close() // priority 0 while the ports still carry it
		}
		if a.mirror != nil {
			a.mirror.Close() // after the gate is set: the last changes are sent
		}
		a.eng.SetLocalSink(nil)
		if a.ls != nil {
			a.ls.Close()
		}
		if err := a.eng.Close(); err != nil {
			errs = append(errs, fmt.Errorf("dataplane: %w", err))
		}
		a.closeErr = errors.Join(errs...)
	})
	return a.closeErr
}

// stackedDataplane is the engine as the store drives it, with the local
// stack following each program's self IPs, so that health probes leave
// from (and answers reach) the self IPs the dataplane has. An install is
// all or nothing for both.
type stackedDataplane struct {
	*dataplane.Engine
	ls  *localstack.Stack
	l7  *l7Virtuals
	log *slog.Logger
	// installed, when set, is told of every successful install (config
	// sync's Nudge: an automatic sync goes out at once). It must not
	// block: the store is locked.
	installed func()
}

// Install installs p in the local stack (self IPs, and the HTTP virtuals'
// addresses), the engine, and then the HTTP virtuals' proxies.
func (d *stackedDataplane) Install(p *dataplane.Program) error {
	old, oldVIPs := d.ls.Selfs(), d.ls.VIPs()
	selfs := make([]netip.Prefix, 0, len(p.SelfIPs))
	for _, s := range p.SelfIPs {
		selfs = append(selfs, s.Prefix)
	}
	undo := func() {
		if uerr := d.ls.SetSelfs(old); uerr != nil {
			d.log.Error("local stack: self IPs not restored after a failed install", "err", uerr)
		}
		if uerr := d.ls.SetVIPs(oldVIPs); uerr != nil {
			d.log.Error("local stack: virtual addresses not restored after a failed install", "err", uerr)
		}
	}
	tcs, err := loadTLS(p)
	if err != nil {
		return err
	}
	if err := d.ls.SetSelfs(selfs); err != nil {
		return err
	}
	if err := d.ls.SetVIPs(append(p.L7VIPs(), p.L7SNATs()...)); err != nil {
		undo()
		return err
	}
	if err := d.Engine.Install(p); err != nil {
		undo()
		return err
	}
	if err := d.l7.sync(p, tcs); err != nil {
		d.log.Error("http virtuals: listener not opened", "err", err)
	}
	if d.installed != nil {
		d.installed()
	}
	return nil
}

// A dry run (store.Store.Check) validates monitor rules through it.
var _ store.Validator = (*health.Monitoring)(nil)
