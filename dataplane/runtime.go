package dataplane

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	"lbx/dataplane/program"
	"lbx/internal/prealloc"

	"lbx/pools"
)

// Runtime state. A Program is immutable; what changes while it runs lives
// here, kept by identity so that an install does not reset it:
//
//   - a virtual's VirtualStats, by virtual name;
//   - a member's MemberStats and Health, by pool and member name, in one
//     map (memberLive: one lookup per member of a pool an install builds);
//   - a node's NodeStats, by node address;
//   - a node's OperState (the operator's runtime disable), by node name,
//     kept while the node is installed or disabled;
//   - a pool's runtime pools.Pool (rotation position, Maglev table,
//     slow-ramp counters, sampled weights), by pool name, kept while the
//     pool's spec stays Equal and rebuilt when it changes;
//   - a member's slow-ramp start (EnabledAt), carried from the running pool
//     into a rebuilt one, or set to the install's time when the change
//     re-enables the member.
//
// Each install builds a programRT beside the Program — slices in step with
// Program.Virtuals, so the data path indexes instead of looking names up —
// and publishes it atomically with the program; the data path loads it once
// per batch.

// Runtime keeps the dataplane's live state beside the Programs it runs. The
// Engine has one; it also works on its own, without ports (the control
// plane's tests use it so). Its methods are safe for concurrent use.
type Runtime struct {
	persist *pools.PersistTable // for virtuals whose Persist has no Table; may be nil
	// onHealth watches every Health the runtime makes (the engine's
	// service-down watcher); nil for none.
	onHealth func(w *pools.HealthWatch, from, to pools.HealthState)

	mu     sync.Mutex // serializes installs; guards the maps
	vstats map[string]*VirtualStats
	mlive  map[memberKey]memberLive
	nstats map[netip.Addr]*pools.NodeStats
	noper  map[string]*pools.OperState

	cur atomic.Pointer[programRT]
}

// memberLive is a member's live state. Every entry has its Health; stats
// is nil while the member is not installed (a monitored member's Health
// outlives its pool's install, and the monitors may make it first).
type memberLive struct {
	stats  *pools.MemberStats
	health *pools.Health
}

// programRT is one installed Program with its runtime state. It is
// immutable once published (what it points to is atomic or, for a
// pools.Pool, safe for concurrent use).
type programRT struct {
	prog  *Program
	virts []virtualRT // in step with prog.Virtuals
	pools []poolRT    // every pool a virtual uses, once, in order of first use
	// virtIdx and poolIdx index virts and pools by name, so that status
	// and metrics read one object of 10,000 without a scan.
	virtIdx, poolIdx map[string]int
}

// virtualRT is a virtual's runtime state.
type virtualRT struct {
	stats   *VirtualStats
	pool    *pools.Pool    // nil: no pool
	persist *pools.Persist // the spec's, with the runtime's table when it has none; nil: none
	snats   []uint32       // the spec's SNATPool in host order; nil: none
}

// poolRT is a pool's spec and the runtime pool built from it.
type poolRT struct {
	spec *pools.PoolConfig
	pool *pools.Pool
}

// NewRuntime returns an empty runtime. persist is the persistence table for
// virtuals whose compiled persistence names none; nil leaves them without.
func NewRuntime(persist *pools.PersistTable) *Runtime {
	return &Runtime{
		persist: persist,
		vstats:  make(map[string]*VirtualStats),
		mlive:   make(map[memberKey]memberLive),
		nstats:  make(map[netip.Addr]*pools.NodeStats),
		noper:   make(map[string]*pools.OperState),
	}
}

// Install builds p's runtime state from the previous install's and makes p
// the current program. now is the monotonic time (ns, the clock of
// pools.Request.Now) a member re-enabled by this change starts its slow
// ramp at. It does not write into p.
func (r *Runtime) Install(p *Program, now int64) error { return r.install(p, now, nil) }

