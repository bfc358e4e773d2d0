package ctrlplane

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// PersistType is the type of an `ltm persistence TYPE` profile.
type PersistType uint8

// Persistence types lbx knows.
const (
	PersistSourceAddr PersistType = iota
	PersistCookie
	PersistHash
	persistTypeCount
)

var persistTypeNames = [persistTypeCount]string{"source-addr", "cookie", "hash"}

// String returns the tmsh name of the type.
func (t PersistType) String() string {
	if t < persistTypeCount {
		return persistTypeNames[t]
	}
	return "type-" + strconv.Itoa(int(t))
}

// builtin is the full name of the type's built-in profile: /Common/source_addr,
// /Common/cookie, /Common/hash.
func (t PersistType) builtin() string {
	return "/" + commonPartition + "/" + strings.ReplaceAll(t.String(), "-", "_")
}

// Persistence is an `ltm persistence TYPE NAME` profile. Properties not set
// are inherited from defaults-from. Persistence is validated and kept; the
// dataplane does not persist yet (round-robin picks every new flow).
type Persistence struct {
	Name                    string
	Type                    PersistType
	DefaultsFrom            string // full name; ApplyDefaults sets the type's built-in
	Description             string
	Timeout                 Opt[uint32] // seconds; 0 means the connection's life (cookie: session)
	MatchAcrossServices     Opt[bool]
	MatchAcrossVirtuals     Opt[bool]
	MatchAcrossPools        Opt[bool]
	OverrideConnectionLimit Opt[bool]
	Mask                    Opt[string] // source-addr: an address mask, "" for none
	HashAlgorithm           Opt[string] // source-addr, hash: default or carp
	Method                  Opt[string] // cookie: insert, rewrite, passive or hash
	CookieName              Opt[string] // cookie: "" is BIG-IP's BIGipServer<pool>
	Expiration              Opt[string] // cookie: D:H:M:S, or 0 for a session cookie
	AlwaysSend              Opt[bool]   // cookie
	HashOffset              Opt[uint32] // hash
	HashLength              Opt[uint32] // hash
	Rule                    Opt[string] // hash: iRule, "" for none
	Extras
}

func (p *Persistence) clone() *Persistence { x := *p; x.Extras = p.Extras.clone(); return &x }

var builtinPersistence = func() map[string]*Persistence {
	out := map[string]*Persistence{}
	for t := range persistTypeCount {
		p := &Persistence{
			Name: t.builtin(), Type: t,
			Timeout: set[uint32](180), MatchAcrossServices: set(false), MatchAcrossVirtuals: set(false),
			MatchAcrossPools: set(false), OverrideConnectionLimit: set(false), Mask: set(""),
			HashAlgorithm: set("default"), Method: set("insert"), CookieName: set(""), Expiration: set("0"),
			AlwaysSend: set(false), HashOffset: set[uint32](0), HashLength: set[uint32](0), Rule: set(""),
		}
		out[p.Name] = p
	}
	return out
}()

func builtinPersist(name string) *Persistence { return builtinPersistence[name] }

var (
	sa, ck, hs = uint8(PersistSourceAddr), uint8(PersistCookie), uint8(PersistHash)

	// persistFields are the inheritable properties, in name order.
	persistFields = []optField[Persistence]{
		optSwitch("always-send", "send the cookie in every response", func(p *Persistence) *Opt[bool] { return &p.AlwaysSend }).on(ck),
		optText("cookie-name", "cookie name, none for BIGipServer<pool>", func(p *Persistence) *Opt[string] { return &p.CookieName }).on(ck),
		{
			name: "expiration", help: "cookie lifetime D:H:M:S, 0 for a session cookie",
			parse: func(c *cursor, p *Persistence) error {
				t, err := c.value("expiration")
				if err != nil {
					return err
				}
				if !validExpiration(t.text) {
					return lineErrorf(t.line, "expiration %q: want 0 or [[[D:]H:]M:]S", t.text)
				}
				p.Expiration = set(t.text)
				return nil
			},
			value:   func(p *Persistence) (string, bool) { return p.Expiration.V, p.Expiration.Set },
			inherit: inheritOpt(func(p *Persistence) *Opt[string] { return &p.Expiration }),
			types:   1 << ck,
		},
		optWord("hash-algorithm", func(p *Persistence) *Opt[string] { return &p.HashAlgorithm }, "default", "carp").on(sa, hs),
		optUint("hash-length", "bytes hashed, 0 for all", 0, math.MaxUint32, func(p *Persistence) *Opt[uint32] { return &p.HashLength }).on(hs),
		optUint("hash-offset", "first byte hashed", 0, math.MaxUint32, func(p *Persistence) *Opt[uint32] { return &p.HashOffset }).on(hs),
		{
			name: "mask", help: "client address mask, none for the full address",
			parse: func(c *cursor, p *Persistence) error {
				t, err := c.value("mask")
				if err != nil {
					return err
				}
				if t.isWord("none") {
					p.Mask = set("")
					return nil
				}
				a, err := netip.ParseAddr(t.text)
				if err != nil {
					return lineErrorf(t.line, "mask %q: not an IP address", t.text)
				}
				p.Mask = set(a.String())
				return nil
			},
			value: func(p *Persistence) (string, bool) {
				if p.Mask.V == "" {
					return "none", p.Mask.Set
				}
				return p.Mask.V, p.Mask.Set
			},
			inherit: inheritOpt(func(p *Persistence) *Opt[string] { return &p.Mask }),
			types:   1 << sa,
		},
		optSwitch("match-across-pools", "persist across pools", func(p *Persistence) *Opt[bool] { return &p.MatchAcrossPools }),
		optSwitch("match-across-services", "persist across services of an address", func(p *Persistence) *Opt[bool] { return &p.MatchAcrossServices }),
		optSwitch("match-across-virtuals", "persist across virtual servers", func(p *Persistence) *Opt[bool] { return &p.MatchAcrossVirtuals }),
		optWord("method", func(p *Persistence) *Opt[string] { return &p.Method }, "insert", "rewrite", "passive", "hash").on(ck),
		optSwitch("override-connection-limit", "persisted connections ignore limits", func(p *Persistence) *Opt[bool] { return &p.OverrideConnectionLimit }),
		refOpt("rule", "iRule computing the hash key, or none", func(p *Persistence) *Opt[string] { return &p.Rule }).on(hs),
		optUint("timeout", "seconds an idle record is kept", 0, math.MaxUint32, func(p *Persistence) *Opt[uint32] { return &p.Timeout }),
	}
)

