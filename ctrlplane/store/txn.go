package store

import (
	"errors"
	"reflect"
	"slices"

	"lbx/ctrlplane/config"
	"lbx/internal/prealloc"
	"lbx/internal/spareproc"
)

// Txn is a change to the configuration in progress: a candidate cloned
// from the running configuration at version base, edited through typed
// objects and applied as a whole by Commit. It is the store's edit API;
// the tmsh and Alteon dialects are translators onto it, and the REST API
// will be. A Txn is not safe for concurrent use: one session owns it.
//
// Edits are checked as they come (a taken name, a missing object, a
// built-in, an object in use: the config package's typed errors) and
// leave the candidate unchanged when refused. What only the whole
// configuration can tell (references, overlaps) is checked by Commit.
type Txn struct {
	store   *Store
	from    *config.Config // the running configuration at base; never changed
	cand    *config.Config
	base    uint64         // the running version cand was cloned from
	mutated bool           // cand differs from what it was cloned from
	save    bool           // Commit also saves the running configuration
	touched []string       // objects changed since the last MarkLine
	lines   map[string]int // object → line (of a script) that last changed it
	// defaults completes cand after each edit at the cost of the object
	// edited, so a script of n lines applies in O(n).
	defaults config.Defaults
}

// Begin starts a transaction on a clone of the running configuration.
func (s *Store) Begin() *Txn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.beginLocked()
}

func (s *Store) beginLocked() *Txn {
	return &Txn{store: s, from: s.running, cand: s.running.Clone(), base: s.version}
}

// Offline returns a transaction that edits c itself, bound to no store: for
// converting or checking a configuration offline (and tests). Its Commit
// fails; c holds the edits.
func Offline(c *config.Config) *Txn {
	c.EnsureMaps()
	return &Txn{cand: c}
}

// errOffline is Commit's error on an Offline transaction.
var errOffline = errors.New("an offline transaction cannot be committed")

// Update runs fn on a transaction of its own with the store locked, so no
// other change comes between, and commits what fn did unless it fails: one
// command, or one pushed script. It returns the warnings the apply added.
// Conversations that span requests (a tmsh transaction, Alteon pending
// changes) use Begin and Commit instead.
func (s *Store) Update(fn func(t *Txn) error) ([]string, error) {
	defer spareproc.Hold()() // fn may parse a whole script
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.beginLocked()
	if err := fn(t); err != nil {
		return nil, err
	}
	// The transaction ends here: no fresh candidate (a copy of the whole
	// new running configuration) for it to go on from.
	return t.commitLocked(false)
}

// Base is the running version the transaction started from.
func (t *Txn) Base() uint64 { return t.base }

// Changed reports whether the transaction has changed anything.
func (t *Txn) Changed() bool { return t.mutated }

// Original returns the configuration the transaction started from (the
// running one at Base), for reading: a running configuration is never
// changed, only replaced, so it needs no lock.
func (t *Txn) Original() *config.Config {
	if t.from == nil {
		return config.NewConfig()
	}
	return t.from
}

// Config returns the candidate for reading (list, show, printing). Callers
// must not change it: edits go through the methods below.
func (t *Txn) Config() *config.Config { return t.cand }

// Get returns a copy of the object r names in the candidate.
func (t *Txn) Get(r config.Ref) (config.Object, error) { return t.cand.Get(r) }

// Create adds o to the candidate; see config.Config.Create.
func (t *Txn) Create(o config.Object) error { return t.did(o.Ref(), t.cand.Create(o)) }

// Put creates or replaces o in the candidate; see config.Config.Put.
func (t *Txn) Put(o config.Object) error { return t.did(o.Ref(), t.cand.Put(o)) }

// Replace replaces an existing object; see config.Config.Replace.
func (t *Txn) Replace(o config.Object) error { return t.did(o.Ref(), t.cand.Replace(o)) }

// Modify edits a copy of the object r names and puts it back; see
// config.Config.Modify.
func (t *Txn) Modify(r config.Ref, edit func(config.Object) error) error {
	return t.did(r, t.cand.Modify(r, edit))
}

// Delete removes the object r names; see config.Config.Delete.
func (t *Txn) Delete(r config.Ref) error { return t.did(r, t.cand.Delete(r)) }

// Load makes c (a copy of it) the whole candidate: `load sys config`, an
// Alteon dump read back, a configuration synced from a peer.
func (t *Txn) Load(c *config.Config) {
	t.cand = c.Clone()
	t.cand.ApplyDefaults()
	t.defaults.Reset()
	t.mutated = true
}