// install is Install with commit, which the engine uses to publish the new
// state to its data path; an error from commit aborts the install.
func (r *Runtime) install(p *Program, now int64, commit func(*programRT) error) error {
	if p == nil {
		return errors.New("dataplane: install: nil program")
	}
	if !p.Finalized() {
		return fmt.Errorf("dataplane: install: program generation %d: not finalized", p.Generation)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rt, err := r.buildLocked(p, now)
	if err != nil {
		return fmt.Errorf("dataplane: install: program generation %d: %w", p.Generation, err)
	}
	if commit != nil {
		if err := commit(rt); err != nil {
			return err
		}
	}
	r.cur.Store(rt)
	r.pruneLocked(rt)
	return nil
}

// buildLocked builds p's runtime state. A pool whose spec is Equal to the
// current program's pool of that name is kept as it is.
func (r *Runtime) buildLocked(p *Program, now int64) (*programRT, error) {
	var prev map[string]*poolRT
	if cur := r.cur.Load(); cur != nil {
		prev = make(map[string]*poolRT, len(cur.pools))
		for i := range cur.pools {
			prev[cur.pools[i].spec.Name] = &cur.pools[i]
		}
	}
	rt := &programRT{prog: p, virts: make([]virtualRT, len(p.Virtuals)), virtIdx: make(map[string]int, len(p.Virtuals))}
	byName := make(map[string]*pools.Pool, len(p.Virtuals))
	members := 0
	for _, v := range p.Virtuals {
		if v.Pool != nil {
			members += len(v.Pool.Members) // pools shared by virtuals count more than once: an upper bound
		}
	}
	r.vstats = prealloc.Grown(r.vstats, len(p.Virtuals))
	r.mlive = prealloc.Grown(r.mlive, members)
	r.nstats = prealloc.Grown(r.nstats, members)
	r.noper = prealloc.Grown(r.noper, members)
	for i, v := range p.Virtuals {
		vr := &rt.virts[i]
		if _, dup := rt.virtIdx[v.Name]; !dup {
			rt.virtIdx[v.Name] = i // the first of a name, as a scan finds it
		}
		if vr.stats = r.vstats[v.Name]; vr.stats == nil {
			vr.stats = &VirtualStats{Name: v.Name}
			r.vstats[v.Name] = vr.stats
		}
		for _, a := range v.SNATPool {
			vr.snats = append(vr.snats, program.U32(a))
		}
		if v.Persist != nil {
			ps := *v.Persist
			if ps.Table == nil {
				ps.Table = r.persist
			}
			vr.persist = &ps
		}
		if v.L7 != nil {
			for _, spec := range v.L7.Pools {
				if _, err := r.buildPoolLocked(rt, byName, spec, prev, now); err != nil {
					return nil, fmt.Errorf("virtual %s: policies: %w", v.Name, err)
				}
			}
		}
		if v.Pool == nil {
			continue
		}
		pool, err := r.buildPoolLocked(rt, byName, v.Pool, prev, now)
		if err != nil {
			return nil, fmt.Errorf("virtual %s: %w", v.Name, err)
		}
		vr.pool = pool
	}
	rt.poolIdx = make(map[string]int, len(rt.pools))
	for i := range rt.pools {
		rt.poolIdx[rt.pools[i].spec.Name] = i
	}
	return rt, nil
}

// buildPoolLocked returns the runtime pool of spec in rt, building it
// (from prev's when unchanged) the first time a program names it.
func (r *Runtime) buildPoolLocked(rt *programRT, byName map[string]*pools.Pool, spec *pools.PoolConfig, prev map[string]*poolRT, now int64) (*pools.Pool, error) {
	if p := byName[spec.Name]; p != nil {
		return p, nil
	}
	pr, err := r.poolLocked(spec, prev[spec.Name], now)
	if err != nil {
		return nil, err
	}
	rt.pools = append(rt.pools, pr)
	byName[spec.Name] = pr.pool
	return pr.pool, nil
}

// poolLocked returns the runtime pool for spec: prev's when its spec is
// Equal, else a new one with the members' live state attached.
func (r *Runtime) poolLocked(spec *pools.PoolConfig, prev *poolRT, now int64) (poolRT, error) {
	if prev != nil && prev.spec.Equal(spec) {
		return poolRT{spec: spec, pool: prev.pool}, nil
	}
	cfg := *spec
	cfg.Members = slices.Clone(spec.Members)
	// A new member's state comes from one allocation per kind for the
	// pool (about half as many nodes as members, in the usual pool).
	var fresh struct {
		stats  []pools.MemberStats
		health []watchedHealth
		nodes  []pools.NodeStats
		oper   []pools.OperState
	}
	var was map[string]*pools.Member
	if prev != nil {
		was = make(map[string]*pools.Member, len(prev.pool.Members))
		for i := range prev.pool.Members {
			was[prev.pool.Members[i].Name] = &prev.pool.Members[i]
		}
	}
	for i := range cfg.Members {
		m, left := &cfg.Members[i], len(cfg.Members)-i
		k := memberKey{spec.Name, m.Name}
		l := r.mlive[k]
		if l.stats == nil {
			l.stats = prealloc.Take(&fresh.stats, left)
			l.health = r.newHealthLocked(k, l.health, &fresh.health, left)
			r.mlive[k] = l
		}
		m.Stats, m.Health = l.stats, l.health
		// A node's members usually follow each other: they share its state
		// without a second lookup.
		if i > 0 && cfg.Members[i-1].Addr == m.Addr {
			m.NodeStats = cfg.Members[i-1].NodeStats
		} else if m.NodeStats = r.nstats[m.Addr]; m.NodeStats == nil {
			m.NodeStats = prealloc.Take(&fresh.nodes, (left+1)/2)
			r.nstats[m.Addr] = m.NodeStats
		}
		if i > 0 && m.Node != "" && cfg.Members[i-1].Node == m.Node {
			m.Oper = cfg.Members[i-1].Oper
		} else if m.Node != "" { // a node's members share its disable
			m.Oper = r.operLocked(m.Node, &fresh.oper, (left+1)/2)
		}
		m.EnabledAt = pools.RampStart(was[m.Name], m, now)
	}
	p, err := pools.NewPoolOwned(cfg)
	if err != nil {
		return poolRT{}, err
	}
	return poolRT{spec: spec, pool: p}, nil
}

// pruneLocked forgets the live state of virtuals, members and nodes rt no
// longer has. Every live key is in the maps (buildLocked put those of
// rebuilt pools there, and a kept pool's were there already), so a map no
// larger than rt's count of them has nothing to forget and is not walked:
// a push that only adds costs no pass over what was installed before.
func (r *Runtime) pruneLocked(rt *programRT) {
	if len(r.vstats) > len(rt.prog.Virtuals) {
		virtuals := make(map[string]bool, len(rt.prog.Virtuals))
		for _, v := range rt.prog.Virtuals {
			virtuals[v.Name] = true
		}
		for name := range r.vstats {
			if !virtuals[name] {
				delete(r.vstats, name)
			}
		}
	}
	n := 0
	for _, pr := range rt.pools {
		n += len(pr.pool.Members)
	}
	// A monitored member keeps its Health while its pool is not installed
	// (no virtual uses it), so its verdict is there when one does; the
	// monitor glue sets Unchecked when it stops checking a member.
	if len(r.mlive) > n {
		members := make(map[memberKey]bool, n)
		for _, pr := range rt.pools {
			for _, m := range pr.pool.Members {
				members[memberKey{pr.spec.Name, m.Name}] = true
			}
		}
		for k, l := range r.mlive {
			switch {
			case members[k]:
			case l.health.State() == pools.HealthUnchecked:
				delete(r.mlive, k)
			case l.stats != nil:
				r.mlive[k] = memberLive{health: l.health}
			}
		}
	}
	// Nodes are shared between pools: their count is not known without
	// the sets, which are sized for the most there can be.
	nodes := make(map[netip.Addr]struct{}, min(n, len(r.nstats)))
	nodeNames := make(map[string]struct{}, min(n, len(r.noper)))
	for _, pr := range rt.pools {
		for i, m := range pr.pool.Members {
			if i > 0 && pr.pool.Members[i-1].Addr == m.Addr && pr.pool.Members[i-1].Node == m.Node {
				continue // its node's member just before put them there
			}
			nodes[m.Addr] = struct{}{}
			nodeNames[m.Node] = struct{}{}
		}
	}
	// An operator's disable outlives an apply that uninstalls the node's
	// pools, as the switch keeps it until it is enabled or restarted.
	if len(r.noper) > len(nodeNames) {
		for name, o := range r.noper {
			if _, ok := nodeNames[name]; !ok && !o.Disabled() {
				delete(r.noper, name)
			}
		}
	}
	if len(r.nstats) > len(nodes) {
		for a := range r.nstats {
			if _, ok := nodes[a]; !ok {
				delete(r.nstats, a)
			}
		}
	}
}

// Program returns the current program, nil before the first install.
func (r *Runtime) Program() *Program {
	if rt := r.cur.Load(); rt != nil {
		return rt.prog
	}
	return nil
}

// VirtualPersist returns the named virtual's runtime persistence (the
// compiled spec with the runtime's table), nil for none.
func (r *Runtime) VirtualPersist(name string) *pools.Persist {
	rt := r.cur.Load()
	if rt == nil {
		return nil
	}
	for i, v := range rt.prog.Virtuals {
		if v.Name == name {
			return rt.virts[i].persist
		}
	}
	return nil
}

// VirtualStats returns the counters of the installed virtual server name,
// nil when the current program has no such virtual.
func (r *Runtime) VirtualStats(name string) *VirtualStats {
	rt := r.cur.Load()
	if rt == nil {
		return nil
	}
	if i, ok := rt.virtIdx[name]; ok {
		return rt.virts[i].stats
	}
	return nil
}

// Pool returns the pool name as the current program runs it — its members
// with their Health, Stats, NodeStats and EnabledAt attached — or nil when
// no installed virtual uses it. The data path selects from the same Pool
// concurrently: callers read it (Available, Reason, ActiveGroups, member
// counters) and select from it only as the data path would.
func (r *Runtime) Pool(name string) *pools.Pool {
	rt := r.cur.Load()
	if rt == nil {
		return nil
	}
	if i, ok := rt.poolIdx[name]; ok {
		return rt.pools[i].pool
	}
	return nil
}

// Member returns member of pool as the current program runs it (see Pool),
// nil when it is not installed. The Member must not be written.
func (r *Runtime) Member(pool, member string) *pools.Member {
	p := r.Pool(pool)
	if p == nil {
		return nil
	}
	for i := range p.Members {
		if p.Members[i].Name == member {
			return &p.Members[i]
		}
	}
	return nil
}

// MemberHealth returns the Health of a pool member by identity, creating it
// (unchecked) when the member is not installed yet, so that the monitor
// engine and the dataplane share one value across installs.
func (r *Runtime) MemberHealth(pool, member string) *pools.Health {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := memberKey{pool, member}
	l := r.mlive[k]
	if l.health == nil {
		l.health = r.newHealthLocked(k, nil, new([]watchedHealth), 1)
		r.mlive[k] = l
	}
	return l.health
}

// watchedHealth is a Health made by the runtime, with its watch.
type watchedHealth struct {
	h pools.Health
	w pools.HealthWatch
}

// newHealthLocked returns h, or when it is nil a new Health for k from
// free (see prealloc.Take) with the runtime's watch.
func (r *Runtime) newHealthLocked(k memberKey, h *pools.Health, free *[]watchedHealth, n int) *pools.Health {
	if h != nil {
		return h
	}
	wh := prealloc.Take(free, n)
	if r.onHealth != nil {
		wh.w = pools.HealthWatch{Changed: r.onHealth, Pool: k.pool, Member: k.member}
		wh.h.SetWatch(&wh.w)
	}
	return &wh.h
}

// memberStats returns a member's counters, nil when it is not installed.
func (r *Runtime) memberStats(k memberKey) *pools.MemberStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mlive[k].stats
}

// operLocked returns node's OperState, making it from free (see prealloc.Take)
// when it has none.
func (r *Runtime) operLocked(node string, free *[]pools.OperState, n int) *pools.OperState {
	o := r.noper[node]
	if o == nil {
		o = prealloc.Take(free, n)
		r.noper[node] = o
	}
	return o
}

// SetOperDisabled disables (true) or enables (false) node at runtime, in
// every pool, without a configuration change: the data path sends its
// members no new load-balanced connections while it is disabled (see
// pools.OperState). It takes effect at once, installed or not yet, and
// lasts until enabled again or the runtime ends.
func (r *Runtime) SetOperDisabled(node string, disabled bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.operLocked(node, new([]pools.OperState), 1).SetDisabled(disabled)
}

// OperDisabled reports whether the operator disabled node at runtime.
func (r *Runtime) OperDisabled(node string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.noper[node].Disabled()
}
