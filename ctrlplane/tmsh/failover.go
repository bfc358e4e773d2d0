package tmsh

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/tmsh/conf"
)

// HA: the unit's failover state and the built-in traffic groups. The VRRP
// settings are the boot config's (device-local); these commands read and
// steer them, they change no configuration. modify cm traffic-group
// changes the running unit's priority, preemption and interval (not
// saved: the boot config sets them again at the next start).
var failoverCommands = []Command{
	{Verb: "show", Module: "cm", Kind: "failover-status", Help: "this unit's HA state: active, standby or offline, and the VRRP election", ReadOnly: true, run: runShowFailover},
	{Verb: "run", Module: "sys", Kind: "failover", Args: "standby [traffic-group traffic-group-1] | offline | online", Help: "hand traffic-group-1 to the peer (standby), leave the election (offline), or return (online)", run: runFailover},
	{Verb: "list", Module: "cm", Kind: "traffic-group", Args: "[NAME …]", Help: "the traffic groups (built in: traffic-group-1, traffic-group-local-only)", ReadOnly: true, run: runListTrafficGroup},
	{Verb: "modify", Module: "cm", Kind: "traffic-group", Args: "traffic-group-1 [auto-failback-enabled true|false] [auto-failback-time SECONDS] [ha-priority 1-254] [advert-interval CENTISECONDS]",
		Help: "change this unit's VRRP settings for traffic-group-1 while it runs (not saved: the boot config's ha section sets them at the next start)", run: runModifyTrafficGroup},
}

// runModifyTrafficGroup changes the running unit's VRRP settings:
// auto-failback-enabled and auto-failback-time are BIG-IP's (preemption and
// its delay), ha-priority and advert-interval lbx's (VRRP priority and
// advertisement interval in centiseconds).
func runModifyTrafficGroup(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	const what = "modify cm traffic-group"
	if x.src.Failover == nil {
		return "", errors.New(what + ": HA is off (no ha section in the boot config)")
	}
	if !x.direct {
		return "", errors.New(what + ": runs on a line of its own, not inside a transaction or a pushed script (it changes the running unit, not the configuration)")
	}
	if args.Done() {
		return "", errors.New(what + ": want traffic-group-1 and the settings to change")
	}
	t := args.Next()
	n, err := config.FullName(t.Text)
	if err != nil {
		return "", conf.LineErrorf(t.Line, "%s %q: %w", what, t.Text, err)
	}
	switch n {
	case config.TrafficGroup1:
	case config.TrafficGroupLocalOnly:
		return "", conf.LineErrorf(t.Line, "%s %s: not floating: it has no failover settings", what, n)
	default:
		return "", conf.LineErrorf(t.Line, "%s %s: no such traffic group (there is %s)", what, n, config.TrafficGroup1)
	}
	vs := x.src.Failover.FailoverStatus().VRRP()
	num := func(prop string, lo, hi int) (int, error) {
		v, err := args.Value(what + " " + prop)
		if err != nil {
			return 0, err
		}
		i, err := strconv.Atoi(v.Text)
		if err != nil || i < lo || i > hi {
			return 0, conf.LineErrorf(v.Line, "%s %s: %s: want %d to %d", what, prop, v.Describe(), lo, hi)
		}
		return i, nil
	}
	changed := false
	for !args.Done() {
		p := args.Next()
		var i int
		switch p.Text {
		case "auto-failback-enabled":
			v, err := args.Value(what + " " + p.Text)
			if err != nil {
				return "", err
			}
			switch v.Text {
			case "true", "enabled":
				vs.Preempt = true
			case "false", "disabled":
				vs.Preempt = false
			default:
				return "", conf.LineErrorf(v.Line, "%s auto-failback-enabled: %s: want true or false", what, v.Describe())
			}
		case "auto-failback-time":
			if i, err = num(p.Text, 0, 3600); err != nil {
				return "", err
			}
			vs.PreemptDelay = time.Duration(i) * time.Second
		case "ha-priority":
			if i, err = num(p.Text, 1, 254); err != nil {
				return "", err
			}
			vs.Priority = i
		case "advert-interval":
			if i, err = num(p.Text, 1, 4095); err != nil {
				return "", err
			}
			vs.Interval = time.Duration(i) * 10 * time.Millisecond
		default:
			return "", conf.LineErrorf(p.Line, "%s %s: unexpected %s, want auto-failback-enabled, auto-failback-time, ha-priority or advert-interval", what, n, p.Describe())
		}
		changed = true
	}
	if !changed {
		return "", fmt.Errorf("%s %s: no setting to change (auto-failback-enabled, auto-failback-time, ha-priority, advert-interval)", what, n)
	}
	if err := x.src.Failover.SetVRRP(vs); err != nil {
		return "", fmt.Errorf("%s %s: %w", what, n, err)
	}
	return "", nil
}

