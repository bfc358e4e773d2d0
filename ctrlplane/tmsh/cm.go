package tmsh

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/tmsh/conf"
	"lbx/ha/cfgsync"
)

// Config sync (package ha/cfgsync): this device, the trust domain, device
// groups, sync status and run cm config-sync. These objects are not in
// bigip.conf (BIG-IP keeps them apart too) but in the unit's config-sync
// state; the commands run on their own line, never inside a transaction
// or a pushed script. Whatever touches the Syncer runs in x.after, once
// the store is unlocked: the Syncer holds its own lock while it reads or
// applies the configuration (lock order: Syncer, then store), so calling
// it with the store locked could deadlock.
var cmCommands = []Command{
	{Verb: "list", Module: "cm", Kind: "device", Args: "[NAME …]", Help: "this device and the trusted ones: config-sync address, certificate fingerprint", ReadOnly: true, run: runListCMDevice},
	{Verb: "modify", Module: "cm", Kind: "device", Args: "NAME …", Help: "refused: a device's name and config-sync address are the boot config's (ha.unit, ha.configsync)", run: runModifyCMDevice},
	{Verb: "list", Module: "cm", Kind: "device-group", Args: "[NAME …]", Help: "the device groups (config sync)", ReadOnly: true, run: runListDeviceGroup},
	{Verb: "list", Module: "cm", Kind: "trust-domain", Args: "[Root]", Help: "the trust domain: the devices whose certificates this one accepts", ReadOnly: true, run: runListTrustDomain},
	{Verb: "create", Module: "cm", Kind: "device-group", Args: "NAME [devices { DEVICE … }] [type sync-failover|sync-only] [auto-sync enabled|disabled] [network-failover enabled|disabled]", Help: "create a device group of trusted devices (one per device)", run: runCreateDeviceGroup},
	{Verb: "modify", Module: "cm", Kind: "device-group", Args: "NAME [devices add|delete|replace-all-with { DEVICE … }] [type …] [auto-sync enabled|disabled] [network-failover enabled|disabled]", Help: "change a device group; its members take the change at their next poll", run: runModifyDeviceGroup},
	{Verb: "delete", Module: "cm", Kind: "device-group", Args: "NAME", Help: "remove a device group from this device", run: runDeleteDeviceGroup},
	{Verb: "modify", Module: "cm", Kind: "trust-domain", Args: "Root ca-devices add { ADDRESS } name DEVICE username USER password PASSWORD | Root ca-devices delete { DEVICE }", Help: "add a device to the trust domain (both store the other's certificate) or remove one", run: runModifyTrustDomain},
	{Verb: "show", Module: "cm", Kind: "sync-status", Help: "config-sync status of this device's group: In Sync, Changes Pending (and possible conflicts), Disconnected", ReadOnly: true, run: runShowSyncStatus},
	{Verb: "run", Module: "cm", Kind: "config-sync", Args: "to-group NAME | from-group NAME", Help: "push this device's configuration to the group, or take the group's newest", run: runConfigSync},
}

func runModifyCMDevice(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	return "", errors.New("modify cm device: this device's name and config-sync address are the boot config's ha.unit and ha.configsync (device-local, never synced): change them there and restart")
}

// cmStart checks that config sync is on and the command runs on its own.
func cmStart(x *execCtx, cmd *Command) (*cfgsync.Syncer, error) {
	what := cmd.Verb + " " + cmd.Module + " " + cmd.Kind
	if x.src.CM == nil {
		return nil, fmt.Errorf("%s: config sync is off (no ha.configsync in the boot config)", what)
	}
	if !x.direct {
		return nil, fmt.Errorf("%s: runs on a line of its own, not inside a transaction or a pushed script", what)
	}
	return x.src.CM, nil
}

// cmName reads a device or group name, with or without /Common/.
func cmName(t conf.Token, what string) (string, error) {
	if t.Kind != conf.TokWord {
		return "", conf.LineErrorf(t.Line, "%s: want a name, got %s", what, t.Describe())
	}
	n := strings.TrimPrefix(t.Text, "/"+config.CommonPartition+"/")
	if err := cfgsync.CheckName(n); err != nil {
		return "", conf.LineErrorf(t.Line, "%s %q: %w", what, t.Text, err)
	}
	return n, nil
}

func full(n string) string { return "/" + config.CommonPartition + "/" + n }

