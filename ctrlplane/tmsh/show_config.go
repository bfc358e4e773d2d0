package tmsh

import (
	"fmt"
	"strings"

	"lbx/ctrlplane/config"
)

// The show commands of objects that carry no traffic counters of their own:
// monitors, persistence profiles, snatpools, self IPs, routes and users.
// Each prints the object's status as the appliance runs it: effective
// settings (after defaults-from), what uses it, and whether the dataplane
// acts on it.

// showConfigCommands are added to the grammar beside the list commands.
var showConfigCommands = func() []Command {
	var out []Command
	for _, k := range monitorKinds {
		out = append(out, Command{Verb: "show", Module: k.module, Kind: k.kind, Args: "[NAME …]", Help: "monitor settings and the members it checks", ReadOnly: true, obj: k, run: runShowMonitor})
	}
	for _, k := range persistKinds {
		out = append(out, Command{Verb: "show", Module: k.module, Kind: k.kind, Args: "[NAME …]", Help: "persistence profile settings and the virtual servers using it", ReadOnly: true, obj: k, run: runShowPersistence})
	}
	return append(out,
		Command{Verb: "show", Module: "ltm", Kind: "snatpool", Args: "[NAME …]", Help: "snatpool translation addresses and the virtual servers using it", ReadOnly: true, obj: snatpoolKind, run: runShowSNATPool},
		Command{Verb: "show", Module: "net", Kind: "self", Args: "[NAME …]", Help: "self IP status", ReadOnly: true, obj: selfKind, run: runShowSelf},
		Command{Verb: "show", Module: "net", Kind: "route", Args: "[NAME …]", Help: "static route status", ReadOnly: true, obj: routeKind, run: runShowRoute},
		Command{Verb: "show", Module: "auth", Kind: "user", Args: "[NAME …]", Help: "user accounts: role and password scheme (never the password)", ReadOnly: true, obj: userKind, run: runShowUser},
	)
}()

func showHeader(b *strings.Builder, title string) {
	b.WriteString(showRule)
	b.WriteString(title + "\n")
	b.WriteString(showRule)
}

// showEach runs one printer per selected object name.
func showEach(x *execCtx, cmd *Command, args *cursor, each func(b *strings.Builder, name string)) (string, error) {
	names, _, err := selectNames(x, cmd.obj, args)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, name := range names {
		each(&b, name)
		b.WriteByte('\n')
	}
	return b.String(), nil
}

func secs(v uint32) string { return utoa(uint64(v)) + "s" }

func runShowMonitor(x *execCtx, cmd *Command, args *cursor) (string, error) {
	return showEach(x, cmd, args, func(b *strings.Builder, name string) {
		m := x.cand().LookupMonitor(name)
		e := x.cand().EffectiveMonitor(m)
		showHeader(b, "Ltm::Monitor "+m.Type.String()+": "+name)
		parent := m.DefaultsFrom
		if parent == "" {
			parent = "none (built-in)"
		}
		statusLine(b, "Parent", parent)
		statusLine(b, "Interval", secs(e.Interval.V))
		statusLine(b, "Timeout", secs(e.Timeout.V))
		if e.UpInterval.V > 0 {
			statusLine(b, "Up Interval", secs(e.UpInterval.V))
		}
		statusLine(b, "Time Until Up", secs(e.TimeUntilUp.V))
		statusLine(b, "Manual Resume", onOff(e.ManualResume.V))
		statusLine(b, "Destination", e.Destination.V)
		insts := x.view().MonitorInstances(name)
		statusLine(b, "Instances", fmt.Sprint(len(insts)))
		if len(insts) == 0 {
			return
		}
		b.WriteString("\nInstances\n")
		for _, in := range insts {
			fmt.Fprintf(b, "  %-28s %-22s %-10s %s\n", in.Owner, in.Target, in.State, in.Reason)
		}
	})
}

func onOff(v bool) string { return yesNo(v, "enabled", "disabled") }

