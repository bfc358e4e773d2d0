package config

import "slices"

// Object is one configuration object of a kind a Config holds: *Node,
// *Pool, *Virtual, *Monitor, *Persistence, *SNATPool, *SelfIP, *Route or
// *User. The set is closed; a type switch on it is complete over those.
type Object interface {
	Ref() Ref
	cloneObject() Object
}

var (
	_ Object = (*Node)(nil)
	_ Object = (*Pool)(nil)
	_ Object = (*Virtual)(nil)
	_ Object = (*Monitor)(nil)
	_ Object = (*Persistence)(nil)
	_ Object = (*LTMProfile)(nil)
	_ Object = (*SNATPool)(nil)
	_ Object = (*Policy)(nil)
	_ Object = (*SelfIP)(nil)
	_ Object = (*Route)(nil)
	_ Object = (*User)(nil)
	_ Object = (*SysFile)(nil)
)

// Ref returns the Ref of a node.
func (n *Node) Ref() Ref { return Ref{Kind: KindNode, Name: n.Name} }

// Ref returns the Ref of a pool.
func (p *Pool) Ref() Ref { return Ref{Kind: KindPool, Name: p.Name} }

// Ref returns the Ref of a virtual server.
func (v *Virtual) Ref() Ref { return Ref{Kind: KindVirtual, Name: v.Name} }

// Ref returns the Ref of a SNAT pool.
func (p *SNATPool) Ref() Ref { return Ref{Kind: KindSNATPool, Name: p.Name} }

// Ref returns the Ref of a self IP.
func (s *SelfIP) Ref() Ref { return Ref{Kind: KindSelf, Name: s.Name} }

// Ref returns the Ref of a route.
func (r *Route) Ref() Ref { return Ref{Kind: KindRoute, Name: r.Name} }

// Ref returns the Ref of a user.
func (u *User) Ref() Ref { return Ref{Kind: KindUser, Name: u.Name} }

func (n *Node) cloneObject() Object        { return n.Clone() }
func (p *Pool) cloneObject() Object        { return p.Clone() }
func (v *Virtual) cloneObject() Object     { return v.Clone() }
func (m *Monitor) cloneObject() Object     { return m.Clone() }
func (p *Persistence) cloneObject() Object { return p.Clone() }
func (p *LTMProfile) cloneObject() Object  { return p.Clone() }
func (p *SNATPool) cloneObject() Object    { return p.Clone() }
func (s *SelfIP) cloneObject() Object      { return s.Clone() }
func (r *Route) cloneObject() Object       { return r.Clone() }
func (u *User) cloneObject() Object        { return u.Clone() }

// The typed edit API. Every dialect and the REST API change a Config only
// through these, so the same mistake gives the same typed error whatever
// the client: a missing object is a *NotFoundError, a taken name an
// *ExistsError, a built-in a *BuiltinError, a referenced object an
// *InUseError. Objects go in and come out as copies: what a caller holds
// never aliases the Config.

// Get returns a copy of the object r names; monitors and persistence
// profiles include the built-ins. A Ref with a Type matches only an object
// of that type.
func (c *Config) Get(r Ref) (Object, error) {
	if o := c.lookup(r); o != nil {
		return o.cloneObject(), nil
	}
	return nil, &NotFoundError{Ref: r}
}

// Exists reports whether r names an object, built-ins included.
func (c *Config) Exists(r Ref) bool { return c.lookup(r) != nil }

// Names returns the names of the configured objects of kind k (and of type
// typ, when given), sorted; built-ins are not included.
func (c *Config) Names(k Kind, typ string) []string {
	var out []string
	add := func(name, t string) {
		if typ == "" || t == typ {
			out = append(out, name)
		}
	}
	switch k {
	case KindNode:
		for n := range c.Nodes {
			add(n, "")
		}
	case KindPool:
		for n := range c.Pools {
			add(n, "")
		}
	case KindVirtual:
		for n := range c.Virtuals {
			add(n, "")
		}
	case KindMonitor:
		for n, m := range c.Monitors {
			add(n, m.Type.String())
		}
	case KindPersistence:
		for n, p := range c.Persistence {
			add(n, p.Type.String())
		}
	case KindProfile:
		for n, p := range c.Profiles {
			add(n, p.Type.String())
		}
	case KindSNATPool:
		for n := range c.SNATPools {
			add(n, "")
		}
	case KindPolicy:
		for n := range c.Policies {
			add(n, "")
		}
	case KindSelf:
		for n := range c.Selfs {
			add(n, "")
		}
	case KindRoute:
		for n := range c.Routes {
			add(n, "")
		}
	case KindSysFile:
		for n, f := range c.Files {
			add(n, f.Type.String())
		}
	case KindUser:
		for n := range c.Users {
			add(n, "")
		}
	}
	slices.Sort(out)
	return out
}

// Create adds o; its name must be free in its family (monitors of every
// type, built-ins included, share one namespace, as do persistence
// profiles).
func (c *Config) Create(o Object) error {
	r := o.Ref()
	if c.taken(r) {
		return &ExistsError{Ref: r}
	}
	c.store(o.cloneObject())
	return nil
}

// Put creates o or replaces the object of its name and type, as a
// bigip.conf stanza does. A built-in cannot be replaced, and a name taken
// by an object of another type in the family cannot be reused.
func (c *Config) Put(o Object) error {
	r := o.Ref()
	if c.isBuiltin(r) {
		return &BuiltinError{Ref: r}
	}
	if c.taken(r) && c.lookup(r) == nil {
		return &ExistsError{Ref: r}
	}
	c.store(o.cloneObject())
	return nil
}

