package tmsh

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/tmsh/conf"
)

// The data ports, as tmsh shows interfaces and VLANs. lbx's VLANs are its
// data ports from the boot config (a net self's vlan names one), one
// untagged interface each; they are read-only here: list net vlan prints
// them, show net interface their counters.

var interfaceCommands = []Command{
	{Verb: "show", Module: "net", Kind: "interface", Args: "[NAME …]", Help: "data ports and their packet counters", ReadOnly: true, run: runShowInterface},
	{Verb: "list", Module: "net", Kind: "vlan", Args: "[NAME …] [one-line]", Help: "the data ports as VLANs (from the boot config; read-only)", ReadOnly: true, run: runListVLAN},
}

// dataPorts returns the data ports in the dataplane's order, with their
// counters (status.View.Interfaces).
func (x *execCtx) dataPorts() []status.Interface { return x.view().Interfaces() }

// selectPorts keeps the ports named in args (any form: ext, /Common/ext).
func selectPorts(ports []status.Interface, what string, args *conf.Cursor) ([]status.Interface, bool, error) {
	var names []string
	oneLine := false
	for !args.Done() {
		t := args.Next()
		if t.IsWord("one-line") {
			oneLine = true
			continue
		}
		if t.Kind != conf.TokWord && t.Kind != conf.TokString {
			return nil, false, conf.LineErrorf(t.Line, "%s: unexpected %s, want a name", what, t.Describe())
		}
		names = append(names, config.BaseName(t.Text))
	}
	if len(names) == 0 {
		return ports, oneLine, nil
	}
	var out []status.Interface
	for _, n := range names {
		i := slices.IndexFunc(ports, func(p status.Interface) bool { return p.Name == n })
		if i < 0 {
			return nil, false, fmt.Errorf("%s: %q is no data port of this appliance (the boot config's ports are its VLANs and interfaces)", what, n)
		}
		out = append(out, ports[i])
	}
	return out, oneLine, nil
}

func runShowInterface(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
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
		fmt.Fprintf(&b, "%-12s %12d %12d %10d %12d %12d\n", p.Name, p.PktsIn, p.PktsOut, p.Drops, p.ARPReplies, p.ICMPEchoReplies)
	}
	b.WriteString(portDrivers(ports))
	return b.String(), nil
}

// portDrivers is show net interface's second table: each port's driver,
// mode and queues, and its ring counters (AF_XDP: rx ring full is frames
// the kernel dropped for a full rx ring, rx ring empty the reader's sleeps,
// tx ring full the writes that found no free slot, tx ring empty the
// kernel's count of wakeups with nothing to send). Empty when the
// dataplane does not say.
func portDrivers(ports []status.Interface) string {
	var b strings.Builder
	for _, p := range ports {
		if p.Driver == "" {
			continue
		}
		if b.Len() == 0 {
			b.WriteString(showRule)
			fmt.Fprintf(&b, "%-12s %-7s %-16s %6s %12s %12s %12s %12s\n", "Name", "Driver", "Mode", "Queues", "Rx Full", "Rx Empty", "Tx Full", "Tx Empty")
			b.WriteString(showRule)
		}
		mode := p.Mode
		if mode == "" {
			mode = "-"
		}
		queues := fmt.Sprintf("%d/%d", p.Queues, p.DeviceQueues)
		fmt.Fprintf(&b, "%-12s %-7s %-16s %6s %12d %12d %12d %12d\n", p.Name, p.Driver, mode, queues,
			p.RxRingFull, p.RxRingEmpty, p.TxRingFull, p.TxRingEmpty)
	}
	return b.String()
}

// runListVLAN lists the data ports as VLANs, then the net vlan stanzas
// kept from a loaded BIG-IP configuration (which lbx does not run).
func runListVLAN(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	rest := args.Rest()
	named := slices.ContainsFunc(rest, func(t conf.Token) bool { return t.Kind != conf.TokEOL && !t.IsWord("one-line") })
	kept := func(extra []conf.Token) (string, bool) {
		toks := append([]conf.Token{{Kind: conf.TokWord, Text: "list"}, {Kind: conf.TokWord, Text: "net"}, {Kind: conf.TokWord, Text: "vlan"}}, extra...)
		out, ok, err := listKept(x.cand(), conf.Statement{Toks: toks, Line: args.Line})
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
		one.WriteString("net vlan /" + config.CommonPartition + "/" + p.Name + " {\n")
		conf.Prop(&one, 1, "interfaces", "{")
		conf.Prop(&one, 2, p.Name, "{ }")
		conf.Prop(&one, 1, "}", "")
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
