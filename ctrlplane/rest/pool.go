package rest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/store"
)

var poolFields = fields[config.Pool]{
	"description": func(p *config.Pool, v json.RawMessage) (err error) { p.Description, err = str(v); return },
	"loadBalancingMode": func(p *config.Pool, v json.RawMessage) error {
		s, err := str(v)
		if err != nil {
			return err
		}
		if s == "" {
			p.Mode = config.LBRoundRobin
			return nil
		}
		m, ok := config.ParseLBMode(s)
		if !ok {
			return fmt.Errorf("%q: not a load balancing mode", s)
		}
		p.Mode = m
		return nil
	},
	"minActiveMembers": func(p *config.Pool, v json.RawMessage) (err error) { p.MinActiveMembers, err = u32(v); return },
	"monitor":          func(p *config.Pool, v json.RawMessage) (err error) { p.Monitor, err = monitorRule(v); return },
	"slowRampTime":     func(p *config.Pool, v json.RawMessage) (err error) { p.SlowRampTime, err = u32(v); return },
	"reselectTries":    func(p *config.Pool, v json.RawMessage) (err error) { p.ReselectTries, err = u32(v); return },
	"serviceDownAction": func(p *config.Pool, v json.RawMessage) error {
		s, err := word(v, append(config.ServiceDownNames(), "")...)
		for i, n := range config.ServiceDownNames() {
			if n == s {
				p.ServiceDownAction = config.ServiceDownAction(i)
			}
		}
		return err
	},
	"allowNat":  func(p *config.Pool, v json.RawMessage) (err error) { p.AllowNAT, err = enabledWord(v); return },
	"allowSnat": func(p *config.Pool, v json.RawMessage) (err error) { p.AllowSNAT, err = enabledWord(v); return },
	"members": func(p *config.Pool, v json.RawMessage) error {
		var items []body
		if err := json.Unmarshal(v, &items); err != nil && !isNull(v) {
			return fmt.Errorf("want a list of members")
		}
		p.Members = nil
		for _, it := range items {
			m, err := newMember(p, it)
			if err != nil {
				return err
			}
			if p.FindMember(m.Node, m.Port) >= 0 {
				return fmt.Errorf("member %s given twice", m.Name())
			}
			p.Members = append(p.Members, *m)
		}
		return nil
	},
	"minUpMembers":           onlyDefault[config.Pool]("0"),
	"minUpMembersAction":     onlyDefault[config.Pool]("failover"),
	"minUpMembersChecking":   onlyDefault[config.Pool]("disabled"),
	"queueDepthLimit":        onlyDefault[config.Pool]("0"),
	"queueOnConnectionLimit": onlyDefault[config.Pool]("disabled"),
	"queueTimeLimit":         onlyDefault[config.Pool]("0"),
	"ignorePersistedWeight":  onlyDefault[config.Pool]("disabled"),
	"ipTosToClient":          onlyDefault[config.Pool]("pass-through"),
	"ipTosToServer":          onlyDefault[config.Pool]("pass-through"),
	"linkQosToClient":        onlyDefault[config.Pool]("pass-through"),
	"linkQosToServer":        onlyDefault[config.Pool]("pass-through"),
	"name":                   nil, "partition": nil, "fullPath": nil, "kind": nil, "generation": nil, "selfLink": nil,
	"membersReference": nil, "appService": nil,
}

// memberFields are a member's properties; name and address are read by
// newMember.
var memberFields = fields[config.Member]{
	"description":     func(m *config.Member, v json.RawMessage) (err error) { m.Description, err = str(v); return },
	"priorityGroup":   func(m *config.Member, v json.RawMessage) (err error) { m.PriorityGroup, err = u32(v); return },
	"connectionLimit": func(m *config.Member, v json.RawMessage) (err error) { m.ConnectionLimit, err = u32(v); return },
	"ratio":           func(m *config.Member, v json.RawMessage) (err error) { m.Ratio, err = ratio(v); return },
	"session":         func(m *config.Member, v json.RawMessage) (err error) { m.Session, err = session(v); return },
	"state":           func(m *config.Member, v json.RawMessage) (err error) { m.State, err = state(v); return },
	"address": func(m *config.Member, v json.RawMessage) error {
		if isNull(v) {
			return nil
		}
		a, err := addr(v)
		if err == nil && m.Address.IsValid() && a != m.Address {
			return fmt.Errorf("%s: the address of member %s cannot be changed", a, m.Name())
		}
		m.Address = a
		return err
	},
	"fqdn":           noFQDN[config.Member]("members"),
	"monitor":        onlyDefault[config.Member]("default"),
	"rateLimit":      onlyDefault[config.Member]("disabled", "0"),
	"dynamicRatio":   onlyDefault[config.Member]("1"),
	"logging":        onlyDefault[config.Member]("disabled"),
	"ephemeral":      onlyDefault[config.Member]("false"),
	"inheritProfile": onlyDefault[config.Member]("enabled"),
	"name":           nil, "partition": nil, "fullPath": nil, "kind": nil, "generation": nil, "selfLink": nil,
	"appService": nil,
}