// Replace replaces the object of o's name and type, which must exist.
func (c *Config) Replace(o Object) error {
	r := o.Ref()
	if c.isBuiltin(r) {
		return &BuiltinError{Ref: r}
	}
	if c.isBootSelf(r) {
		return &BootSelfError{Ref: r}
	}
	if c.lookup(r) == nil {
		return &NotFoundError{Ref: r}
	}
	c.store(o.cloneObject())
	return nil
}

// Modify applies edit to a copy of the object r names and, when edit
// succeeds, puts the copy in its place: a partial change (tmsh modify,
// REST PATCH). On error the Config is unchanged. edit may not rename the
// object or change its type.
func (c *Config) Modify(r Ref, edit func(Object) error) error {
	if c.isBuiltin(r) {
		return &BuiltinError{Ref: r}
	}
	if c.isBootSelf(r) {
		return &BootSelfError{Ref: r}
	}
	o := c.lookup(r)
	if o == nil {
		return &NotFoundError{Ref: r}
	}
	o = o.cloneObject()
	if err := edit(o); err != nil {
		return err
	}
	if got := o.Ref(); got.Kind != r.Kind || got.Name != r.Name || r.Type != "" && got.Type != r.Type {
		return Invalid(r, "name", errRenamed)
	}
	c.store(o)
	return nil
}

// Delete removes the object r names, unless it is a built-in or another
// object refers to it (InUse).
func (c *Config) Delete(r Ref) error {
	if c.lookup(r) == nil {
		return &NotFoundError{Ref: r}
	}
	if c.isBuiltin(r) {
		return &BuiltinError{Ref: r}
	}
	if c.isBootSelf(r) {
		return &BootSelfError{Ref: r}
	}
	if err := c.InUse(r); err != nil {
		return err
	}
	switch r.Kind {
	case KindNode:
		delete(c.Nodes, r.Name)
	case KindPool:
		delete(c.Pools, r.Name)
	case KindVirtual:
		delete(c.Virtuals, r.Name)
	case KindMonitor:
		delete(c.Monitors, r.Name)
	case KindPersistence:
		delete(c.Persistence, r.Name)
	case KindProfile:
		delete(c.Profiles, r.Name)
	case KindSNATPool:
		delete(c.SNATPools, r.Name)
	case KindPolicy:
		delete(c.Policies, r.Name)
	case KindSelf:
		delete(c.Selfs, r.Name)
	case KindRoute:
		delete(c.Routes, r.Name)
	case KindUser:
		delete(c.Users, r.Name)
	case KindSysFile:
		delete(c.Files, r.Name)
	}
	return nil
}

// lookup returns the object r names (not a copy), built-ins included, or
// nil.
func (c *Config) lookup(r Ref) Object {
	var o Object
	switch r.Kind {
	case KindNode:
		o = nilIfNone(c.Nodes[r.Name])
	case KindPool:
		o = nilIfNone(c.Pools[r.Name])
	case KindVirtual:
		o = nilIfNone(c.Virtuals[r.Name])
	case KindMonitor:
		o = nilIfNone(c.LookupMonitor(r.Name))
	case KindPersistence:
		o = nilIfNone(c.LookupPersistence(r.Name))
	case KindProfile:
		o = nilIfNone(c.LookupProfile(r.Name))
	case KindSNATPool:
		o = nilIfNone(c.SNATPools[r.Name])
	case KindPolicy:
		o = nilIfNone(c.Policies[r.Name])
	case KindSelf:
		o = nilIfNone(c.Selfs[r.Name])
	case KindRoute:
		o = nilIfNone(c.Routes[r.Name])
	case KindUser:
		o = nilIfNone(c.Users[r.Name])
	case KindSysFile:
		o = nilIfNone(c.Files[r.Name])
	}
	if o == nil || r.Type != "" && o.Ref().Type != r.Type {
		return nil
	}
	return o
}

// nilIfNone turns a nil pointer of an object type into a nil Object.
func nilIfNone[T any, P interface {
	*T
	Object
}](p P) Object {
	if p == nil {
		return nil
	}
	return p
}

// taken reports whether r's name is used in its family, by an object of
// any type or a built-in.
func (c *Config) taken(r Ref) bool {
	family := r
	family.Type = ""
	return c.lookup(family) != nil
}

// isBuiltin reports whether r names a built-in (of r's type, when given).
func (c *Config) isBuiltin(r Ref) bool {
	var o Object
	switch r.Kind {
	case KindMonitor:
		o = nilIfNone(BuiltinMonitor(r.Name))
	case KindPersistence:
		o = nilIfNone(BuiltinPersist(r.Name))
	case KindProfile:
		o = nilIfNone(BuiltinProfile(r.Name))
	}
	return o != nil && (r.Type == "" || o.Ref().Type == r.Type)
}

// isBootSelf reports whether r names a self IP of the boot config.
func (c *Config) isBootSelf(r Ref) bool {
	return r.Kind == KindSelf && c.Selfs[r.Name] != nil && c.Selfs[r.Name].Boot
}

// store puts o into its map, replacing any object of its name.
func (c *Config) store(o Object) {
	c.EnsureMaps()
	switch o := o.(type) {
	case *Node:
		c.Nodes[o.Name] = o
	case *Pool:
		c.Pools[o.Name] = o
	case *Virtual:
		c.Virtuals[o.Name] = o
	case *Monitor:
		c.Monitors[o.Name] = o
	case *Persistence:
		c.Persistence[o.Name] = o
	case *LTMProfile:
		c.Profiles[o.Name] = o
	case *SNATPool:
		c.SNATPools[o.Name] = o
	case *Policy:
		c.Policies[o.Name] = o
	case *SelfIP:
		c.Selfs[o.Name] = o
	case *Route:
		c.Routes[o.Name] = o
	case *User:
		c.Users[o.Name] = o
	case *SysFile:
		c.Files[o.Name] = o
	}
}
