package pools

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultSlowRamp is BIG-IP's default slow-ramp-time (10 s). PoolConfig's
// zero SlowRamp turns slow ramp off, so the control plane applies this
// default explicitly.
const DefaultSlowRamp = 10 * time.Second

// DefaultMaglevTableSize is the Maglev lookup-table size used when
// PoolConfig.MaglevTableSize is 0: the prime 65537 from the Maglev paper.
const DefaultMaglevTableSize = 65537

// Member is one pool member: its configuration (copied into the Pool by
// NewPool) and its runtime attachments — EnabledAt and pointers to the live
// state kept by identity across applies (Health, Stats, NodeStats, Oper). A
// Member holds no atomics itself, so configurations copy it freely. In a
// compiled configuration (the dataplane's Program) the runtime attachments
// are zero: the dataplane fills them in on its own copy when it builds the
// Pool.
type Member struct {
	Name string     // tmsh member name, e.g. "/Common/198.18.2.11:80"
	Node string     // node name, e.g. "/Common/198.18.2.11"
	Addr netip.Addr // member (node) address
	Port uint16     // service port; 0 means "same as the virtual's port"

	Ratio         uint32 // member ratio; 0 counts as 1
	NodeRatio     uint32 // node ratio (ratio-node and friends); 0 counts as 1
	Priority      uint32 // priority-group; higher is preferred
	ConnLimit     uint32 // member connection-limit; 0 = none
	NodeConnLimit uint32 // node connection-limit; 0 = none

	// Disabled is session user-disabled on the member or its node: no new
	// load-balanced connections, but persisted clients still come.
	Disabled bool
	// ForcedOffline is state user-down on the member or its node: no new
	// connections at all, persisted or not.
	ForcedOffline bool
	// Oper is the operator's runtime disable of the node (not config);
	// shared by the node's members in every pool; nil = enabled.
	Oper *OperState
	// EnabledAt is when (monotonic ns, the clock of Request.Now) the
	// configuration last made the member available again after it was
	// disabled or forced offline; 0 for never. Slow ramp starts then too.
	EnabledAt int64

	Health    *Health      // monitor verdict; nil = no monitor (unchecked, available)
	Stats     *MemberStats // live counters; nil reads as zero
	NodeStats *NodeStats   // node's live counters shared across pools; nil = use Stats
}

// PoolConfig is what NewPool builds a Pool from: the pool's compiled spec.
// Once in a Program it is never written; Equal tells whether an apply
// changed it.
type PoolConfig struct {
	Name    string
	Method  Method
	Members []Member

	// MinActiveMembers turns on priority-group activation when > 0 (tmsh
	// min-active-members); see Pool.ActiveGroups.
	MinActiveMembers uint32
	// SlowRamp is the slow-ramp-time; 0 turns slow ramp off (the control
	// plane applies DefaultSlowRamp). See Pool.RampShare.
	SlowRamp time.Duration
	// MaglevTableSize is the Maglev lookup-table size, a prime larger than
	// the member count; 0 means DefaultMaglevTableSize. Only maglev uses it.
	MaglevTableSize uint32
	// Sessions is the persistence table whose per-member record counts
	// least-sessions and ratio-session read; nil makes both fall back to
	// connection counts.
	Sessions *PersistTable
}

// Request is what selection knows about a new connection.
type Request struct {
	Client     netip.Addr
	ClientPort uint16
	Now        int64 // monotonic ns, the clock Health.Set uses
}

// Scratch is per-goroutine working memory for Select and Pick, owned and
// reused by the caller (one per port worker) so that selection does not
// allocate once it has grown to the largest pool. Its zero value is ready.
// A Scratch must not be used by two goroutines at once.
type Scratch struct {
	idx   []int32  // candidate member indexes, in member order
	w     []uint32 // weights of the candidates (rotation methods)
	avail []uint64 // bitmask: available for new connections
	ok    []uint64 // bitmask: state allows new connections, limits ignored
	gcnt  []int32  // available members per priority group
	req   Request  // a copy of the request, so callers' Requests do not escape
}

// selector is one load-balancing method; each lives in its own file.
type selector interface {
	// pick chooses among c, the indexes (in member order, never empty) of
	// the members available for a new load-balanced connection in the
	// active priority groups, and returns a member index, or -1.
	pick(p *Pool, c []int32, r *Request, s *Scratch) int
}

