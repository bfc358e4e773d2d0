package tmsh

import (
	"fmt"
	"slices"
	"strings"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/tmsh/conf"
)

// show ltm pool [NAME …] [members [{ NODE:PORT … }]] [detail]: every
// member, or only those listed in the braces (every pool's, when no pool
// is named); detail prints each member as a block of its own instead of a
// table row.

// showPoolArgs is what follows `show ltm pool`.
type showPoolArgs struct {
	names   []string // full pool names; none: all
	members []string // full member names; none: all
	detail  bool
}

// selected keeps the members a asks for, in the pool's order.
func (a showPoolArgs) selected(ms []status.Member) []status.Member {
	if len(a.members) == 0 {
		return ms
	}
	return slices.DeleteFunc(slices.Clone(ms), func(m status.Member) bool { return !slices.Contains(a.members, m.Name) })
}

func readShowPoolArgs(args *conf.Cursor) (showPoolArgs, error) {
	var a showPoolArgs
	for !args.Done() {
		t := args.Next()
		switch {
		case t.IsWord("detail"):
			a.detail = true
		case t.IsWord("members"):
			if !args.AtBlock() {
				continue
			}
			blk, err := args.Block("members")
			if err != nil {
				return a, err
			}
			for !blk.Done() {
				mt := blk.Next()
				if mt.Kind != conf.TokWord && mt.Kind != conf.TokString {
					return a, conf.LineErrorf(mt.Line, "members: unexpected %s, want a member NODE:PORT", mt.Describe())
				}
				node, port, err := config.ParseMemberName(mt.Text)
				if err != nil {
					return a, conf.LineErrorf(mt.Line, "members: %w", err)
				}
				a.members = append(a.members, config.MemberName(node, port))
			}
		case t.Kind == conf.TokWord || t.Kind == conf.TokString:
			n, err := conf.PoolKind.FullName(t.Text)
			if err != nil {
				return a, conf.LineErrorf(t.Line, "%q: %w", t.Text, err)
			}
			a.names = append(a.names, n)
		default:
			return a, conf.LineErrorf(t.Line, "unexpected %s, want a pool name, members or detail", t.Describe())
		}
	}
	return a, nil
}

func runShowPool(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	a, err := readShowPoolArgs(args)
	if err != nil {
		return "", err
	}
	names := a.names
	if len(names) == 0 {
		names = conf.PoolKind.Names(x.cand())
	}
	view := x.view()
	for _, n := range a.names { // named pools must have the members asked for
		if !conf.PoolKind.Exists(x.cand(), n) {
			return "", notFound(conf.PoolKind, n)
		}
		for _, m := range a.members {
			if _, ok := view.Member(n, m); !ok {
				return "", &config.NotFoundError{Ref: config.Ref{Kind: config.KindMember, Name: n + " " + memberWords(m)}}
			}
		}
	}
	var b strings.Builder
	for _, n := range names {
		showPool(&b, view, n, a)
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// memberWords is how BIG-IP names a member in messages: /Common/10.0.0.1 80.
func memberWords(member string) string {
	i := strings.LastIndexAny(member, ":.")
	if i < 0 {
		return member
	}
	return member[:i] + " " + member[i+1:]
}

// memberDetail prints one member as `show ltm pool NAME members detail`.
func memberDetail(b *strings.Builder, pool string, m status.Member) {
	b.WriteString("\n")
	b.WriteString("  " + strings.TrimSuffix(showRule, "\n")[2:] + "\n")
	fmt.Fprintf(b, "  Ltm::Pool Member: %s (pool %s)\n", m.Name, pool)
	b.WriteString("  " + strings.TrimSuffix(showRule, "\n")[2:] + "\n")
	row := func(k, v string) { fmt.Fprintf(b, "  | %-17s: %s\n", k, v) }
	row("Node", m.Node)
	row("Address", addrPort(m.Address, m.Port))
	row("Status", m.Status)
	row("Reason", m.Reason)
	c := m.Traffic
	row("Packets In", conf.Utoa(c.PktsIn))
	row("Packets Out", conf.Utoa(c.PktsOut))
	row("Bytes In", conf.Utoa(c.BytesIn))
	row("Bytes Out", conf.Utoa(c.BytesOut))
	row("Current Conns", fmt.Sprint(c.CurConns))
	row("Total Conns", conf.Utoa(c.TotalConns))
}

// showPool prints one pool: its status and counters, then the members a
// selects (all when it selects none), as a table or, with detail, one block
// each.
func showPool(b *strings.Builder, view *status.View, name string, a showPoolArgs) {
	p, _ := view.Pool(name)
	total := len(p.Members)
	p.Members = a.selected(p.Members)
	showHeader(b, "Ltm::Pool: "+name)
	b.WriteString("Status\n")
	statusLine(b, "Availability", p.Availability.String())
	statusLine(b, "State", "enabled")
	statusLine(b, "Reason", p.Reason)
	statusLine(b, "Load Balancing", p.Mode)
	statusLine(b, "Total Members", fmt.Sprint(total))
	if p.MinActiveMembers > 0 {
		statusLine(b, "Min Active Members", fmt.Sprint(p.MinActiveMembers))
		if p.Installed {
			statusLine(b, "Active Priority Groups", joinUints(p.ActiveGroups))
		}
	}
	b.WriteByte('\n')
	trafficTable(b, "ServerSide", p.Traffic)
	if len(p.Members) == 0 {
		return
	}
	if a.detail {
		for _, m := range p.Members {
			memberDetail(b, name, m)
		}
		return
	}
	nameW, addrW := len("Member"), len("Address")
	for _, m := range p.Members {
		nameW = max(nameW, len(m.Name))
		addrW = max(addrW, len(addrPort(m.Address, m.Port)))
	}
	b.WriteString("\nMembers\n")
	fmt.Fprintf(b, "  %-*s  %-*s  %-10s %10s %10s %12s %12s  %s\n", nameW, "Member", addrW, "Address",
		"Status", "Cur Conns", "Tot Conns", "Packets In", "Packets Out", "Reason")
	for _, m := range p.Members {
		c := m.Traffic
		fmt.Fprintf(b, "  %-*s  %-*s  %-10s %10d %10d %12d %12d  %s\n", nameW, m.Name, addrW, addrPort(m.Address, m.Port),
			m.Status, c.CurConns, c.TotalConns, c.PktsIn, c.PktsOut, m.Reason)
	}
}
