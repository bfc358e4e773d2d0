package pools

import (
	"sync/atomic"
	"time"
)

// Persist is a virtual server's persistence for Pick: which table, which
// mode and key, and for how long. The dataplane keeps one per virtual (from
// the compiled profile) and, for hash mode, sets Key per connection. A nil
// *Persist means no persistence.
type Persist struct {
	Table   *PersistTable
	Mode    PersistMode // PersistSourceAddr or PersistHash
	Profile uint64      // NameHash(profile name)
	// Scope is NameHash(virtual name), or 0 when the profile has
	// match-across-virtuals or match-across-services, so that virtuals
	// sharing the profile share records.
	Scope   uint64
	Virtual string // virtual name, stored in records for show

	MaskBits  int    // source-address mask for IPv4 clients, as a prefix length; 0 = /32
	MaskBits6 int    // the same for IPv6 clients; 0 = /128
	Key       uint64 // hash mode: the key hash of this connection

	// MatchNode honours a record for any member of the pool on the
	// record's node address, whatever its port and whichever pool made the
	// record: BIG-IP's match-across-services and match-across-virtuals send
	// a client to the same node, e.g. from an http pool on :80 to an https
	// pool on :443. Without it a record must name this pool and member.
	MatchNode bool

	// Timeout is how long an unused record lives (BIG-IP source-address
	// default 180 s); 0 means indefinite.
	Timeout time.Duration
	// OverrideConnLimit lets persisted clients past connection limits
	// (BIG-IP override-connection-limit).
	OverrideConnLimit bool
}

// key returns the persistence key for r, or false when there is none (a
// source-address request without a client address).
func (ps *Persist) key(r *Request) (PersistKey, bool) {
	switch ps.Mode {
	case PersistSourceAddr:
		if !r.Client.IsValid() {
			return PersistKey{}, false
		}
		bits := ps.MaskBits
		if !r.Client.Unmap().Is4() {
			bits = ps.MaskBits6
		}
		return SourceAddrKey(ps.Profile, ps.Scope, r.Client, bits), true
	case PersistHash:
		return HashKey(ps.Profile, ps.Scope, ps.Key), true
	}
	return PersistKey{}, false
}

// Pick is the dataplane's entry point for a new connection: persistence,
// then load balancing. A persistence record that points at a member of this
// pool (same pool name, address and port; with ps.MatchNode, any member of
// this pool on the record's node address) is honoured — and refreshed —
// while that member is not forced offline and its monitor is not down or
// still checking, even when it is user-disabled, monitor-disabled or
// outside the active priority groups; connection limits still apply unless
// ps.OverrideConnLimit. Otherwise the member is chosen by Select and the
// choice recorded, replacing the old record (also one that pointed at
// another pool). ps == nil (or without Table) is Select.
//
// Pick does not allocate in steady state (see Select) and is safe for
// concurrent use.
func (p *Pool) Pick(r *Request, ps *Persist, s *Scratch) (*Member, bool) {
	if p == nil {
		return nil, false
	}
	if r == nil {
		r = &zeroRequest
	}
	if ps == nil || ps.Table == nil {
		return p.Select(r, s)
	}
	key, ok := ps.key(r)
	if !ok {
		return p.Select(r, s)
	}
	if rec, ok := ps.Table.Lookup(key, r.Now); ok {
		if i := p.persisted(&rec, ps); i >= 0 {
			return &p.Members[i], true
		}
	}
	i := p.selectIndex(r, s)
	if i < 0 {
		return nil, false
	}
	m := &p.Members[i]
	rec := PersistRecord{Pool: p.Name, Member: m.Name, Addr: m.Addr.Unmap(), Port: m.Port, Virtual: ps.Virtual}
	ps.Table.record(key, rec, p.sessionCounter(i, ps.Table), r.Now, ps.Timeout)
	return m, true
}

// sessionCounter returns member i's record counter in t.
func (p *Pool) sessionCounter(i int, t *PersistTable) *atomic.Int64 {
	if p.sessions == t && p.sess != nil {
		return p.sess[i]
	}
	m := &p.Members[i]
	return t.counter(p.Name, m.Addr, m.Port)
}

// persisted returns the index of the usable member rec sends the client
// to: the member it names in this pool, or with ps.MatchNode the first
// usable member on its node; -1 for none.
func (p *Pool) persisted(rec *PersistRecord, ps *Persist) int {
	same := rec.Pool == p.Name
	if !same && !ps.MatchNode {
		return -1
	}
	for i := range p.Members {
		m := &p.Members[i]
		if m.Addr.Unmap() != rec.Addr || same && m.Port != rec.Port {
			continue
		}
		if p.persistUsable(i, ps.OverrideConnLimit) {
			return i
		}
		if same {
			return -1
		}
	}
	return -1
}
