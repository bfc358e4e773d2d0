package ctrlplane

import (
	"lbx/ctrlplane/alteon"
	"lbx/ctrlplane/ctlsock"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/store"
	"lbx/ctrlplane/tmsh"
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
func (t tmshDialect) NewSession() ctlsock.Session      { return tmshSession{t.d.NewSession()} }

func (alteonDialect) Name() string                       { return "alteon" }
func (alteonDialect) Claims(text string) bool            { return alteon.IsScript(text) }
func (a alteonDialect) Push(text string) (string, error) { return a.d.Push(text) }
func (a alteonDialect) NewSession() ctlsock.Session      { return a.d.NewSession() }

// Check is a dry run of Push (ctlsock.Checker).
func (t tmshDialect) Check(text string) (string, error) { return t.d.Check(text) }

// ShowJSON answers show and list of virtuals, pools and nodes as JSON
// (ctlsock.JSONShower).
func (t tmshDialect) ShowJSON(text string) (string, error) { return t.d.ShowJSON(text) }

// Check is a dry run of Push (ctlsock.Checker).
func (a alteonDialect) Check(text string) (string, error) { return a.d.Check(text) }

// tmshSession is a tmsh session on the socket: no prompt, and nothing
// pending to drop (a transaction ends with its session unsubmitted, as
// tmsh's does).
type tmshSession struct{ *tmsh.Session }

func (tmshSession) Prompt() string  { return "" }
func (tmshSession) Dropped() string { return "" }

var (
	_ ctlsock.Dialect = tmshDialect{}
	_ ctlsock.Dialect = alteonDialect{}
	_ ctlsock.Session = (*alteon.Session)(nil)

	_ ctlsock.Checker    = tmshDialect{}
	_ ctlsock.Checker    = alteonDialect{}
	_ ctlsock.JSONShower = tmshDialect{}
)
