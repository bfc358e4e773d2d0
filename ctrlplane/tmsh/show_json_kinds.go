package tmsh

import (
	"slices"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/tmsh/conf"
)

// jsonKinds says which commands take -o json, for the refusal of others.
const jsonKinds = "list and show of ltm virtual|pool|node|monitor [TYPE]|persistence TYPE|snatpool, net self|route, auth user; list ltm policy; " +
	"show net interface, sys connection, sys version; list net vlan"

// kindJSON gives the JSON of the named objects of kind k for verb: list
// of ltm virtual, pool and node the configuration objects, anything else
// the status layer's struct (the same for list and show); nil when -o json
// is not implemented for the kind.
func kindJSON(verb string, k *conf.ObjKind, x *execCtx) func(names []string) any {
	v, c := x.view(), x.cand()
	switch {
	case k == nil:
		return nil
	case verb == "list" && k == conf.VirtualKind:
		return func(n []string) any { return objects(n, c.Virtuals) }
	case verb == "list" && k == conf.PoolKind:
		return func(n []string) any { return objects(n, c.Pools) }
	case verb == "list" && k == conf.NodeKind:
		return func(n []string) any { return objects(n, c.Nodes) }
	case verb == "list" && k == conf.PolicyKind:
		return func(n []string) any { return objects(n, c.Policies) }
	case k == conf.VirtualKind:
		return func(n []string) any { return statuses(n, v.Virtual) }
	case k == conf.PoolKind:
		return func(n []string) any { return statuses(n, v.Pool) }
	case k == conf.NodeKind:
		return func(n []string) any { return statuses(n, v.Node) }
	case k == anyMonitorKind || slices.Contains(conf.MonitorKinds, k):
		return func(n []string) any { return statuses(n, v.Monitor) }
	case slices.Contains(conf.PersistKinds, k):
		return func(n []string) any { return statuses(n, v.Persistence) }
	case k == conf.SNATPoolKind:
		return func(n []string) any { return statuses(n, v.SNATPool) }
	case k == conf.SelfKind:
		return func(n []string) any { return statuses(n, v.Self) }
	case k == conf.RouteKind:
		return func(n []string) any { return statuses(n, v.Route) }
	case k == conf.UserKind:
		return func(n []string) any { return statuses(n, v.User) }
	}
	return nil
}

// sysJSON is the JSON of the list and show commands of no object kind;
// nil when -o json is not implemented for cmd.
func sysJSON(x *execCtx, cmd *Command, cur *conf.Cursor) (any, error) {
	switch cmd.Verb + " " + cmd.Module + " " + cmd.Kind {
	case "show net interface":
		ports, _, err := selectPorts(x.dataPorts(), "show net interface", cur)
		return append([]status.Interface{}, ports...), err
	case "list net vlan":
		ports, _, err := selectPorts(x.dataPorts(), "list net vlan", cur)
		out := make([]status.VLAN, 0, len(ports))
		for _, p := range ports {
			out = append(out, status.VLAN{Name: "/" + config.CommonPartition + "/" + p.Name, Interfaces: []string{p.Name}})
		}
		return out, err
	case "show sys connection":
		sel, err := readConnFilter("show sys connection", cur)
		if err != nil {
			return nil, err
		}
		t, err := x.connections("show sys connection")
		if err != nil {
			return nil, err
		}
		return status.Connections(t.Connections(sel)), nil
	case "show sys version":
		if !cur.Done() {
			t := cur.Next()
			return nil, conf.LineErrorf(t.Line, "show sys version: unexpected %s", t.Describe())
		}
		return status.BuildVersion(), nil
	}
	return nil, nil
}