// newMember makes a member of pool p from a POST body (or an item of a
// pool's members list): NODE:PORT, the node's address taken from the
// body or, later, from the node.
func newMember(p *config.Pool, b body) (*config.Member, error) {
	full, err := rawName(b)
	if err != nil {
		return nil, err
	}
	node, port, err := config.ParseMemberName(full)
	if err != nil {
		return nil, errf(400, "Invalid value for property \"name\" %q: %v", full, err)
	}
	m := config.NewMember(node, port)
	if err := memberFields.apply(&m, b, "ltm/pool/members"); err != nil {
		return nil, err
	}
	return &m, nil
}

// pool serves /mgmt/tm/ltm/pool[/ID[/stats|/members[/ID[/stats]]]].
func (s *Server) pool(req *request, segs []string) (op, error) {
	const coll = "ltm/pool"
	if len(segs) == 0 {
		switch req.method {
		case http.MethodGet:
			return read(func(v *status.View) (any, error) {
				var items []map[string]any
				for _, p := range v.Config().PoolList() {
					items = append(items, poolJSON(v, p, expand(req)))
				}
				return collection(req, coll, items)
			}), nil
		case http.MethodPost:
			b, name, err := createBody(req)
			if err != nil {
				return op{}, err
			}
			p := config.NewPool(name)
			if err := poolFields.apply(p, b, coll); err != nil {
				return op{}, err
			}
			return op{
				apply:  func(t *store.Txn) error { return createNodes(t, p.Members, t.Create(p)) },
				result: func(v *status.View) (any, error) { return getPool(v, name, false) },
			}, nil
		}
		return op{}, errMethod(req)
	}
	name, err := objName(segs[0])
	if err != nil {
		return op{}, err
	}
	ref := config.Ref{Kind: config.KindPool, Name: name}
	switch {
	case len(segs) == 2 && segs[1] == "stats":
		return read(func(v *status.View) (any, error) { return poolStats(v, name) }), nil
	case len(segs) >= 2 && segs[1] == "members":
		return s.member(req, name, segs[2:])
	case len(segs) > 1:
		return op{}, errf(404, "Public URI path not registered: %s", req.path)
	}
	get := func(v *status.View) (any, error) { return getPool(v, name, expand(req)) }
	switch req.method {
	case http.MethodGet:
		return read(get), nil
	case http.MethodPatch, http.MethodPut:
		b, err := parseBody(req.body)
		if err != nil {
			return op{}, err
		}
		return op{apply: func(t *store.Txn) error {
			var members []config.Member
			err := t.Modify(ref, func(o config.Object) error {
				p := o.(*config.Pool)
				err := poolFields.apply(p, b, coll)
				members = p.Members
				return err
			})
			if _, given := b["members"]; given {
				return createNodes(t, members, err)
			}
			return err
		}, result: get}, nil
	case http.MethodDelete:
		return op{apply: func(t *store.Txn) error { return t.Delete(ref) }, result: func(*status.View) (any, error) { return nil, nil }}, nil
	}
	return op{}, errMethod(req)
}

// createNodes creates the nodes of members that name a node lbx does not
// have, from the member's address or from its name when that is one, as
// BIG-IP does on a member create; a member with neither is left for
// validation to refuse. err is a previous step's: when set, nothing is
// done.
func createNodes(t *store.Txn, members []config.Member, err error) error {
	if err != nil {
		return err
	}
	c := t.Config()
	for i := range members {
		m := &members[i]
		if n := c.Nodes[m.Node]; n != nil {
			if m.Address.IsValid() && m.Address != n.Address {
				return errf(400, "Member %s: address %s is not its node's address %s.", m.Name(), m.Address, n.Address)
			}
			continue
		}
		a := m.Address
		if !a.IsValid() {
			var perr error
			if a, perr = netip.ParseAddr(config.BaseName(m.Node)); perr != nil {
				return &config.NotFoundError{Ref: config.Ref{Kind: config.KindNode, Name: m.Node}}
			}
		}
		n := config.NewNode(m.Node)
		n.Address = a
		if err := t.Create(n); err != nil {
			return err
		}
	}
	return nil
}

