package tmsh

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/store"
	"lbx/ctrlplane/tmsh/conf"
)

// Dialect is the tmsh language over a store: one-shot commands (Exec), a
// pushed script applied as a whole (Push), and sessions whose transactions
// span requests. show reads status from src.
type Dialect struct {
	store     *store.Store
	src       status.Sources
	maxOutput int // MaxOutput; tests shrink it
}

// New returns the tmsh dialect of s.
func New(s *store.Store, src status.Sources) *Dialect {
	return &Dialect{store: s, src: src, maxOutput: MaxOutput}
}

// Store is the store the dialect edits.
func (d *Dialect) Store() *store.Store { return d.store }

// execCtx starts what a command of t runs with.
// Commands run as root (admin) unless a session or push names its access.
func (d *Dialect) execCtx(t *store.Txn) *execCtx {
	return &execCtx{Txn: t, src: d.src}
}

// Session is one client's conversation in tmsh: an interactive CLI, or a
// request of its own. Outside a transaction every command is applied at
// once. `create cli transaction` opens a candidate private to the session;
// the commands that follow change only it (each is checked as it comes),
// and `submit cli transaction` applies the whole candidate at once, or
// refuses it if another session changed the running configuration since
// the transaction began (nothing is applied then). `delete cli
// transaction` drops it.
type Session struct {
	d      *Dialect
	access *config.Access // who runs the session's commands

	mu  sync.Mutex // guards txn
	txn *transaction
}

type transaction struct {
	x *execCtx
	n int // commands queued
}

// NewSession starts a session with no transaction open, run as root
// (admin).
func (d *Dialect) NewSession() *Session { return d.NewSessionAs(config.Root) }

// NewSessionAs starts a session whose commands run with access a: each is
// checked against a's role (access.go) before it changes anything.
func (d *Dialect) NewSessionAs(a config.Access) *Session { return &Session{d: d, access: &a} }

// InTransaction reports whether a transaction is open.
func (ss *Session) InTransaction() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.txn != nil
}

// MaxOutput bounds what one text's commands may print together (the
// control socket carries 64 MiB a message): a few bytes of `list;list;…`
// would otherwise make gigabytes of output.
const MaxOutput = 64 << 20

// outputLimitError stops a text whose output passed max at line.
func outputLimitError(line, max int) error {
	return &conf.LineError{Line: line, Err: fmt.Errorf("the output passed the limit of %d MiB for one request: stopped after this command; ask for less at a time", max>>20)}
}

// Exec runs commands in a session of their own; see Session.Exec.
func (d *Dialect) Exec(text string) (string, error) { return d.NewSession().Exec(text) }

// Exec runs the commands in text (one per line, or separated by `;`) in
// order; it stops at the first error. Outside a transaction each command is
// applied at once, so the ones before a failing command stay applied, as
// with tmsh -c.
func (ss *Session) Exec(text string) (string, error) {
	out, err := ss.exec(text)
	var le *conf.LineError
	if err != nil && !strings.Contains(text, "\n") && errors.As(err, &le) && le == err {
		err = le.Err // one line: its number says nothing
	}
	return out, bound(err)
}