// Pool is the runtime form of one pool: built by NewPool (a Pool literal
// selects nothing) when a configuration adds or changes the pool, then read
// concurrently by the dataplane, across applies that leave its PoolConfig
// Equal. Members is fixed after build.
type Pool struct {
	Name    string
	Members []Member

	method    Method
	minActive uint32
	slowRamp  int64 // ns; 0 = off
	sel       selector
	sessions  *PersistTable

	// groups are the distinct priorities, highest first; grp[i] is member
	// i's index into groups.
	groups []uint32
	grp    []int32

	allLimits     bool // every member has ConnLimit (weighted-least-connections-member)
	allNodeLimits bool // every member has NodeConnLimit (weighted-least-connections-node)

	cursor atomic.Uint64 // rotation position and tie-break offset
	st     []memberState
	// sess are the members' persistence record counts, when sessions !=
	// nil; each is fetched from sessions at its first use (sessionCounter),
	// not when the pool is built: an apply of 100,000 members would look
	// up and make 100,000 counters that only persistence and the
	// least-sessions methods read.
	sess []atomic.Pointer[atomic.Int64]

	tickMu sync.Mutex // serializes Tick; guards memberState.prev
}

// memberState is per-member selection state that lives as long as the Pool.
type memberState struct {
	ramp   atomic.Uint64 // slow-ramp acceptance counter
	weight atomic.Uint32 // observed/predictive weight; 0 = not sampled yet
	prev   int64         // previous Tick sample; guarded by Pool.tickMu
	score  int64         // last Tick score; guarded by Pool.tickMu
	primed bool          // prev is valid; guarded by Pool.tickMu
}

// Errors NewPool wraps.
var (
	ErrNoMethod        = errors.New("no such load-balancing method")
	ErrMaglevTableSize = errors.New("maglev table size must be a prime larger than the member count and at most 16777213")
	ErrDuplicateMember = errors.New("duplicate member")
	ErrTooManyMembers  = errors.New("too many members")
)

// maxMembers bounds a pool's size so member indexes fit Maglev's uint16
// table entries.
const maxMembers = 65535

// Validate checks cfg as NewPool does, without building anything: the
// control plane's compile calls it, and the dataplane builds the Pool later.
// Errors name the pool and field.
func (cfg *PoolConfig) Validate() error {
	errf := func(field string, err error) error {
		return fmt.Errorf("pool %s: %s: %w", cfg.Name, field, err)
	}
	if cfg.Method >= numMethods {
		return errf("load-balancing-mode", fmt.Errorf("%w: %d", ErrNoMethod, cfg.Method))
	}
	if len(cfg.Members) > maxMembers {
		return errf("members", fmt.Errorf("%w: %d > %d", ErrTooManyMembers, len(cfg.Members), maxMembers))
	}
	if cfg.SlowRamp < 0 {
		return errf("slow-ramp-time", fmt.Errorf("must be >= 0, got %v", cfg.SlowRamp))
	}
	for _, m := range cfg.Members {
		if !m.Addr.IsValid() {
			return errf("members "+m.Name, errors.New("address is not set"))
		}
	}
	if i, j := duplicateMember(cfg.Members); i >= 0 {
		return errf("members "+cfg.Members[i].Name, fmt.Errorf("%w: same address and port as %s", ErrDuplicateMember, cfg.Members[j].Name))
	}
	if cfg.Method == MethodMaglev {
		if size := cfg.maglevSize(); size > maxMaglevTableSize || int(size) <= len(cfg.Members) || !isPrime(size) {
			return errf("maglev-table-size", fmt.Errorf("%w: %d", ErrMaglevTableSize, size))
		}
	}
	return nil
}

// duplicateMember returns the first member i with the address and port of
// an earlier one j, or -1, -1. A small pool is compared pairwise, which
// allocates nothing (an apply validates every pool it builds: 10,000
// pools of ten made 10,000 maps); a large one through a map.
func duplicateMember(ms []Member) (i, j int) {
	if len(ms) <= 32 {
		for i := range ms {
			for j := range i {
				if ms[i].Addr == ms[j].Addr && ms[i].Port == ms[j].Port {
					return i, j
				}
			}
		}
		return -1, -1
	}
	type ident struct {
		a netip.Addr
		p uint16
	}
	seen := make(map[ident]int, len(ms))
	for i, m := range ms {
		k := ident{m.Addr, m.Port}
		if j, dup := seen[k]; dup {
			return i, j
		}
		seen[k] = i
	}
	return -1, -1
}

