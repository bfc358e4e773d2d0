package pools

import (
	"net/netip"
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
	Key       uint64 // hash, universal and cookie-hash modes: the key hash of this connection or request
	// KeyText is the beginning of the key Key hashes, kept in a new
	// record for show (zero: show prints the hash).
	KeyText KeyText

	// Consistent chooses the member of a key without a record by
	// rendezvous hashing of Key over the available members, instead of by
	// the pool's method: the same key goes to the same member on every
	// unit and after a restart (cookie persistence, method hash).
	Consistent bool

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
	case PersistHash, PersistUniversal, PersistCookieHash:
		k := HashKey(ps.Profile, ps.Scope, ps.Key)
		k.Mode = ps.Mode
		return k, true
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
	var i int
	if ps.Consistent {
		i = p.consistentIndex(ps.Key, r.Now, s)
	} else {
		i = p.selectIndex(r, s)
	}
	if i < 0 {
		return nil, false
	}
	m := &p.Members[i]
	rec := PersistRecord{Pool: p.Name, Member: m.Name, Addr: m.Addr.Unmap(), Port: m.Port, Virtual: ps.Virtual}
	if ps.Mode != PersistSourceAddr {
		rec.Key = ps.KeyText
	}
	ps.Table.record(key, rec, p.sessionCounter(i, ps.Table), r.Now, ps.Timeout)
	return m, true
}

// sessionCounter returns member i's record counter in t.
func (p *Pool) sessionCounter(i int, t *PersistTable) *atomic.Int64 {
	if p.sessions == t && p.sess != nil {
		if c := p.sess[i].Load(); c != nil {
			return c
		}
	}
	m := &p.Members[i]
	c := t.counter(p.Name, m.Addr, m.Port)
	if p.sessions == t && p.sess != nil {
		p.sess[i].Store(c) // the table's one counter: a racing Store stores the same
	}
	return c
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

// seedKeyHash separates the member hashes of consistent persistence from
// source-address-hash's.
const seedKeyHash = 0x5afe_c17e_0000_0002

// consistentIndex returns the available member (in the active priority
// groups) with the highest rendezvous score for key k, -1 for none.
func (p *Pool) consistentIndex(k uint64, now int64, s *Scratch) int {
	if p == nil || len(p.Members) == 0 {
		return -1
	}
	if s == nil {
		s = new(Scratch)
	}
	best, bs := -1, uint64(0)
	for _, i := range p.candidates(now, s) {
		m := &p.Members[i]
		if sc := hrwScore(k, hashString(seedKeyHash, memberIdentity(m))); best < 0 || sc > bs {
			best, bs = int(i), sc
		}
	}
	return best
}

// KeyHash is the hash of a persistence key taken from a request (a header
// or cookie value); fold hashes ASCII letters of either case alike (host
// names). It does not allocate.
func KeyHash(s string, fold bool) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if fold && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h ^= uint64(c)
		h *= fnvPrime
	}
	return mix64(h)
}

// Remember records that key hash k (whose key text begins) goes to the
// member of p at addr and port (a member of port 0 matches vport): cookie
// persistence, method hash, when the member sets its cookie. Nothing is
// recorded for an address and port that is no member of p.
func (p *Pool) Remember(ps *Persist, k uint64, text KeyText, addr netip.Addr, port, vport uint16, now int64) {
	if p == nil || ps == nil || ps.Table == nil {
		return
	}
	addr = addr.Unmap()
	for i := range p.Members {
		m := &p.Members[i]
		mp := m.Port
		if mp == 0 {
			mp = vport
		}
		if m.Addr.Unmap() != addr || mp != port {
			continue
		}
		key := HashKey(ps.Profile, ps.Scope, k)
		key.Mode = ps.Mode
		rec := PersistRecord{Pool: p.Name, Member: m.Name, Addr: addr, Port: m.Port, Virtual: ps.Virtual, Key: text}
		ps.Table.record(key, rec, p.sessionCounter(i, ps.Table), now, ps.Timeout)
		return
	}
}
