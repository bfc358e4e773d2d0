package rest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/store"
)

func optBool(dst *config.Opt[bool]) func(v json.RawMessage) error {
	return func(v json.RawMessage) error {
		b, err := enabledWord(v)
		*dst = config.Some(b)
		return err
	}
}

func optWord(dst *config.Opt[string], words ...string) func(v json.RawMessage) error {
	return func(v json.RawMessage) error {
		s, err := word(v, words...)
		*dst = config.Some(s)
		return err
	}
}

// noneStr reads a string where BIG-IP's "none" means empty.
func noneStr(dst *config.Opt[string]) func(v json.RawMessage) error {
	return func(v json.RawMessage) error {
		s, err := str(v)
		if s == "none" {
			s = ""
		}
		*dst = config.Some(s)
		return err
	}
}

// profileFields are the iControl names of the properties of ltm profile
// http, one-connect, client-ssl and server-ssl; a property of another
// type than the profile's is refused by profileSetters.
var profileFields = map[string]struct {
	types []config.ProfileType
	set   func(p *config.LTMProfile, v json.RawMessage) error
}{
	"insertXforwardedFor": {[]config.ProfileType{config.ProfileHTTP}, func(p *config.LTMProfile, v json.RawMessage) error { return optBool(&p.InsertXFF)(v) }},
	"headerInsert":        {[]config.ProfileType{config.ProfileHTTP}, func(p *config.LTMProfile, v json.RawMessage) error { return noneStr(&p.HeaderInsert)(v) }},
	"headerErase":         {[]config.ProfileType{config.ProfileHTTP}, func(p *config.LTMProfile, v json.RawMessage) error { return noneStr(&p.HeaderErase)(v) }},
	"redirectRewrite": {[]config.ProfileType{config.ProfileHTTP}, func(p *config.LTMProfile, v json.RawMessage) error {
		return optWord(&p.RedirectRewrite, "none", "all", "matching", "nodes")(v)
	}},
	"serverAgentName":     {[]config.ProfileType{config.ProfileHTTP}, func(p *config.LTMProfile, v json.RawMessage) error { return noneStr(&p.ServerAgentName)(v) }},
	"maxHeaderSize":       {[]config.ProfileType{config.ProfileHTTP}, func(p *config.LTMProfile, v json.RawMessage) error { return optU32(&p.MaxHeaderSize)(v) }},
	"maxRequests":         {[]config.ProfileType{config.ProfileHTTP}, func(p *config.LTMProfile, v json.RawMessage) error { return optU32(&p.MaxRequests)(v) }},
	"sourceMask":          {[]config.ProfileType{config.ProfileOneConnect}, func(p *config.LTMProfile, v json.RawMessage) error { return optStr(&p.SourceMask)(v) }},
	"maxReuse":            {[]config.ProfileType{config.ProfileOneConnect}, func(p *config.LTMProfile, v json.RawMessage) error { return optU32(&p.MaxReuse)(v) }},
	"maxSize":             {[]config.ProfileType{config.ProfileOneConnect}, func(p *config.LTMProfile, v json.RawMessage) error { return optU32(&p.MaxSize)(v) }},
	"idleTimeoutOverride": {[]config.ProfileType{config.ProfileOneConnect}, func(p *config.LTMProfile, v json.RawMessage) error { return optU32(&p.IdleTimeoutOverride)(v) }},
	"cert":                {[]config.ProfileType{config.ProfileClientSSL, config.ProfileServerSSL}, func(p *config.LTMProfile, v json.RawMessage) error { return noneStr(&p.Cert)(v) }},
	"key":                 {[]config.ProfileType{config.ProfileClientSSL, config.ProfileServerSSL}, func(p *config.LTMProfile, v json.RawMessage) error { return noneStr(&p.Key)(v) }},
	"serverName":          {[]config.ProfileType{config.ProfileClientSSL}, func(p *config.LTMProfile, v json.RawMessage) error { return noneStr(&p.ServerName)(v) }},
	// certKeyChain (Ansible's bigip_profile_client_ssl): one pair, lbx's
	// profile holding one; its passphrase belongs to the sys file ssl-key.
	"certKeyChain": {[]config.ProfileType{config.ProfileClientSSL}, func(p *config.LTMProfile, v json.RawMessage) error {
		var ch []struct{ Name, Cert, Key, Chain, Passphrase string }
		switch err := json.Unmarshal(v, &ch); {
		case err != nil || len(ch) > 1:
			return fmt.Errorf("want a list of one {name, cert, key} (lbx's profile holds one pair)")
		case len(ch) == 1 && (ch[0].Chain != "" && ch[0].Chain != "none" || ch[0].Passphrase != ""):
			return fmt.Errorf("chain and passphrase are not supported here: give the chain in the cert's PEM, the passphrase to the sys file ssl-key")
		case len(ch) == 1:
			p.Cert, p.Key = config.Some(ch[0].Cert), config.Some(ch[0].Key)
		}
		return nil
	}},
	"sniDefault": {[]config.ProfileType{config.ProfileClientSSL}, func(p *config.LTMProfile, v json.RawMessage) error {
		b, err := boolOrWord(v)
		p.SNIDefault = config.Some(b)
		return err
	}},
}

// boolOrWord reads true/false or enabled/disabled.
func boolOrWord(v json.RawMessage) (bool, error) {
	if b, err := boolean(v); err == nil {
		return b, nil
	}
	return enabledWord(v)
}

