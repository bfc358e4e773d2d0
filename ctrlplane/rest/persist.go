package rest

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"slices"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/store"
)

// otherPersistTypes are BIG-IP persistence types lbx has not: their
// collections answer empty.
var otherPersistTypes = []string{"dest-addr", "ssl", "msrdp", "sip", "host"}

// persistFields are the iControl names of the persistence properties, with
// the types that have each (nil: all).
var persistFields = map[string]struct {
	types []config.PersistType
	set   func(p *config.Persistence, v json.RawMessage) error
}{
	"timeout":                 {nil, func(p *config.Persistence, v json.RawMessage) error { return optU32(&p.Timeout)(v) }},
	"matchAcrossServices":     {nil, func(p *config.Persistence, v json.RawMessage) error { return optBool(&p.MatchAcrossServices)(v) }},
	"matchAcrossVirtuals":     {nil, func(p *config.Persistence, v json.RawMessage) error { return optBool(&p.MatchAcrossVirtuals)(v) }},
	"matchAcrossPools":        {nil, func(p *config.Persistence, v json.RawMessage) error { return optBool(&p.MatchAcrossPools)(v) }},
	"overrideConnectionLimit": {nil, func(p *config.Persistence, v json.RawMessage) error { return optBool(&p.OverrideConnectionLimit)(v) }},
	"mask": {[]config.PersistType{config.PersistSourceAddr}, func(p *config.Persistence, v json.RawMessage) error {
		s, err := str(v)
		if err != nil || s == "none" || s == "" {
			p.Mask = config.Some("")
			return err
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return errors.New(s + ": not an IP address")
		}
		p.Mask = config.Some(a.String())
		return nil
	}},
	"hashAlgorithm": {[]config.PersistType{config.PersistSourceAddr, config.PersistHash}, func(p *config.Persistence, v json.RawMessage) error {
		return optWord(&p.HashAlgorithm, "default", "carp")(v)
	}},
	"method": {[]config.PersistType{config.PersistCookie}, func(p *config.Persistence, v json.RawMessage) error {
		return optWord(&p.Method, "insert", "rewrite", "passive", "hash")(v)
	}},
	"cookieName": {[]config.PersistType{config.PersistCookie}, func(p *config.Persistence, v json.RawMessage) error { return noneStr(&p.CookieName)(v) }},
	"expiration": {[]config.PersistType{config.PersistCookie}, func(p *config.Persistence, v json.RawMessage) error {
		s, err := str(v)
		if err == nil && !config.ValidExpiration(s) {
			err = errors.New(s + ": want 0 or [[[D:]H:]M:]S")
		}
		p.Expiration = config.Some(s)
		return err
	}},
	"alwaysSend": {[]config.PersistType{config.PersistCookie}, func(p *config.Persistence, v json.RawMessage) error { return optBool(&p.AlwaysSend)(v) }},
	"hashOffset": {[]config.PersistType{config.PersistHash}, func(p *config.Persistence, v json.RawMessage) error { return optU32(&p.HashOffset)(v) }},
	"hashLength": {[]config.PersistType{config.PersistHash}, func(p *config.Persistence, v json.RawMessage) error { return optU32(&p.HashLength)(v) }},
	"rule":       {[]config.PersistType{config.PersistHash, config.PersistUniversal}, func(p *config.Persistence, v json.RawMessage) error { return noneStr(&p.Rule)(v) }},
	"headerName": {[]config.PersistType{config.PersistUniversal}, func(p *config.Persistence, v json.RawMessage) error { return noneStr(&p.HeaderName)(v) }},
}

func persistSetters(typ config.PersistType) fields[config.Persistence] {
	f := fields[config.Persistence]{
		"description": func(p *config.Persistence, v json.RawMessage) (err error) { p.Description, err = str(v); return },
		"defaultsFrom": func(p *config.Persistence, v json.RawMessage) error {
			n, err := fullName(v)
			if n == "" {
				n = typ.Builtin()
			}
			p.DefaultsFrom = n
			return err
		},
		"name": nil, "partition": nil, "fullPath": nil, "kind": nil, "generation": nil, "selfLink": nil, "appService": nil,
	}
	for name, pf := range persistFields {
		if pf.types == nil || slices.Contains(pf.types, typ) {
			f[name] = pf.set
		}
	}
	return f
}

