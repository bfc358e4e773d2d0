package tmsh

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"lbx/ctrlplane/status"
	"lbx/ctrlplane/tmsh/conf"
	"lbx/dataplane"
)

// show sys connection [FILTER VALUE …] lists the dataplane's flow table,
// one connection a line as BIG-IP prints it: client side (client, virtual
// server), server side (source towards the member, member), protocol, idle
// seconds, and the virtual server; delete sys connection [FILTER VALUE …]
// removes those flows (every flow with no filter). The filters are
// BIG-IP's: cs-client-addr, cs-client-port, cs-server-addr, cs-server-port,
// ss-client-addr, ss-client-port, ss-server-addr, ss-server-port.

// connTable is the dataplane's flow table as the control plane reads it;
// the engine has it (checked by type assertion, so a status source
// without one answers that it keeps no flows).
type connTable interface {
	Connections(sel dataplane.ConnFilter) []dataplane.Connection
	DeleteConnections(sel dataplane.ConnFilter) int
}

var connectionCommands = []Command{
	{Verb: "show", Module: "sys", Kind: "connection", Args: "[cs-client-addr|cs-server-addr|ss-client-addr|ss-server-addr ADDR] [cs-client-port|… PORT] …", Help: "the dataplane's connections (flow table), filtered by address and port", ReadOnly: true, run: runShowConnection},
	{Verb: "delete", Module: "sys", Kind: "connection", Args: "[cs-client-addr|cs-server-addr|ss-client-addr|ss-server-addr ADDR] [cs-client-port|… PORT] …", Help: "end the dataplane's connections the filters select (all without one); the configuration does not change", ReadOnly: true, run: runDeleteConnection},
}

// connFilterFields are the filter words and where each goes.
var connFilterFields = []struct {
	name string
	addr func(f *dataplane.ConnFilter) *netip.Addr
	port func(f *dataplane.ConnFilter) *uint16
}{
	{name: "cs-client-addr", addr: func(f *dataplane.ConnFilter) *netip.Addr { return &f.CSClientAddr }},
	{name: "cs-client-port", port: func(f *dataplane.ConnFilter) *uint16 { return &f.CSClientPort }},
	{name: "cs-server-addr", addr: func(f *dataplane.ConnFilter) *netip.Addr { return &f.CSServerAddr }},
	{name: "cs-server-port", port: func(f *dataplane.ConnFilter) *uint16 { return &f.CSServerPort }},
	{name: "ss-client-addr", addr: func(f *dataplane.ConnFilter) *netip.Addr { return &f.SSClientAddr }},
	{name: "ss-client-port", port: func(f *dataplane.ConnFilter) *uint16 { return &f.SSClientPort }},
	{name: "ss-server-addr", addr: func(f *dataplane.ConnFilter) *netip.Addr { return &f.SSServerAddr }},
	{name: "ss-server-port", port: func(f *dataplane.ConnFilter) *uint16 { return &f.SSServerPort }},
}

// readConnFilter reads FILTER VALUE pairs.
func readConnFilter(what string, args *conf.Cursor) (dataplane.ConnFilter, error) {
	var f dataplane.ConnFilter
	for !args.Done() {
		t := args.Next()
		i := -1
		for j, ff := range connFilterFields {
			if t.IsWord(ff.name) {
				i = j
			}
		}
		if i < 0 {
			names := make([]string, len(connFilterFields))
			for j, ff := range connFilterFields {
				names[j] = ff.name
			}
			return f, conf.LineErrorf(t.Line, "%s: unexpected %s, want one of %s", what, t.Describe(), strings.Join(names, ", "))
		}
		ff := connFilterFields[i]
		v, err := args.Value(ff.name)
		if err != nil {
			return f, err
		}
		if ff.addr != nil {
			a, err := netip.ParseAddr(v.Text)
			if err != nil {
				return f, conf.LineErrorf(v.Line, "%s %s %q: not an IP address", what, ff.name, v.Text)
			}
			*ff.addr(&f) = a.Unmap()
			continue
		}
		p, err := strconv.ParseUint(v.Text, 10, 16)
		if err != nil || p == 0 {
			return f, conf.LineErrorf(v.Line, "%s %s %q: want a port from 1 to 65535", what, ff.name, v.Text)
		}
		*ff.port(&f) = uint16(p)
	}
	return f, nil
}

// connections is the source's flow table, or an error saying there is none.
func (x *execCtx) connections(what string) (connTable, error) {
	if t, ok := x.src.Runtime.(connTable); ok {
		return t, nil
	}
	if t, ok := x.src.Counters.(connTable); ok {
		return t, nil
	}
	return nil, errors.New(what + ": this dataplane keeps no flow table")
}

func runShowConnection(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	sel, err := readConnFilter("show sys connection", args)
	if err != nil {
		return "", err
	}
	t, err := x.connections("show sys connection")
	if err != nil {
		return "", err
	}
	conns := t.Connections(sel)
	var b strings.Builder
	b.WriteString("Sys::Connections\n")
	for _, c := range conns {
		fmt.Fprintf(&b, "%s  %s  %s  %s  %s  %d  %s\n",
			addrPort(c.CSClient.Addr(), c.CSClient.Port()), addrPort(c.CSServer.Addr(), c.CSServer.Port()),
			addrPort(c.SSClient.Addr(), c.SSClient.Port()), addrPort(c.SSServer.Addr(), c.SSServer.Port()),
			status.ProtocolName(c.Protocol), int64(c.Idle.Seconds()), c.Virtual)
	}
	fmt.Fprintf(&b, "Total records returned: %d\n", len(conns))
	return b.String(), nil
}

func runDeleteConnection(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	sel, err := readConnFilter("delete sys connection", args)
	if err != nil {
		return "", err
	}
	t, err := x.connections("delete sys connection")
	if err != nil {
		return "", err
	}
	t.DeleteConnections(sel)
	return "", nil
}

// The engine is what the appliance reads status from.
var (
	_ connTable     = (*dataplane.Engine)(nil)
	_ statsResetter = (*dataplane.Engine)(nil)
)
