package alteon

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/store"
)

// The commands that read or act on the running appliance rather than the
// pending configuration: /oper/slb (a real server's operational enable and
// disable: the dataplane's runtime state, never the configuration; lost on
// restart, as on the switch), /info/slb/dump and /info/slb/virt, and the
// global forms "diff flash" and "revert apply" (against the saved file).

// addOperMenus adds the /oper menus to the tree.
func addOperMenus(m map[altKind]*altMenu) {
	fixed := func(s string) func(altFrame) string { return func(altFrame) string { return s } }
	m[altOper] = &altMenu{title: fixed("Operations-level"), path: fixed("/oper"), cmds: []altCmd{
		sub("slb", "", "operational server load balancing menu", altOperSLB),
	}}
	m[altOperSLB] = &altMenu{title: fixed("Operations-level SLB"), path: fixed("/oper/slb"), cmds: []altCmd{
		{name: "ena", args: "<real server ID>", help: "enable a real server operationally (no configuration change; lost on restart)", min: 1, max: 1, run: operReal(false)},
		{name: "dis", args: "<real server ID>", help: "disable a real server operationally: no new connections (no configuration change; lost on restart)", min: 1, max: 1, run: operReal(true)},
		{name: "sync", help: "push the applied configuration to the peers of this unit's device group (config sync: run cm config-sync to-group)", run: operSync},
	}}
}

// operSync is /oper/slb/sync: the switch's push of its configuration to
// its peers, here config sync's to-group for the unit's device group.
func operSync(a *altCtx, _ altFrame, _ []string) (string, error) {
	cm := a.x.src.CM
	if cm == nil {
		return "", errors.New("/oper/slb/sync: config sync is off (no ha.configsync in the boot config)")
	}
	if a.x.pushed {
		return "", errors.New("/oper/slb/sync: not in a pushed script (run it on its own line)")
	}
	var group string
	for _, g := range cm.Groups() {
		if g.Has(cm.Device()) {
			group = g.Name
		}
	}
	if group == "" {
		return "", fmt.Errorf("/oper/slb/sync: %s is in no device group (create cm device-group in tmsh)", cm.Device())
	}
	if err := cm.ToGroup(group); err != nil {
		return "", fmt.Errorf("/oper/slb/sync: %w", err)
	}
	return fmt.Sprintf("Configuration synchronized to the peers of device group %s.\n", group), nil
}

// operReal sets a running real server's operational state.
func operReal(disable bool) func(a *altCtx, _ altFrame, args []string) (string, error) {
	return func(a *altCtx, _ altFrame, args []string) (string, error) {
		op := a.x.src.Oper
		if op == nil {
			return "", errors.New("/oper/slb: this dataplane has no runtime state to disable a real server in")
		}
		n := a.x.store.Running().Nodes[altName(args[0])]
		if n == nil {
			return "", fmt.Errorf("real %s is not in the running configuration (apply it first)", args[0])
		}
		op.SetOperDisabled(n.Name, disable)
		if disable {
			return fmt.Sprintf("Real server %s operationally disabled: no new connections until /oper/slb/ena %s (not saved; lost on restart).\n", args[0], args[0]), nil
		}
		return fmt.Sprintf("Real server %s operationally enabled.\n", args[0]), nil
	}
}

// realState words a real server's state: its configured one, or its
// operational disable.
func realState(src status.Sources, n *config.Node) string {
	switch {
	case n.Session == config.SessionUserDisabled:
		return "disabled"
	case src.Oper != nil && src.Oper.OperDisabled(n.Name):
		return status.ReasonOperDisabled
	}
	return "enabled"
}

// runInfoDump prints the running configuration's SLB part, as /cfg/dump
// prints the pending one.
func runInfoDump(a *altCtx, _ altFrame, _ []string) (string, error) {
	return altDumpOf(a.x.store.Running(), nil, "running configuration"), nil
}

// runInfoVirt prints each virt (or the one asked for) with its services:
// port, group, availability and why.
func runInfoVirt(a *altCtx, _ altFrame, args []string) (string, error) {
	c := a.x.Config()
	virts := map[string][]*config.Virtual{}
	for _, v := range c.VirtualList() {
		id, _ := virtOf(v)
		virts[id] = append(virts[id], v)
	}
	ids := sortedIDs(virts)
	if len(args) == 1 {
		if virts[args[0]] == nil {
			return "", fmt.Errorf("virt %s has no service", args[0])
		}
		ids = []string{args[0]}
	}
	view := a.x.view()
	var b strings.Builder
	for _, id := range ids {
		vs := virtServices(c, id)
		v0 := vs[0]
		fmt.Fprintf(&b, "%s: %s, %s\n", id, v0.Destination.Addr(), yesNo(v0.Disabled, "disabled", "enabled"))
		slices.SortFunc(vs, func(x, y *config.Virtual) int { return int(x.Destination.Port()) - int(y.Destination.Port()) })
		for _, v := range vs {
			st, _ := view.Virtual(v.Name)
			group := "none"
			if v.Pool != "" {
				group = config.BaseName(v.Pool)
			}
			fmt.Fprintf(&b, "    service %d %s, group %s: %s", v.Destination.Port(), st.Protocol, group, st.Availability)
			if st.Reason != "" {
				b.WriteString(" (" + st.Reason + ")")
			}
			b.WriteByte('\n')
		}
	}
	if b.Len() == 0 {
		return "No virtual servers.\n", nil
	}
	return b.String(), nil
}

// revertApplyLocked drops the pending changes and the applied ones not
// saved: the saved configuration is loaded in one transaction and made
// running. The session starts over from it.
func (ss *Session) revertApplyLocked() (string, error) {
	s := ss.d.store
	saved, err := s.Saved()
	if err != nil {
		return "", fmt.Errorf("revert apply: %w", err)
	}
	ss.txn.Revert()
	clear(ss.alt.drafts)
	warnings, err := s.Update(func(t *store.Txn) error {
		t.Load(saved)
		return nil
	})
	ss.txn = ss.d.execCtx(s.Begin())
	if err != nil {
		return "", fmt.Errorf("revert apply: the saved configuration: %w", altErrors(saved, err))
	}
	return altNames(s.Running()).Replace(warningText(warnings)) + "Reverted to the saved configuration; it is running.\n", nil
}

// globalUsage refuses a global command with words it does not take.
func globalUsage(line string) error {
	name, _, _ := strings.Cut(line, " ")
	switch name {
	case "diff":
		return fmt.Errorf("%s: usage: diff [flash]", line)
	case "revert":
		return fmt.Errorf("%s: usage: revert [apply]", line)
	}
	return fmt.Errorf("%s: not a command", line)
}