// cmNames reads the names wanted by a list command.
func cmNames(args *conf.Cursor, what string) (map[string]bool, error) {
	want := map[string]bool{}
	for !args.Done() {
		n, err := cmName(args.Next(), what)
		if err != nil {
			return nil, err
		}
		want[n] = true
	}
	return want, nil
}

func runListCMDevice(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	s, err := cmStart(x, cmd)
	if err != nil {
		return "", err
	}
	want, err := cmNames(args, "cm device")
	if err != nil {
		return "", err
	}
	var failover string
	if x.src.Failover != nil {
		failover = x.src.Failover.FailoverStatus().State
	}
	x.after = func() (string, error) {
		var b strings.Builder
		device := func(name, addr, fp string, self bool) {
			if len(want) > 0 && !want[name] {
				return
			}
			delete(want, name)
			fmt.Fprintf(&b, "cm device %s {\n", full(name))
			fmt.Fprintf(&b, "    cert-fingerprint %s\n", fp)
			if host, port, err := net.SplitHostPort(addr); err == nil {
				fmt.Fprintf(&b, "    configsync-ip %s\n    configsync-port %s\n", host, port)
			}
			if self && failover != "" {
				fmt.Fprintf(&b, "    failover-state %s\n", failover)
			}
			fmt.Fprintf(&b, "    self-device %t\n}\n", self)
		}
		device(s.Device(), s.Addr(), s.Fingerprint(), true)
		for _, p := range s.Peers() {
			device(p.Name, p.Addr, cfgsync.Fingerprint(p.Cert), false)
		}
		for n := range want {
			return "", fmt.Errorf("list cm device: %s: no such device (neither this one nor a trusted one)", full(n))
		}
		return b.String(), nil
	}
	return "", nil
}

// formatGroup prints a device group as list does, and create reads back.
func formatGroup(g cfgsync.Group) string {
	var b strings.Builder
	fmt.Fprintf(&b, "cm device-group %s {\n", full(g.Name))
	fmt.Fprintf(&b, "    auto-sync %s\n", enabled(g.AutoSync))
	b.WriteString("    devices {\n")
	for _, d := range g.Devices {
		fmt.Fprintf(&b, "        %s { }\n", full(d))
	}
	b.WriteString("    }\n")
	fmt.Fprintf(&b, "    network-failover %s\n", enabled(g.NetworkFailover))
	fmt.Fprintf(&b, "    type %s\n}\n", g.Type)
	return b.String()
}

func enabled(b bool) string {
	if b {
		return "enabled"
	}
	return "disabled"
}

func runListDeviceGroup(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	s, err := cmStart(x, cmd)
	if err != nil {
		return "", err
	}
	want, err := cmNames(args, "cm device-group")
	if err != nil {
		return "", err
	}
	x.after = func() (string, error) {
		var b strings.Builder
		for _, g := range s.Groups() {
			if len(want) > 0 && !want[g.Name] {
				continue
			}
			delete(want, g.Name)
			b.WriteString(formatGroup(g))
		}
		for n := range want {
			return "", fmt.Errorf("list cm device-group: %s: no such device group", full(n))
		}
		return b.String(), nil
	}
	return "", nil
}

func runListTrustDomain(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	s, err := cmStart(x, cmd)
	if err != nil {
		return "", err
	}
	if !args.Done() {
		if t := args.Next(); !t.IsWord("Root") && !t.IsWord("/Common/Root") || !args.Done() {
			return "", conf.LineErrorf(t.Line, "list cm trust-domain: %s: the only trust domain is Root", t.Describe())
		}
	}
	x.after = func() (string, error) {
		names := []string{full(s.Device())}
		for _, p := range s.Peers() {
			names = append(names, full(p.Name))
		}
		slices.Sort(names)
		state := "standalone"
		if len(names) > 1 {
			state = "initialized"
		}
		return fmt.Sprintf("cm trust-domain /Common/Root {\n    ca-devices { %s }\n    status %s\n    trust-group /Common/device_trust_group\n}\n",
			strings.Join(names, " "), state), nil
	}
	return "", nil
}

