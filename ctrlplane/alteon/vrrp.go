package alteon

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"lbx/ctrlplane/status"
)

// The /cfg/l3/vrrp menus: the unit's one virtual router (traffic-group-1)
// in Alteon's words, mapped onto the boot config's ha section, which is
// device-local and read at start: the menus show the running values. prio,
// adver and preem (status.Failover's SetVRRP) and track's ifs, reals and
// wdog (SetTrack) change the running unit at once (not saved: the boot key
// sets them again at the next start); the other commands given a value
// say which boot key sets it instead of changing anything.
//
//	/c/l3/vrrp            on/off      ha.unit (empty: off)
//	/c/l3/vrrp/vr 1       vrid        ha.vrid
//	                      addr        traffic-group-1's addresses (net self … traffic-group, the VIPs)
//	                      if          ha.ports
//	                      prio        ha.priority
//	                      adver       ha.advert_interval
//	                      preem       ha.preempt
//	                      share       (active/standby only: dis)
//	/c/l3/vrrp/vr 1/track ifs         ha.failsafe_vlans
//	                      reals       ha.gateway_failsafe_pool, _min_up
//	                      wdog        ha.watchdog (lbx's own)

// vrrpKey is the boot key behind each /c/l3/vrrp command.
var vrrpKey = map[string]string{
	"on": "ha.unit", "off": "ha.unit", "vrid": "ha.vrid", "addr": "net self … traffic-group traffic-group-1 (tmsh)",
	"if": "ha.ports", "prio": "ha.priority", "adver": "ha.advert_interval", "preem": "ha.preempt",
	"share": "none (lbx is active/standby: sharing is always off)", "ena": "ha.unit", "dis": "ha.unit",
	"ifs": "ha.failsafe_vlans", "reals": "ha.gateway_failsafe_pool and ha.gateway_failsafe_min_up", "wdog": "ha.watchdog",
}

// vrrpValue is one command of the menus: with no argument it prints the
// value; with one it refuses, naming the boot key.
func vrrpValue(name, help string, show func(st status.FailoverStatus) string) altCmd {
	return vrrpSetting(name, help, show, nil)
}

// vrrpSetting is vrrpValue for a setting that changes at run time: given
// a value, set changes the running settings with it (or says what is
// wrong with it) and the unit takes them at once.
func vrrpSetting(name, help string, show func(st status.FailoverStatus) string, set func(s *status.VRRPSettings, v string) error) altCmd {
	if set == nil {
		return trackSetting(name, help, show, nil)
	}
	return trackSetting(name, help, show, func(a *altCtx, st status.FailoverStatus, args []string) error {
		if len(args) > 1 {
			return fmt.Errorf("one value, got %d", len(args))
		}
		vs := st.VRRP()
		if err := set(&vs, args[0]); err != nil {
			return err
		}
		return a.x.src.Failover.SetVRRP(vs)
	})
}

// trackSetting is vrrpSetting with the whole argument list: apply checks
// it and changes the running unit.
func trackSetting(name, help string, show func(st status.FailoverStatus) string, apply func(a *altCtx, st status.FailoverStatus, args []string) error) altCmd {
	h := help + " (the boot config's " + vrrpKey[name] + ")"
	if apply != nil {
		h = help + " (running unit; the boot config's " + vrrpKey[name] + " at start)"
	}
	return altCmd{name: name, args: "[<value>]", help: h, min: 0, max: 8,
		run: func(a *altCtx, f altFrame, args []string) (string, error) {
			st, ok := vrrpStatus(a)
			if len(args) > 0 && apply == nil {
				return "", fmt.Errorf("%s/%s: set in the boot config, not here: %s is device-local and read at start (lbx run --%s or its ha: section); /c/l3/vrrp changes no configuration",
					altMenus[f.kind].path(f), name, vrrpKey[name], strings.SplitN(vrrpKey[name], " ", 2)[0])
			}
			if len(args) > 0 {
				what := altMenus[f.kind].path(f) + "/" + name
				if !ok {
					return "", fmt.Errorf("%s: VRRP is off: no ha section in the boot config (standalone)", what)
				}
				if err := apply(a, st, args); err != nil {
					return "", fmt.Errorf("%s %s: %w", what, strings.Join(args, " "), err)
				}
				return show(a.x.src.Failover.FailoverStatus()) + " (running unit; not saved: the boot config's " + vrrpKey[name] + " sets it at the next start)\n", nil
			}
			if !ok {
				return "VRRP is off: no ha section in the boot config (standalone)\n", nil
			}
			return show(st) + "\n", nil
		}}
}

