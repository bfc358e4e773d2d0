package ctrlplane

import "lbx/ctrlplane/ctlsock"

// Dialects are the Store's languages on the control socket, tmsh (the
// default) first.
func (s *Store) Dialects() []ctlsock.Dialect {
	return []ctlsock.Dialect{tmshDialect{s}, alteonDialect{s}}
}

// tmshDialect and alteonDialect are the Store's two languages.
type (
	tmshDialect   struct{ s *Store }
	alteonDialect struct{ s *Store }
)

func (tmshDialect) Name() string                       { return "tmsh" }
func (tmshDialect) Claims(text string) bool            { return !IsAlteonScript(text) }
func (d tmshDialect) Push(text string) (string, error) { return d.s.Push(text) }

// NewSession starts a tmsh session: `create cli transaction` opens a
// transaction in it that lives until submitted or deleted.
func (d tmshDialect) NewSession() ctlsock.Session { return &tmshSession{d.s.NewSession()} }

func (alteonDialect) Name() string                       { return "alteon" }
func (alteonDialect) Claims(text string) bool            { return IsAlteonScript(text) }
func (d alteonDialect) Push(text string) (string, error) { return d.s.PushAlteon(text) }

// NewSession starts an Alteon session: an open menu and pending changes
// that wait for apply.
func (d alteonDialect) NewSession() ctlsock.Session {
	ss := d.s.NewSession()
	ss.alt = newAltState()
	return &alteonSession{ss}
}

type tmshSession struct{ ss *ConfigSession }

func (t *tmshSession) Exec(text string) (string, error) { return t.ss.Exec(text) }
func (t *tmshSession) Prompt() string                   { return "" }
func (t *tmshSession) Dropped() string                  { return "" }

type alteonSession struct{ ss *ConfigSession }

func (a *alteonSession) Exec(text string) (string, error) { return a.ss.ExecAlteon(text) }
func (a *alteonSession) Prompt() string                   { return a.ss.AlteonPrompt() }
func (a *alteonSession) Dropped() string                  { return a.ss.droppedNote() }

var (
	_ ctlsock.Dialect = tmshDialect{}
	_ ctlsock.Dialect = alteonDialect{}
)
