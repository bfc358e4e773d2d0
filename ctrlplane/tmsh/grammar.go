package tmsh

import (
	"fmt"
	"slices"
	"strings"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/tmsh/conf"
)

// The command table's hooks for help and completion (ctrlplane/tmsh/complete
// completes from them) and its abbreviations.

// Abbrev resolves typed against words: the word itself, else the only
// word it is a prefix of. ambiguous lists the words it abbreviates when
// there are several; both are empty when it abbreviates none.
func Abbrev(typed string, words []string) (word string, ambiguous []string) {
	var pre []string
	for _, w := range words {
		if w == typed {
			return w, nil
		}
		if strings.HasPrefix(w, typed) && !slices.Contains(pre, w) {
			pre = append(pre, w)
		}
	}
	if len(pre) == 1 {
		return pre[0], nil
	}
	return "", pre
}

// ambiguousError is an abbreviation that fits several words.
func ambiguousError(typed string, words []string) error {
	return fmt.Errorf("%q is ambiguous: %s", typed, strings.Join(words, ", "))
}

// Names returns the names of the objects of the command's kind in c,
// built-ins included, sorted; nil for a command on no object kind.
func (c *Command) Names(cfg *config.Config) []string {
	if c.obj == nil {
		return nil
	}
	return c.obj.Names(cfg)
}

// PropertyHelp is the help line of a property of the command's kind.
func (c *Command) PropertyHelp(name string) string {
	if c.obj == nil {
		for _, p := range c.props {
			if p.name == name {
				return p.help
			}
		}
		return ""
	}
	return c.obj.PropHelp[name]
}

// Candidate returns a copy of the session's open transaction's candidate,
// or nil outside one: the names completion offers in the session.
func (ss *Session) Candidate() *config.Config {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.txn == nil {
		return nil
	}
	return ss.txn.x.Config().Clone()
}

// Syntax is the usage of the commands line names (abbreviations
// accepted), one a line: `help list ltm pool`.
func Syntax(line string) string {
	words := strings.Fields(line)
	var b strings.Builder
	for i := range commands {
		c := &commands[i]
		cw := slices.Concat([]string{c.Verb, c.Module}, strings.Fields(c.Kind))
		if len(words) > len(cw) {
			continue
		}
		match := true
		for j, w := range words {
			if !strings.HasPrefix(cw[j], w) {
				match = false
				break
			}
		}
		if match {
			fmt.Fprintf(&b, "%s %s\n    %s\n", strings.Join(cw, " "), c.Args, c.Help)
		}
	}
	return b.String()
}

// runHelp answers `help [VERB [MODULE [KIND]]]`: the syntax of the
// commands the words name, abbreviations accepted.
func runHelp(st conf.Statement) (string, error) {
	var words []string
	for _, t := range st.Toks[1:] {
		words = append(words, t.Text)
	}
	out := Syntax(strings.Join(words, " "))
	if out == "" {
		return "", conf.LineErrorf(st.Line, "help %s: no such command", strings.Join(words, " "))
	}
	return out, nil
}
