package ctrlplane

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"lbx/ctrlplane/config"
)

// ConfigSession is one client's conversation with the Store: an interactive CLI,
// or later a REST client. Outside a transaction every command is applied at
// once. `create cli transaction` opens a candidate private to the session;
// the commands that follow change only it (each is checked as it comes), and
// `submit cli transaction` applies the whole candidate at once, or refuses
// it if another session changed the running configuration since the
// transaction began (nothing is applied then). `delete cli transaction`
// drops it.
type ConfigSession struct {
	store *Store

	mu  sync.Mutex // guards txn and alt
	txn *transaction
	alt *altState // the open Alteon menu; nil until the first Alteon line
}

type transaction struct {
	x     *execCtx
	lines map[string]int // object → command number that last changed it
	n     int            // commands queued
}

// NewSession starts a session with no transaction open.
func (s *Store) NewSession() *ConfigSession { return &ConfigSession{store: s} }

// InTransaction reports whether a transaction is open.
func (ss *ConfigSession) InTransaction() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.txn != nil
}

// Exec runs the commands in text (one per line, or separated by `;`) in
// order; it stops at the first error. Outside a transaction each command is
// applied at once, so the ones before a failing command stay applied, as
// with tmsh -c.
func (ss *ConfigSession) Exec(text string) (string, error) {
	out, err := ss.exec(text)
	var le *LineError
	if err != nil && !strings.Contains(text, "\n") && errors.As(err, &le) && le == err {
		err = le.Err // one line: its number says nothing
	}
	return out, err
}

func (ss *ConfigSession) exec(text string) (string, error) {
	if IsAlteonScript(text) {
		return ss.ExecAlteon(text)
	}
	stmts, err := statements(text)
	if err != nil {
		return "", err
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	var out strings.Builder
	for _, st := range stmts {
		o, err := ss.execLocked(st)
		out.WriteString(o)
		if err != nil {
			var le *LineError
			if len(stmts) > 1 && !errors.As(err, &le) {
				err = &LineError{Line: st.line, Err: err}
			}
			return out.String(), err
		}
	}
	return out.String(), nil
}

func (ss *ConfigSession) execLocked(st statement) (string, error) {
	s := ss.store
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss.txn != nil {
		t := ss.txn
		t.x.touched = t.x.touched[:0]
		t.x.prog = s.dp.Program()
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
			mutated := t.x.mutated
			if err := t.x.commitLocked(t.lines); err != nil {
				if errors.Is(err, config.ErrConflict) {
					return out, fmt.Errorf("transaction not submitted: %w (start a new transaction)", err)
				}
				return out, fmt.Errorf("transaction not submitted: %w", err)
			}
			return out + s.warningText(mutated), nil
		}
		t.n++
		for _, obj := range t.x.touched {
			t.lines[obj] = t.n
		}
		if t.x.save {
			t.x.save = false
			return out, errors.New("save sys config: not inside a transaction (submit it first)")
		}
		return out, nil
	}
	x := s.newExecCtxLocked()
	out, err := runStatement(x, st)
	if err != nil {
		return out, err
	}
	switch x.txnOp {
	case txnCreate:
		ss.txn = s.newTransactionLocked()
		return out, nil
	case txnSubmit, txnDelete:
		return out, errors.New("01070733:3: no transaction is open in this session")
	}
	mutated := x.mutated
	if err := x.commitLocked(nil); err != nil {
		return out, err
	}
	return out + s.warningText(mutated), nil
}

// newTransactionLocked opens a transaction on a clone of the running
// configuration.
func (s *Store) newTransactionLocked() *transaction {
	return &transaction{x: s.newExecCtxLocked(), lines: map[string]int{}}
}

// warningText is the warnings the last apply added, when it changed the
// config.
func (s *Store) warningText(mutated bool) string {
	if !mutated {
		return ""
	}
	var b strings.Builder
	writeWarnings(&b, s.newWarnings)
	return b.String()
}

// txnOp is what a transaction-control command asked of its session.
type txnOp uint8

const (
	txnNone txnOp = iota
	txnCreate
	txnSubmit
	txnDelete
)

func txnCommand(op txnOp) func(x *execCtx, cmd *Command, args *cursor) (string, error) {
	return func(x *execCtx, cmd *Command, args *cursor) (string, error) {
		if !args.done() {
			t := args.next()
			return "", lineErrorf(t.line, "%s cli transaction: unexpected %s", cmd.Verb, t.describe())
		}
		x.txnOp = op
		return "", nil
	}
}
