package ctrlplane

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// objKind is one kind of configuration object (ltm node, ltm pool, ltm
// monitor http, net self, …) seen from the parser and the commands: how to
// find, define, modify, delete and print it. Built once from typed parts by
// newKind, so the commands stay generic over kinds.
type objKind struct {
	module     string // "ltm"
	kind       string // "pool", "monitor http": one or more words
	title      string // BIG-IP's word in messages: "Pool", "Virtual Server"
	plural     string // for help: "pools"
	createArgs string // usage of create after NAME
	props      []string
	plainNames bool // names are not in a partition (auth user)

	exists func(c *Config, name string) bool // an object of this kind, built-ins included
	taken  func(c *Config, name string) bool // the name is used by an object of this family
	names  func(c *Config) []string          // sorted, built-ins included (list)
	stored func(c *Config) []string          // sorted, only the configured ones (saved config)
	fixed  func(name string) bool            // a built-in: cannot be changed or deleted
	// define makes a new object from props, replacing any of that name.
	define func(c *Config, name string, body *cursor, mode propMode) error
	modify func(c *Config, name string, body *cursor) error
	remove func(c *Config, name string)
	inUse  func(c *Config, name string) error // why name cannot be deleted
	print  func(b *strings.Builder, c *Config, name string, all bool)
}

// fullName turns a name as typed into the kind's full form.
func (k *objKind) fullName(s string) (string, error) {
	if k != nil && k.plainNames {
		return s, checkBaseName(s)
	}
	return fullName(s)
}

// objectName is how errors name an object: "ltm pool /Common/web".
func (k *objKind) objectName(name string) string { return k.module + " " + k.kind + " " + name }

// kindSpec is what newKind builds an objKind from.
type kindSpec[T any] struct {
	module, kind, title, plural, createArgs string
	props                                   []property[T]
	objects                                 func(*Config) map[string]*T
	newObj                                  func(name string) *T
	// match says whether an object of the map is of this kind (monitors of
	// every type share one map); nil means all are.
	match func(*T) bool
	// builtin returns the built-in object of that name in this family
	// (of any type), or nil; nil when the family has none.
	builtin func(name string) *T
	inUse   func(*Config, string) error
	print   func(b *strings.Builder, c *Config, obj *T, all bool)
}

func newKind[T any](s kindSpec[T]) *objKind {
	k := &objKind{module: s.module, kind: s.kind, title: s.title, plural: s.plural, createArgs: s.createArgs}
	for _, p := range s.props {
		k.props = append(k.props, p.name)
	}
	match := func(o *T) bool { return o != nil && (s.match == nil || s.match(o)) }
	builtin := func(name string) *T {
		if s.builtin == nil {
			return nil
		}
		return s.builtin(name)
	}
	lookup := func(c *Config, name string) *T {
		if o := s.objects(c)[name]; o != nil {
			return o
		}
		return builtin(name)
	}
	k.exists = func(c *Config, name string) bool { return match(lookup(c, name)) }
	k.taken = func(c *Config, name string) bool { return lookup(c, name) != nil }
	k.fixed = func(name string) bool { return match(builtin(name)) }
	k.stored = func(c *Config) []string {
		var out []string
		for name, o := range s.objects(c) {
			if match(o) {
				out = append(out, name)
			}
		}
		slices.Sort(out)
		return out
	}
	k.names = func(c *Config) []string {
		out := k.stored(c)
		if s.builtin != nil {
			for _, name := range builtinNames {
				if k.fixed(name) && !slices.Contains(out, name) {
					out = append(out, name)
				}
			}
			slices.Sort(out)
		}
		return out
	}
	k.define = func(c *Config, name string, body *cursor, mode propMode) error {
		if k.fixed(name) {
			return builtinErr(k, name)
		}
		if o := s.objects(c)[name]; o != nil && !match(o) {
			return coded("01020066:3: The requested %s (%s) already exists in partition %s.", k.title, name, commonPartition)
		}
		obj := s.newObj(name)
		if err := parseObject(body, obj, s.props, mode, k.objectName(name)); err != nil {
			return err
		}
		c.init()
		s.objects(c)[name] = obj
		return nil
	}
	k.modify = func(c *Config, name string, body *cursor) error {
		if k.fixed(name) {
			return builtinErr(k, name)
		}
		return parseObject(body, s.objects(c)[name], s.props, inModify, k.objectName(name))
	}
	k.remove = func(c *Config, name string) { delete(s.objects(c), name) }
	k.inUse = s.inUse
	if k.inUse == nil {
		k.inUse = func(*Config, string) error { return nil }
	}
	k.print = func(b *strings.Builder, c *Config, name string, all bool) { s.print(b, c, lookup(c, name), all) }
	return k
}