func runShowPersistence(x *execCtx, cmd *Command, args *cursor) (string, error) {
	return showEach(x, cmd, args, func(b *strings.Builder, name string) {
		p := x.cand().LookupPersistence(name)
		e := x.cand().EffectivePersistence(p)
		showHeader(b, "Ltm::Persistence "+p.Type.String()+": "+name)
		timeout := "connection life"
		if e.Timeout.V > 0 {
			timeout = secs(e.Timeout.V)
		}
		statusLine(b, "Timeout", timeout)
		if e.Mask.V != "" {
			statusLine(b, "Mask", e.Mask.V)
		}
		statusLine(b, "Match Across", fmt.Sprintf("services %s, virtuals %s, pools %s",
			onOff(e.MatchAcrossServices.V), onOff(e.MatchAcrossVirtuals.V), onOff(e.MatchAcrossPools.V)))
		var users []string
		for _, v := range x.cand().VirtualList() {
			for _, r := range v.Persist {
				if r.Name == name {
					users = append(users, v.Name)
				}
			}
			if v.FallbackPersistence == name {
				users = append(users, v.Name+" (fallback)")
			}
		}
		statusLine(b, "Virtual Servers", listOrNone(users))
	})
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func runShowSNATPool(x *execCtx, cmd *Command, args *cursor) (string, error) {
	return showEach(x, cmd, args, func(b *strings.Builder, name string) {
		p := x.cand().SNATPools[name]
		showHeader(b, "Ltm::SNAT Pool: "+name)
		var addrs []string
		for _, a := range p.Members {
			addrs = append(addrs, a.String())
		}
		statusLine(b, "Translations", listOrNone(addrs))
		var users []string
		for _, v := range x.cand().VirtualList() {
			if v.SNAT == config.SNATSnatpool && v.SNATPool == name {
				users = append(users, v.Name)
			}
		}
		statusLine(b, "Virtual Servers", listOrNone(users))
		if len(users) > 0 {
			statusLine(b, "Dataplane", "clients of the virtual servers translated to these addresses; ARP answered for them")
		} else {
			statusLine(b, "Dataplane", "not used: no virtual server translates with it")
		}
	})
}

func runShowSelf(x *execCtx, cmd *Command, args *cursor) (string, error) {
	return showEach(x, cmd, args, func(b *strings.Builder, name string) {
		s := x.cand().Selfs[name]
		showHeader(b, "Net::Self IP: "+name)
		statusLine(b, "Address", s.Address.String())
		vlan := s.VLAN
		if vlan == "" {
			vlan = "none"
		}
		statusLine(b, "VLAN", vlan)
		st, _ := x.view().Self(name)
		state := "not on the dataplane: vlan " + vlan + " is no data port"
		if st.Active {
			state = "active on port " + st.Port
		}
		statusLine(b, "Status", state)
		origin := "configuration (net self)"
		if st.Boot {
			origin = "boot config (selfips): change it there"
		}
		statusLine(b, "Defined In", origin)
	})
}

func runShowRoute(x *execCtx, cmd *Command, args *cursor) (string, error) {
	return showEach(x, cmd, args, func(b *strings.Builder, name string) {
		r := x.cand().Routes[name]
		showHeader(b, "Net::Route: "+name)
		statusLine(b, "Network", config.FormatNetwork(r.Network))
		statusLine(b, "Gateway", r.Gateway.String())
		state := "gateway unreachable: not on a connected network"
		if x.program() != nil {
			for _, s := range x.program().SelfIPs {
				if s.Prefix.Masked().Contains(r.Gateway) {
					state = "gateway on connected network " + s.Prefix.Masked().String() + " (port " + s.Port + "); not used for forwarding yet"
				}
			}
		}
		statusLine(b, "Status", state)
	})
}

func runShowUser(x *execCtx, cmd *Command, args *cursor) (string, error) {
	return showEach(x, cmd, args, func(b *strings.Builder, name string) {
		u := x.cand().Users[name]
		showHeader(b, "Auth::User: "+name)
		statusLine(b, "Role", u.Role.String())
		statusLine(b, "Partition Access", "all-partitions")
		scheme := "none set: cannot log in"
		switch {
		case strings.HasPrefix(u.PasswordHash, "$2"):
			scheme = "bcrypt"
		case strings.HasPrefix(u.PasswordHash, "$6$"):
			scheme = "sha512-crypt (kept from a BIG-IP config; lbx cannot verify it)"
		case u.PasswordHash != "":
			scheme = "unknown scheme"
		}
		statusLine(b, "Password", scheme)
	})
}
