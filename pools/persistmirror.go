package pools

import "time"

// PersistEntry is one persistence record as connection mirroring carries
// it to the HA peer (package ha/mirror): key, record, time since its last
// use and its timeout (0: never expires).
type PersistEntry struct {
	Key PersistKey
	Rec PersistRecord
	Age time.Duration
	TTL time.Duration
}

// Export appends the unexpired records whose virtual keep reports true.
// It takes one shard lock at a time; it allocates only as out grows.
func (t *PersistTable) Export(now int64, keep func(virtual string) bool, out []PersistEntry) []PersistEntry {
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for e := range sh.ents {
			en := &sh.ents[e]
			if !en.inUse || en.expired(now) || !keep(en.rec.Virtual) {
				continue
			}
			out = append(out, PersistEntry{Key: en.key, Rec: en.rec, Age: time.Duration(max(0, now-en.used)), TTL: time.Duration(en.ttl)})
		}
		sh.mu.Unlock()
	}
	return out
}

// Import creates or replaces the record of en as if it had last been used
// en.Age before now.
func (t *PersistTable) Import(en *PersistEntry, now int64) {
	t.Record(en.Key, en.Rec, now-int64(max(0, en.Age)), en.TTL)
}
