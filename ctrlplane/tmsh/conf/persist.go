package conf

import (
	"net/netip"
	"strings"

	"lbx/ctrlplane/config"
)

var (
	sa, ck, hs = uint8(config.PersistSourceAddr), uint8(config.PersistCookie), uint8(config.PersistHash)
	un         = uint8(config.PersistUniversal)

	// persistFields are the inheritable properties, in name order.
	persistFields = []optField[config.Persistence]{
		optSwitch("always-send", "send the cookie in every response", func(p *config.Persistence) *config.Opt[bool] { return &p.AlwaysSend }).on(ck),
		optText("cookie-name", "cookie name, none for BIGipServer<pool>", func(p *config.Persistence) *config.Opt[string] { return &p.CookieName }).on(ck),
		{
			name: "expiration", help: "cookie lifetime D:H:M:S, 0 for a session cookie",
			parse: func(c *Cursor, p *config.Persistence) error {
				t, err := c.Value("expiration")
				if err != nil {
					return err
				}
				if !config.ValidExpiration(t.Text) {
					return LineErrorf(t.Line, "expiration %q: want 0 or [[[D:]H:]M:]S", t.Text)
				}
				p.Expiration = config.Some(t.Text)
				return nil
			},
			value:   func(p *config.Persistence) (string, bool) { return p.Expiration.V, p.Expiration.Set },
			inherit: inheritOpt(func(p *config.Persistence) *config.Opt[string] { return &p.Expiration }),
			types:   1 << ck,
		},
		optWord("hash-algorithm", func(p *config.Persistence) *config.Opt[string] { return &p.HashAlgorithm }, "default", "carp").on(sa, hs),
		optUint("hash-length", "bytes hashed, 0 for all", config.PropRange(config.KindPersistence, "hash-length"), func(p *config.Persistence) *config.Opt[uint32] { return &p.HashLength }).on(hs),
		optUint("hash-offset", "first byte hashed", config.PropRange(config.KindPersistence, "hash-offset"), func(p *config.Persistence) *config.Opt[uint32] { return &p.HashOffset }).on(hs),
		optText("header-name", "request header whose value is the key (Host: host-name affinity), none for none", func(p *config.Persistence) *config.Opt[string] { return &p.HeaderName }).on(un),
		{
			name: "mask", help: "client address mask, none for the full address",
			parse: func(c *Cursor, p *config.Persistence) error {
				t, err := c.Value("mask")
				if err != nil {
					return err
				}
				if t.IsWord("none") {
					p.Mask = config.Some("")
					return nil
				}
				a, err := netip.ParseAddr(t.Text)
				if err != nil {
					return LineErrorf(t.Line, "mask %q: not an IP address", t.Text)
				}
				p.Mask = config.Some(a.String())
				return nil
			},
			value: func(p *config.Persistence) (string, bool) {
				if p.Mask.V == "" {
					return "none", p.Mask.Set
				}
				return p.Mask.V, p.Mask.Set
			},
			inherit: inheritOpt(func(p *config.Persistence) *config.Opt[string] { return &p.Mask }),
			types:   1 << sa,
		},
		optSwitch("match-across-pools", "persist across pools", func(p *config.Persistence) *config.Opt[bool] { return &p.MatchAcrossPools }),
		optSwitch("match-across-services", "persist across services of an address", func(p *config.Persistence) *config.Opt[bool] { return &p.MatchAcrossServices }),
		optSwitch("match-across-virtuals", "persist across virtual servers", func(p *config.Persistence) *config.Opt[bool] { return &p.MatchAcrossVirtuals }),
		optWord("method", func(p *config.Persistence) *config.Opt[string] { return &p.Method }, "insert", "rewrite", "passive", "hash").on(ck),
		optSwitch("override-connection-limit", "persisted connections ignore limits", func(p *config.Persistence) *config.Opt[bool] { return &p.OverrideConnectionLimit }),
		refOpt("rule", "iRule computing the hash key, or none", func(p *config.Persistence) *config.Opt[string] { return &p.Rule }).on(hs, un),
		optUint("timeout", "seconds an idle record is kept", config.PropRange(config.KindPersistence, "timeout"), func(p *config.Persistence) *config.Opt[uint32] { return &p.Timeout }),
	}
)

// refOpt reads an object name or none.
func refOpt[T any](name, help string, get func(*T) *config.Opt[string]) optField[T] {
	return optField[T]{
		name: name, help: help,
		parse: func(c *Cursor, o *T) error {
			n, err := refValue(c, name)
			*get(o) = config.Some(n)
			return err
		},
		value: func(o *T) (string, bool) {
			v := get(o)
			if v.V == "" {
				return "none", v.Set
			}
			return v.V, v.Set
		},
		inherit: inheritOpt(get),
	}
}

func printPersistence(b *strings.Builder, c *config.Config, p *config.Persistence, all bool) {
	eff := c.EffectivePersistence(p)
	printOpt(b, "ltm persistence "+p.Type.String()+" "+p.Name, uint8(p.Type), persistFields, p, &eff, p.DefaultsFrom, p.Description, p.Extras, all)
}

var PersistKinds = func() []*ObjKind {
	var out []*ObjKind
	for t := range config.PersistTypeCount {
		out = append(out, newKind(kindSpec[config.Persistence]{
			module: "ltm", kind: "persistence " + t.String(), ckind: config.KindPersistence, typ: t.String(), title: "Persistence Profile", plural: t.String() + " persistence profiles",
			createArgs: "[defaults-from PROFILE] [PROPERTY …]",
			props: optProps(uint8(t), persistFields,
				func(p *config.Persistence) *string { return &p.DefaultsFrom }, func(p *config.Persistence) *string { return &p.Description }),
			objects: func(c *config.Config) map[string]*config.Persistence { return c.Persistence },
			newObj:  func(name string) *config.Persistence { return &config.Persistence{Name: name, Type: t} },
			match:   func(p *config.Persistence) bool { return p.Type == t },
			builtin: config.BuiltinPersist,
			print:   printPersistence,
		}))
	}
	return out
}()