func (cfg *PoolConfig) maglevSize() uint32 {
	if cfg.MaglevTableSize == 0 {
		return DefaultMaglevTableSize
	}
	return cfg.MaglevTableSize
}

// Equal reports whether two configurations build the same pool: same name,
// method, settings, persistence table and members (all their fields, in
// order). The dataplane keeps a pool's selection state (rotation position,
// Maglev table, slow-ramp counters) across an apply when its configuration
// is Equal to the running one.
func (cfg *PoolConfig) Equal(o *PoolConfig) bool {
	if cfg == nil || o == nil {
		return cfg == o
	}
	return cfg.Name == o.Name && cfg.Method == o.Method &&
		cfg.MinActiveMembers == o.MinActiveMembers && cfg.SlowRamp == o.SlowRamp &&
		cfg.maglevSize() == o.maglevSize() && cfg.Sessions == o.Sessions &&
		slices.Equal(cfg.Members, o.Members)
}

// NewPool validates cfg (see Validate) and builds the pool with everything
// its method precomputes (priority groups, Maglev table). The members'
// runtime fields (EnabledAt, Health, Stats, NodeStats, Oper) are used as given.
func NewPool(cfg PoolConfig) (*Pool, error) {
	cfg.Members = slices.Clone(cfg.Members)
	return NewPoolOwned(cfg)
}

// NewPoolOwned is NewPool taking cfg.Members as the pool's own, without
// a copy: the caller built them for this pool (the dataplane, with their
// live state attached) and neither reads nor writes them after.
func NewPoolOwned(cfg PoolConfig) (*Pool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Pool{
		Name:      cfg.Name,
		Members:   cfg.Members,
		method:    cfg.Method,
		minActive: cfg.MinActiveMembers,
		slowRamp:  int64(cfg.SlowRamp),
		sessions:  cfg.Sessions,
		st:        make([]memberState, len(cfg.Members)),
	}
	if p.Members == nil {
		p.Members = []Member{}
	}
	p.buildGroups()
	p.allLimits, p.allNodeLimits = len(p.Members) > 0, len(p.Members) > 0
	for _, m := range p.Members {
		p.allLimits = p.allLimits && m.ConnLimit > 0
		p.allNodeLimits = p.allNodeLimits && m.NodeConnLimit > 0
	}
	if cfg.Sessions != nil {
		p.sess = make([]atomic.Pointer[atomic.Int64], len(p.Members))
	}
	sel, err := newSelector(p, cfg)
	if err != nil {
		return nil, fmt.Errorf("pool %s: %s: %w", cfg.Name, err.field, err.err)
	}
	p.sel = sel
	return p, nil
}

type fieldError struct {
	field string
	err   error
}

func newSelector(p *Pool, cfg PoolConfig) (selector, *fieldError) {
	switch cfg.Method {
	case MethodRoundRobin:
		return roundRobin{}, nil
	case MethodRatioMember:
		return ratio{node: false}, nil
	case MethodRatioNode:
		return ratio{node: true}, nil
	case MethodLeastConnectionsMember:
		return leastConns{node: false}, nil
	case MethodLeastConnectionsNode:
		return leastConns{node: true}, nil
	case MethodWeightedLeastConnectionsMember:
		return weightedLeastConns{node: false}, nil
	case MethodWeightedLeastConnectionsNode:
		return weightedLeastConns{node: true}, nil
	case MethodRatioLeastConnectionsMember:
		return ratioLeastConns{node: false}, nil
	case MethodRatioLeastConnectionsNode:
		return ratioLeastConns{node: true}, nil
	case MethodObservedMember, MethodObservedNode, MethodPredictiveMember, MethodPredictiveNode:
		return sampledRatio{}, nil
	case MethodFastestNode:
		return fastest{node: true}, nil
	case MethodFastestAppResponse:
		return fastest{node: false}, nil
	case MethodDynamicRatioMember:
		return dynamicRatio{node: false}, nil
	case MethodDynamicRatioNode:
		return dynamicRatio{node: true}, nil
	case MethodLeastSessions:
		return leastSessions{ratio: false}, nil
	case MethodRatioSession:
		return leastSessions{ratio: true}, nil
	case MethodSourceAddressHash:
		return newSourceHash(p, false), nil
	case MethodSourceAddressPortHash:
		return newSourceHash(p, true), nil
	case MethodAlteonMinMisses:
		return newMinMisses(p), nil
	case MethodAlteonHash:
		return alteonHash{}, nil
	case MethodMaglev:
		return newMaglev(p, cfg.maglevSize()), nil
	}
	return nil, &fieldError{"load-balancing-mode", ErrNoMethod}
}

