package tmsh

import (
	"fmt"
	"strings"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/tmsh/conf"
)

// The show commands of objects that carry no traffic counters of their own:
// monitors, persistence profiles, snatpools, self IPs, routes and users.
// Each prints the object's status as the appliance runs it: effective
// settings (after defaults-from), what uses it, and whether the dataplane
// acts on it.

// showConfigCommands are added to the grammar beside the list commands.
var showConfigCommands = func() []Command {
	var out []Command
	for _, k := range conf.MonitorKinds {
		out = append(out, Command{Verb: "show", Module: k.Module, Kind: k.Kind, Args: "[NAME …]", Help: "monitor settings and the members it checks", ReadOnly: true, obj: k, run: runShowMonitor})
	}
	for _, k := range conf.PersistKinds {
		out = append(out, Command{Verb: "show", Module: k.Module, Kind: k.Kind, Args: "[NAME …]", Help: "persistence profile settings and the virtual servers using it", ReadOnly: true, obj: k, run: runShowPersistence})
	}
	for _, k := range conf.ProfileKinds {
		if k.Kind == "profile http" {
			out = append(out, Command{Verb: "show", Module: k.Module, Kind: k.Kind, Args: "[NAME …]", Help: "http profile counters summed over the HTTP virtual servers using it", ReadOnly: true, obj: k, run: runShowHTTPProfile})
		}
	}
	return append(out,
		Command{Verb: "show", Module: "ltm", Kind: "snatpool", Args: "[NAME …]", Help: "snatpool translation addresses and the virtual servers using it", ReadOnly: true, obj: conf.SNATPoolKind, run: runShowSNATPool},
		Command{Verb: "show", Module: "net", Kind: "self", Args: "[NAME …]", Help: "self IP status", ReadOnly: true, obj: conf.SelfKind, run: runShowSelf},
		Command{Verb: "show", Module: "net", Kind: "route", Args: "[NAME …]", Help: "static route status", ReadOnly: true, obj: conf.RouteKind, run: runShowRoute},
		Command{Verb: "show", Module: "auth", Kind: "user", Args: "[NAME …]", Help: "user accounts: role and password scheme (never the password)", ReadOnly: true, obj: conf.UserKind, run: runShowUser},
	)
}()

func showHeader(b *strings.Builder, title string) {
	b.WriteString(showRule)
	b.WriteString(title + "\n")
	b.WriteString(showRule)
}

// showEach runs one printer per selected object name.
func showEach(x *execCtx, cmd *Command, args *conf.Cursor, each func(b *strings.Builder, name string)) (string, error) {
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

func secs(v uint32) string { return conf.Utoa(uint64(v)) + "s" }

func runShowMonitor(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
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

func onOff(v bool) string { return conf.YesNo(v, "enabled", "disabled") }

func runShowPersistence(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
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
		st, _ := x.view().Persistence(name)
		users := st.Virtuals
		for _, v := range st.FallbackVirtuals {
			users = append(users, v+" (fallback)")
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

func runShowSNATPool(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	return showEach(x, cmd, args, func(b *strings.Builder, name string) {
		st, _ := x.view().SNATPool(name)
		showHeader(b, "Ltm::SNAT Pool: "+name)
		var addrs []string
		for _, a := range st.Members {
			addrs = append(addrs, a.String())
		}
		statusLine(b, "Translations", listOrNone(addrs))
		statusLine(b, "Virtual Servers", listOrNone(st.Virtuals))
		if len(st.Virtuals) > 0 {
			statusLine(b, "Dataplane", "clients of the virtual servers translated to these addresses; ARP answered for them")
		} else {
			statusLine(b, "Dataplane", "not used: no virtual server translates with it")
		}
	})
}

func runShowSelf(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
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

func runShowRoute(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	return showEach(x, cmd, args, func(b *strings.Builder, name string) {
		st, _ := x.view().Route(name)
		showHeader(b, "Net::Route: "+name)
		statusLine(b, "Network", config.FormatNetwork(st.Network))
		statusLine(b, "Gateway", st.Gateway.String())
		state := "gateway unreachable: not on a connected network; not used"
		if st.Reachable {
			state = "gateway on connected network " + st.Connected.String() + " (port " + st.Port + "); in use"
		}
		statusLine(b, "Status", state)
	})
}

func runShowUser(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	return showEach(x, cmd, args, func(b *strings.Builder, name string) {
		st, _ := x.view().User(name)
		showHeader(b, "Auth::User: "+name)
		statusLine(b, "Role", st.Role)
		statusLine(b, "Partition Access", "all-partitions")
		scheme := map[string]string{
			"bcrypt":       "bcrypt",
			"sha512-crypt": "sha512-crypt (kept from a BIG-IP config; lbx cannot verify it)",
			"unknown":      "unknown scheme",
			"none":         "none set: cannot log in",
		}[st.Password]
		statusLine(b, "Password", scheme)
	})
}
