package ctrlplane

import (
	"errors"
	"fmt"
	"strings"

	"lbx/ctrlplane/config"

	"lbx/dataplane"
	"lbx/monitors"
	"lbx/pools"
)

// The show commands print configuration from the candidate and counters from
// the dataplane's runtime state, matched by name: counters live apart from
// config.

const showRule = "---------------------------------------------------------------\n"

// Availability words and reasons as BIG-IP prints them. With no health
// monitors yet, a pool with members is "unknown" (BIG-IP's blue square).
const (
	reasonUnmonitored = "The children pool member(s) either don't have service checking enabled, or service check results are not available yet"
	reasonNoMembers   = "The pool has no members"
	reasonNoPool      = "The virtual server has no pool"
)

type counters struct {
	pktsIn, pktsOut, bytesIn, bytesOut, totalConns uint64
	curConns                                       int64
}

func (c *counters) addMember(s *pools.MemberStats) {
	if s == nil {
		return
	}
	c.pktsIn += s.PktsIn.Load()
	c.pktsOut += s.PktsOut.Load()
	c.bytesIn += s.BytesIn.Load()
	c.bytesOut += s.BytesOut.Load()
	c.curConns += s.CurConns.Load()
	c.totalConns += s.TotalConns.Load()
}

func virtualCounters(s *dataplane.VirtualStats) counters {
	if s == nil {
		return counters{}
	}
	return counters{
		pktsIn: s.PktsIn.Load(), pktsOut: s.PktsOut.Load(),
		bytesIn: s.BytesIn.Load(), bytesOut: s.BytesOut.Load(),
		curConns: s.CurConns.Load(), totalConns: s.TotalConns.Load(),
	}
}

func statusLine(b *strings.Builder, label, value string) {
	fmt.Fprintf(b, "  %-17s: %s\n", label, value)
}

// trafficTable prints the counter block; numbers are exact, never rounded.
func trafficTable(b *strings.Builder, side string, c counters) {
	fmt.Fprintf(b, "%-32s%10s\n", "Traffic", side)
	row := func(label, v string) { fmt.Fprintf(b, "  %-22s%18s\n", label, v) }
	row("Packets In", utoa(c.pktsIn))
	row("Packets Out", utoa(c.pktsOut))
	row("Bytes In", utoa(c.bytesIn))
	row("Bytes Out", utoa(c.bytesOut))
	row("Current Connections", fmt.Sprint(c.curConns))
	row("Total Connections", utoa(c.totalConns))
}

// virtualStats returns an installed virtual's counters, nil when none.
func virtualStats(x *execCtx, name string) *dataplane.VirtualStats {
	if x.live == nil {
		return nil
	}
	return x.live.VirtualStats(name)
}

// findPool finds an installed pool as the dataplane runs it.
func findPool(x *execCtx, name string) *pools.Pool {
	if x.live == nil {
		return nil
	}
	return x.live.Pool(name)
}

func runShowVirtual(x *execCtx, cmd *Command, args *cursor) (string, error) {
	names, _, err := selectNames(x, cmd.obj, args)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, name := range names {
		v := x.cand.Virtuals[name]
		b.WriteString(showRule)
		b.WriteString("Ltm::Virtual Server: " + name + "\n")
		b.WriteString(showRule)
		b.WriteString("Status\n")
		avail, reason := "unknown", reasonUnmonitored
		if p := x.cand.Pools[v.Pool]; p == nil {
			avail, reason = "offline", reasonNoPool
		} else if len(p.Members) == 0 {
			avail, reason = "offline", reasonNoMembers
		}
		state := "enabled"
		if v.Disabled {
			state = "disabled"
		}
		statusLine(&b, "Availability", avail)
		statusLine(&b, "State", state)
		statusLine(&b, "Reason", reason)
		statusLine(&b, "Destination", memberAddr(&config.Member{Address: v.Destination.Addr(), Port: v.Destination.Port()}))
		statusLine(&b, "Protocol", v.Protocol.String())
		pool := v.Pool
		if pool == "" {
			pool = "none"
		}
		statusLine(&b, "Pool", pool)
		b.WriteByte('\n')
		trafficTable(&b, "ClientSide", virtualCounters(virtualStats(x, name)))
		b.WriteByte('\n')
	}
	return b.String(), nil
}

