package tmsh

import (
	"encoding/json"
	"errors"
	"fmt"

	"lbx/ctrlplane/status"
)

// ShowJSON runs one `show ltm virtual|pool|node [NAME …]` or `list ltm
// virtual|pool|node [NAME …]` for scripts (`lbx -c '…' -o json`): show
// gives the status layer's structs (status.Virtual, status.Pool,
// status.Node), list the typed configuration objects (config.Virtual,
// config.Pool, config.Node, with their defaults filled in), as a JSON
// array, one element per object named, or per object of the kind when
// none is. The keys are the structs' json tags, lower case and stable
// across releases. Other commands answer that -o json is not implemented
// for them.
func (d *Dialect) ShowJSON(text string) (string, error) {
	out, err := d.showJSON(text)
	return out, bound(err)
}

func (d *Dialect) showJSON(text string) (string, error) {
	stmts, err := statements(text)
	if err != nil {
		return "", err
	}
	if len(stmts) != 1 {
		return "", errors.New("-o json: give one show command")
	}
	cur := newCursor(stmts[0].toks, stmts[0].line)
	cmd, err := lookupCommand(cur)
	if err != nil {
		return "", err
	}
	what := cmd.Verb + " " + cmd.Module + " " + cmd.Kind
	if (cmd.Verb != "show" && cmd.Verb != "list") || cmd.Module != "ltm" || (cmd.Kind != "virtual" && cmd.Kind != "pool" && cmd.Kind != "node") {
		return "", fmt.Errorf("%s: -o json is not implemented for it; it is for show and list of ltm virtual, pool and node", what)
	}
	x := d.execCtx(d.store.Begin())
	names, _, err := selectNames(x, cmd.obj, cur)
	if err != nil {
		return "", err
	}
	view := x.view()
	c := x.cand()
	var v any
	switch cmd.Verb + " " + cmd.Kind {
	case "list virtual":
		v = objects(names, c.Virtuals)
	case "list pool":
		v = objects(names, c.Pools)
	case "list node":
		v = objects(names, c.Nodes)
	case "show virtual":
		out := make([]status.Virtual, 0, len(names))
		for _, n := range names {
			st, _ := view.Virtual(n)
			out = append(out, st)
		}
		v = out
	case "show pool":
		out := make([]status.Pool, 0, len(names))
		for _, n := range names {
			st, _ := view.Pool(n)
			out = append(out, st)
		}
		v = out
	case "show node":
		out := make([]status.Node, 0, len(names))
		for _, n := range names {
			st, _ := view.Node(n)
			out = append(out, st)
		}
		v = out
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	return string(b) + "\n", nil
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