// profileSetters are the fields of one profile type, with the envelope's
// read-only properties and defaultsFrom and description.
func profileSetters(typ config.ProfileType) fields[config.LTMProfile] {
	f := fields[config.LTMProfile]{
		"description": func(p *config.LTMProfile, v json.RawMessage) (err error) { p.Description, err = str(v); return },
		"defaultsFrom": func(p *config.LTMProfile, v json.RawMessage) error {
			n, err := fullName(v)
			if n == "" {
				n = typ.Builtin()
			}
			p.DefaultsFrom = n
			return err
		},
		"name": nil, "partition": nil, "fullPath": nil, "kind": nil, "generation": nil, "selfLink": nil, "appService": nil,
	}
	for name, pf := range profileFields {
		for _, t := range pf.types {
			if t == typ {
				f[name] = pf.set
			}
		}
	}
	return f
}

// profileType returns the type of an ltm/profile collection lbx models.
func profileType(s string) (config.ProfileType, bool) {
	for t := range config.ProfileTypeCount {
		if t.String() == s {
			return t, true
		}
	}
	return 0, false
}

// profile serves /mgmt/tm/ltm/profile/TYPE[/ID] for http, one-connect,
// client-ssl and server-ssl: the built-in and the configured profiles
// with every property in effect; POST, PATCH, PUT and DELETE go through
// the same validation and transactional apply as tmsh.
func (s *Server) profile(req *request, typ config.ProfileType, segs []string) (op, error) {
	coll := "ltm/profile/" + typ.String()
	setters := profileSetters(typ)
	get := func(name string) func(v *status.View) (any, error) {
		return func(v *status.View) (any, error) {
			c := v.Config()
			p := c.LookupProfile(name)
			if p == nil || p.Type != typ {
				return nil, &config.NotFoundError{Ref: config.Ref{Kind: config.KindProfile, Type: typ.String(), Name: name}}
			}
			return profileJSON(c, p), nil
		}
	}
	if len(segs) == 0 {
		switch req.method {
		case http.MethodGet:
			return read(func(v *status.View) (any, error) {
				c := v.Config()
				items := []map[string]any{profileJSON(c, config.BuiltinProfile(typ.Builtin()))}
				for _, name := range c.Names(config.KindProfile, typ.String()) {
					items = append(items, profileJSON(c, c.Profiles[name]))
				}
				return collection(req, coll, items)
			}), nil
		case http.MethodPost:
			b, name, err := createBody(req)
			if err != nil {
				return op{}, err
			}
			p := &config.LTMProfile{Name: name, Type: typ, DefaultsFrom: typ.Builtin()}
			if err := setters.apply(p, b, coll); err != nil {
				return op{}, err
			}
			return op{apply: func(t *store.Txn) error { return t.Create(p) }, result: get(name)}, nil
		}
		return op{}, errMethod(req)
	}
	return itemOp(req, segs[0], len(segs), config.KindProfile, typ.String(), get, func(t *store.Txn, ref config.Ref, b body) error {
		return t.Modify(ref, func(o config.Object) error { return setters.apply(o.(*config.LTMProfile), b, coll) })
	})
}

// profileJSON renders a profile with every property in effect.
func profileJSON(c *config.Config, p *config.LTMProfile) map[string]any {
	typ := p.Type.String()
	o := envelope("tm:ltm:profile:"+typ+":"+typ+"state", "ltm/profile/"+typ+"/"+tilde(p.Name), p.Name)
	e := c.EffectiveProfile(p)
	o["defaultsFrom"] = p.DefaultsFrom
	o["description"] = p.Description
	none := func(s string) string {
		if s == "" {
			return "none"
		}
		return s
	}
	switch p.Type {
	case config.ProfileHTTP:
		o["insertXforwardedFor"] = enabledDisabled(e.InsertXFF.V)
		o["headerInsert"], o["headerErase"] = none(e.HeaderInsert.V), none(e.HeaderErase.V)
		o["redirectRewrite"], o["serverAgentName"] = e.RedirectRewrite.V, none(e.ServerAgentName.V)
		o["maxHeaderSize"], o["maxRequests"] = e.MaxHeaderSize.V, e.MaxRequests.V
	case config.ProfileOneConnect:
		o["sourceMask"] = e.SourceMask.V
		o["maxReuse"], o["maxSize"], o["idleTimeoutOverride"] = e.MaxReuse.V, e.MaxSize.V, idleOverride(e.IdleTimeoutOverride.V)
	case config.ProfileClientSSL, config.ProfileServerSSL:
		// The names of the sys file objects (or paths); never a key.
		o["cert"], o["key"] = none(e.Cert.V), none(e.Key.V)
		if p.Type == config.ProfileClientSSL {
			o["serverName"], o["sniDefault"] = none(e.ServerName.V), fmt.Sprint(e.SNIDefault.V)
			o["certKeyChain"] = []map[string]any{}
			if e.Cert.V != "" {
				base := config.BaseName(e.Cert.V)
				o["certKeyChain"] = []map[string]any{{"name": strings.TrimSuffix(base, path.Ext(base)), "cert": e.Cert.V, "key": e.Key.V, "chain": "none"}}
			}
		}
	}
	return o
}

// idleOverride prints idle-timeout-override as BIG-IP does: disabled for 0.
func idleOverride(n uint32) string {
	if n == 0 {
		return "disabled"
	}
	return strconv.FormatUint(uint64(n), 10)
}