// parseObject reads the properties of one object, naming it in errors and
// in notices about properties kept without being implemented.
func parseObject[T any](body *cursor, obj *T, props []property[T], mode propMode, objName string) error {
	first := 0
	if body.ctx != nil {
		first = len(body.ctx.notices)
	}
	if err := parseProps(body, obj, props, mode); err != nil {
		return inObject(objName, err)
	}
	if body.ctx != nil {
		for i := first; i < len(body.ctx.notices); i++ {
			body.ctx.notices[i].msg = objName + ": " + body.ctx.notices[i].msg
		}
	}
	return nil
}

func builtinErr(k *objKind, name string) error {
	return coded("01070712:3: The %s (%s) is built in; it cannot be modified or deleted.", k.title, name)
}

// builtinNames are the names of every built-in object, sorted.
var builtinNames = func() []string {
	var out []string
	for name := range builtinMonitors {
		out = append(out, name)
	}
	for name := range builtinPersistence {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}()

var (
	nodeKind = newKind(kindSpec[Node]{
		module: "ltm", kind: "node", title: "Node", plural: "nodes", createArgs: "address ADDR [PROPERTY …]",
		props:   nodeProps,
		objects: func(c *Config) map[string]*Node { return c.Nodes },
		newObj:  newNode,
		inUse: func(c *Config, name string) error {
			for _, p := range c.PoolList() {
				for _, m := range p.Members {
					if m.Node == name {
						return coded("01070110:3: Node address '%s' is referenced by a member of pool '%s'.", name, p.Name)
					}
				}
			}
			return nil
		},
		print: func(b *strings.Builder, _ *Config, n *Node, all bool) { printNode(b, n, all) },
	})
	poolKind = newKind(kindSpec[Pool]{
		module: "ltm", kind: "pool", title: "Pool", plural: "pools", createArgs: "[PROPERTY …]",
		props:   poolProps,
		objects: func(c *Config) map[string]*Pool { return c.Pools },
		newObj:  newPool,
		inUse: func(c *Config, name string) error {
			for _, v := range c.VirtualList() {
				if v.Pool == name {
					return coded("01070265:3: The Pool (%s) cannot be deleted because it is in use by a Virtual Server (%s).", name, v.Name)
				}
			}
			return nil
		},
		print: func(b *strings.Builder, _ *Config, p *Pool, all bool) { printPool(b, p, all) },
	})
	virtualKind = newKind(kindSpec[Virtual]{
		module: "ltm", kind: "virtual", title: "Virtual Server", plural: "virtual servers", createArgs: "destination ADDR:PORT [PROPERTY …]",
		props:   virtualProps,
		objects: func(c *Config) map[string]*Virtual { return c.Virtuals },
		newObj:  newVirtual,
		print:   func(b *strings.Builder, _ *Config, v *Virtual, all bool) { printVirtual(b, v, all) },
	})

	// kinds in the order bigip.conf prints them.
	kinds = slices.Concat(
		[]*objKind{nodeKind},
		monitorKinds,
		persistKinds,
		[]*objKind{poolKind, snatpoolKind, virtualKind, selfKind, routeKind, userKind},
	)
)

// codedError is a message in BIG-IP's own numbered form; it is passed on as
// is, without the object prefix, since it names the object itself.
type codedError struct{ msg string }

func (e *codedError) Error() string { return e.msg }

func coded(format string, args ...any) error {
	return &codedError{msg: fmt.Sprintf(format, args...)}
}

// inObject prefixes err with the object it is about, keeping its line.
func inObject(obj string, err error) error {
	var ce *codedError
	if errors.As(err, &ce) {
		return err
	}
	var le *LineError
	if errors.As(err, &le) {
		return &LineError{Line: le.Line, Err: fmt.Errorf("%s: %w", obj, le.Err)}
	}
	return fmt.Errorf("%s: %w", obj, err)
}