func (ss *Session) exec(text string) (string, error) {
	// BIG-IP's reboot and shutdown: the VM appliance stops cleanly.
	switch w := strings.TrimSpace(text); w {
	case "reboot", "shutdown":
		who := config.Root
		if ss.access != nil {
			who = *ss.access
		}
		return ss.d.store.Power(who, w, w == "reboot")
	}
	stmts, err := conf.Statements(text)
	if err != nil {
		return "", err
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	var out strings.Builder
	for _, st := range stmts {
		o, err := ss.execLocked(st)
		out.WriteString(o)
		if err == nil && out.Len() > ss.d.maxOutput {
			return "", outputLimitError(st.Line, ss.d.maxOutput)
		}
		if err != nil {
			var le *conf.LineError
			if len(stmts) > 1 && !errors.As(err, &le) {
				err = &conf.LineError{Line: st.Line, Err: err}
			}
			return out.String(), err
		}
	}
	return out.String(), nil
}

func (ss *Session) execLocked(st conf.Statement) (string, error) {
	if ss.txn != nil {
		t := ss.txn
		out, err := runStatement(t.x, st)
		if err != nil {
			return out, err
		}
		switch t.x.txnOp {
		case txnCreate:
			t.x.txnOp = txnNone
			return out, errors.New("01070734:3: a transaction is already open in this session")
		case txnDelete:
			ss.txn = nil
			return out, nil
		case txnSubmit:
			ss.txn = nil
			t.x.txnOp = txnNone
			warnings, err := t.x.Commit()
			if err != nil {
				if errors.Is(err, config.ErrConflict) {
					return out, fmt.Errorf("transaction not submitted: %w (start a new transaction)", err)
				}
				return out, fmt.Errorf("transaction not submitted: %w", err)
			}
			return out + warningText(warnings), nil
		}
		t.n++
		t.x.MarkLine(t.n)
		if t.x.save {
			t.x.save = false
			return out, errors.New("save sys config: not inside a transaction (submit it first)")
		}
		return out, nil
	}
	var x *execCtx
	var out string
	warnings, err := ss.d.store.Update(func(t *store.Txn) error {
		x = ss.d.execCtx(t)
		x.access = ss.access
		x.direct = true
		o, err := runStatement(x, st)
		out = o
		if err != nil {
			return err
		}
		switch x.txnOp {
		case txnSubmit, txnDelete:
			return errors.New("01070733:3: no transaction is open in this session")
		}
		if x.save {
			t.SaveOnCommit()
		}
		return nil
	})
	if err != nil {
		return out, err
	}
	if x.after != nil {
		o, err := x.after()
		if err != nil {
			return out + o, err
		}
		out += o
	}
	if x.txnOp == txnCreate {
		tx := ss.d.execCtx(ss.d.store.Begin())
		tx.access = ss.access
		ss.txn = &transaction{x: tx}
	}
	return out + warningText(warnings), nil
}

// Push runs a script as a whole: tmsh commands one per line (a command may
// span lines while braces are open; blank lines and # comments are skipped)
// and bigip.conf stanzas, which create or replace their object. All of it
// is applied to one candidate, compiled and installed once; any error
// changes nothing and names the line. Output of list and show is
// concatenated.
func (d *Dialect) Push(text string) (string, error) { return d.PushAs(config.Root, text) }

// PushAs is Push with every statement checked against a's role.
func (d *Dialect) PushAs(a config.Access, text string) (string, error) {
	out, warnings, err := d.push(a, text, d.store.Update)
	if err != nil {
		return "", bound(err)
	}
	return out + warningText(warnings), nil
}

// Check is a dry run of Push: the script is run on a transaction, checked
// and compiled as a push would be (store.Store.Check), and nothing is
// applied or saved. It prints the script's own output, then what a push
// would change (store.FormatDiff, or "no changes") and the warnings it
// would add; errors carry the script's line numbers as a push's do.
func (d *Dialect) Check(text string) (string, error) {
	var diff []store.Change
	out, warnings, err := d.push(config.Root, text, func(fn func(*store.Txn) error) ([]string, error) {
		var w []string
		var err error
		diff, w, err = d.store.Check(fn)
		return w, err
	})
	if err != nil {
		return "", bound(err)
	}
	return out + diffText(diff) + warningText(warnings), nil
}

// diffText is a dry run's diff, or a line saying there is none.
func diffText(diff []store.Change) string {
	if len(diff) == 0 {
		return "no changes\n"
	}
	return store.FormatDiff(diff)
}

// push runs a script's statements in one transaction that apply (the
// store's Update, or Check for a dry run) commits. It returns the
// script's output and the apply's new warnings.
func (d *Dialect) push(a config.Access, text string, apply func(func(*store.Txn) error) ([]string, error)) (string, []string, error) {
	stmts, err := conf.Statements(text)
	if err != nil {
		return "", nil, err
	}
	var out strings.Builder
	warnings, err := apply(func(t *store.Txn) error {
		t.Reserve(conf.Census(stmts))
		x := d.execCtx(t)
		x.access = &a
		for _, st := range stmts {
			o, err := runStatement(x, st)
			if err != nil {
				var le *conf.LineError
				if !errors.As(err, &le) {
					err = &conf.LineError{Line: st.Line, Err: err}
				}
				return err
			}
			if x.txnOp != txnNone {
				return &conf.LineError{Line: st.Line, Err: errors.New("a pushed script is applied as one transaction already; leave out cli transaction commands")}
			}
			out.WriteString(o)
			if out.Len() > d.maxOutput {
				return outputLimitError(st.Line, d.maxOutput)
			}
			x.MarkLine(st.Line)
		}
		if x.save {
			t.SaveOnCommit()
		}
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	return out.String(), warnings, nil
}

// warningText is an apply's new warnings as a command's output repeats
// them.
func warningText(warnings []string) string {
	var b strings.Builder
	for _, w := range warnings {
		b.WriteString("warning: " + w + "\n")
	}
	return b.String()
}

// The store saves in bigip.conf.
var _ store.Codec = conf.Codec{}

// txnOp is what a transaction-control command asked of its session.
type txnOp uint8

const (
	txnNone txnOp = iota
	txnCreate
	txnSubmit
	txnDelete
)

func txnCommand(op txnOp) func(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	return func(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
		if !args.Done() {
			t := args.Next()
			return "", conf.LineErrorf(t.Line, "%s cli transaction: unexpected %s", cmd.Verb, t.Describe())
		}
		x.txnOp = op
		return "", nil
	}
}
