package compile

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"lbx/ctrlplane/config"
	"lbx/dataplane/l7spec"
	"lbx/pools"
)

// compileCookie is a cookie persistence profile as an HTTP virtual's proxy
// runs it: insert sets the BIGipServer cookie and honours it; rewrite
// rewrites the value of the cookie the member sets; passive only honours
// a cookie the member set; hash keys persistence records on the hash of
// the value of the member's cookie (ps: the profile's records).
func compileCookie(eff config.Persistence, ps *pools.Persist) *l7spec.Cookie {
	ck := &l7spec.Cookie{Name: eff.CookieName.V, Expire: expiration(eff.Expiration.V)}
	switch eff.Method.V {
	case "passive":
		ck.Passive = true
	case "rewrite":
		ck.Rewrite = true
	case "hash":
		ck.Hash, ck.Persist = true, ps
		ps.Mode, ps.Consistent = pools.PersistCookieHash, true
		if ck.Expire > 0 {
			ps.Timeout = ck.Expire
		}
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

// newPersist is the records of profile p (effective properties eff) on
// virtual v: scope, timeout and limits; the caller sets the mode.
func newPersist(v *config.Virtual, p *config.Persistence, eff config.Persistence, table *pools.PersistTable) *pools.Persist {
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
	return ps
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
	l7Only := p.Type == config.PersistCookie || p.Type == config.PersistUniversal
	if l7Only && l7 != nil {
		eff := c.EffectivePersistence(p)
		if p.Type == config.PersistCookie {
			l7.Cookie = compileCookie(eff, newPersist(v, p, eff, table))
			if eff.Method.V == "hash" && eff.CookieName.V == "" {
				add(obj, prop+" method hash", errors.New("cookie-name is required: the name of the cookie the member sets"))
				return nil
			}
		} else {
			if eff.HeaderName.V == "" {
				warn(obj, prop, "no header-name: iRules are not run, so nothing keys the records; requests are load balanced")
			} else {
				ps := newPersist(v, p, eff, table)
				ps.Mode = pools.PersistUniversal
				l7.Universal = &l7spec.Universal{Header: eff.HeaderName.V, Persist: ps}
			}
			if eff.Rule.V != "" {
				warn(obj, prop+" rule "+eff.Rule.V, "iRules are not run; the header-name's value is the key")
			}
		}
		// Requests without the cookie or header fall back to the
		// fallback-persistence profile, when it is one the proxy runs.
		fb := c.LookupPersistence(v.FallbackPersistence)
		if fb == nil {
			return nil
		}
		if fb.Type != config.PersistSourceAddr {
			warn(obj, "fallback-persistence "+fb.Name, "an HTTP virtual falls back to source-addr persistence only; requests without the cookie or header are load balanced")
			return nil
		}
		p, prop = fb, "fallback-persistence "+fb.Name
	} else if l7Only {
		fb := c.LookupPersistence(v.FallbackPersistence)
		what := p.Type.String() + " persistence needs an HTTP (layer 7) virtual"
		if fb == nil || fb.Type == config.PersistCookie || fb.Type == config.PersistUniversal {
			warn(obj, prop, what+"; connections are not persisted")
			return nil
		}
		warn(obj, prop, what+"; fallback-persistence "+fb.Name+" is used")
		p, prop = fb, "fallback-persistence "+fb.Name
	}
	eff := c.EffectivePersistence(p)
	ps := newPersist(v, p, eff, table)
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