// Method returns the pool's load-balancing method.
func (p *Pool) Method() Method { return p.method }

// MinActiveMembers returns the pool's min-active-members (0 = priority-group
// activation off).
func (p *Pool) MinActiveMembers() uint32 { return p.minActive }

// MemberAt returns the member at addr serving port (a member of port 0
// serves any; anyPort matches on the address alone, as for a DSR flow,
// which keeps the virtual's port), or nil when the pool (nil: none) has
// no such member.
func (p *Pool) MemberAt(addr netip.Addr, port uint16, anyPort bool) *Member {
	if p == nil {
		return nil
	}
	for i := range p.Members {
		mb := &p.Members[i]
		if mb.Addr.Unmap() == addr && (anyPort || mb.Port == port || mb.Port == 0) {
			return mb
		}
	}
	return nil
}

// Select picks a member for a new load-balanced connection, by the pool's
// method among the members that are available (see Available) in the active
// priority groups (see ActiveGroups), with slow ramp applied (see
// RampShare). ok is false when no member is available.
//
// Select does not allocate once s has grown to the pool's size (a nil s
// allocates every call), takes no lock except when a maglev pool's member
// set changed, and is safe for concurrent use. Its cost is linear in the
// number of members.
func (p *Pool) Select(r *Request, s *Scratch) (m *Member, ok bool) {
	i := p.selectIndex(r, s)
	if i < 0 {
		return nil, false
	}
	return &p.Members[i], true
}

var zeroRequest Request

func (p *Pool) selectIndex(r *Request, s *Scratch) int {
	if p == nil || len(p.Members) == 0 || p.sel == nil {
		return -1
	}
	if r == nil {
		r = &zeroRequest
	}
	if s == nil {
		s = new(Scratch)
	}
	c := p.candidates(r.Now, s)
	if len(c) == 0 {
		return -1
	}
	s.req = *r
	return p.sel.pick(p, c, &s.req, s)
}

// conns returns member i's current connection count (0 without Stats).
func (p *Pool) conns(i int) int64 {
	if s := p.Members[i].Stats; s != nil {
		return max(s.CurConns.Load(), 0)
	}
	return 0
}

// nodeConns returns the current connection count of member i's node across
// all pools, or the member's own count when it has no NodeStats.
func (p *Pool) nodeConns(i int) int64 {
	if s := p.Members[i].NodeStats; s != nil {
		return max(s.CurConns.Load(), 0)
	}
	return p.conns(i)
}

// ratioOf returns member i's ratio (NodeRatio when node is set), 0 read as 1.
func (p *Pool) ratioOf(i int, node bool) uint32 {
	r := p.Members[i].Ratio
	if node {
		r = p.Members[i].NodeRatio
	}
	return max(r, 1)
}

// Tick samples the connection counts observed-* and predictive-* rank
// members by. The dataplane calls it about once a second for every pool (it
// is a cheap no-op for other methods). It takes a mutex, may be called
// concurrently with Select, and does not allocate.
func (p *Pool) Tick(now int64) {
	if p == nil || !p.method.sampled() {
		return
	}
	p.tickMu.Lock()
	defer p.tickMu.Unlock()
	p.sampleLocked(now)
}

func growInt32(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}

func growUint32(s []uint32, n int) []uint32 {
	if cap(s) < n {
		return make([]uint32, n)
	}
	return s[:n]
}

// growBits returns a zeroed bitmask of n bits.
func growBits(s []uint64, n int) []uint64 {
	w := (n + 63) / 64
	if cap(s) < w {
		return make([]uint64, w)
	}
	s = s[:w]
	clear(s)
	return s
}

func bit(b []uint64, i int) bool { return b[i>>6]&(1<<(uint(i)&63)) != 0 }
func setBit(b []uint64, i int)   { b[i>>6] |= 1 << (uint(i) & 63) }
