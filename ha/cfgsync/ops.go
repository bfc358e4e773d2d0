package cfgsync

import (
	"errors"
	"fmt"
	"time"
)

// Sync states of this unit towards a peer and of the group, in BIG-IP's
// words.
const (
	InSync          = "In Sync"
	ChangesPending  = "Changes Pending"
	AwaitingInitial = "Awaiting Initial Sync"
	Disconnected    = "Disconnected"
	Standalone      = "Standalone"
)

// PeerStatus is what this unit knows of a peer of its device group.
type PeerStatus struct {
	Name, Addr string
	Connected  bool
	Err        string // why it could not be reached
	Gen        Gen    // the peer's generation
	Base       Gen    // this unit's last common generation with it
	State      string // InSync, ChangesPending, AwaitingInitial, Disconnected
	// Pending: who has the changes: "local", "peer" or "both" (a
	// possible change conflict, never merged).
	Pending string
}

// SyncStatus is the unit's config-sync status (show cm sync-status).
type SyncStatus struct {
	Device   string
	Group    string // "": in no device group (Standalone)
	Type     string
	AutoSync bool
	Status   string // the worst of the peers'
	Gen      Gen    // this unit's generation
	Summary  string
	Action   string // the recommended action, if any
	Peers    []PeerStatus
}

// Color is BIG-IP's color for a status.
func Color(status string) string {
	switch status {
	case InSync:
		return "green"
	case Standalone:
		return "black"
	case Disconnected:
		return "red"
	}
	return "blue"
}

// snapshot is what an operation needs of the state, taken under mu.
type snapshot struct {
	group *Group
	peers []Peer
	cur   Gen
	base  map[string]Gen
}

func (s *Syncer) snapshotLocked() snapshot {
	sn := snapshot{cur: s.cur, base: map[string]Gen{}}
	if g := s.myGroupLocked(); g != nil {
		sn.group = copyGroup(g)
		for _, d := range g.Devices {
			if p := s.peers[d]; p != nil && d != s.cfg.Device {
				sn.peers = append(sn.peers, *p)
				sn.base[d] = s.base[d]
			}
		}
	}
	return sn
}

// exchange asks every peer of the group for its status and records what
// it heard: the group definition, and the common generation when both
// hold the same. Run with opMu held.
func (s *Syncer) exchange() (snapshot, []PeerStatus, error) {
	s.mu.Lock()
	err := s.refreshLocked()
	sn := s.snapshotLocked()
	s.mu.Unlock()
	if err != nil || sn.group == nil {
		return sn, nil, err
	}
	out := make([]PeerStatus, 0, len(sn.peers))
	for _, p := range sn.peers {
		ps := PeerStatus{Name: p.Name, Addr: p.Addr, Base: sn.base[p.Name]}
		r, err := s.call(p.Name, p.Addr, p.Cert, nil, &Message{Kind: KindStatus, From: s.cfg.Device, Gen: sn.cur.wire(), Base: ps.Base.wire(), Group: sn.group})
		if err != nil {
			ps.Err, ps.State = err.Error(), Disconnected
			out = append(out, ps)
			continue
		}
		ps.Connected, ps.Gen = true, r.Gen
		s.mu.Lock()
		s.seeLocked(r.Gen)
		s.adoptLocked(r.Group, p.Name)
		s.commonLocked(p.Name, r.Gen, r.Base)
		ps.Base = s.base[p.Name]
		s.mu.Unlock()
		out = append(out, ps)
	}
	// A peer's push may have been applied meanwhile: classify against
	// the state as it is now.
	s.mu.Lock()
	sn.cur = s.cur
	for i := range out {
		out[i].Base = s.base[out[i].Name]
		sn.base[out[i].Name] = out[i].Base
		classify(&out[i], sn.cur)
	}
	s.mu.Unlock()
	return sn, out, nil
}

// classify sets a reachable peer's State and Pending from this unit's
// generation cur.
func classify(ps *PeerStatus, cur Gen) {
	if !ps.Connected {
		return
	}
	switch {
	case ps.Gen.Same(cur):
		ps.State = InSync
	case ps.Base.IsZero():
		ps.State = AwaitingInitial
	default:
		ps.State = ChangesPending
		mine, theirs := !cur.Same(ps.Base), !ps.Gen.Same(ps.Base)
		switch {
		case mine && theirs:
			ps.Pending = "both"
		case mine:
			ps.Pending = "local"
		default:
			ps.Pending = "peer"
		}
	}
}

// Status asks the group's peers and returns the unit's sync status.
func (s *Syncer) Status() (SyncStatus, error) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	sn, peers, err := s.exchange()
	if err != nil {
		return SyncStatus{}, err
	}
	st := s.summarize(sn, peers)
	s.prompt.Store(st.Status)
	return st, nil
}

// PromptStatus is the sync status as last computed (by Status, an
// operation or the poll loop), for the prompt: it sends nothing and waits
// for no lock.
func (s *Syncer) PromptStatus() string { return s.prompt.Load().(string) }