func getPool(v *status.View, name string, exp bool) (any, error) {
	p := v.Config().Pools[name]
	if p == nil {
		return nil, &config.NotFoundError{Ref: config.Ref{Kind: config.KindPool, Name: name}}
	}
	return poolJSON(v, p, exp), nil
}

func poolJSON(v *status.View, p *config.Pool, exp bool) map[string]any {
	path := "ltm/pool/" + tilde(p.Name)
	o := envelope("tm:ltm:pool:poolstate", path, p.Name)
	o["description"] = p.Description
	o["loadBalancingMode"] = p.Mode.String()
	o["minActiveMembers"] = p.MinActiveMembers
	o["monitor"] = ""
	if len(p.Monitor.Names) > 0 {
		o["monitor"] = p.Monitor.String() + " "
	}
	o["slowRampTime"], o["reselectTries"] = p.SlowRampTime, p.ReselectTries
	o["serviceDownAction"] = p.ServiceDownAction.String()
	o["allowNat"], o["allowSnat"] = yesNo(p.AllowNAT), yesNo(p.AllowSNAT)
	o["minUpMembers"], o["minUpMembersAction"], o["minUpMembersChecking"] = 0, "failover", "disabled"
	o["queueDepthLimit"], o["queueOnConnectionLimit"], o["queueTimeLimit"] = 0, "disabled", 0
	o["ignorePersistedWeight"] = "disabled"
	o["ipTosToClient"], o["ipTosToServer"], o["linkQosToClient"], o["linkQosToServer"] = "pass-through", "pass-through", "pass-through", "pass-through"
	ref := map[string]any{"link": link(path + "/members"), "isSubcollection": true}
	if exp {
		items := []map[string]any{}
		for i := range p.Members {
			items = append(items, memberJSON(v, p, &p.Members[i]))
		}
		ref["items"] = items
	}
	o["membersReference"] = ref
	return o
}

// member serves /mgmt/tm/ltm/pool/POOL/members[/ID[/stats]].
func (s *Server) member(req *request, pool string, segs []string) (op, error) {
	coll := "ltm/pool/" + tilde(pool) + "/members"
	poolRef := config.Ref{Kind: config.KindPool, Name: pool}
	if len(segs) == 0 {
		switch req.method {
		case http.MethodGet:
			return read(func(v *status.View) (any, error) {
				p := v.Config().Pools[pool]
				if p == nil {
					return nil, &config.NotFoundError{Ref: poolRef}
				}
				var items []map[string]any
				for i := range p.Members {
					items = append(items, memberJSON(v, p, &p.Members[i]))
				}
				return collection(req, coll, items)
			}), nil
		case http.MethodPost:
			b, err := parseBody(req.body)
			if err != nil {
				return op{}, err
			}
			var name string
			return op{apply: func(t *store.Txn) error {
				var m *config.Member
				err := t.Modify(poolRef, func(o config.Object) error {
					p := o.(*config.Pool)
					var err error
					if m, err = newMember(p, b); err != nil {
						return err
					}
					if p.FindMember(m.Node, m.Port) >= 0 {
						return &config.ExistsError{Ref: config.Ref{Kind: config.KindMember, Name: m.Name()}}
					}
					p.Members = append(p.Members, *m)
					name = m.Name()
					return nil
				})
				if err != nil {
					return err
				}
				return createNodes(t, []config.Member{*m}, nil)
			}, result: func(v *status.View) (any, error) { return getMember(v, pool, name) }}, nil
		}
		return op{}, errMethod(req)
	}
	// A member id is ~Common~NODE:PORT (NODE.PORT for IPv6), or NODE:PORT.
	id := segs[0]
	if strings.HasPrefix(id, "~") {
		id = strings.ReplaceAll(id, "~", "/")
	}
	node, port, perr := config.ParseMemberName(id)
	if perr != nil {
		return op{}, errf(400, "Member id %q: %v", segs[0], perr)
	}
	name := config.MemberName(node, port)
	if len(segs) == 2 && segs[1] == "stats" {
		return read(func(v *status.View) (any, error) { return memberStats(v, pool, name) }), nil
	}
	if len(segs) > 1 {
		return op{}, errf(404, "Public URI path not registered: %s", req.path)
	}
	get := func(v *status.View) (any, error) { return getMember(v, pool, name) }
	edit := func(t *store.Txn, f func(p *config.Pool, i int) error) error {
		return t.Modify(poolRef, func(o config.Object) error {
			p := o.(*config.Pool)
			i := p.FindMember(node, port)
			if i < 0 {
				return &config.NotFoundError{Ref: config.Ref{Kind: config.KindMember, Name: name}}
			}
			return f(p, i)
		})
	}
	switch req.method {
	case http.MethodGet:
		return read(get), nil
	case http.MethodPatch, http.MethodPut:
		b, err := parseBody(req.body)
		if err != nil {
			return op{}, err
		}
		return op{apply: func(t *store.Txn) error {
			return edit(t, func(p *config.Pool, i int) error { return memberFields.apply(&p.Members[i], b, "ltm/pool/members") })
		}, result: get}, nil
	case http.MethodDelete:
		return op{apply: func(t *store.Txn) error {
			return edit(t, func(p *config.Pool, i int) error {
				p.Members = append(p.Members[:i], p.Members[i+1:]...)
				return nil
			})
		}, result: func(*status.View) (any, error) { return nil, nil }}, nil
	}
	return op{}, errMethod(req)
}