// readDevices reads { NAME … } (each name may be followed by { }, as list
// prints them).
func readDevices(args *conf.Cursor, what string) ([]string, error) {
	blk, err := args.Block(what)
	if err != nil {
		return nil, err
	}
	var out []string
	for !blk.Done() {
		n, err := cmName(blk.Next(), what)
		if err != nil {
			return nil, err
		}
		if blk.AtBlock() {
			inner, err := blk.Block(what + " " + n)
			if err != nil {
				return nil, err
			}
			if !inner.Done() {
				t := inner.Next()
				return nil, conf.LineErrorf(t.Line, "%s %s: unexpected %s (a device takes no properties here)", what, n, t.Describe())
			}
		}
		out = append(out, n)
	}
	return out, nil
}

// groupProps applies the properties in args to g; modify allows devices
// add, delete and replace-all-with.
func groupProps(g *cfgsync.Group, args *conf.Cursor, modify bool) error {
	what := "cm device-group " + full(g.Name)
	onOff := func(prop string) (bool, error) {
		v, err := args.Value(what + " " + prop)
		if err != nil {
			return false, err
		}
		switch v.Text {
		case "enabled":
			return true, nil
		case "disabled":
			return false, nil
		}
		return false, conf.LineErrorf(v.Line, "%s %s: %s: want enabled or disabled", what, prop, v.Describe())
	}
	for !args.Done() {
		t := args.Next()
		var err error
		switch t.Text {
		case "auto-sync":
			g.AutoSync, err = onOff(t.Text)
		case "network-failover":
			g.NetworkFailover, err = onOff(t.Text)
		case "type":
			var v conf.Token
			if v, err = args.Value(what + " type"); err == nil {
				if v.Text != cfgsync.TypeSyncFailover && v.Text != cfgsync.TypeSyncOnly {
					err = conf.LineErrorf(v.Line, "%s type: %s: want %s or %s", what, v.Describe(), cfgsync.TypeSyncFailover, cfgsync.TypeSyncOnly)
				}
				g.Type = v.Text
			}
		case "devices":
			op := "replace-all-with"
			if !args.AtBlock() {
				v, verr := args.Value(what + " devices")
				if verr != nil {
					return verr
				}
				op = v.Text
				if !modify || op != "add" && op != "delete" && op != "replace-all-with" && op != "none" {
					return conf.LineErrorf(v.Line, "%s devices: %s: want { DEVICE … }%s", what, v.Describe(), map[bool]string{true: ", add, delete, replace-all-with or none", false: ""}[modify])
				}
			}
			var ds []string
			if op != "none" {
				if ds, err = readDevices(args, what+" devices"); err != nil {
					return err
				}
			}
			switch op {
			case "add":
				for _, d := range ds {
					if !slices.Contains(g.Devices, d) {
						g.Devices = append(g.Devices, d)
					}
				}
			case "delete":
				for _, d := range ds {
					if !slices.Contains(g.Devices, d) {
						return fmt.Errorf("%s devices delete: %s: not a member", what, full(d))
					}
					g.Devices = slices.DeleteFunc(g.Devices, func(x string) bool { return x == d })
				}
			default:
				g.Devices = ds
			}
		default:
			return conf.LineErrorf(t.Line, "%s: %s: unknown property (auto-sync, devices, network-failover, type)", what, t.Describe())
		}
		if err != nil {
			return err
		}
	}
	slices.Sort(g.Devices)
	return nil
}

func runCreateDeviceGroup(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	s, err := cmStart(x, cmd)
	if err != nil {
		return "", err
	}
	if args.Done() {
		return "", errors.New("create cm device-group: want a name")
	}
	name, err := cmName(args.Next(), "cm device-group")
	if err != nil {
		return "", err
	}
	g := cfgsync.Group{Name: name, Type: cfgsync.TypeSyncOnly}
	props := args
	if args.AtBlock() { // the form list prints
		if props, err = args.Block("cm device-group " + full(name)); err != nil {
			return "", err
		}
		if !args.Done() {
			t := args.Next()
			return "", conf.LineErrorf(t.Line, "create cm device-group %s: unexpected %s after the block", full(name), t.Describe())
		}
	}
	if err := groupProps(&g, props, false); err != nil {
		return "", err
	}
	x.after = func() (string, error) {
		for _, o := range s.Groups() {
			if o.Name == name {
				return "", fmt.Errorf("create cm device-group: %s: already exists", full(name))
			}
		}
		return "", s.PutGroup(g)
	}
	return "", nil
}

