package conf

import (
	"strings"

	"lbx/ctrlplane/config"
)

// monitorFields are the inheritable properties, in name order.
var monitorFields = []optField[config.Monitor]{
	optUint("alteon-restr", "Alteon timing: good probes in a row to come up (0: BIG-IP timing)", config.PropRange(config.KindMonitor, "alteon-restr"), func(m *config.Monitor) *config.Opt[uint32] { return &m.AlteonRestore }),
	optUint("alteon-retry", "Alteon timing: failed probes in a row to go down (0: BIG-IP timing)", config.PropRange(config.KindMonitor, "alteon-retry"), func(m *config.Monitor) *config.Opt[uint32] { return &m.AlteonRetry }),
	optText("args", "arguments of the external program", func(m *config.Monitor) *config.Opt[string] { return &m.Args }).on(uint8(config.MonitorExternal)),
	{
		// lbx's switch for the IIS 7.0 quirk (see README "Health monitors"):
		// lenient accepts a server that answers the monitor's FIN with RST;
		// legacy fails it, as Alteon firmware before 23.2.9 did.
		name: "close-check", help: "lenient (a RST answering the monitor's FIN is fine) or legacy (it fails the check, as old Alteon firmware)",
		types: 1 << config.MonitorTCP,
		parse: func(c *Cursor, m *config.Monitor) error {
			i, err := wordValue(c, "close-check", "lenient", "legacy")
			m.CloseCheck = config.Some(i == 1)
			return err
		},
		value: func(m *config.Monitor) (string, bool) {
			return YesNo(m.CloseCheck.V, "legacy", "lenient"), m.CloseCheck.Set
		},
		inherit: inheritOpt(func(m *config.Monitor) *config.Opt[bool] { return &m.CloseCheck }),
	},
	{
		name: "destination", help: "ADDRESS:PORT to probe, * for the member's own (icmp types: ADDRESS or *)",
		parse: func(c *Cursor, m *config.Monitor) error {
			t, err := c.Value("destination")
			if err != nil {
				return err
			}
			d, err := config.ParseMonitorDestination(t.Text, m.Type.AddressOnly())
			if err != nil {
				return LineErrorf(t.Line, "destination %q: %w", t.Text, err)
			}
			m.Destination = config.Some(d)
			return nil
		},
		value:   func(m *config.Monitor) (string, bool) { return m.Destination.V, m.Destination.Set },
		inherit: inheritOpt(func(m *config.Monitor) *config.Opt[string] { return &m.Destination }),
	},
	optUint("interval", "seconds between probes", config.PropRange(config.KindMonitor, "interval"), func(m *config.Monitor) *config.Opt[uint32] { return &m.Interval }),
	optSwitch("manual-resume", "a member marked down stays down until enabled", func(m *config.Monitor) *config.Opt[bool] { return &m.ManualResume }),
	optText("recv", "text a good answer contains", func(m *config.Monitor) *config.Opt[string] { return &m.Recv }).on(uint8(config.MonitorTCP), uint8(config.MonitorHTTP), uint8(config.MonitorHTTPS), uint8(config.MonitorUDP)),
	optText("recv-disable", "text of an answer that disables the member", func(m *config.Monitor) *config.Opt[string] { return &m.RecvDisable }).on(uint8(config.MonitorTCP), uint8(config.MonitorHTTP), uint8(config.MonitorHTTPS), uint8(config.MonitorUDP)),
	optText("run", "the external program", func(m *config.Monitor) *config.Opt[string] { return &m.Run }).on(uint8(config.MonitorExternal)),
	optText("send", "text sent to the member", func(m *config.Monitor) *config.Opt[string] { return &m.Send }).on(uint8(config.MonitorTCP), uint8(config.MonitorHTTP), uint8(config.MonitorHTTPS), uint8(config.MonitorUDP)),
	optUint("time-until-up", "seconds of good answers before up", config.PropRange(config.KindMonitor, "time-until-up"), func(m *config.Monitor) *config.Opt[uint32] { return &m.TimeUntilUp }),
	optUint("timeout", "seconds without a good answer before down", config.PropRange(config.KindMonitor, "timeout"), func(m *config.Monitor) *config.Opt[uint32] { return &m.Timeout }),
	optUint("up-interval", "seconds between probes while up, 0 uses interval", config.PropRange(config.KindMonitor, "up-interval"), func(m *config.Monitor) *config.Opt[uint32] { return &m.UpInterval }),
}

func printMonitor(b *strings.Builder, c *config.Config, m *config.Monitor, all bool) {
	eff := c.EffectiveMonitor(m)
	printOpt(b, "ltm monitor "+m.Type.String()+" "+m.Name, uint8(m.Type), monitorFields, m, &eff, m.DefaultsFrom, m.Description, m.Extras, all)
}

// MonitorKinds are the `ltm monitor TYPE` kinds, one per type.
var MonitorKinds = func() []*ObjKind {
	var out []*ObjKind
	for t := range config.MonitorTypeCount {
		out = append(out, newKind(kindSpec[config.Monitor]{
			module: "ltm", kind: "monitor " + t.String(), ckind: config.KindMonitor, typ: t.String(), title: "Monitor", plural: t.String() + " monitors",
			createArgs: "[defaults-from MONITOR] [PROPERTY …]",
			props: optProps(uint8(t), monitorFields,
				func(m *config.Monitor) *string { return &m.DefaultsFrom }, func(m *config.Monitor) *string { return &m.Description }),
			objects: func(c *config.Config) map[string]*config.Monitor { return c.Monitors },
			newObj:  func(name string) *config.Monitor { return &config.Monitor{Name: name, Type: t} },
			match:   func(m *config.Monitor) bool { return m.Type == t },
			builtin: config.BuiltinMonitor,
			print:   printMonitor,
		}))
	}
	return out
}()
