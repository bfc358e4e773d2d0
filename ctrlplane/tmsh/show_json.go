package tmsh

import (
	"encoding/json"
	"errors"
	"fmt"
	"lbx/ctrlplane/tmsh/conf"
	"slices"
)

// ShowJSON runs one `list` or `show` command for scripts (`lbx -c '…' -o
// json`) and prints what it selects as a JSON array, one element per
// object named, or per object of the kind when none is. `list ltm
// virtual|pool|node` gives the typed configuration objects (config.Virtual,
// config.Pool, config.Node, with their defaults filled in); every other
// kind gives the status layer's structs (show_json_kinds.go). The keys are
// the structs' json tags, lower case and stable across releases; README
// lists them. Other commands answer that -o json is not implemented for
// them.
func (d *Dialect) ShowJSON(text string) (string, error) {
	out, err := d.showJSON(text)
	return out, bound(err)
}

func (d *Dialect) showJSON(text string) (string, error) {
	stmts, err := conf.Statements(text)
	if err != nil {
		return "", err
	}
	if len(stmts) != 1 {
		return "", errors.New("-o json: give one list or show command")
	}
	cur := conf.NewCursor(stmts[0].Toks, stmts[0].Line)
	cmd, err := lookupCommand(cur)
	if err != nil {
		return "", err
	}
	what := cmd.Verb + " " + cmd.Module + " " + cmd.Kind
	x := d.execCtx(d.store.Begin())
	var v any
	if get := kindJSON(cmd.Verb, cmd.obj, x); get != nil && (cmd.Verb == "list" || cmd.Verb == "show") {
		names, err := jsonNames(x, cmd.obj, cur)
		if err != nil {
			return "", err
		}
		v = get(names)
	} else if cmd.Verb == "list" || cmd.Verb == "show" {
		if v, err = sysJSON(x, cmd, cur); err != nil {
			return "", err
		}
	}
	if v == nil {
		return "", fmt.Errorf("%s: -o json is not implemented for it; it is for %s", what, jsonKinds)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	return string(b) + "\n", nil
}

// jsonNames resolves the names (and globs, as list takes them) a list or
// show asked for; none means every object of the kind.
func jsonNames(x *execCtx, k *conf.ObjKind, args *conf.Cursor) ([]string, error) {
	if args.Done() {
		return k.Names(x.cand()), nil
	}
	var out []string
	for !args.Done() {
		t := args.Next()
		if t.Kind != conf.TokWord && t.Kind != conf.TokString {
			return nil, conf.LineErrorf(t.Line, "unexpected %s, want a name", t.Describe())
		}
		if isGlob(t.Text) {
			for _, name := range k.Names(x.cand()) {
				if globMatch(t.Text, name) && !slices.Contains(out, name) {
					out = append(out, name)
				}
			}
			continue
		}
		n, err := k.FullName(t.Text)
		if err != nil {
			return nil, conf.LineErrorf(t.Line, "%q: %w", t.Text, err)
		}
		if !k.Exists(x.cand(), n) {
			return nil, notFound(k, n)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// statuses looks each name up with get.
func statuses[T any](names []string, get func(string) (T, bool)) []T {
	out := make([]T, 0, len(names))
	for _, n := range names {
		if st, ok := get(n); ok {
			out = append(out, st)
		}
	}
	return out
}

// objects are the named objects of a kind, in names' order.
func objects[T any](names []string, m map[string]*T) []*T {
	out := make([]*T, 0, len(names))
	for _, n := range names {
		if o := m[n]; o != nil {
			out = append(out, o)
		}
	}
	return out
}