func vrrpStatus(a *altCtx) (status.FailoverStatus, bool) {
	if a.x.src.Failover == nil {
		return status.FailoverStatus{}, false
	}
	return a.x.src.Failover.FailoverStatus(), true
}

func onOff(b bool) string {
	if b {
		return "enabled"
	}
	return "disabled"
}

func addVRRPMenus(m map[altKind]*altMenu) {
	fixed := func(s string) func(altFrame) string { return func(altFrame) string { return s } }
	m[altL3].cmds = append(m[altL3].cmds, sub("vrrp", "", "VRRP menu: this unit's virtual router (the boot config's ha section)", altL3VRRP))
	m[altL3VRRP] = &altMenu{title: fixed("Virtual Router Redundancy Protocol"), path: fixed("/c/l3/vrrp"), cmds: []altCmd{
		vrrpValue("on", "globally turn VRRP on", func(st status.FailoverStatus) string { return "Current status: VRRP on, unit " + st.Unit }),
		vrrpValue("off", "globally turn VRRP off", func(st status.FailoverStatus) string { return "Current status: VRRP on, unit " + st.Unit }),
		{name: "vr", args: "<virtual router number 1>", help: "virtual router menu (lbx has one: traffic-group-1)", min: 1, max: 1,
			enter: func(_ *altCtx, _ altFrame, args []string) (altFrame, error) {
				if args[0] != "1" {
					return altFrame{}, fmt.Errorf("vr %s: lbx has one virtual router, 1 (traffic-group-1)", args[0])
				}
				return altFrame{kind: altL3VRRPVr, id: "1"}, nil
			}},
		{name: "cur", help: "display the VRRP configuration", run: runVRRPCur},
	}}
	m[altL3VRRPVr] = &altMenu{title: fixed("VRRP Virtual Router 1"), path: fixed("/c/l3/vrrp/vr 1"), cmds: []altCmd{
		vrrpValue("vrid", "virtual router ID", func(st status.FailoverStatus) string { return fmt.Sprintf("Current virtual router ID: %d", st.VRID) }),
		vrrpValue("addr", "IP addresses of the virtual router", func(st status.FailoverStatus) string {
			return fmt.Sprintf("Current addresses: %v", st.Addrs)
		}),
		vrrpValue("if", "interfaces advertised on", func(st status.FailoverStatus) string {
			return "Current interfaces: " + strings.Join(st.Ports, " ")
		}),
		vrrpSetting("prio", "renter priority", func(st status.FailoverStatus) string { return fmt.Sprintf("Current priority: %d", st.Priority) },
			func(s *status.VRRPSettings, v string) error {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > 254 {
					return errors.New("want a priority of 1 to 254")
				}
				s.Priority = n
				return nil
			}),
		vrrpSetting("adver", "advertisement interval", func(st status.FailoverStatus) string {
			return fmt.Sprintf("Current advertisement interval: %s (%d centiseconds)", st.Interval, st.Interval/(10*time.Millisecond))
		}, func(s *status.VRRPSettings, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 4095 {
				return errors.New("want 1 to 4095 centiseconds")
			}
			s.Interval = time.Duration(n) * 10 * time.Millisecond
			return nil
		}),
		vrrpSetting("preem", "preemption", func(st status.FailoverStatus) string {
			return fmt.Sprintf("Current preemption: %s, delay %s", onOff(st.Preempt), st.PreemptDelay)
		}, func(s *status.VRRPSettings, v string) error {
			switch v {
			case "ena", "enabled", "e":
				s.Preempt = true
			case "dis", "disabled", "d":
				s.Preempt = false
			default:
				return errors.New("want ena or dis")
			}
			return nil
		}),
		vrrpValue("share", "active-active sharing", func(status.FailoverStatus) string { return "Current sharing: disabled" }),
		vrrpValue("ena", "enable the virtual router", func(status.FailoverStatus) string { return "Current status: enabled" }),
		vrrpValue("dis", "disable the virtual router", func(status.FailoverStatus) string { return "Current status: enabled" }),
		sub("track", "", "priority tracking menu: lbx's fail-safes", altL3VRRPTrack),
		{name: "cur", help: "display the virtual router's configuration", run: runVRRPCur},
	}}
	m[altL3VRRPTrack] = &altMenu{title: fixed("VRRP Virtual Router 1 Priority Tracking"), path: fixed("/c/l3/vrrp/vr 1/track"), cmds: []altCmd{
		trackSetting("ifs", "track interfaces (VLAN fail-safe: fail over while one's link is down): ena PORT … | dis", func(st status.FailoverStatus) string {
			return "Current tracked interfaces: " + orNone(strings.Join(st.FailsafeVLANs, " "))
		}, func(a *altCtx, st status.FailoverStatus, args []string) error {
			t := st.Track()
			switch {
			case args[0] == "dis" && len(args) == 1:
				t.VLANs = nil
			case args[0] == "ena" && len(args) > 1:
				t.VLANs = args[1:]
			default:
				return errors.New("want ena PORT … or dis")
			}
			return a.x.src.Failover.SetTrack(t)
		}),
		trackSetting("reals", "track real servers (gateway fail-safe: fail over while a pool has too few up): ena POOL-NAME [MIN-UP] | dis", func(st status.FailoverStatus) string {
			if st.GatewayPool == "" {
				return "Current tracked real servers: none"
			}
			return fmt.Sprintf("Current tracked real servers: pool %s, at least %d up", st.GatewayPool, st.GatewayMinUp)
		}, func(a *altCtx, st status.FailoverStatus, args []string) error {
			t := st.Track()
			switch {
			case args[0] == "dis" && len(args) == 1:
				t.GatewayPool, t.GatewayMinUp = "", 0
			case args[0] == "ena" && (len(args) == 2 || len(args) == 3):
				t.GatewayPool, t.GatewayMinUp = args[1], 1
				if !strings.HasPrefix(t.GatewayPool, "/") {
					t.GatewayPool = "/Common/" + t.GatewayPool
				}
				if len(args) == 3 {
					n, err := strconv.Atoi(args[2])
					if err != nil || n < 1 || n > 1024 {
						return errors.New("min-up: want 1 to 1024")
					}
					t.GatewayMinUp = n
				}
			default:
				return errors.New("want ena POOL-NAME [MIN-UP] or dis")
			}
			return a.x.src.Failover.SetTrack(t)
		}),
		trackSetting("wdog", "track the dataplane (fail over while a worker is stuck): DURATION | dis", func(st status.FailoverStatus) string {
			if st.Watchdog == 0 {
				return "Current dataplane watchdog: off"
			}
			return "Current dataplane watchdog: " + st.Watchdog.String()
		}, func(a *altCtx, st status.FailoverStatus, args []string) error {
			t := st.Track()
			if len(args) != 1 {
				return errors.New("want a duration (200ms to 1m) or dis")
			}
			if args[0] == "dis" {
				t.Watchdog = 0
			} else {
				d, err := time.ParseDuration(args[0])
				if err != nil || d < 200*time.Millisecond || d > time.Minute {
					return errors.New("want a duration (200ms to 1m) or dis")
				}
				t.Watchdog = d
			}
			return a.x.src.Failover.SetTrack(t)
		}),
		{name: "cur", help: "display the tracking configuration", run: runVRRPCur},
	}}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// runVRRPCur prints the VRRP configuration as Alteon's cur does, with the
// running unit's values (the boot config's, unless prio, adver or preem
// changed them since the start).
func runVRRPCur(a *altCtx, _ altFrame, _ []string) (string, error) {
	st, ok := vrrpStatus(a)
	if !ok {
		return "/c/l3/vrrp\n\toff\n", nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "/c/l3/vrrp\n\ton\n/c/l3/vrrp/vr 1\n\tena\n\tvrid %d\n", st.VRID)
	for _, ad := range st.Addrs {
		fmt.Fprintf(&b, "\taddr %s\n", ad)
	}
	fmt.Fprintf(&b, "\tif %s\n\tprio %d\n\tadver %d\n", strings.Join(st.Ports, " "), st.Priority, st.Interval/(10*time.Millisecond))
	if st.Preempt {
		b.WriteString("\tpreem ena\n")
	} else {
		b.WriteString("\tpreem dis\n")
	}
	b.WriteString("\tshare dis\n/c/l3/vrrp/vr 1/track\n")
	if len(st.FailsafeVLANs) > 0 {
		fmt.Fprintf(&b, "\tifs ena %s\n", strings.Join(st.FailsafeVLANs, " "))
	}
	if st.GatewayPool != "" {
		fmt.Fprintf(&b, "\treals ena %s %d\n", st.GatewayPool, st.GatewayMinUp)
	}
	if st.Watchdog > 0 {
		fmt.Fprintf(&b, "\twdog %s\n", st.Watchdog)
	}
	return b.String(), nil
}
