package tmsh

import (
	"errors"
	"lbx/ctrlplane/tmsh/conf"
	"net/netip"
	"strings"
)

// reset-stats ltm virtual|pool|node [NAME …]: the dataplane's traffic
// counters of those objects (all of the kind when none is named) go back
// to zero; current connections are kept. A pool's counters are its
// members', and a node's the members' on its address, so those reset too.
// The configuration does not change.

// statsResetter is the dataplane's reset of its runtime counters; a
// status source that lacks it cannot reset (reset-stats says so).
type statsResetter interface {
	ResetVirtualStats(name string) int
	ResetPoolStats(name string) int
	ResetNodeStats(addr netip.Addr) int
}

var resetCommands = []Command{
	{Verb: "reset-stats", Module: "ltm", Kind: "virtual", Args: "[NAME …]", Help: "zero virtual server traffic counters (current connections stay)", ReadOnly: true, obj: conf.VirtualKind, run: runResetStats},
	{Verb: "reset-stats", Module: "ltm", Kind: "pool", Args: "[NAME …]", Help: "zero the counters of a pool's members (current connections stay)", ReadOnly: true, obj: conf.PoolKind, run: runResetStats},
	{Verb: "reset-stats", Module: "ltm", Kind: "node", Args: "[NAME …]", Help: "zero a node's counters and its members' (current connections stay)", ReadOnly: true, obj: conf.NodeKind, run: runResetStats},
}

func runResetStats(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	r, ok := x.src.Runtime.(statsResetter)
	if !ok {
		return "", errors.New("reset-stats: this dataplane keeps no counters to reset")
	}
	names, _, err := readNames(cmd.obj, args)
	if err != nil {
		return "", err
	}
	for _, n := range names {
		if !cmd.obj.Exists(x.cand(), n) {
			return "", notFound(cmd.obj, n)
		}
	}
	if len(names) == 0 {
		names = []string{""} // every object of the kind
	}
	for _, n := range names {
		switch cmd.obj {
		case conf.VirtualKind:
			r.ResetVirtualStats(n)
		case conf.PoolKind:
			r.ResetPoolStats(n)
		case conf.NodeKind:
			var addr netip.Addr
			if n != "" {
				node := x.cand().Nodes[n]
				if node == nil || !node.Address.IsValid() {
					continue // an FQDN node has no address to count by
				}
				addr = node.Address
			}
			r.ResetNodeStats(addr)
		default:
			return "", errors.New("reset-stats " + strings.TrimSpace(cmd.Module+" "+cmd.Kind) + ": not implemented in lbx")
		}
	}
	return "", nil
}
