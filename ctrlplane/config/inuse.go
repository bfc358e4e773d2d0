package config

// InUse reports why the object r names cannot be deleted: another object
// refers to it. It returns an *InUseError naming the first referrer (in
// bigip.conf order), or nil. Every dialect deletes through it, so the rule
// is written once.
func (c *Config) InUse(r Ref) error {
	used := func(by Ref, parent bool) error { return &InUseError{Ref: r, By: by, Parent: parent} }
	switch r.Kind {
	case KindNode:
		for _, p := range c.PoolList() {
			for _, m := range p.Members {
				if m.Node == r.Name {
					return used(Ref{Kind: KindPool, Name: p.Name}, false)
				}
			}
		}
	case KindPool:
		for _, v := range c.VirtualList() {
			if v.Pool == r.Name {
				return used(Ref{Kind: KindVirtual, Name: v.Name}, false)
			}
		}
	case KindSNATPool:
		for _, v := range c.VirtualList() {
			if v.SNAT == SNATSnatpool && v.SNATPool == r.Name {
				return used(Ref{Kind: KindVirtual, Name: v.Name}, false)
			}
		}
	case KindMonitor:
		for _, p := range c.PoolList() {
			if p.Monitor.Uses(r.Name) {
				return used(Ref{Kind: KindPool, Name: p.Name}, false)
			}
		}
		for _, n := range c.NodeList() {
			if n.Monitor.Uses(r.Name) {
				return used(Ref{Kind: KindNode, Name: n.Name}, false)
			}
		}
		for _, m := range c.MonitorList() {
			if m.DefaultsFrom == r.Name {
				return used(m.Ref(), true)
			}
		}
	case KindPersistence:
		for _, v := range c.VirtualList() {
			for _, p := range v.Persist {
				if p.Name == r.Name {
					return used(Ref{Kind: KindVirtual, Name: v.Name}, false)
				}
			}
			if v.FallbackPersistence == r.Name {
				return used(Ref{Kind: KindVirtual, Name: v.Name}, false)
			}
		}
		for _, p := range SortedValues(c.Persistence) {
			if p.DefaultsFrom == r.Name {
				return used(p.Ref(), true)
			}
		}
	}
	return nil
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
