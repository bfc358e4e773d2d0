package pools

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// PersistMode is the kind of persistence a record was made by.
type PersistMode uint8

// Persistence modes.
const (
	PersistNone       PersistMode = iota
	PersistSourceAddr             // source-address affinity: the masked client address
	PersistHash                   // hash persistence: a key hash the caller computed
	PersistUniversal              // universal persistence: the hash of a request header's value
	PersistCookieHash             // cookie persistence, method hash: the hash of the member's cookie value
)

func (m PersistMode) String() string {
	switch m {
	case PersistSourceAddr:
		return "source-address"
	case PersistHash:
		return "hash"
	case PersistUniversal:
		return "universal"
	case PersistCookieHash:
		return "cookie"
	}
	return "none"
}

// PersistKey identifies one persistence record. Profile is NameHash of the
// persistence profile; Scope is NameHash of the virtual server (or 0 when
// the profile matches across virtuals and services, so that every virtual
// using the profile shares the record). Build keys with SourceAddrKey or
// HashKey.
type PersistKey struct {
	Mode    PersistMode
	Bits    uint8      // source-address: prefix length Addr is masked to
	Profile uint64     // NameHash(profile name)
	Scope   uint64     // NameHash(virtual name); 0 = match across
	Addr    netip.Addr // source-address: the masked client address
	Hash    uint64     // hash: the key hash
}

// SourceAddrKey returns the source-address persistence key for client,
// masked to bits (the profile's mask as a prefix length; 0 or more than the
// address has means the whole address).
func SourceAddrKey(profile, scope uint64, client netip.Addr, bits int) PersistKey {
	a := client.Unmap()
	if full := a.BitLen(); bits <= 0 || bits > full {
		bits = full
	}
	if pfx, err := a.Prefix(bits); err == nil {
		a = pfx.Addr()
	}
	return PersistKey{Mode: PersistSourceAddr, Bits: uint8(bits), Profile: profile, Scope: scope, Addr: a}
}

// HashKey returns the hash persistence key for key hash h.
func HashKey(profile, scope, h uint64) PersistKey {
	return PersistKey{Mode: PersistHash, Profile: profile, Scope: scope, Hash: h}
}

func (k *PersistKey) hash() uint64 {
	h := mix64(k.Profile ^ uint64(k.Mode)<<56 ^ uint64(k.Bits)<<48)
	h = mix64(h ^ k.Scope)
	h = mix64(h ^ k.Hash)
	if k.Addr.IsValid() {
		h = mix64(h ^ hashAddr(k.Addr, 0, false))
	}
	return h
}

// value is the record's value as show prints it.
func (k *PersistKey) value() string {
	switch k.Mode {
	case PersistSourceAddr:
		if int(k.Bits) < k.Addr.BitLen() {
			return netip.PrefixFrom(k.Addr, int(k.Bits)).String()
		}
		return k.Addr.String()
	case PersistHash, PersistUniversal, PersistCookieHash:
		return strconv.FormatUint(k.Hash, 16)
	}
	return ""
}

// PersistRecord is where a persisted client goes: a member identity that
// survives configuration applies — pool name and member address and port —
// plus the names show prints.
type PersistRecord struct {
	Pool    string
	Member  string // member name, for show
	Addr    netip.Addr
	Port    uint16
	Virtual string // virtual that made the record, for show
	// Key is the beginning of a universal or cookie-hash key (the
	// header's or the cookie's value), for show; zero otherwise.
	Key KeyText
}

// PersistRecordView is one line of show ltm persistence persist-records.
type PersistRecordView struct {
	Mode      string // "source-address", "hash"
	Value     string // client address (masked), the key (KeyText.String) or, without one, its hash
	Hash      string // hash, universal and cookie modes: the key hash, in hex; "" for source-address
	Virtual   string
	Pool      string
	Member    string
	Age       time.Duration // since last use
	Remaining time.Duration // until expiry; -1 when the record never expires
}

// PersistFilter selects records for Records and Delete. Zero fields match
// everything; the zero filter selects every record.
type PersistFilter struct {
	Client  netip.Addr // records whose (masked) source address covers Client
	Pool    string
	Virtual string
}

// PersistTable holds persistence records. Its capacity is fixed at
// construction and all memory is allocated then: Lookup and Record take one
// shard's mutex and never allocate. When a shard is full, Record first
// sweeps its expired records, then evicts its least recently used one. Use
// one table for the whole appliance: keys carry the profile and scope.
//
// The table also keeps, per member identity (pool, address, port), the
// number of records that point at it, for least-sessions and show; a count
// includes expired records until they are swept by Expire or met by Lookup.
type PersistTable struct {
	shards  []persistShard
	smask   uint64
	cap     int
	evicted atomic.Uint64

	cmu    sync.RWMutex
	counts map[memberKey]*atomic.Int64 // guarded by cmu; entries are never removed
}