func runShowFailover(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	if !args.Done() {
		t := args.Next()
		return "", conf.LineErrorf(t.Line, "show cm failover-status: unexpected %s", t.Describe())
	}
	var b strings.Builder
	rule := strings.Repeat("-", 40) + "\n"
	b.WriteString(rule + "CM::Failover Status\n" + rule)
	f := x.src.Failover
	if f == nil {
		fmt.Fprintf(&b, "%-16s %s\n%-16s %s\n", "Color", "green", "Status", "ACTIVE")
		b.WriteString("Summary          standalone: no ha section in the boot config\n")
		return b.String(), nil
	}
	st := f.FailoverStatus()
	color := map[string]string{"active": "green", "standby": "gray", "offline": "red"}[st.State]
	row := func(k, v string) { fmt.Fprintf(&b, "%-16s %s\n", k, v) }
	row("Color", color)
	row("Status", strings.ToUpper(st.State))
	row("Unit", st.Unit)
	row("Since", st.Since.UTC().Format(time.RFC3339))
	row("Changes", fmt.Sprint(st.Changes))
	b.WriteString("\n" + rule + "Traffic Group\n" + rule)
	row("Name", config.TrafficGroup1)
	row("VRID", fmt.Sprint(st.VRID))
	row("Priority", fmt.Sprint(st.Priority))
	row("Advert Interval", st.Interval.String())
	row("Master Down", st.MasterDown.String())
	switch {
	case st.State == "active":
		row("Next Active", "this unit")
	case st.Peer.IsValid():
		row("Active Peer", fmt.Sprintf("%s (priority %d)", st.Peer, st.PeerPriority))
	default:
		row("Active Peer", "none heard")
	}
	if st.Yielding {
		row("Yielding", "yes (run sys failover standby; online ends it)")
	}
	row("GARPs Sent", fmt.Sprint(st.GARPsSent))
	if st.AddrMismatches > 0 {
		row("Addr Mismatches", fmt.Sprintf("%d (last %s)", st.AddrMismatches, st.LastMismatch))
	}
	if st.Strangers > 0 {
		row("Not From Peers", fmt.Sprintf("%d advertisements ignored", st.Strangers))
	}
	b.WriteString("\n" + rule + "Failover Conditions\n" + rule)
	if len(st.Conditions) == 0 {
		b.WriteString("none\n")
	}
	for _, c := range st.Conditions {
		b.WriteString(c + "\n")
	}
	if m := st.Mirroring; m != nil {
		b.WriteString("\n" + rule + "Connection Mirroring\n" + rule)
		row("Address", m.Addr)
		row("Peer", m.Peer)
		row("Streaming", map[bool]string{true: "yes", false: "no"}[m.Connected])
		if m.PeerUnit != "" {
			row("Peer Unit", m.PeerUnit)
		}
		row("Flows Sent", fmt.Sprint(m.FlowsSent))
		row("Flows Received", fmt.Sprintf("%d (installed %d, refused %d)", m.FlowsReceived, m.Installed, m.Refused))
		row("Ends Sent", fmt.Sprint(m.RemovedSent))
		row("Ends Received", fmt.Sprint(m.RemovedRecv))
		row("Persist Sent", fmt.Sprint(m.PersistSent))
		row("Persist Received", fmt.Sprint(m.PersistRecv))
		if m.IgnoredRecv > 0 {
			row("Ignored", fmt.Sprintf("%d (received while active)", m.IgnoredRecv))
		}
		if m.DecodeErrors > 0 {
			row("Decode Errors", fmt.Sprint(m.DecodeErrors))
		}
		if m.Unauthenticated > 0 {
			row("Untrusted Peers", fmt.Sprintf("%d streams refused (not a trusted device)", m.Unauthenticated))
		}
		if m.LastError != "" {
			row("Last Error", m.LastError)
		}
	}
	return b.String(), nil
}

