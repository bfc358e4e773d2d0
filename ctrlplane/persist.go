package ctrlplane

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"lbx/pools"
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
// are inherited from defaults-from. source-addr and hash run in the
// dataplane (see compilePersist); cookie needs a layer-7 virtual.
type Persistence struct {
	Name                    string
	Type                    PersistType
	DefaultsFrom            string // full name; ApplyDefaults sets the type's built-in
	Description             string
	Timeout                 Opt[uint32] // seconds an unused record lives; 0: indefinite
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
func compilePersist(c *Config, v *Virtual, table *pools.PersistTable, add func(obj, prop string, err error), warn func(obj, prop, what string)) *compiledPersist {
	obj := virtualKind.objectName(v.Name)
	defaults := 0
	chosen := ""
	for _, r := range v.Persist {
		if c.persistence(r.Name) == nil {
			add(obj, "persist "+r.Name, ErrNoSuchProfile)
		}
		if r.Default {
			defaults++
			chosen = r.Name
		}
	}
	if len(v.Persist) > 1 && defaults != 1 {
		add(obj, "persist", fmt.Errorf("%d profiles marked default yes, want 1", defaults))
		return nil
	}
	if len(v.Persist) == 1 {
		chosen = v.Persist[0].Name
	}
	if f := v.FallbackPersistence; f != "" && c.persistence(f) == nil {
		add(obj, "fallback-persistence "+f, ErrNoSuchProfile)
		return nil
	}
	p := c.persistence(chosen)
	if p == nil {
		return nil
	}
	prop := "persist " + p.Name
	if p.Type == PersistCookie {
		fb := c.persistence(v.FallbackPersistence)
		if fb == nil || fb.Type == PersistCookie {
			warn(obj, prop, "cookie persistence needs an HTTP (layer 7) virtual; connections are not persisted")
			return nil
		}
		warn(obj, prop, "cookie persistence needs an HTTP (layer 7) virtual; fallback-persistence "+fb.Name+" is used")
		p, prop = fb, "fallback-persistence "+fb.Name
	}
	eff := c.effectivePersistence(p)
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
	case PersistSourceAddr:
		ps.Mode = pools.PersistSourceAddr
		if eff.Mask.V != "" {
			b, err := maskBits(eff.Mask.V)
			if err != nil {
				add(obj, prop, fmt.Errorf("mask %s: %w", eff.Mask.V, err))
				return nil
			}
			ps.MaskBits = b
		}
	case PersistHash:
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

// maskBits turns a dotted IPv4 netmask into a prefix length.
func maskBits(mask string) (int, error) {
	a, err := netip.ParseAddr(mask)
	if err != nil || !a.Is4() {
		return 0, errors.New("not an IPv4 netmask")
	}
	b := a.As4()
	m := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := bits.LeadingZeros32(^m)
	if m<<n != 0 {
		return 0, errors.New("not a contiguous netmask")
	}
	return n, nil
}
