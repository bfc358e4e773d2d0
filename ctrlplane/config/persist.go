package config

import (
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
	PersistUniversal
	PersistTypeCount
)

var persistTypeNames = [PersistTypeCount]string{"source-addr", "cookie", "hash", "universal"}

// String returns the tmsh name of the type.
func (t PersistType) String() string {
	if t < PersistTypeCount {
		return persistTypeNames[t]
	}
	return "type-" + strconv.Itoa(int(t))
}

// Builtin is the full name of the type's built-in profile: /Common/source_addr,
// /Common/cookie, /Common/hash.
func (t PersistType) Builtin() string {
	return "/" + CommonPartition + "/" + strings.ReplaceAll(t.String(), "-", "_")
}

// Persistence is an `ltm persistence TYPE NAME` profile. Properties not set
// are inherited from defaults-from. source-addr and hash run in the
// dataplane (see compilePersist); cookie and universal need a layer-7
// virtual.
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
	Rule                    Opt[string] // hash, universal: iRule, "" for none
	HeaderName              Opt[string] // universal (lbx): the request header keyed on, "" for none
	Extras
}

func (p *Persistence) Clone() *Persistence { x := *p; x.Extras = p.Extras.Clone(); return &x }

var builtinPersistence = func() map[string]*Persistence {
	out := map[string]*Persistence{}
	for t := range PersistTypeCount {
		p := &Persistence{
			Name: t.Builtin(), Type: t,
			Timeout: Some[uint32](180), MatchAcrossServices: Some(false), MatchAcrossVirtuals: Some(false),
			MatchAcrossPools: Some(false), OverrideConnectionLimit: Some(false), Mask: Some(""),
			HashAlgorithm: Some("default"), Method: Some("insert"), CookieName: Some(""), Expiration: Some("0"),
			AlwaysSend: Some(false), HashOffset: Some[uint32](0), HashLength: Some[uint32](0), Rule: Some(""),
			HeaderName: Some(""),
		}
		out[p.Name] = p
	}
	return out
}()

func BuiltinPersist(name string) *Persistence { return builtinPersistence[name] }

func ValidExpiration(s string) bool {
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

// LookupPersistence finds a persistence profile of the configuration or a
// built-in.
func (c *Config) LookupPersistence(name string) *Persistence {
	if p := c.Persistence[name]; p != nil {
		return p
	}
	return BuiltinPersist(name)
}

// EffectivePersistence returns p with every property it does not set taken
// from its defaults-from chain, ending at its type's built-in.
func (c *Config) EffectivePersistence(p *Persistence) Persistence {
	x := *p
	seen := map[string]bool{p.Name: true}
	for q := c.LookupPersistence(p.DefaultsFrom); q != nil && !seen[q.Name] && q.Type == p.Type; q = c.LookupPersistence(q.DefaultsFrom) {
		seen[q.Name] = true
		x.inherit(q)
	}
	x.inherit(builtinPersistence[p.Type.Builtin()])
	return x
}

// inherit takes every property p does not set from q.
func (p *Persistence) inherit(q *Persistence) {
	inherit(&p.Timeout, q.Timeout)
	inherit(&p.MatchAcrossServices, q.MatchAcrossServices)
	inherit(&p.MatchAcrossVirtuals, q.MatchAcrossVirtuals)
	inherit(&p.MatchAcrossPools, q.MatchAcrossPools)
	inherit(&p.OverrideConnectionLimit, q.OverrideConnectionLimit)
	inherit(&p.Mask, q.Mask)
	inherit(&p.HashAlgorithm, q.HashAlgorithm)
	inherit(&p.Method, q.Method)
	inherit(&p.CookieName, q.CookieName)
	inherit(&p.Expiration, q.Expiration)
	inherit(&p.AlwaysSend, q.AlwaysSend)
	inherit(&p.HashOffset, q.HashOffset)
	inherit(&p.HashLength, q.HashLength)
	inherit(&p.Rule, q.Rule)
	inherit(&p.HeaderName, q.HeaderName)
}