func runFailover(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	if args.Done() {
		return "", errors.New("run sys failover: want standby, offline or online")
	}
	t := args.Next()
	action := t.Text
	if action != "standby" && action != "offline" && action != "online" {
		return "", conf.LineErrorf(t.Line, "run sys failover: %q: want standby, offline or online", t.Text)
	}
	if next, ok := args.Peek(); ok && action == "standby" && next.Text == "traffic-group" {
		// BIG-IP names the traffic group to hand over; lbx has one.
		kw := args.Next()
		if args.Done() {
			return "", conf.LineErrorf(kw.Line, "run sys failover standby traffic-group: want a traffic group name")
		}
		tg := args.Next()
		n, err := config.FullName(tg.Text)
		if err != nil {
			return "", conf.LineErrorf(tg.Line, "run sys failover standby traffic-group %q: %w", tg.Text, err)
		}
		switch n {
		case config.TrafficGroup1:
		case config.TrafficGroupLocalOnly:
			return "", conf.LineErrorf(tg.Line, "run sys failover standby traffic-group %s: not floating: it is active on every unit", n)
		default:
			return "", conf.LineErrorf(tg.Line, "run sys failover standby traffic-group %s: no such traffic group (there is %s)", n, config.TrafficGroup1)
		}
	}
	if !args.Done() {
		u := args.Next()
		return "", conf.LineErrorf(u.Line, "run sys failover %s: unexpected %s", action, u.Describe())
	}
	if x.src.Failover == nil {
		return "", errors.New("run sys failover: this unit is standalone (no ha section in the boot config)")
	}
	if err := x.src.Failover.FailoverAction(action); err != nil {
		return "", fmt.Errorf("run sys failover %s: %w", action, err)
	}
	return "", nil
}

func runListTrafficGroup(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	want := map[string]bool{}
	for !args.Done() {
		t := args.Next()
		n, err := config.FullName(t.Text)
		if err != nil {
			return "", conf.LineErrorf(t.Line, "list cm traffic-group %q: %w", t.Text, err)
		}
		if n != config.TrafficGroup1 && n != config.TrafficGroupLocalOnly {
			return "", fmt.Errorf("list cm traffic-group: %s: no such traffic group (there are %s and %s)", n, config.TrafficGroup1, config.TrafficGroupLocalOnly)
		}
		want[n] = true
	}
	var b strings.Builder
	for _, n := range config.TrafficGroups {
		if len(want) > 0 && !want[n] {
			continue
		}
		fmt.Fprintf(&b, "cm traffic-group %s {\n", n)
		if n == config.TrafficGroupLocalOnly {
			b.WriteString("    is-floating false\n")
		} else {
			b.WriteString("    is-floating true\n")
			if f := x.src.Failover; f != nil {
				st := f.FailoverStatus()
				fmt.Fprintf(&b, "    advert-interval %d\n", int(st.Interval/(10*time.Millisecond)))
				fmt.Fprintf(&b, "    auto-failback-enabled %t\n", st.Preempt)
				fmt.Fprintf(&b, "    auto-failback-time %d\n", int(st.PreemptDelay/time.Second))
				fmt.Fprintf(&b, "    ha-priority %d\n", st.Priority)
				fmt.Fprintf(&b, "    ha-order { /Common/%s }\n", st.Unit)
				fmt.Fprintf(&b, "    mac 00:00:5e:00:01:%02x\n", st.VRID)
				fmt.Fprintf(&b, "    unit-id %d\n", st.VRID)
			}
		}
		b.WriteString("}\n")
	}
	return b.String(), nil
}
