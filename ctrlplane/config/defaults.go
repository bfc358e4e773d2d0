package config

import "net/netip"

// The defaults of one object, which ApplyDefaults applies to all of them
// and Defaults to the one just edited.

func (n *Node) applyDefaults() {
	if n.Ratio == 0 {
		n.Ratio = 1
	}
}

func (m *Monitor) applyDefaults() {
	if m.DefaultsFrom == "" {
		m.DefaultsFrom = m.Type.Builtin()
	}
}

func (p *Persistence) applyDefaults() {
	if p.DefaultsFrom == "" {
		p.DefaultsFrom = p.Type.Builtin()
	}
}

func (v *Virtual) applyDefaults() {
	if v.Protocol == 0 {
		v.Protocol = ProtocolTCP
	}
	if !v.Mask.IsValid() {
		v.Mask = HostMask(v.Destination.Addr())
	}
}

// makeNodes creates the missing nodes of p's members: those that give an
// address when fromName is false, those named by an address when it is
// true. It reports whether it created any.
func (p *Pool) makeNodes(c *Config, fromName bool) bool {
	made := false
	for _, m := range p.Members {
		if _, ok := c.Nodes[m.Node]; ok {
			continue
		}
		addr := m.Address
		if fromName {
			a, err := netip.ParseAddr(BaseName(m.Node))
			if err != nil {
				continue
			}
			addr = a
		}
		if addr.IsValid() {
			n := NewNode(m.Node)
			n.Address = addr
			c.Nodes[m.Node] = n
			made = true
		}
	}
	return made
}

// fillMembers gives p's members their node's address and a ratio; it
// reports whether a member is left without an address (its node does not
// exist, or has none).
func (p *Pool) fillMembers(c *Config) (unresolved bool) {
	for i := range p.Members {
		m := &p.Members[i]
		if n, ok := c.Nodes[m.Node]; ok && !m.Address.IsValid() {
			m.Address = n.Address
		}
		if m.Ratio == 0 {
			m.Ratio = 1
		}
		if !m.Address.IsValid() {
			unresolved = true
		}
	}
	return unresolved
}

// Defaults keeps a Config complete, as ApplyDefaults leaves it, while it
// is edited one object at a time, at a cost that follows the object
// edited rather than the whole configuration: a transaction calls Edited
// after every edit, so a script of n lines costs O(n) and not O(n²). The
// zero value is ready; the first Edited applies ApplyDefaults to the whole
// Config, so it does not assume the Config was complete.
//
// After every Edited the Config is exactly what ApplyDefaults after every
// edit made it (the differential test holds the two together). That
// relies on what makes ApplyDefaults reach a fixed point: only the object
// just edited can have unmet defaults, a node is created only from the
// members of the pool just edited (every other member either has its node
// or cannot make one), and the only members elsewhere an edit can complete
// are those still without an address, which Defaults keeps track of
// (pending) so that a new node reaches them without a walk over all pools.
type Defaults struct {
	synced  bool
	pending map[string]bool // pools with a member without an address
}

// Reset forgets what Defaults knew of its Config: the next Edited applies
// ApplyDefaults in full (after Config is replaced as a whole).
func (d *Defaults) Reset() { *d = Defaults{} }

// Edited completes c after an edit (create, replace, modify or delete) of
// the object r names.
func (d *Defaults) Edited(c *Config, r Ref) {
	c.EnsureMaps()
	if !d.synced {
		c.ApplyDefaults()
		d.pending = map[string]bool{}
		for name, p := range c.Pools {
			if p.fillMembers(c) {
				d.pending[name] = true
			}
		}
		d.synced = true
		return
	}
	switch r.Kind {
	case KindPool:
		p := c.Pools[r.Name]
		if p == nil {
			delete(d.pending, r.Name)
			return
		}
		made := p.makeNodes(c, false)
		made = p.makeNodes(c, true) || made
		d.fill(c, p)
		if made {
			d.resolve(c)
		}
	case KindNode:
		if n := c.Nodes[r.Name]; n != nil {
			n.applyDefaults()
			d.resolve(c)
		}
	case KindMonitor:
		if m := c.Monitors[r.Name]; m != nil {
			m.applyDefaults()
		}
	case KindPersistence:
		if p := c.Persistence[r.Name]; p != nil {
			p.applyDefaults()
		}
	case KindProfile:
		if p := c.Profiles[r.Name]; p != nil {
			p.applyDefaults()
		}
	case KindVirtual:
		if v := c.Virtuals[r.Name]; v != nil {
			v.applyDefaults()
		}
	}
}

// fill completes p's members and records whether any is left pending.
func (d *Defaults) fill(c *Config, p *Pool) {
	if p.fillMembers(c) {
		d.pending[p.Name] = true
	} else {
		delete(d.pending, p.Name)
	}
}

// resolve gives the pending members whose node now exists its address.
func (d *Defaults) resolve(c *Config) {
	for name := range d.pending {
		if p := c.Pools[name]; p != nil {
			d.fill(c, p)
		} else {
			delete(d.pending, name)
		}
	}
}
