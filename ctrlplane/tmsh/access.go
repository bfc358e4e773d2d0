package tmsh

import (
	"strings"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/tmsh/conf"
)

// who is the access x's commands run with: root (admin) when none was
// given, the appliance's own (a test's execCtx, Dialect.Push).
func (x *execCtx) who() config.Access {
	if x.access == nil {
		return config.Root
	}
	return *x.access
}

// Needs is the least role that may run the command: guest for list and
// show (ReadOnly), operator for the operational record commands (delete
// sys persistence records, reset-stats) and for the Operator commands
// (modify ltm pool|node, when they change only session and state), admin
// for everything else (create, delete, other modifies, stanzas,
// transactions, save and load).
func (c *Command) Needs() config.Role {
	switch {
	case c.ReadOnly && c.Verb != "delete" && c.Verb != "reset-stats":
		return config.RoleGuest
	case c.ReadOnly || c.Operator:
		return config.RoleOperator
	}
	return config.RoleAdmin
}

// runAuthorized runs cmd if x's access allows it. An operator's run of an
// Operator command is checked by its effect: a change to anything but the
// session and state of members and nodes is refused, and the caller drops
// the candidate with the error (operators cannot open a transaction, so
// a refused command's edits never outlive its statement).
func runAuthorized(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	need := cmd.Needs()
	if !x.who().Allows(need) { // the action is named only for a refusal
		return "", x.who().Check(need, action(cmd, args))
	}
	if need != config.RoleOperator || x.who().Admin() || cmd.ReadOnly {
		return cmd.run(x, cmd, args)
	}
	what := action(cmd, args)
	before := x.cand().Clone()
	out, err := cmd.run(x, cmd, args)
	if err != nil {
		return out, err
	}
	if !config.OperationalOnly(before, x.cand()) {
		return "", &config.AccessDeniedError{User: x.who().User, Role: x.who().Role, Need: config.RoleAdmin, Action: what, Why: config.OperatorWhy}
	}
	return out, nil
}

// action names what a command does to which object, for a refusal:
// "modify ltm pool /Common/web".
func action(cmd *Command, args *conf.Cursor) string {
	s := cmd.Verb + " " + cmd.Module
	if cmd.Kind != "" {
		s += " " + cmd.Kind
	}
	if cmd.obj == nil {
		return s
	}
	if t, ok := args.Peek(); ok && (t.Kind == conf.TokWord || t.Kind == conf.TokString) && t.Text != "all-properties" {
		if n, err := cmd.obj.FullName(t.Text); err == nil {
			s += " " + n
		}
	}
	return s
}

// stanzaAction names a stanza's object for a refusal: "create ltm pool
// /Common/web" (a stanza creates or replaces it).
func stanzaAction(st conf.Statement) string {
	var w []string
	for _, t := range st.Toks {
		if t.Kind != conf.TokWord && t.Kind != conf.TokString {
			break
		}
		w = append(w, t.Text)
	}
	return "create " + strings.Join(w, " ")
}