func getMember(v *status.View, pool, name string) (any, error) {
	p := v.Config().Pools[pool]
	if p == nil {
		return nil, &config.NotFoundError{Ref: config.Ref{Kind: config.KindPool, Name: pool}}
	}
	for i := range p.Members {
		if p.Members[i].Name() == name {
			return memberJSON(v, p, &p.Members[i]), nil
		}
	}
	return nil, &config.NotFoundError{Ref: config.Ref{Kind: config.KindMember, Name: name}}
}

// memberMonitored reports whether a monitor applies to m: its pool's or
// its node's.
func memberMonitored(c *config.Config, p *config.Pool, m *config.Member) bool {
	if len(p.Monitor.Names) > 0 {
		return true
	}
	n := c.Nodes[m.Node]
	return n != nil && len(n.Monitor.Names) > 0
}

// memberState is a member's session and state as BIG-IP reports them:
// session monitor-enabled when a monitor applies, the monitor's verdict
// as state (unchecked without a monitor), user-down when forced offline.
func memberState(v *status.View, p *config.Pool, m *config.Member) (sess, st string) {
	mon := memberMonitored(v.Config(), p, m)
	sess, st = "user-enabled", "unchecked"
	if mon {
		sess, st = "monitor-enabled", "checking"
		src := v.Sources()
		if src.Health != nil {
			if ms, ok := src.Health.MemberStatus(p.Name, m.Name()); ok {
				st = ms.State.String()
			}
		}
		if src.Runtime != nil {
			if live := src.Runtime.Member(p.Name, m.Name()); live != nil {
				if h := live.Health.State().String(); h == "up" || h == "down" || h == "checking" {
					st = h
				}
			}
		}
		if st == "disabled" {
			st = "up" // recv-disable matched: up, taking no new connections
		}
	}
	if m.Session == config.SessionUserDisabled {
		sess = "user-disabled"
	}
	if m.State == config.StateUserDown {
		st = "user-down"
	}
	return sess, st
}

func memberJSON(v *status.View, p *config.Pool, m *config.Member) map[string]any {
	name := m.Name()
	o := envelope("tm:ltm:pool:members:membersstate", "ltm/pool/"+tilde(p.Name)+"/members/"+tilde(name), name)
	a := m.Address
	if n := v.Config().Nodes[m.Node]; n != nil {
		a = n.Address
	}
	o["address"] = a.String()
	o["description"] = m.Description
	o["priorityGroup"], o["ratio"], o["connectionLimit"] = m.PriorityGroup, m.Ratio, m.ConnectionLimit
	o["session"], o["state"] = memberState(v, p, m)
	o["monitor"], o["rateLimit"], o["dynamicRatio"] = "default", "disabled", 1
	o["ephemeral"], o["logging"], o["inheritProfile"] = "false", "disabled", "enabled"
	o["fqdn"] = map[string]any{"autopopulate": "disabled"}
	return o
}