func (s *Syncer) summarize(sn snapshot, peers []PeerStatus) SyncStatus {
	st := SyncStatus{Device: s.cfg.Device, Gen: sn.cur, Peers: peers, Status: InSync}
	if sn.group == nil {
		st.Status, st.Summary = Standalone, "this device is in no device group"
		return st
	}
	st.Group, st.Type, st.AutoSync = sn.group.Name, sn.group.Type, sn.group.AutoSync
	rank := map[string]int{InSync: 0, AwaitingInitial: 1, ChangesPending: 2, Disconnected: 3}
	for _, p := range peers {
		if rank[p.State] > rank[st.Status] {
			st.Status = p.State
		}
	}
	var conflict, local []string
	var remote string
	for _, p := range peers {
		switch p.Pending {
		case "both":
			conflict = append(conflict, p.Name)
		case "local":
			local = append(local, p.Name)
		case "peer":
			remote = p.Name
		}
	}
	switch {
	case st.Status == InSync && len(peers) == 0:
		st.Summary = "the device group has no other trusted member yet"
	case st.Status == InSync:
		st.Summary = "All devices in the device group are in sync"
	case st.Status == Disconnected:
		st.Summary = "One or more devices of the group are not reachable"
	case len(conflict) > 0:
		st.Summary = fmt.Sprintf("There is a possible change conflict between %s and %s", s.cfg.Device, conflict[0])
		st.Action = fmt.Sprintf("choose which configuration wins: run cm config-sync to-group %s (this device's) or from-group %s (%s's)", sn.group.Name, sn.group.Name, conflict[0])
	case len(local) > 0:
		st.Summary = fmt.Sprintf("%s has changes pending sync to the group", s.cfg.Device)
		st.Action = fmt.Sprintf("Synchronize %s to group %s (run cm config-sync to-group %s)", s.cfg.Device, sn.group.Name, sn.group.Name)
	case remote != "":
		st.Summary = fmt.Sprintf("%s has changes pending sync to the group", remote)
		st.Action = fmt.Sprintf("Synchronize %s to group %s (run cm config-sync to-group %s there, or from-group %s here)", remote, sn.group.Name, sn.group.Name, sn.group.Name)
	case st.Status == AwaitingInitial:
		st.Summary = "The device group is awaiting the initial config sync"
		st.Action = fmt.Sprintf("run cm config-sync to-group %s on the device whose configuration the group takes", sn.group.Name)
	}
	return st
}

// groupLocked is the named group with this unit in it.
func (s *Syncer) groupLocked(name string) (*Group, error) {
	g := s.groups[name]
	if g == nil {
		return nil, fmt.Errorf("device group %s: no such device group", name)
	}
	if !g.Has(s.cfg.Device) {
		return nil, fmt.Errorf("device group %s: this device (%s) is not a member", name, s.cfg.Device)
	}
	return g, nil
}

// ToGroup pushes this unit's shared configuration to every other member
// of the group, overwriting theirs (the operator chose this unit's). Each
// peer applies it all or nothing; the error names every peer that could
// not be reached or refused, with its reason.
func (s *Syncer) ToGroup(name string) error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.mu.Lock()
	if _, err := s.groupLocked(name); err != nil {
		s.mu.Unlock()
		return err
	}
	err := s.refreshLocked()
	sn := s.snapshotLocked()
	var text string
	if err == nil {
		text, err = s.local.Shared()
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	errs := s.pushAll(sn, text, true, nil)
	s.afterOp()
	return errors.Join(errs...)
}

// pushAll pushes to the peers of sn (only to those in only, when set).
func (s *Syncer) pushAll(sn snapshot, text string, force bool, only map[string]bool) []error {
	var errs []error
	for _, p := range sn.peers {
		if only != nil && !only[p.Name] {
			continue
		}
		_, err := s.call(p.Name, p.Addr, p.Cert, nil, &Message{Kind: KindPush, From: s.cfg.Device, Gen: sn.cur.wire(),
			Base: sn.base[p.Name].wire(), Force: force, Config: text, Group: sn.group})
		s.mu.Lock()
		var re *RefusedError
		switch {
		case err == nil:
			s.base[p.Name] = sn.cur
			delete(s.refused, p.Name)
			if perr := s.persistLocked(); perr != nil {
				errs = append(errs, perr)
			}
			s.log.Info("config sync: pushed to peer", "peer", p.Name, "generation", sn.cur.String(), "forced", force)
		case errors.As(err, &re):
			s.refused[p.Name] = sn.cur
			s.log.Warn("config sync: peer refused", "peer", p.Name, "generation", sn.cur.String(), "reason", re.Reason)
			errs = append(errs, err)
		default:
			errs = append(errs, err)
		}
		s.mu.Unlock()
	}
	return errs
}