// refOpt reads an object name or none.
func refOpt[T any](name, help string, get func(*T) *Opt[string]) optField[T] {
	return optField[T]{
		name: name, help: help,
		parse: func(c *cursor, o *T) error {
			n, err := refValue(c, name)
			*get(o) = set(n)
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

func validExpiration(s string) bool {
	parts := strings.Split(s, ":")
	if len(parts) > 4 {
		return false
	}
	for _, p := range parts {
		if _, err := strconv.ParseUint(p, 10, 32); err != nil || p[0] == '+' {
			return false
		}
	}
	return true
}

func (c *Config) persistence(name string) *Persistence {
	if p := c.Persistence[name]; p != nil {
		return p
	}
	return builtinPersist(name)
}

func (c *Config) effectivePersistence(p *Persistence) Persistence {
	x := *p
	seen := map[string]bool{p.Name: true}
	for q := c.persistence(p.DefaultsFrom); q != nil && !seen[q.Name] && q.Type == p.Type; q = c.persistence(q.DefaultsFrom) {
		seen[q.Name] = true
		for _, f := range persistFields {
			f.inherit(&x, q)
		}
	}
	for _, f := range persistFields {
		f.inherit(&x, builtinPersistence[p.Type.builtin()])
	}
	return x
}

func printPersistence(b *strings.Builder, c *Config, p *Persistence, all bool) {
	eff := c.effectivePersistence(p)
	printOpt(b, "ltm persistence "+p.Type.String()+" "+p.Name, uint8(p.Type), persistFields, p, &eff, p.DefaultsFrom, p.Description, p.Extras, all)
}

func persistInUse(c *Config, name string) error {
	for _, v := range c.VirtualList() {
		for _, r := range v.Persist {
			if r.Name == name {
				return coded("01070293:3: The persistence profile (%s) cannot be deleted because it is in use by a Virtual Server (%s).", name, v.Name)
			}
		}
		if v.FallbackPersistence == name {
			return coded("01070293:3: The persistence profile (%s) cannot be deleted because it is in use by a Virtual Server (%s).", name, v.Name)
		}
	}
	for _, p := range sortedValues(c.Persistence) {
		if p.DefaultsFrom == name {
			return coded("01070293:3: The persistence profile (%s) cannot be deleted because it is the parent of %s.", name, p.Name)
		}
	}
	return nil
}

var persistKinds = func() []*objKind {
	var out []*objKind
	for t := range persistTypeCount {
		out = append(out, newKind(kindSpec[Persistence]{
			module: "ltm", kind: "persistence " + t.String(), title: "Persistence Profile", plural: t.String() + " persistence profiles",
			createArgs: "[defaults-from PROFILE] [PROPERTY …]",
			props: optProps(uint8(t), persistFields,
				func(p *Persistence) *string { return &p.DefaultsFrom }, func(p *Persistence) *string { return &p.Description }),
			objects: func(c *Config) map[string]*Persistence { return c.Persistence },
			newObj:  func(name string) *Persistence { return &Persistence{Name: name, Type: t} },
			match:   func(p *Persistence) bool { return p.Type == t },
			builtin: builtinPersist,
			inUse:   persistInUse,
			print:   printPersistence,
		}))
	}
	return out
}()

func validatePersistence(c *Config, add func(obj, prop string, err error)) {
	for _, p := range sortedValues(c.Persistence) {
		obj := "ltm persistence " + p.Type.String() + " " + p.Name
		q := c.persistence(p.DefaultsFrom)
		switch {
		case q == nil:
			add(obj, "defaults-from "+p.DefaultsFrom, ErrNoSuchProfile)
		case q.Type != p.Type:
			add(obj, "defaults-from "+p.DefaultsFrom, fmt.Errorf("is a %s profile, want %s", q.Type, p.Type))
		default:
			seen := map[string]bool{p.Name: true}
			for r := q; r != nil && r.DefaultsFrom != ""; r = c.persistence(r.DefaultsFrom) {
				if seen[r.Name] {
					add(obj, "defaults-from "+p.DefaultsFrom, fmt.Errorf("inherits from itself"))
					break
				}
				seen[r.Name] = true
			}
		}
		if p.Rule.Set && p.Rule.V != "" && !c.hasRawObject("ltm rule", p.Rule.V) {
			add(obj, "rule "+p.Rule.V, fmt.Errorf("no such iRule (ltm rule)"))
		}
	}
}