// persistence serves /mgmt/tm/ltm/persistence/TYPE[/ID]: the built-in
// profile of the type and the configured ones with every property in
// effect; POST, PATCH, PUT and DELETE go through the same validation and
// transactional apply as tmsh.
func (s *Server) persistence(req *request, typName string, segs []string) (op, error) {
	coll := "ltm/persistence/" + typName
	var typ config.PersistType
	found := false
	for t := range config.PersistTypeCount {
		if t.String() == typName {
			typ, found = t, true
		}
	}
	if !found {
		if slices.Contains(otherPersistTypes, typName) && len(segs) == 0 && req.method == http.MethodGet {
			return read(func(*status.View) (any, error) { return collection(req, coll, nil) }), nil
		}
		return op{}, errf(404, "Public URI path not registered: %s", req.path)
	}
	setters := persistSetters(typ)
	get := func(name string) func(v *status.View) (any, error) {
		return func(v *status.View) (any, error) {
			c := v.Config()
			if p := c.LookupPersistence(name); p != nil && p.Type == typ {
				return persistJSON(c, p), nil
			}
			return nil, &config.NotFoundError{Ref: config.Ref{Kind: config.KindPersistence, Type: typName, Name: name}}
		}
	}
	if len(segs) == 0 {
		switch req.method {
		case http.MethodGet:
			return read(func(v *status.View) (any, error) {
				c := v.Config()
				items := []map[string]any{persistJSON(c, config.BuiltinPersist(typ.Builtin()))}
				for _, name := range c.Names(config.KindPersistence, typName) {
					items = append(items, persistJSON(c, c.Persistence[name]))
				}
				return collection(req, coll, items)
			}), nil
		case http.MethodPost:
			b, name, err := createBody(req)
			if err != nil {
				return op{}, err
			}
			p := &config.Persistence{Name: name, Type: typ, DefaultsFrom: typ.Builtin()}
			if err := setters.apply(p, b, coll); err != nil {
				return op{}, err
			}
			return op{apply: func(t *store.Txn) error { return t.Create(p) }, result: get(name)}, nil
		}
		return op{}, errMethod(req)
	}
	return itemOp(req, segs[0], len(segs), config.KindPersistence, typName, get, func(t *store.Txn, ref config.Ref, b body) error {
		return t.Modify(ref, func(o config.Object) error { return setters.apply(o.(*config.Persistence), b, coll) })
	})
}

// persistJSON renders a persistence profile with the properties of its
// type in effect.
func persistJSON(c *config.Config, p *config.Persistence) map[string]any {
	typ := p.Type.String()
	o := envelope("tm:ltm:persistence:"+typ+":"+typ+"state", "ltm/persistence/"+typ+"/"+tilde(p.Name), p.Name)
	if p.DefaultsFrom != "" {
		o["defaultsFrom"] = p.DefaultsFrom
	}
	o["description"] = p.Description
	e := c.EffectivePersistence(p)
	none := func(s string) string {
		if s == "" {
			return "none"
		}
		return s
	}
	values := map[string]any{
		"timeout": e.Timeout.V, "matchAcrossServices": enabledDisabled(e.MatchAcrossServices.V),
		"matchAcrossVirtuals": enabledDisabled(e.MatchAcrossVirtuals.V), "matchAcrossPools": enabledDisabled(e.MatchAcrossPools.V),
		"overrideConnectionLimit": enabledDisabled(e.OverrideConnectionLimit.V), "mask": none(e.Mask.V),
		"hashAlgorithm": e.HashAlgorithm.V, "method": e.Method.V, "cookieName": none(e.CookieName.V), "expiration": e.Expiration.V,
		"alwaysSend": enabledDisabled(e.AlwaysSend.V), "hashOffset": e.HashOffset.V, "hashLength": e.HashLength.V,
		"rule": none(e.Rule.V), "headerName": none(e.HeaderName.V),
	}
	for name, pf := range persistFields {
		if pf.types == nil || slices.Contains(pf.types, p.Type) {
			o[name] = values[name]
		}
	}
	return o
}
