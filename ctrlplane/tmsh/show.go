package tmsh

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/tmsh/conf"
)

// The show commands print the status layer's structs (ctrlplane/status),
// read for the candidate: configuration from it, counters and health from
// the dataplane and the monitor engine, matched by name.

const showRule = "---------------------------------------------------------------\n"

func statusLine(b *strings.Builder, label, value string) {
	fmt.Fprintf(b, "  %-17s: %s\n", label, value)
}

// trafficTable prints the counter block; numbers are exact, never rounded.
func trafficTable(b *strings.Builder, side string, c status.Traffic) {
	fmt.Fprintf(b, "%-32s%10s\n", "Traffic", side)
	row := func(label, v string) { fmt.Fprintf(b, "  %-22s%18s\n", label, v) }
	row("Packets In", conf.Utoa(c.PktsIn))
	row("Packets Out", conf.Utoa(c.PktsOut))
	row("Bytes In", conf.Utoa(c.BytesIn))
	row("Bytes Out", conf.Utoa(c.BytesOut))
	row("Current Connections", fmt.Sprint(c.CurConns))
	row("Total Connections", conf.Utoa(c.TotalConns))
}

func runShowVirtual(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	view := x.view()
	return showEach(x, cmd, args, func(b *strings.Builder, name string) {
		v, _ := view.Virtual(name)
		showHeader(b, "Ltm::Virtual Server: "+name)
		b.WriteString("Status\n")
		statusLine(b, "Availability", v.Availability.String())
		statusLine(b, "State", onOff(v.Enabled))
		statusLine(b, "Reason", v.Reason)
		statusLine(b, "Destination", addrPort(v.Destination.Addr(), v.Destination.Port()))
		if v.Mask.IsValid() && v.Mask != config.HostMask(v.Destination.Addr()) {
			mask := v.Mask.String()
			if v.Mask == netip.IPv4Unspecified() {
				mask = "any"
			}
			statusLine(b, "Mask", mask)
		}
		if v.Type != "standard" {
			statusLine(b, "Type", v.Type)
		}
		statusLine(b, "Protocol", v.Protocol)
		pool := v.Pool
		if pool == "" {
			pool = "none"
		}
		statusLine(b, "Pool", pool)
		b.WriteByte('\n')
		trafficTable(b, "ClientSide", v.Traffic)
		if v.HTTP != nil {
			b.WriteByte('\n')
			httpTable(b, v.HTTP)
		}
	})
}

// addrPort prints ADDRESS:PORT (ADDRESS.PORT for IPv6, as BIG-IP does).
func addrPort(addr netip.Addr, port uint16) string {
	a := "none"
	if addr.IsValid() {
		a = addr.String()
	}
	sep := ":"
	if strings.Contains(a, ":") {
		sep = "."
	}
	return a + sep + conf.Utoa(uint64(port))
}

// runShowDataplane prints the dataplane's counters: per port, then every
// drop reason (zeros included, so an operator sees what is counted).
func runShowDataplane(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	if !args.Done() {
		t := args.Next()
		return "", conf.LineErrorf(t.Line, "show sys dataplane: unexpected %s", t.Describe())
	}
	if x.src.Counters == nil {
		return "", errors.New("show sys dataplane: this dataplane keeps no counters")
	}
	var b strings.Builder
	b.WriteString(showRule)
	b.WriteString("Sys::Dataplane\n")
	b.WriteString(showRule)
	fmt.Fprintf(&b, "  %-40s %12d\n", "flows", x.src.Counters.Flows())
	for _, c := range x.src.Counters.Counters() {
		fmt.Fprintf(&b, "  %-40s %12d\n", c.Name, c.Value)
	}
	return b.String(), nil
}

// runShowNode prints a node's status and its traffic summed over every
// installed pool member on the node's address, as BIG-IP counts a node.
func runShowNode(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	view := x.view()
	return showEach(x, cmd, args, func(b *strings.Builder, name string) {
		n, _ := view.Node(name)
		showHeader(b, "Ltm::Node: "+name+" ("+n.Address.String()+")")
		b.WriteString("Status\n")
		statusLine(b, "Availability", n.Availability.String())
		statusLine(b, "State", n.State)
		statusLine(b, "Reason", n.Reason)
		statusLine(b, "Pool Members", fmt.Sprint(n.Members))
		b.WriteByte('\n')
		trafficTable(b, "ServerSide", n.Traffic)
	})
}

// runShowMonitorTrace prints a member's last probes as a short tcpdump.
func runShowMonitorTrace(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	var words []string
	for !args.Done() {
		t := args.Next()
		words = append(words, t.Text)
	}
	if len(words) != 2 {
		return "", errors.New("show ltm monitor-trace: want POOL MEMBER, e.g. web_pool 198.18.2.11:80")
	}
	pool, err := config.FullName(words[0])
	if err != nil {
		return "", fmt.Errorf("show ltm monitor-trace: pool %q: %w", words[0], err)
	}
	if x.cand().Pools[pool] == nil {
		return "", notFound(conf.PoolKind, pool)
	}
	return monitorTraceText(x, pool, words[1])
}

// monitorTraceText prints the last probes of a pool's member (NODE:PORT,
// with or without the partition) as a short tcpdump.
func monitorTraceText(x *execCtx, pool, member string) (string, error) {
	if !strings.HasPrefix(member, "/") {
		member = "/" + config.CommonPartition + "/" + member
	}
	view := x.view()
	if _, ok := view.Member(pool, member); !ok {
		return "", fmt.Errorf("show ltm monitor-trace: pool %s has no member %s", pool, member)
	}
	if x.src.Health == nil {
		return "", errors.New("show ltm monitor-trace: no monitor engine is running")
	}
	tr, ok := view.Trace(pool, member)
	if !ok {
		return "", fmt.Errorf("show ltm monitor-trace: member %s of pool %s is not monitored", member, pool)
	}
	return status.TraceText(pool, member, tr), nil
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