// Reserve makes room in the candidate for about nodes, pools and virtuals
// more objects of those kinds (and the script lines that name them), so
// that a script creating thousands does not grow the maps step by step,
// rehashing as they go. The estimate changes only memory and speed.
func (t *Txn) Reserve(nodes, pools, virtuals int) {
	if t.cand == nil {
		return
	}
	t.cand.EnsureMaps()
	c := t.cand
	c.Nodes = prealloc.Grown(c.Nodes, len(c.Nodes)+nodes)
	c.Pools = prealloc.Grown(c.Pools, len(c.Pools)+pools)
	c.Virtuals = prealloc.Grown(c.Virtuals, len(c.Virtuals)+virtuals)
	t.lines = prealloc.Grown(t.lines, len(t.lines)+pools+virtuals)
}

// Touch records obj (a config.Ref's String) as changed by what runs now,
// for MarkLine: a loaded file touches every object it defines.
func (t *Txn) Touch(obj string) { t.touched = append(t.touched, obj) }

// MarkLine records that the objects changed since the last MarkLine were
// changed at line (of a script, or the command number of a transaction),
// so that Commit's validation errors can point there (config.LineError).
func (t *Txn) MarkLine(line int) {
	if t.lines == nil {
		t.lines = map[string]int{}
	}
	for _, obj := range t.touched {
		t.lines[obj] = line
	}
	t.touched = t.touched[:0]
}

// SaveOnCommit makes Commit save the running configuration after applying.
func (t *Txn) SaveOnCommit() { t.save = true }

func (t *Txn) did(r config.Ref, err error) error {
	if err != nil {
		return err
	}
	t.mutated = true
	t.touched = append(t.touched, r.String())
	t.defaults.Edited(t.cand, r)
	return nil
}

// Commit applies the candidate: it is validated, compiled and installed,
// and becomes the running configuration; then it is saved if asked. It
// returns the warnings the apply added (features configured but not done
// yet that the running configuration did not have). It fails with a
// *config.ConflictError, changing nothing, when another transaction was
// committed since this one began. After a Commit the transaction goes on
// from the new running configuration.
func (t *Txn) Commit() ([]string, error) {
	if t.store == nil {
		return nil, errOffline
	}
	t.store.mu.Lock()
	defer t.store.mu.Unlock()
	return t.commitLocked(true)
}

// commitLocked commits t; with goOn, t then starts over from the new
// running configuration.
func (t *Txn) commitLocked(goOn bool) ([]string, error) {
	s := t.store
	if t.mutated && t.base != s.version {
		return nil, &config.ConflictError{Base: t.base, Current: s.version}
	}
	if err := s.commitLocked(t, t.lines); err != nil {
		return nil, err
	}
	var warnings []string
	if t.mutated {
		warnings = slices.Clone(s.newWarnings)
	}
	if goOn {
		*t = *s.beginLocked()
	}
	return warnings, nil
}

// Revert drops the changes: the transaction starts over from the running
// configuration.
func (t *Txn) Revert() {
	if t.store == nil {
		return
	}
	t.store.mu.Lock()
	defer t.store.mu.Unlock()
	*t = *t.store.beginLocked()
}

// Op is what a change does to an object.
type Op uint8

// Changes.
const (
	OpCreate Op = iota
	OpModify
	OpDelete
)

func (o Op) String() string { return [...]string{"create", "modify", "delete"}[o] }

// Change is one object a transaction changes.
type Change struct {
	Ref config.Ref
	Op  Op
}

// Diff lists what the transaction changes against the configuration it
// started from, in bigip.conf order.
func (t *Txn) Diff() []Change { return diffConfigs(t.Original(), t.cand) }

func diffConfigs(from, to *config.Config) []Change {
	var out []Change
	for _, k := range config.Kinds() {
		names := map[string]bool{}
		for _, n := range from.Names(k, "") {
			names[n] = true
		}
		for _, n := range to.Names(k, "") {
			names[n] = true
		}
		for _, n := range sortedKeys(names) {
			r := config.Ref{Kind: k, Name: n}
			a, aerr := from.Get(r)
			b, berr := to.Get(r)
			switch {
			case aerr != nil:
				out = append(out, Change{b.Ref(), OpCreate})
			case berr != nil:
				out = append(out, Change{a.Ref(), OpDelete})
			case !reflect.DeepEqual(a, b):
				out = append(out, Change{b.Ref(), OpModify})
			}
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Restore reads back into c what the store's codec keeps aside when it
// saves (the keys a saved file shows hidden): for a configuration file
// loaded by a command rather than by Boot.
func (t *Txn) Restore(c *config.Config) error { return t.store.codec.Restore(c) }
