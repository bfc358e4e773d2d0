package tmsh

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"lbx/ctrlplane/config"
	"lbx/dataplane"
)

// The data ports, as tmsh shows interfaces and VLANs. lbx's VLANs are its
// data ports from the boot config (a net self's vlan names one), one
// untagged interface each; they are read-only here: list net vlan prints
// them, show net interface their counters.

var interfaceCommands = []Command{
	{Verb: "show", Module: "net", Kind: "interface", Args: "[NAME …]", Help: "data ports and their packet counters", ReadOnly: true, run: runShowInterface},
	{Verb: "list", Module: "net", Kind: "vlan", Args: "[NAME …] [one-line]", Help: "the data ports as VLANs (from the boot config; read-only)", ReadOnly: true, run: runListVLAN},
}

// portCounters is one data port's counters by name (rx_packets, …).
type portCounters struct {
	name string
	c    map[string]uint64
}

// dataPorts returns the data ports in the dataplane's order, from its
// counters, or from the installed self IPs when it keeps none.
func (x *execCtx) dataPorts() []portCounters {
	var out []portCounters
	find := func(name string) *portCounters {
		for i := range out {
			if out[i].name == name {
				return &out[i]
			}
		}
		out = append(out, portCounters{name: name, c: map[string]uint64{}})
		return &out[len(out)-1]
	}
	if x.src.Counters != nil {
		for _, c := range x.src.Counters.Counters() {
			rest, ok := strings.CutPrefix(c.Name, "port.")
			if !ok {
				continue
			}
			i := strings.LastIndexByte(rest, '.')
			if i < 0 {
				continue
			}
			find(rest[:i]).c[rest[i+1:]] = c.Value
		}
	}
	if p := x.program(); p != nil {
		for _, s := range p.SelfIPs {
			find(s.Port)
		}
	}
	return out
}

// selectPorts keeps the ports named in args (any form: ext, /Common/ext).
func selectPorts(ports []portCounters, what string, args *cursor) ([]portCounters, bool, error) {
	var names []string
	oneLine := false
	for !args.done() {
		t := args.next()
		if t.isWord("one-line") {
			oneLine = true
			continue
		}
		if t.kind != tokWord && t.kind != tokString {
			return nil, false, lineErrorf(t.line, "%s: unexpected %s, want a name", what, t.describe())
		}
		names = append(names, baseName(t.text))
	}
	if len(names) == 0 {
		return ports, oneLine, nil
	}
	var out []portCounters
	for _, n := range names {
		i := slices.IndexFunc(ports, func(p portCounters) bool { return p.name == n })
		if i < 0 {
			return nil, false, fmt.Errorf("%s: %q is no data port of this appliance (the boot config's ports are its VLANs and interfaces)", what, n)
		}
		out = append(out, ports[i])
	}
	return out, oneLine, nil
}

func runShowInterface(x *execCtx, cmd *Command, args *cursor) (string, error) {
	ports := x.dataPorts()
	if len(ports) == 0 {
		return "", errors.New("show net interface: this dataplane has no data ports")
	}
	ports, _, err := selectPorts(ports, "show net interface", args)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(showRule)
	b.WriteString("Net::Interface\n")
	fmt.Fprintf(&b, "%-12s %12s %12s %10s %12s %12s\n", "Name", "Pkts In", "Pkts Out", "Drops", "ARP Replies", "ICMP Echoes")
	b.WriteString(showRule)
	for _, p := range ports {
		fmt.Fprintf(&b, "%-12s %12d %12d %10d %12d %12d\n", p.name, p.c["rx_packets"], p.c["tx_packets"], p.c["rx_lost"], p.c["arp_replies"], p.c["icmp_echo_replies"])
	}
	b.WriteString(x.portDrivers(ports))
	return b.String(), nil
}

// portInfoSource is a dataplane that says how its ports move frames.
type portInfoSource interface {
	PortInfo(port string) (dataplane.PortInfo, bool)
}

// portDrivers is show net interface's second table: each port's driver,
// mode and queues, and its ring counters (AF_XDP: rx ring full is frames
// the kernel dropped for a full rx ring, rx ring empty the reader's sleeps,
// tx ring full the writes that found no free slot, tx ring empty the
// kernel's count of wakeups with nothing to send). Empty when the
// dataplane does not say.
func (x *execCtx) portDrivers(ports []portCounters) string {
	src, ok := x.src.Counters.(portInfoSource)
	if !ok {
		return ""
	}
	var b strings.Builder
	for _, p := range ports {
		info, ok := src.PortInfo(p.name)
		if !ok {
			continue
		}
		if b.Len() == 0 {
			b.WriteString(showRule)
			fmt.Fprintf(&b, "%-12s %-7s %-16s %6s %12s %12s %12s %12s\n", "Name", "Driver", "Mode", "Queues", "Rx Full", "Rx Empty", "Tx Full", "Tx Empty")
			b.WriteString(showRule)
		}
		mode := info.Mode
		if mode == "" {
			mode = "-"
		}
		queues := fmt.Sprintf("%d/%d", info.Queues, info.DeviceQueues)
		fmt.Fprintf(&b, "%-12s %-7s %-16s %6s %12d %12d %12d %12d\n", p.name, info.Driver, mode, queues,
			p.c["rx_ring_full"], p.c["rx_ring_empty"], p.c["tx_ring_full"], p.c["tx_ring_empty"])
	}
	return b.String()
}

// runListVLAN lists the data ports as VLANs, then the net vlan stanzas
// kept from a loaded BIG-IP configuration (which lbx does not run).
func runListVLAN(x *execCtx, cmd *Command, args *cursor) (string, error) {
	rest := args.toks[args.i:]
	named := slices.ContainsFunc(rest, func(t token) bool { return t.kind != tokEOL && !t.isWord("one-line") })
	kept := func(extra []token) (string, bool) {
		toks := append([]token{{kind: tokWord, text: "list"}, {kind: tokWord, text: "net"}, {kind: tokWord, text: "vlan"}}, extra...)
		out, ok, err := listKept(x.cand(), statement{toks: toks, line: args.line})
		return out, ok && err == nil
	}
	ports, oneLn, err := selectPorts(x.dataPorts(), "list net vlan", args)
	if err != nil {
		if out, ok := kept(rest); ok { // a kept stanza of that name
			return out, nil
		}
		return "", err
	}
	var b strings.Builder
	for _, p := range ports {
		var one strings.Builder
		one.WriteString("net vlan /" + config.CommonPartition + "/" + p.name + " {\n")
		prop(&one, 1, "interfaces", "{")
		prop(&one, 2, p.name, "{ }")
		prop(&one, 1, "}", "")
		one.WriteString("}\n")
		text := one.String()
		if oneLn {
			text = oneLine(text)
		}
		b.WriteString(text)
	}
	if !named {
		if out, ok := kept(nil); ok {
			b.WriteString(out)
		}
	}
	return b.String(), nil
}
