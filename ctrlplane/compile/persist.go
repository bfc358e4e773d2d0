package compile

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"lbx/ctrlplane/config"
	"lbx/dataplane/l7spec"
	"lbx/pools"
)

// compileCookie is a cookie persistence profile as an HTTP virtual's proxy
// runs it: insert (and rewrite, run as insert) sets the BIGipServer cookie
// and honours it; passive only honours a cookie the member set; hash is
// not run (warned), and the cookie is honoured as passive.
func compileCookie(eff config.Persistence, obj config.Ref, prop string, warn func(obj config.Ref, prop, what string)) *l7spec.Cookie {
	ck := &l7spec.Cookie{Name: eff.CookieName.V, Expire: expiration(eff.Expiration.V)}
	switch eff.Method.V {
	case "passive":
		ck.Passive = true
	case "rewrite":
		warn(obj, prop+" method rewrite", "run as insert: the appliance sets the cookie itself")
	case "hash":
		warn(obj, prop+" method hash", "not run: a BIGipServer cookie the member sets is honoured, as with passive")
		ck.Passive = true
	}
	return ck
}

// expiration converts a cookie profile's expiration, [[[D:]H:]M:]S
// (config.ValidExpiration checked it), to a duration; 0 is a session
// cookie.
func expiration(s string) time.Duration {
	parts := strings.Split(s, ":")
	unit := []time.Duration{time.Second, time.Minute, time.Hour, 24 * time.Hour}
	var d time.Duration
	for i := range parts {
		n, _ := strconv.ParseUint(parts[len(parts)-1-i], 10, 32)
		d += time.Duration(n) * unit[i]
	}
	return d
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
func compilePersist(c *config.Config, v *config.Virtual, table *pools.PersistTable, l7 *l7spec.Spec, add func(obj config.Ref, prop string, err error), warn func(obj config.Ref, prop, what string)) *compiledPersist {
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
	if p.Type == config.PersistCookie && l7 != nil {
		l7.Cookie = compileCookie(c.EffectivePersistence(p), obj, prop, warn)
		// Requests without a usable cookie fall back to the
		// fallback-persistence profile, when it is one the proxy runs.
		fb := c.LookupPersistence(v.FallbackPersistence)
		if fb == nil {
			return nil
		}
		if fb.Type != config.PersistSourceAddr {
			warn(obj, "fallback-persistence "+fb.Name, "an HTTP virtual falls back to source-addr persistence only; requests without the cookie are load balanced")
			return nil
		}
		p, prop = fb, "fallback-persistence "+fb.Name
	} else if p.Type == config.PersistCookie {
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
