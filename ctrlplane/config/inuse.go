package config

import "slices"

// InUse reports why the object r names cannot be deleted: another object
// refers to it. It returns an *InUseError naming the first referrer (in
// bigip.conf order), or nil. Every dialect deletes through it, so the rule
// is written once.
//
// It walks the referring maps once without sorting them (the first
// referrer is the least name among the referrers of a kind), so a delete
// costs one pass over the configuration and allocates nothing.
func (c *Config) InUse(r Ref) error {
	used := func(by Ref, parent bool) error { return &InUseError{Ref: r, By: by, Parent: parent} }
	switch r.Kind {
	case KindNode:
		if n := firstReferrer(c.Pools, func(p *Pool) bool {
			for _, m := range p.Members {
				if m.Node == r.Name {
					return true
				}
			}
			return false
		}); n != "" {
			return used(Ref{Kind: KindPool, Name: n}, false)
		}
	case KindPool:
		if n := firstReferrer(c.Virtuals, func(v *Virtual) bool { return v.Pool == r.Name }); n != "" {
			return used(Ref{Kind: KindVirtual, Name: n}, false)
		}
		if n := firstReferrer(c.Policies, func(p *Policy) bool { return p.UsesPool(r.Name) }); n != "" {
			return used(Ref{Kind: KindPolicy, Name: n}, false)
		}
	case KindPolicy:
		if n := firstReferrer(c.Virtuals, func(v *Virtual) bool { return slices.Contains(v.Policies, r.Name) }); n != "" {
			return used(Ref{Kind: KindVirtual, Name: n}, false)
		}
	case KindSNATPool:
		if n := firstReferrer(c.Virtuals, func(v *Virtual) bool { return v.SNAT == SNATSnatpool && v.SNATPool == r.Name }); n != "" {
			return used(Ref{Kind: KindVirtual, Name: n}, false)
		}
	case KindMonitor:
		if n := firstReferrer(c.Pools, func(p *Pool) bool { return p.Monitor.Uses(r.Name) }); n != "" {
			return used(Ref{Kind: KindPool, Name: n}, false)
		}
		if n := firstReferrer(c.Nodes, func(nd *Node) bool { return nd.Monitor.Uses(r.Name) }); n != "" {
			return used(Ref{Kind: KindNode, Name: n}, false)
		}
		if n := firstReferrer(c.Monitors, func(m *Monitor) bool { return m.DefaultsFrom == r.Name }); n != "" {
			return used(c.Monitors[n].Ref(), true)
		}
	case KindPersistence:
		if n := firstReferrer(c.Virtuals, func(v *Virtual) bool {
			for _, p := range v.Persist {
				if p.Name == r.Name {
					return true
				}
			}
			return v.FallbackPersistence == r.Name
		}); n != "" {
			return used(Ref{Kind: KindVirtual, Name: n}, false)
		}
		if n := firstReferrer(c.Persistence, func(p *Persistence) bool { return p.DefaultsFrom == r.Name }); n != "" {
			return used(c.Persistence[n].Ref(), true)
		}
	case KindSysFile:
		t := FileSSLCert
		if f := c.Files[r.Name]; f != nil {
			t = f.Type
		}
		if n := firstReferrer(c.Profiles, func(p *LTMProfile) bool {
			v := p.Cert.V
			if t == FileSSLKey {
				v = p.Key.V
			}
			_, obj := c.ResolveFile(t, v)
			return v != "" && obj == r.Name
		}); n != "" {
			return used(c.Profiles[n].Ref(), false)
		}
	case KindProfile:
		if n := firstReferrer(c.Virtuals, func(v *Virtual) bool {
			return slices.ContainsFunc(v.Profiles, func(p Profile) bool { return p.Name == r.Name })
		}); n != "" {
			return used(Ref{Kind: KindVirtual, Name: n}, false)
		}
		if n := firstReferrer(c.Profiles, func(p *LTMProfile) bool { return p.DefaultsFrom == r.Name }); n != "" {
			return used(c.Profiles[n].Ref(), true)
		}
	}
	return nil
}

// firstReferrer returns the least name of the objects of m that refers
// says refer to the object, "" when none does.
func firstReferrer[T any](m map[string]*T, refers func(*T) bool) string {
	first := ""
	for name, o := range m {
		if (first == "" || name < first) && refers(o) {
			first = name
		}
	}
	return first
}

// Uses reports whether the rule names monitor name.
func (r MonitorRule) Uses(name string) bool {
	for _, n := range r.Names {
		if n == name {
			return true
		}
	}
	return false
}
