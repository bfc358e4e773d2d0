package rest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/store"
)

// otherMonitorTypes are BIG-IP monitor types lbx has not: their
// collections answer empty, as go-bigip reads them all.
var otherMonitorTypes = []string{"ftp", "postgresql", "mysql", "mssql", "ldap", "smtp", "oracle", "radius", "sip", "snmp-dca", "dns", "inband", "diameter", "imap", "pop3", "nntp", "sasp", "scripted", "soap", "virtual-location", "wap", "wmi", "firepass", "module-score", "none"}

func monitorType(s string) (config.MonitorType, bool) {
	for t := range config.MonitorTypeCount {
		if t.String() == s {
			return t, true
		}
	}
	return 0, false
}

func optU32(dst *config.Opt[uint32]) func(v json.RawMessage) error {
	return func(v json.RawMessage) error {
		n, err := u32(v)
		*dst = config.Some(n)
		return err
	}
}

func optStr(dst *config.Opt[string]) func(v json.RawMessage) error {
	return func(v json.RawMessage) error {
		s, err := str(v)
		*dst = config.Some(s)
		return err
	}
}

// The clients send send and recv strings with tmsh's escapes as literal
// text ("GET / HTTP/1.1\\r\\n" in JSON); tmsh's lexer turns them into the
// characters, which is what the model holds. REST does the same both
// ways, so a string round-trips verbatim and the CLI and REST agree.
var (
	unescaper = strings.NewReplacer(`\\`, `\`, `\r`, "\r", `\n`, "\n", `\t`, "\t")
	escaper   = strings.NewReplacer(`\`, `\\`, "\r", `\r`, "\n", `\n`, "\t", `\t`)
)

func optEscaped(dst *config.Opt[string]) func(v json.RawMessage) error {
	return func(v json.RawMessage) error {
		s, err := str(v)
		*dst = config.Some(unescaper.Replace(s))
		return err
	}
}

var monitorFields = fields[config.Monitor]{
	"description": func(m *config.Monitor, v json.RawMessage) (err error) { m.Description, err = str(v); return },
	"defaultsFrom": func(m *config.Monitor, v json.RawMessage) error {
		p, err := fullName(v)
		if err != nil {
			return err
		}
		if p == "" {
			p = m.Type.Builtin()
		}
		m.DefaultsFrom = p
		return nil
	},
	"interval":    func(m *config.Monitor, v json.RawMessage) error { return optU32(&m.Interval)(v) },
	"timeout":     func(m *config.Monitor, v json.RawMessage) error { return optU32(&m.Timeout)(v) },
	"upInterval":  func(m *config.Monitor, v json.RawMessage) error { return optU32(&m.UpInterval)(v) },
	"timeUntilUp": func(m *config.Monitor, v json.RawMessage) error { return optU32(&m.TimeUntilUp)(v) },
	"send":        func(m *config.Monitor, v json.RawMessage) error { return optEscaped(&m.Send)(v) },
	"recv":        func(m *config.Monitor, v json.RawMessage) error { return optEscaped(&m.Recv)(v) },
	"recvDisable": func(m *config.Monitor, v json.RawMessage) error { return optEscaped(&m.RecvDisable)(v) },
	"run":         func(m *config.Monitor, v json.RawMessage) error { return optStr(&m.Run)(v) },
	"args":        func(m *config.Monitor, v json.RawMessage) error { return optStr(&m.Args)(v) },
	"destination": func(m *config.Monitor, v json.RawMessage) error {
		s, err := str(v)
		if err != nil {
			return err
		}
		d, err := config.ParseMonitorDestination(s, m.Type.AddressOnly())
		m.Destination = config.Some(d)
		return err
	},
	"manualResume": func(m *config.Monitor, v json.RawMessage) error {
		b, err := enabledWord(v)
		m.ManualResume = config.Some(b)
		return err
	},
	"reverse":     onlyDefault[config.Monitor]("disabled"),
	"transparent": onlyDefault[config.Monitor]("disabled"),
	"adaptive":    onlyDefault[config.Monitor]("disabled"),
	"ipDscp":      onlyDefault[config.Monitor]("0"),
	"username":    onlyDefault[config.Monitor](),
	"password":    onlyDefault[config.Monitor](),
	"name":        nil, "partition": nil, "fullPath": nil, "kind": nil, "generation": nil, "selfLink": nil,
	"appService": nil, "adaptiveDivergenceType": nil, "adaptiveDivergenceValue": nil, "adaptiveLimit": nil,
	"adaptiveSamplingTimespan": nil,
}

// monitor serves /mgmt/tm/ltm/monitor/TYPE[/ID].
func (s *Server) monitor(req *request, typName string, segs []string) (op, error) {
	coll := "ltm/monitor/" + typName
	typ, ok := monitorType(typName)
	if !ok {
		if slices.Contains(otherMonitorTypes, typName) && len(segs) == 0 && req.method == http.MethodGet {
			return read(func(*status.View) (any, error) { return collection(req, coll, nil) }), nil
		}
		return op{}, errf(404, "Public URI path not registered: %s", req.path)
	}
	if len(segs) == 0 {
		switch req.method {
		case http.MethodGet:
			return read(func(v *status.View) (any, error) {
				c := v.Config()
				items := []map[string]any{monitorJSON(c, config.BuiltinMonitor(typ.Builtin()))}
				for _, m := range c.MonitorList() {
					if m.Type == typ {
						items = append(items, monitorJSON(c, m))
					}
				}
				return collection(req, coll, items)
			}), nil
		case http.MethodPost:
			b, name, err := createBody(req)
			if err != nil {
				return op{}, err
			}
			m := &config.Monitor{Name: name, Type: typ, DefaultsFrom: typ.Builtin()}
			if err := monitorFields.apply(m, b, coll); err != nil {
				return op{}, err
			}
			return op{
				apply:  func(t *store.Txn) error { return checkParent(t.Config(), m, t.Create(m)) },
				result: func(v *status.View) (any, error) { return getMonitor(v, typ, name) },
			}, nil
		}
		return op{}, errMethod(req)
	}
	get := func(name string) func(v *status.View) (any, error) {
		return func(v *status.View) (any, error) { return getMonitor(v, typ, name) }
	}
	return itemOp(req, segs[0], len(segs), config.KindMonitor, typ.String(), get, func(t *store.Txn, ref config.Ref, b body) error {
		var m *config.Monitor
		err := t.Modify(ref, func(o config.Object) error {
			m = o.(*config.Monitor)
			return monitorFields.apply(m, b, coll)
		})
		return checkParent(t.Config(), m, err)
	})
}

// checkParent refuses a defaults-from that is not a monitor of the same
// type, as BIG-IP does at once (validation would too, at commit, but
// less plainly). err is a previous step's.
func checkParent(c *config.Config, m *config.Monitor, err error) error {
	if err != nil {
		return err
	}
	p := c.LookupMonitor(m.DefaultsFrom)
	if p == nil {
		return config.Invalid(m.Ref(), "defaults-from "+m.DefaultsFrom, config.ErrNoSuchMonitor)
	}
	if p.Type != m.Type {
		return config.Invalid(m.Ref(), "defaults-from "+m.DefaultsFrom, fmt.Errorf("is a %s monitor, not %s", p.Type, m.Type))
	}
	return nil
}

func getMonitor(v *status.View, typ config.MonitorType, name string) (any, error) {
	c := v.Config()
	m := c.LookupMonitor(name)
	if m == nil || m.Type != typ {
		return nil, &config.NotFoundError{Ref: config.Ref{Kind: config.KindMonitor, Type: typ.String(), Name: name}}
	}
	return monitorJSON(c, m), nil
}

// monitorJSON renders a monitor with every property in effect (inherited
// ones included), as BIG-IP lists them.
func monitorJSON(c *config.Config, m *config.Monitor) map[string]any {
	typ := m.Type.String()
	o := envelope("tm:ltm:monitor:"+typ+":"+typ+"state", "ltm/monitor/"+typ+"/"+tilde(m.Name), m.Name)
	e := c.EffectiveMonitor(m)
	if m.DefaultsFrom != "" {
		o["defaultsFrom"] = m.DefaultsFrom
	}
	o["description"] = m.Description
	o["interval"], o["timeout"], o["upInterval"], o["timeUntilUp"] = e.Interval.V, e.Timeout.V, e.UpInterval.V, e.TimeUntilUp.V
	o["destination"] = e.Destination.V
	o["manualResume"] = enabledDisabled(e.ManualResume.V)
	o["reverse"], o["transparent"], o["adaptive"], o["ipDscp"] = "disabled", "disabled", "disabled", 0
	switch m.Type {
	case config.MonitorHTTP, config.MonitorHTTPS, config.MonitorTCP, config.MonitorUDP:
		o["send"], o["recv"], o["recvDisable"] = escaper.Replace(e.Send.V), escaper.Replace(e.Recv.V), escaper.Replace(e.RecvDisable.V)
	case config.MonitorExternal:
		o["run"], o["args"] = e.Run.V, e.Args.V
	}
	return o
}