type memberKey struct {
	pool string
	addr netip.Addr
	port uint16
}

type persistShard struct {
	mu    sync.Mutex
	heads []int32 // hash buckets: entry index or -1
	bmask uint64
	ents  []persistEntry
	free  int32 // free-list head (through next) or -1
	live  int
	_     [64]byte // keep shards' locks on separate cache lines
}

type persistEntry struct {
	key   PersistKey
	rec   PersistRecord
	used  int64 // monotonic ns of last use
	ttl   int64 // ns; 0 = never expires
	cnt   *atomic.Int64
	next  int32
	inUse bool
}

func (e *persistEntry) expired(now int64) bool {
	return e.ttl > 0 && now-e.used >= e.ttl
}

// NewPersistTable returns a table for capacity records (at least 1).
func NewPersistTable(capacity int) *PersistTable {
	capacity = max(capacity, 1)
	shards := 1
	for shards < 64 && shards*32 <= capacity {
		shards *= 2
	}
	per := (capacity + shards - 1) / shards
	buckets := 1
	for buckets < per {
		buckets *= 2
	}
	t := &PersistTable{
		shards: make([]persistShard, shards),
		smask:  uint64(shards - 1),
		cap:    per * shards,
		counts: make(map[memberKey]*atomic.Int64),
	}
	for i := range t.shards {
		sh := &t.shards[i]
		sh.heads = make([]int32, buckets)
		sh.bmask = uint64(buckets - 1)
		for b := range sh.heads {
			sh.heads[b] = -1
		}
		sh.ents = make([]persistEntry, per)
		for e := range sh.ents {
			sh.ents[e].next = int32(e + 1)
		}
		sh.ents[per-1].next = -1
		sh.free = 0
	}
	return t
}

// Cap returns the number of records the table holds at most.
func (t *PersistTable) Cap() int { return t.cap }

// Evicted returns how many live records were evicted to make room.
func (t *PersistTable) Evicted() uint64 { return t.evicted.Load() }

// Len returns the number of records held, expired ones not yet swept
// included.
func (t *PersistTable) Len() int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		n += sh.live
		sh.mu.Unlock()
	}
	return n
}

// counter returns the record counter for a member identity, creating it.
func (t *PersistTable) counter(pool string, addr netip.Addr, port uint16) *atomic.Int64 {
	k := memberKey{pool, addr.Unmap(), port}
	t.cmu.RLock()
	c := t.counts[k]
	t.cmu.RUnlock()
	if c != nil {
		return c
	}
	t.cmu.Lock()
	defer t.cmu.Unlock()
	if c = t.counts[k]; c == nil {
		c = new(atomic.Int64)
		t.counts[k] = c
	}
	return c
}

// SessionCount returns the number of records pointing at the member
// (pool, addr, port).
func (t *PersistTable) SessionCount(pool string, addr netip.Addr, port uint16) int64 {
	t.cmu.RLock()
	c := t.counts[memberKey{pool, addr.Unmap(), port}]
	t.cmu.RUnlock()
	if c == nil {
		return 0
	}
	return c.Load()
}

func (t *PersistTable) shard(h uint64) *persistShard { return &t.shards[h&t.smask] }

// findLocked returns the entry index for key and the index of its
// predecessor in the bucket chain (-1 for the head), or -1.
func (sh *persistShard) findLocked(b uint64, key *PersistKey) (int32, int32) {
	prev := int32(-1)
	for e := sh.heads[b]; e >= 0; e = sh.ents[e].next {
		if sh.ents[e].key == *key {
			return e, prev
		}
		prev = e
	}
	return -1, -1
}

// removeLocked unlinks entry e (with chain predecessor prev) of bucket b.
func (sh *persistShard) removeLocked(b uint64, e, prev int32) {
	en := &sh.ents[e]
	if prev < 0 {
		sh.heads[b] = en.next
	} else {
		sh.ents[prev].next = en.next
	}
	if en.cnt != nil {
		en.cnt.Add(-1)
	}
	*en = persistEntry{next: sh.free}
	sh.free = e
	sh.live--
}

// removeAtLocked removes entry e wherever it is chained.
func (sh *persistShard) removeAtLocked(e int32) {
	b := sh.ents[e].key.hash() >> 32 & sh.bmask
	prev := int32(-1)
	for x := sh.heads[b]; x >= 0; x = sh.ents[x].next {
		if x == e {
			sh.removeLocked(b, e, prev)
			return
		}
		prev = x
	}
}

