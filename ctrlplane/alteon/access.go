package alteon

import (
	"maps"
	"reflect"
	"slices"
	"strings"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/store"
)

// NewSessionAs starts a session whose lines run with access a. Every line
// of a guest or an operator is checked by its effect on the pending
// changes: a guest may change nothing (read /info, /stats, /cfg menus and
// diff), an operator only the session and state of reals and members
// (ena/dis of a real or of a real in a group, and the /oper menu), and
// may apply them; save is admin's. A refused line leaves the pending
// changes as they were.
func (d *Dialect) NewSessionAs(a config.Access) *Session {
	ss := d.NewSession()
	ss.access = &a
	return ss
}

// who is the session's access: root (admin) when none was given.
func (ss *Session) who() config.Access {
	if ss.access == nil {
		return config.Root
	}
	return *ss.access
}

// globalNeeds is the least role of a global command: apply makes an
// operator's pending changes (operational only) run; save writes the
// configuration, admin's.
func globalNeeds(name string) config.Role {
	switch name {
	case "apply":
		return config.RoleOperator
	case "save":
		return config.RoleAdmin
	}
	return config.RoleGuest
}

// operLine reports whether line runs in the /oper menu (operational
// commands; operator's).
func operLine(st *altState, line string) bool {
	segs, abs, err := altSegments(line)
	if err != nil || len(segs) == 0 || len(segs[0]) == 0 {
		return false
	}
	if abs || len(st.path) == 0 {
		w := segs[0][0]
		return w != "" && strings.HasPrefix("oper", w)
	}
	f := st.path[0]
	return strings.HasPrefix(altMenus[f.kind].path(f), "/oper")
}

// checkedLineLocked runs line for a user below admin, refusing it (and
// undoing what it staged) when it needs a role the user does not have.
func (ss *Session) checkedLineLocked(line string) (string, error) {
	a := ss.who()
	what := "run " + strings.TrimSpace(line)
	if operLine(ss.alt, line) {
		if err := a.Check(config.RoleOperator, what); err != nil {
			return "", err
		}
	}
	ss.beginLocked()
	pending := ss.pendingLocked()
	before := ss.txn.Config().Clone()
	drafts := slices.Collect(maps.Keys(ss.alt.drafts))
	out, err := ss.lineLocked(line)
	refused := func(need config.Role, why string) (string, error) {
		// Undo what the line staged: the candidate and any new draft.
		switch {
		case !pending:
			ss.txn = nil
		default:
			ss.txn.Load(before)
		}
		maps.DeleteFunc(ss.alt.drafts, func(id string, _ *virtDraft) bool { return !slices.Contains(drafts, id) })
		return "", &config.AccessDeniedError{User: a.User, Role: a.Role, Need: need, Action: what, Why: why}
	}
	if len(ss.alt.drafts) > len(drafts) {
		return refused(config.RoleAdmin, "")
	}
	if ss.txn != nil { // nil: an apply of nothing pending, a revert
		after := ss.txn.Config()
		switch {
		case !config.OperationalOnly(before, after) && a.Role >= config.RoleOperator:
			return refused(config.RoleAdmin, config.OperatorWhy)
		case !config.OperationalOnly(before, after):
			return refused(config.RoleAdmin, "")
		case a.Role < config.RoleOperator && !reflect.DeepEqual(before, after):
			return refused(config.RoleOperator, "")
		}
	}
	return out, err
}

// Store is the store the dialect edits.
func (d *Dialect) Store() *store.Store { return d.store }

// PushAs is Push by a user: an admin's push runs as Push does; a guest or
// an operator pushes line by line in a session of its own, every line
// checked as in NewSessionAs, and applied at the end (an operator's ena
// and dis), all or nothing.
func (d *Dialect) PushAs(a config.Access, text string) (string, error) {
	if a.Admin() {
		return d.Push(text)
	}
	ss := d.NewSessionAs(a)
	out, err := ss.Exec(strings.TrimRight(text, "\n") + "\napply")
	if err != nil {
		return "", err
	}
	return out, nil
}
