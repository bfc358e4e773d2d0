package ctrlplane

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"

	"lbx/ctrlplane/config"

	"lbx/pools"
)

var (
	sa, ck, hs = uint8(config.PersistSourceAddr), uint8(config.PersistCookie), uint8(config.PersistHash)

	// persistFields are the inheritable properties, in name order.
	persistFields = []optField[config.Persistence]{
		optSwitch("always-send", "send the cookie in every response", func(p *config.Persistence) *config.Opt[bool] { return &p.AlwaysSend }).on(ck),
		optText("cookie-name", "cookie name, none for BIGipServer<pool>", func(p *config.Persistence) *config.Opt[string] { return &p.CookieName }).on(ck),
		{
			name: "expiration", help: "cookie lifetime D:H:M:S, 0 for a session cookie",
			parse: func(c *cursor, p *config.Persistence) error {
				t, err := c.value("expiration")
				if err != nil {
					return err
				}
				if !config.ValidExpiration(t.text) {
					return lineErrorf(t.line, "expiration %q: want 0 or [[[D:]H:]M:]S", t.text)
				}
				p.Expiration = config.Some(t.text)
				return nil
			},
			value:   func(p *config.Persistence) (string, bool) { return p.Expiration.V, p.Expiration.Set },
			inherit: inheritOpt(func(p *config.Persistence) *config.Opt[string] { return &p.Expiration }),
			types:   1 << ck,
		},
		optWord("hash-algorithm", func(p *config.Persistence) *config.Opt[string] { return &p.HashAlgorithm }, "default", "carp").on(sa, hs),
		optUint("hash-length", "bytes hashed, 0 for all", 0, math.MaxUint32, func(p *config.Persistence) *config.Opt[uint32] { return &p.HashLength }).on(hs),
		optUint("hash-offset", "first byte hashed", 0, math.MaxUint32, func(p *config.Persistence) *config.Opt[uint32] { return &p.HashOffset }).on(hs),
		{
			name: "mask", help: "client address mask, none for the full address",
			parse: func(c *cursor, p *config.Persistence) error {
				t, err := c.value("mask")
				if err != nil {
					return err
				}
				if t.isWord("none") {
					p.Mask = config.Some("")
					return nil
				}
				a, err := netip.ParseAddr(t.text)
				if err != nil {
					return lineErrorf(t.line, "mask %q: not an IP address", t.text)
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
		refOpt("rule", "iRule computing the hash key, or none", func(p *config.Persistence) *config.Opt[string] { return &p.Rule }).on(hs),
		optUint("timeout", "seconds an idle record is kept", 0, math.MaxUint32, func(p *config.Persistence) *config.Opt[uint32] { return &p.Timeout }),
	}
)

// refOpt reads an object name or none.
func refOpt[T any](name, help string, get func(*T) *config.Opt[string]) optField[T] {
	return optField[T]{
		name: name, help: help,
		parse: func(c *cursor, o *T) error {
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

var persistKinds = func() []*objKind {
	var out []*objKind
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

// compiledPersist is a virtual's persistence in the dataplane's terms.
type compiledPersist struct {
	ps                     *pools.Persist
	hashOffset, hashLength int
}

// compilePersist validates a virtual's persist and fallback-persistence
// references and builds what the dataplane runs, nil for no persistence:
//
//   - the profile marked default (or the only one) persists; at layer 4 a
//     cookie profile cannot (there is no HTTP), so the fallback-persistence
//     profile is used instead when there is one, with a warning;
//   - source-addr keys on the client address under mask; hash keys on the
//     client address bytes hash-offset/hash-length select (an iRule key is
//     warned about and not run);
//   - records are private to the virtual, shared by the virtuals of one
//     address with match-across-services, by all virtuals with
//     match-across-virtuals; both send a client to the same node in
//     whichever pool;
//   - timeout 0 keeps records until deleted.
func compilePersist(c *config.Config, v *config.Virtual, table *pools.PersistTable, add func(obj config.Ref, prop string, err error), warn func(obj config.Ref, prop, what string)) *compiledPersist {
	obj := config.Ref{Kind: config.KindVirtual, Name: v.Name}
	chosen := "" // config.Validate checked the references and the default
	for _, r := range v.Persist {
		if r.Default || len(v.Persist) == 1 {
			chosen = r.Name
		}
	}
	p := c.LookupPersistence(chosen)
	if p == nil {
		return nil
	}
	prop := "persist " + p.Name
	if p.Type == config.PersistCookie {
		fb := c.LookupPersistence(v.FallbackPersistence)
		if fb == nil || fb.Type == config.PersistCookie {
			warn(obj, prop, "cookie persistence needs an HTTP (layer 7) virtual; connections are not persisted")
			return nil
		}
		warn(obj, prop, "cookie persistence needs an HTTP (layer 7) virtual; fallback-persistence "+fb.Name+" is used")
		p, prop = fb, "fallback-persistence "+fb.Name
	}
	eff := c.EffectivePersistence(p)
	ps := &pools.Persist{
		Table:             table,
		Profile:           pools.NameHash(p.Name),
		Scope:             pools.NameHash(v.Name),
		Virtual:           v.Name,
		Timeout:           time.Duration(eff.Timeout.V) * time.Second,
		OverrideConnLimit: eff.OverrideConnectionLimit.V,
		MatchNode:         eff.MatchAcrossServices.V || eff.MatchAcrossVirtuals.V,
	}
	switch {
	case eff.MatchAcrossVirtuals.V:
		ps.Scope = 0
	case eff.MatchAcrossServices.V:
		ps.Scope = pools.NameHash("address " + v.Destination.Addr().String())
	}
	out := &compiledPersist{ps: ps}
	switch p.Type {
	case config.PersistSourceAddr:
		ps.Mode = pools.PersistSourceAddr
		if eff.Mask.V != "" {
			b, err := config.MaskBits(eff.Mask.V)
			if err != nil {
				add(obj, prop, fmt.Errorf("mask %s: %w", eff.Mask.V, err))
				return nil
			}
			ps.MaskBits = b
		}
	case config.PersistHash:
		ps.Mode = pools.PersistHash
		out.hashOffset, out.hashLength = int(eff.HashOffset.V), int(eff.HashLength.V)
		if eff.Rule.V != "" {
			warn(obj, prop+" rule "+eff.Rule.V, "iRules are not run; the client address is hashed")
		}
	}
	if eff.HashAlgorithm.V == "carp" {
		warn(obj, prop+" hash-algorithm carp", "records are kept as with default")
	}
	return out
}