func runModifyDeviceGroup(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	s, err := cmStart(x, cmd)
	if err != nil {
		return "", err
	}
	if args.Done() {
		return "", errors.New("modify cm device-group: want a name")
	}
	name, err := cmName(args.Next(), "cm device-group")
	if err != nil {
		return "", err
	}
	// The group is read once the store is unlocked, as every cm command
	// reads config sync's state (config sync locks the store itself).
	x.after = func() (string, error) {
		var g *cfgsync.Group
		for _, o := range s.Groups() {
			if o.Name == name {
				g = &o
			}
		}
		if g == nil {
			return "", fmt.Errorf("modify cm device-group: %s: no such device group", full(name))
		}
		if err := groupProps(g, args, true); err != nil {
			return "", err
		}
		return "", s.PutGroup(*g)
	}
	return "", nil
}

func runDeleteDeviceGroup(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	s, err := cmStart(x, cmd)
	if err != nil {
		return "", err
	}
	if args.Done() {
		return "", errors.New("delete cm device-group: want a name")
	}
	name, err := cmName(args.Next(), "cm device-group")
	if err != nil {
		return "", err
	}
	if !args.Done() {
		t := args.Next()
		return "", conf.LineErrorf(t.Line, "delete cm device-group: unexpected %s", t.Describe())
	}
	x.after = func() (string, error) { return "", s.DeleteGroup(name) }
	return "", nil
}

func runModifyTrustDomain(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	s, err := cmStart(x, cmd)
	if err != nil {
		return "", err
	}
	const what = "modify cm trust-domain"
	if args.Done() {
		return "", errors.New(what + ": want Root ca-devices add|delete { … }")
	}
	if t := args.Next(); !t.IsWord("Root") && !t.IsWord("/Common/Root") {
		return "", conf.LineErrorf(t.Line, "%s: %s: the only trust domain is Root", what, t.Describe())
	}
	if t, err := args.Value(what + " Root"); err != nil {
		return "", err
	} else if t.Text != "ca-devices" {
		return "", conf.LineErrorf(t.Line, "%s Root: %s: want ca-devices", what, t.Describe())
	}
	op, err := args.Value(what + " Root ca-devices")
	if err != nil {
		return "", err
	}
	blk, err := args.Block(what + " Root ca-devices " + op.Text)
	if err != nil {
		return "", err
	}
	var items []conf.Token
	for !blk.Done() {
		items = append(items, blk.Next())
	}
	if len(items) != 1 || items[0].Kind != conf.TokWord {
		return "", conf.LineErrorf(op.Line, "%s Root ca-devices %s: want one { %s }", what, op.Text, map[bool]string{true: "ADDRESS", false: "DEVICE"}[op.Text == "add"])
	}
	switch op.Text {
	case "delete":
		name, err := cmName(items[0], what+" Root ca-devices delete")
		if err != nil {
			return "", err
		}
		if !args.Done() {
			t := args.Next()
			return "", conf.LineErrorf(t.Line, "%s: unexpected %s", what, t.Describe())
		}
		x.after = func() (string, error) { return "", s.Untrust(name) }
		return "", nil
	case "add":
	default:
		return "", conf.LineErrorf(op.Line, "%s Root ca-devices: %s: want add or delete", what, op.Describe())
	}
	addr := items[0].Text
	var name, user, password string
	for !args.Done() {
		t := args.Next()
		v, err := args.Value(what + " " + t.Text)
		if err != nil {
			return "", err
		}
		switch t.Text {
		case "name":
			if name, err = cmName(v, what+" name"); err != nil {
				return "", err
			}
		case "username":
			user = v.Text
		case "password":
			password = v.Text
		default:
			return "", conf.LineErrorf(t.Line, "%s: %s: unknown option (name, username, password)", what, t.Describe())
		}
	}
	if name == "" || user == "" {
		return "", fmt.Errorf("%s Root ca-devices add { %s }: want name DEVICE username USER password PASSWORD (an administrator of that device)", what, addr)
	}
	x.after = func() (string, error) {
		fp, err := s.Trust(addr, name, user, password)
		if err != nil {
			return "", fmt.Errorf("%s: %s (%s): %w", what, full(name), addr, err)
		}
		return fmt.Sprintf("%s added to the trust domain; its certificate fingerprint (SHA-256) is %s\n", full(name), fp), nil
	}
	return "", nil
}