// FromGroup takes the newest configuration of the group's other members
// (the operator chose theirs) and applies it here, all or nothing.
func (s *Syncer) FromGroup(name string) error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.mu.Lock()
	_, err := s.groupLocked(name)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	sn, peers, err := s.exchange()
	if err != nil {
		return err
	}
	var from *PeerStatus
	var down []error
	for i, p := range peers {
		if !p.Connected {
			down = append(down, errors.New(p.Err))
			continue
		}
		if from == nil || p.Gen.Newer(from.Gen) {
			from = &peers[i]
		}
	}
	if from == nil {
		return errors.Join(append([]error{errors.New("no other member of the group is reachable")}, down...)...)
	}
	if from.Gen.Same(sn.cur) {
		return nil // in sync already
	}
	err = s.pull(sn, *from, false)
	s.afterOp()
	return err
}

// pull takes peer's configuration and applies it here; with unchanged,
// only if this unit still holds the generation of sn (automatic catch-up
// gives way to anything that happened meanwhile).
func (s *Syncer) pull(sn snapshot, ps PeerStatus, unchanged bool) error {
	var p Peer
	for _, q := range sn.peers {
		if q.Name == ps.Name {
			p = q
		}
	}
	r, err := s.call(p.Name, p.Addr, p.Cert, nil, &Message{Kind: KindPull, From: s.cfg.Device, Gen: sn.cur.wire(), Base: sn.base[p.Name].wire()})
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if unchanged {
		if err := s.refreshLocked(); err != nil {
			return err
		}
		if !s.cur.Same(sn.cur) {
			return nil // changed meanwhile: the next poll decides again
		}
	}
	applied, err := s.local.ApplyShared(r.Config)
	if err != nil {
		return fmt.Errorf("%s kept its configuration, refusing %s's (generation %s): %w", s.cfg.Device, p.Name, r.Gen, err)
	}
	s.tookLocked(r.Gen, applied)
	s.base[p.Name] = r.Gen
	s.log.Info("config sync: took the group's configuration", "from", p.Name, "generation", r.Gen.String())
	return s.persistLocked()
}

// afterOp refreshes the prompt's status after an operation (opMu held).
func (s *Syncer) afterOp() {
	sn, peers, err := s.exchange()
	if err != nil {
		return
	}
	s.prompt.Store(s.summarize(sn, peers).Status)
}

// pollLoop asks the peers every Poll: it keeps the status for the prompt,
// and with auto-sync pushes this unit's changes to peers that did not
// change and pulls a newer generation from a peer when this unit did not
// change (catch-up after being down).
func (s *Syncer) pollLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		s.pollOnce()
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-s.nudge:
		}
	}
}

// Nudge makes the poll loop run now rather than at its next tick: the
// configuration was just applied, and with auto-sync the change goes out
// at once. It never blocks.
func (s *Syncer) Nudge() {
	select {
	case s.nudge <- struct{}{}:
	default:
	}
}

func (s *Syncer) pollOnce() {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	sn, peers, err := s.exchange()
	if err != nil {
		s.log.Warn("config sync: poll", "err", err)
		return
	}
	if sn.group != nil && sn.group.AutoSync {
		push := map[string]bool{}
		var newest *PeerStatus
		for i, p := range peers {
			switch {
			case !p.Connected || p.State != ChangesPending:
			case p.Pending == "local":
				s.mu.Lock()
				refused := s.refused[p.Name].Same(sn.cur)
				s.mu.Unlock()
				if !refused {
					push[p.Name] = true
				}
			case p.Pending == "peer" && (newest == nil || p.Gen.Newer(newest.Gen)):
				newest = &peers[i]
			}
		}
		switch {
		case newest != nil && newest.Gen.Newer(sn.cur):
			if err := s.pull(sn, *newest, true); err != nil {
				s.log.Warn("config sync: catch-up", "from", newest.Name, "err", err)
			}
		case len(push) > 0:
			// What is pushed is the generation classified, or nothing.
			s.mu.Lock()
			err := s.refreshLocked()
			var text string
			if err == nil && s.cur.Same(sn.cur) {
				text, err = s.local.Shared()
			} else if err == nil {
				push = nil
			}
			s.mu.Unlock()
			if err == nil && push != nil {
				s.pushAll(sn, text, false, push)
			}
		}
		if newest != nil || len(push) > 0 {
			sn, peers, err = s.exchange()
			if err != nil {
				return
			}
		}
	}
	s.prompt.Store(s.summarize(sn, peers).Status)
}

// commonLocked updates the common generation with peer from what it says:
// it holds gen, and its own common generation with this unit is base.
// Either one being this unit's current generation means both held it (the
// second heals a push whose answer was lost: the peer applied it).
func (s *Syncer) commonLocked(peer string, gen, base Gen) {
	if (gen.Same(s.cur) || base.Same(s.cur)) && !s.base[peer].Same(s.cur) {
		s.base[peer] = s.cur.wire()
		s.persistLogged()
	}
}