func runShowPool(x *execCtx, cmd *Command, args *cursor) (string, error) {
	names, _, err := selectNames(x, cmd.obj, args)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, name := range names {
		p := x.cand.Pools[name]
		installed := findPool(x, name)
		live := func(m *config.Member) *pools.Member { return liveMember(x, name, m) }
		stats := func(m *config.Member) *pools.MemberStats {
			if l := live(m); l != nil {
				return l.Stats
			}
			return nil
		}
		b.WriteString(showRule)
		b.WriteString("Ltm::Pool: " + name + "\n")
		b.WriteString(showRule)
		b.WriteString("Status\n")
		avail, reason := "unknown", reasonUnmonitored
		if len(p.Members) == 0 {
			avail, reason = "offline", reasonNoMembers
		} else if poolMonitored(x.cand, p) {
			up := 0
			for i := range p.Members {
				if st, _ := memberStatus(x, p, &p.Members[i], live(&p.Members[i])); st == "up" {
					up++
				}
			}
			avail, reason = "available", fmt.Sprintf("%d of %d members are up", up, len(p.Members))
			if up == 0 {
				avail = "offline"
			}
		}
		statusLine(&b, "Availability", avail)
		statusLine(&b, "State", "enabled")
		statusLine(&b, "Reason", reason)
		statusLine(&b, "Load Balancing", p.Mode.String())
		statusLine(&b, "Total Members", fmt.Sprint(len(p.Members)))
		if p.MinActiveMembers > 0 {
			statusLine(&b, "Min Active Members", fmt.Sprint(p.MinActiveMembers))
			if installed != nil {
				// Availability does not depend on the time (pools.Available).
				statusLine(&b, "Active Priority Groups", joinUints(installed.ActiveGroups(0)))
			}
		}
		var total counters
		for i := range p.Members {
			total.addMember(stats(&p.Members[i]))
		}
		b.WriteByte('\n')
		trafficTable(&b, "ServerSide", total)
		b.WriteByte('\n')
		if len(p.Members) == 0 {
			continue
		}
		nameW, addrW := len("Member"), len("Address")
		for i := range p.Members {
			m := &p.Members[i]
			nameW = max(nameW, len(m.Name()))
			addrW = max(addrW, len(memberAddr(m)))
		}
		b.WriteString("Members\n")
		fmt.Fprintf(&b, "  %-*s  %-*s  %-10s %10s %10s %12s %12s  %s\n", nameW, "Member", addrW, "Address",
			"Status", "Cur Conns", "Tot Conns", "Packets In", "Packets Out", "Reason")
		for i := range p.Members {
			m := &p.Members[i]
			var c counters
			c.addMember(stats(m))
			st, why := memberStatus(x, p, m, live(m))
			fmt.Fprintf(&b, "  %-*s  %-*s  %-10s %10d %10d %12d %12d  %s\n", nameW, m.Name(), addrW, memberAddr(m),
				st, c.curConns, c.totalConns, c.pktsIn, c.pktsOut, why)
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// memberAddr prints ADDRESS:PORT (ADDRESS.PORT for IPv6, as BIG-IP does).
func memberAddr(m *config.Member) string {
	a := "none"
	if m.Address.IsValid() {
		a = m.Address.String()
	}
	sep := ":"
	if strings.Contains(a, ":") {
		sep = "."
	}
	return a + sep + utoa(uint64(m.Port))
}

// runShowDataplane prints the dataplane's counters: per port, then every
// drop reason (zeros included, so an operator sees what is counted).
func runShowDataplane(x *execCtx, cmd *Command, args *cursor) (string, error) {
	if !args.done() {
		t := args.next()
		return "", lineErrorf(t.line, "show sys dataplane: unexpected %s", t.describe())
	}
	if x.counters == nil {
		return "", errors.New("show sys dataplane: this dataplane keeps no counters")
	}
	var b strings.Builder
	b.WriteString(showRule)
	b.WriteString("Sys::Dataplane\n")
	b.WriteString(showRule)
	fmt.Fprintf(&b, "  %-40s %12d\n", "flows", x.counters.Flows())
	for _, c := range x.counters.Counters() {
		fmt.Fprintf(&b, "  %-40s %12d\n", c.Name, c.Value)
	}
	return b.String(), nil
}

// runShowNode prints a node's status and its traffic summed over every
// installed pool member on the node's address, as BIG-IP counts a node.
func runShowNode(x *execCtx, cmd *Command, args *cursor) (string, error) {
	names, _, err := selectNames(x, cmd.obj, args)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, name := range names {
		n := x.cand.Nodes[name]
		var total counters
		members := 0
		if x.prog != nil {
			seen := map[*pools.MemberStats]bool{}
			for _, v := range x.prog.Virtuals {
				var rp *pools.Pool
				if v.Pool != nil {
					rp = findPool(x, v.Pool.Name)
				}
				if rp == nil {
					continue
				}
				for i := range rp.Members {
					m := &rp.Members[i]
					if m.Addr == n.Address && m.Stats != nil && !seen[m.Stats] {
						seen[m.Stats] = true
						members++
						total.addMember(m.Stats)
					}
				}
			}
		}
		b.WriteString(showRule)
		b.WriteString("Ltm::Node: " + name + " (" + n.Address.String() + ")\n")
		b.WriteString(showRule)
		b.WriteString("Status\n")
		avail, reason := "unknown", "Node address does not have service checking enabled"
		if x.mon != nil {
			if ns, ok := x.mon.NodeStatus(name); ok {
				avail, reason = nodeAvailability[ns.State], ns.Reason
			}
		}
		statusLine(&b, "Availability", avail)
		state := "enabled"
		if n.Session == config.SessionUserDisabled {
			state = "disabled"
		}
		if n.State == config.StateUserDown {
			state = "forced offline"
		}
		statusLine(&b, "State", state)
		statusLine(&b, "Reason", reason)
		statusLine(&b, "Pool Members", fmt.Sprint(members))
		b.WriteByte('\n')
		trafficTable(&b, "ServerSide", total)
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// nodeAvailability is BIG-IP's word for a node's monitor state.
var nodeAvailability = [...]string{
	monitors.Checking: "unknown", monitors.Up: "available", monitors.Down: "offline", monitors.Disabled: "available",
}

// memberStatus is a member's status word and its reason for show: the
// operator's state first (forced offline, disabled), then the monitors'.
func memberStatus(x *execCtx, p *config.Pool, m *config.Member, live *pools.Member) (status, reason string) {
	var hs pools.HealthState
	if live != nil {
		hs = live.Health.State()
	}
	status = hs.String()
	if hs == pools.HealthUnchecked {
		status, reason = "unknown", "no monitor"
	}
	if x.mon != nil { // monitored by its pool's or its node's monitor
		if ms, ok := x.mon.MemberStatus(p.Name, m.Name()); ok {
			if live == nil { // a pool no virtual server uses is not installed
				status = ms.State.String()
				if int(ms.State) < len(healthOf) {
					hs = healthOf[ms.State]
				}
			}
			reason = ms.Reason
			if reason == "" && hs == pools.HealthUp {
				reason = "monitor " + p.Monitor.String() + " up"
			}
		}
	}
	switch {
	case m.State == config.StateUserDown:
		return "offline", "forced offline by the operator; " + status
	case m.Session == config.SessionUserDisabled:
		return "disabled", "disabled by the operator; " + status
	}
	return status, reason
}

// runShowMonitorTrace prints a member's last probes as a short tcpdump.
func runShowMonitorTrace(x *execCtx, cmd *Command, args *cursor) (string, error) {
	var words []string
	for !args.done() {
		t := args.next()
		words = append(words, t.text)
	}
	if len(words) != 2 {
		return "", errors.New("show ltm monitor-trace: want POOL MEMBER, e.g. web_pool 198.18.2.11:80")
	}
	pool, err := config.FullName(words[0])
	if err != nil {
		return "", fmt.Errorf("show ltm monitor-trace: pool %q: %w", words[0], err)
	}
	if x.cand.Pools[pool] == nil {
		return "", notFound(poolKind, pool)
	}
	return monitorTraceText(x, pool, words[1])
}

// monitorTraceText prints the last probes of a pool's member (NODE:PORT,
// with or without the partition) as a short tcpdump.
func monitorTraceText(x *execCtx, pool, member string) (string, error) {
	p := x.cand.Pools[pool]
	if !strings.HasPrefix(member, "/") {
		member = "/" + config.CommonPartition + "/" + member
	}
	var found *config.Member
	for i := range p.Members {
		if p.Members[i].Name() == member {
			found = &p.Members[i]
		}
	}
	if found == nil {
		return "", fmt.Errorf("show ltm monitor-trace: pool %s has no member %s", pool, member)
	}
	if x.mon == nil {
		return "", errors.New("show ltm monitor-trace: no monitor engine is running")
	}
	st, ok := x.mon.MemberStatus(pool, member)
	if !ok {
		return "", fmt.Errorf("show ltm monitor-trace: member %s of pool %s is not monitored", member, pool)
	}
	var b strings.Builder
	showHeader(&b, "Ltm::Monitor Trace: "+pool+" "+member)
	statusLine(&b, "Status", st.State.String())
	if st.Reason != "" {
		statusLine(&b, "Reason", st.Reason)
	}
	statusLine(&b, "Transitions", fmt.Sprint(st.Transitions))
	b.WriteByte('\n')
	b.WriteString(monitors.FormatTrace(x.mon.Trace(pool, member)))
	return b.String(), nil
}

// joinUints prints priorities as "10, 5", or "none".
func joinUints(v []uint32) string {
	if len(v) == 0 {
		return "none"
	}
	parts := make([]string, len(v))
	for i, n := range v {
		parts[i] = fmt.Sprint(n)
	}
	return strings.Join(parts, ", ")
}

// poolMonitored reports whether the pool's own monitor or one of its
// members' node monitors checks it.
func poolMonitored(c *config.Config, p *config.Pool) bool {
	if len(p.Monitor.Names) > 0 {
		return true
	}
	for i := range p.Members {
		if n := c.Nodes[p.Members[i].Node]; n != nil && len(n.Monitor.Names) > 0 {
			return true
		}
	}
	return false
}