// Lookup returns the record for key and refreshes its timeout. An expired
// record is removed and not returned.
func (t *PersistTable) Lookup(key PersistKey, now int64) (PersistRecord, bool) {
	h := key.hash()
	sh := t.shard(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	b := h >> 32 & sh.bmask
	e, prev := sh.findLocked(b, &key)
	if e < 0 {
		return PersistRecord{}, false
	}
	en := &sh.ents[e]
	if en.expired(now) {
		sh.removeLocked(b, e, prev)
		return PersistRecord{}, false
	}
	en.used = now
	return en.rec, true
}

// Record creates or replaces the record for key and starts its timeout
// (0 = never expires). It evicts as the table's doc says when full.
func (t *PersistTable) Record(key PersistKey, rec PersistRecord, now int64, timeout time.Duration) {
	rec.Addr = rec.Addr.Unmap()
	t.record(key, rec, t.counter(rec.Pool, rec.Addr, rec.Port), now, timeout)
}

func (t *PersistTable) record(key PersistKey, rec PersistRecord, cnt *atomic.Int64, now int64, timeout time.Duration) {
	h := key.hash()
	sh := t.shard(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	b := h >> 32 & sh.bmask
	e, _ := sh.findLocked(b, &key)
	if e < 0 {
		e = sh.allocLocked(now, t)
		en := &sh.ents[e]
		en.key, en.inUse = key, true
		en.next = sh.heads[b]
		sh.heads[b] = e
		sh.live++
	}
	en := &sh.ents[e]
	if en.cnt != cnt {
		if en.cnt != nil {
			en.cnt.Add(-1)
		}
		cnt.Add(1)
		en.cnt = cnt
	}
	en.rec, en.used, en.ttl = rec, now, max(int64(timeout), 0)
}

// allocLocked takes a free entry, sweeping or evicting when there is none.
func (sh *persistShard) allocLocked(now int64, t *PersistTable) int32 {
	if sh.free < 0 {
		sh.expireLocked(now)
	}
	if sh.free < 0 {
		lru := int32(0)
		for e := range sh.ents {
			if sh.ents[e].used < sh.ents[lru].used {
				lru = int32(e)
			}
		}
		sh.removeAtLocked(lru)
		t.evicted.Add(1)
	}
	e := sh.free
	sh.free = sh.ents[e].next
	return e
}

func (sh *persistShard) expireLocked(now int64) int {
	n := 0
	for b := range sh.heads {
		prev := int32(-1)
		for e := sh.heads[b]; e >= 0; {
			next := sh.ents[e].next
			if sh.ents[e].expired(now) {
				sh.removeLocked(uint64(b), e, prev)
				n++
			} else {
				prev = e
			}
			e = next
		}
	}
	return n
}

// Expire removes every expired record and returns how many it removed.
// Call it periodically (e.g. from the same once-a-second tick as
// Pool.Tick) so that record counts stay current.
func (t *PersistTable) Expire(now int64) int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		n += sh.expireLocked(now)
		sh.mu.Unlock()
	}
	return n
}

func (f *PersistFilter) match(en *persistEntry) bool {
	if f.Pool != "" && en.rec.Pool != f.Pool {
		return false
	}
	if f.Virtual != "" && en.rec.Virtual != f.Virtual {
		return false
	}
	if f.Client.IsValid() {
		k := &en.key
		if k.Mode != PersistSourceAddr || !netip.PrefixFrom(k.Addr, int(k.Bits)).Contains(f.Client.Unmap()) {
			return false
		}
	}
	return true
}

// Delete removes the records f matches and returns how many.
func (t *PersistTable) Delete(f PersistFilter) int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for b := range sh.heads {
			prev := int32(-1)
			for e := sh.heads[b]; e >= 0; {
				next := sh.ents[e].next
				if f.match(&sh.ents[e]) {
					sh.removeLocked(uint64(b), e, prev)
					n++
				} else {
					prev = e
				}
				e = next
			}
		}
		sh.mu.Unlock()
	}
	return n
}

// Records returns the unexpired records f matches (the zero filter: all),
// for show, sorted by pool, member, value and virtual. It allocates.
func (t *PersistTable) Records(now int64, f PersistFilter) []PersistRecordView {
	var out []PersistRecordView
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for e := range sh.ents {
			en := &sh.ents[e]
			if !en.inUse || en.expired(now) || !f.match(en) {
				continue
			}
			v := PersistRecordView{
				Mode:  en.key.Mode.String(),
				Value: en.key.value(),

				Virtual:   en.rec.Virtual,
				Pool:      en.rec.Pool,
				Member:    en.rec.Member,
				Age:       time.Duration(now - en.used),
				Remaining: -1,
			}
			if en.key.Mode != PersistSourceAddr {
				v.Hash = v.Value
			}
			if !en.rec.Key.IsZero() {
				v.Value = en.rec.Key.String()
			}
			if en.ttl > 0 {
				v.Remaining = time.Duration(en.ttl - (now - en.used))
			}
			out = append(out, v)
		}
		sh.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b PersistRecordView) int {
		return cmp.Or(cmp.Compare(a.Pool, b.Pool), cmp.Compare(a.Member, b.Member),
			cmp.Compare(a.Value, b.Value), cmp.Compare(a.Virtual, b.Virtual))
	})
	return out
}
