package ctrlplane

import (
	"lbx/ctrlplane/alteon"
	"lbx/ctrlplane/ctlsock"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/store"
	"lbx/ctrlplane/tmsh"
	"lbx/ctrlplane/tmsh/complete"
)

// Dialects are the appliance's languages on the control socket over one
// store, tmsh (the default) first; both read status from src.
func Dialects(s *store.Store, src status.Sources) []ctlsock.Dialect {
	return []ctlsock.Dialect{tmshDialect{tmsh.New(s, src)}, alteonDialect{alteon.New(s, src)}}
}

type (
	tmshDialect   struct{ d *tmsh.Dialect }
	alteonDialect struct{ d *alteon.Dialect }
)

func (tmshDialect) Name() string                       { return "tmsh" }
func (tmshDialect) Claims(text string) bool            { return !alteon.IsScript(text) }
func (t tmshDialect) Push(text string) (string, error) { return t.d.Push(text) }
func (t tmshDialect) NewSession() ctlsock.Session      { return tmshSession{t.d.NewSession(), t.d} }

func (alteonDialect) Name() string                       { return "alteon" }
func (alteonDialect) Claims(text string) bool            { return alteon.IsScript(text) }
func (a alteonDialect) Push(text string) (string, error) { return a.d.Push(text) }
func (a alteonDialect) NewSession() ctlsock.Session      { return alteonSession{a.d.NewSession()} }

// Complete answers the control socket's op complete from each dialect's
// own command table.
func (t tmshDialect) Complete(line string) []ctlsock.Candidate {
	return candidates(complete.Dialect(t.d, line))
}

func (a alteonDialect) Complete(line string) []ctlsock.Candidate {
	return candidates(a.d.Complete(line))
}

func (s tmshSession) Complete(line string) []ctlsock.Candidate {
	return candidates(complete.Session(s.d, s.Session, line))
}

// alteonSession is an Alteon session on the socket; it completes in its
// open menu.
type alteonSession struct{ *alteon.Session }

func (s alteonSession) Complete(line string) []ctlsock.Candidate {
	return candidates(s.Session.Complete(line))
}

// candidates converts a dialect's candidates (complete.Candidate for
// tmsh, alteon.Candidate: each dialect has its own, as neither imports
// the other nor the socket) into the socket's.
func candidates[C ~struct{ Word, Help string }](cs []C) []ctlsock.Candidate {
	out := make([]ctlsock.Candidate, len(cs))
	for i, c := range cs {
		out[i] = ctlsock.Candidate(c)
	}
	return out
}

// Check is a dry run of Push (ctlsock.Checker).
func (t tmshDialect) Check(text string) (string, error) { return t.d.Check(text) }

// ShowJSON answers list and show as JSON (ctlsock.JSONShower): every kind
// they print, as tmsh.Dialect.ShowJSON says.
func (t tmshDialect) ShowJSON(text string) (string, error) { return t.d.ShowJSON(text) }

// Check is a dry run of Push (ctlsock.Checker).
func (a alteonDialect) Check(text string) (string, error) { return a.d.Check(text) }

// tmshSession is a tmsh session on the socket: its prompt is the unit's
// part of the tmsh prompt (tmsh.Dialect.PromptState: "" without HA and
// config sync), and nothing is pending to drop (a transaction ends with
// its session unsubmitted, as tmsh's does).
type tmshSession struct {
	*tmsh.Session
	d *tmsh.Dialect
}

func (s tmshSession) Prompt() string { return s.d.PromptState() }
func (tmshSession) Dropped() string  { return "" }

var (
	_ ctlsock.Dialect = tmshDialect{}
	_ ctlsock.Dialect = alteonDialect{}
	_ ctlsock.Session = (*alteon.Session)(nil)

	_ ctlsock.Checker    = tmshDialect{}
	_ ctlsock.Checker    = alteonDialect{}
	_ ctlsock.JSONShower = tmshDialect{}
	_ ctlsock.Dialect    = tmshDialect{}
	_ ctlsock.Dialect    = alteonDialect{}
	_ ctlsock.Session    = (*alteon.Session)(nil)
	_ ctlsock.Completer  = tmshDialect{}
	_ ctlsock.Completer  = alteonDialect{}
	_ ctlsock.Completer  = tmshSession{}
	_ ctlsock.Completer  = alteonSession{}
)