func runShowSyncStatus(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	if !args.Done() {
		t := args.Next()
		return "", conf.LineErrorf(t.Line, "show cm sync-status: unexpected %s", t.Describe())
	}
	rule := strings.Repeat("-", 40) + "\n"
	row := func(b *strings.Builder, k, v string) { fmt.Fprintf(b, "%-16s %s\n", k, v) }
	if x.src.CM == nil {
		var b strings.Builder
		b.WriteString(rule + "CM::Sync Status\n" + rule)
		row(&b, "Color", cfgsync.Color(cfgsync.Standalone))
		row(&b, "Status", cfgsync.Standalone)
		row(&b, "Mode", "standalone")
		row(&b, "Summary", "config sync is off (no ha.configsync in the boot config)")
		return b.String(), nil
	}
	s, err := cmStart(x, cmd)
	if err != nil {
		return "", err
	}
	x.after = func() (string, error) {
		st, err := s.Status()
		if err != nil {
			return "", fmt.Errorf("show cm sync-status: %w", err)
		}
		var b strings.Builder
		b.WriteString(rule + "CM::Sync Status\n" + rule)
		row(&b, "Color", cfgsync.Color(st.Status))
		row(&b, "Status", st.Status)
		mode := "standalone"
		if st.Group != "" {
			mode = "high-availability"
		}
		row(&b, "Mode", mode)
		row(&b, "Summary", st.Summary)
		if st.Group == "" {
			return b.String(), nil
		}
		row(&b, "Device Group", fmt.Sprintf("%s (%s, auto-sync %s)", full(st.Group), st.Type, enabled(st.AutoSync)))
		row(&b, "Generation", st.Gen.String())
		if st.Action != "" {
			row(&b, "Action", st.Action)
		}
		b.WriteString("Details\n")
		for _, p := range st.Peers {
			switch p.State {
			case cfgsync.Disconnected:
				fmt.Fprintf(&b, "  %-14s %s: %s\n", full(p.Name), p.State, p.Err)
			case cfgsync.ChangesPending:
				who := map[string]string{"local": "this device changed", "peer": "it changed", "both": "both changed: possible change conflict"}[p.Pending]
				fmt.Fprintf(&b, "  %-14s %s: %s since the common generation %s; it holds %s\n", full(p.Name), p.State, who, p.Base, p.Gen)
			default:
				fmt.Fprintf(&b, "  %-14s %s: generation %s\n", full(p.Name), p.State, p.Gen)
			}
		}
		return b.String(), nil
	}
	return "", nil
}

func runConfigSync(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	s, err := cmStart(x, cmd)
	if err != nil {
		return "", err
	}
	const usage = "run cm config-sync: want to-group NAME or from-group NAME"
	if args.Done() {
		return "", errors.New(usage)
	}
	dir := args.Next()
	if !dir.IsWord("to-group") && !dir.IsWord("from-group") {
		return "", conf.LineErrorf(dir.Line, "run cm config-sync: %s: want to-group or from-group", dir.Describe())
	}
	if args.Done() {
		return "", errors.New(usage)
	}
	name, err := cmName(args.Next(), "run cm config-sync "+dir.Text)
	if err != nil {
		return "", err
	}
	if !args.Done() {
		t := args.Next()
		return "", conf.LineErrorf(t.Line, "run cm config-sync: unexpected %s", t.Describe())
	}
	x.after = func() (string, error) {
		var err error
		if dir.Text == "to-group" {
			err = s.ToGroup(name)
		} else {
			err = s.FromGroup(name)
		}
		if err != nil {
			return "", fmt.Errorf("run cm config-sync %s %s: %w", dir.Text, full(name), err)
		}
		return "", nil
	}
	return "", nil
}

// PromptState is the unit's part of the tmsh prompt, as BIG-IP shows it:
// "(lbx1)(cfg-sync In Sync)(Active)" — the device, its config-sync status
// and its failover state. It is "" on a unit with neither HA nor config
// sync, whose prompt stays the standalone one. It sends nothing: the sync
// status is the one config sync last computed.
func (d *Dialect) PromptState() string {
	f, cm := d.src.Failover, d.src.CM
	if f == nil && cm == nil {
		return ""
	}
	host, sync, state := "lbx", cfgsync.Standalone, "Active"
	if cm != nil {
		host, sync = cm.Device(), cm.PromptStatus()
	}
	if f != nil {
		st := f.FailoverStatus()
		host = st.Unit
		state = map[string]string{"active": "Active", "standby": "Standby", "offline": "ForcedOffline"}[st.State]
		if state == "" {
			state = st.State
		}
	}
	return "(" + host + ")(cfg-sync " + sync + ")(" + state + ")"
}
