package conf

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"lbx/ctrlplane/config"
)

// ObjKind is one kind of configuration object (ltm node, ltm pool, ltm
// monitor http, net self, …) seen from the parser and the commands: how to
// find, define, modify, delete and print it. Built once from typed parts by
// newKind, so the commands stay generic over kinds.
type ObjKind struct {
	Module     string // "ltm"
	Kind       string // "pool", "monitor http": one or more words
	Title      string // BIG-IP's word in messages: "Pool", "Virtual Server"
	Plural     string // for help: "pools"
	CreateArgs string // usage of create after NAME
	Props      []string
	PropHelp   map[string]string // each property's help line, for completion
	plainNames bool              // names are not in a partition (auth user)
	ConfigKind config.Kind
	typ        string // the monitor's or profile's type: "http"

	Exists func(c *config.Config, name string) bool // an object of this kind, built-ins included
	Taken  func(c *config.Config, name string) bool // the name is used by an object of this family
	Names  func(c *config.Config) []string          // sorted, built-ins included (list)
	Stored func(c *config.Config) []string          // sorted, only the configured ones (saved config)
	Fixed  func(name string) bool                   // a built-in: cannot be changed or deleted
	// Build makes a new object from props.
	Build func(name string, body *Cursor, mode PropMode) (config.Object, error)
	// Edit reads props into o, an object of this kind (a copy, in a modify).
	Edit  func(o config.Object, body *Cursor) error
	Print func(b *strings.Builder, c *config.Config, name string, all bool)
}

// FullName turns a name as typed into the kind's full form.
func (k *ObjKind) FullName(s string) (string, error) {
	if k != nil && k.plainNames {
		return s, config.CheckBaseName(s)
	}
	return config.FullName(s)
}

// Ref names an object of this kind.
func (k *ObjKind) Ref(name string) config.Ref {
	return config.Ref{Kind: k.ConfigKind, Type: k.typ, Name: name}
}

// ObjectName is how errors name an object: "ltm pool /Common/web".
func (k *ObjKind) ObjectName(name string) string { return k.Ref(name).String() }

// kindSpec is what newKind builds an ObjKind from.
type kindSpec[T any] struct {
	module, kind, title, plural, createArgs string
	ckind                                   config.Kind
	typ                                     string
	props                                   []property[T]
	objects                                 func(*config.Config) map[string]*T
	newObj                                  func(name string) *T
	// match says whether an object of the map is of this kind (monitors of
	// every type share one map); nil means all are.
	match func(*T) bool
	// builtin returns the built-in object of that name in this family
	// (of any type), or nil; nil when the family has none.
	builtin func(name string) *T
	// unsaved says whether a configured object is left out of the saved
	// config (a boot self IP), while list shows it; nil means none is.
	unsaved func(*T) bool
	print   func(b *strings.Builder, c *config.Config, obj *T, all bool)
}

func newKind[T any](s kindSpec[T]) *ObjKind {
	k := &ObjKind{Module: s.module, Kind: s.kind, Title: s.title, Plural: s.plural, CreateArgs: s.createArgs, ConfigKind: s.ckind, typ: s.typ}
	k.PropHelp = map[string]string{}
	for _, p := range s.props {
		k.Props = append(k.Props, p.name)
		k.PropHelp[p.name] = p.help
	}
	match := func(o *T) bool { return o != nil && (s.match == nil || s.match(o)) }
	builtin := func(name string) *T {
		if s.builtin == nil {
			return nil
		}
		return s.builtin(name)
	}
	lookup := func(c *config.Config, name string) *T {
		if o := s.objects(c)[name]; o != nil {
			return o
		}
		return builtin(name)
	}
	k.Exists = func(c *config.Config, name string) bool { return match(lookup(c, name)) }
	k.Taken = func(c *config.Config, name string) bool { return lookup(c, name) != nil }
	k.Fixed = func(name string) bool { return match(builtin(name)) }
	k.Stored = func(c *config.Config) []string {
		var out []string
		for name, o := range s.objects(c) {
			if match(o) && (s.unsaved == nil || !s.unsaved(o)) {
				out = append(out, name)
			}
		}
		slices.Sort(out)
		return out
	}
	k.Names = func(c *config.Config) []string {
		out := k.Stored(c)
		if s.unsaved != nil {
			for name, o := range s.objects(c) {
				if match(o) && s.unsaved(o) {
					out = append(out, name)
				}
			}
			slices.Sort(out)
		}
		if s.builtin != nil {
			for _, name := range builtinNames {
				if k.Fixed(name) && !slices.Contains(out, name) {
					out = append(out, name)
				}
			}
			slices.Sort(out)
		}
		return out
	}
	k.Build = func(name string, body *Cursor, mode PropMode) (config.Object, error) {
		obj := s.newObj(name)
		if err := parseObject(body, obj, s.props, mode, k.ObjectName(name)); err != nil {
			return nil, err
		}
		return any(obj).(config.Object), nil
	}
	k.Edit = func(o config.Object, body *Cursor) error {
		return parseObject(body, any(o).(*T), s.props, InModify, k.ObjectName(o.Ref().Name))
	}
	k.Print = func(b *strings.Builder, c *config.Config, name string, all bool) { s.print(b, c, lookup(c, name), all) }
	return k
}

// parseObject reads the properties of one object, naming it in errors and
// in notices about properties kept without being implemented.
func parseObject[T any](body *Cursor, obj *T, props []property[T], mode PropMode, objName string) error {
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

// builtinNames are the names of every built-in object, sorted.
var builtinNames = config.BuiltinNames()

var (
	NodeKind = newKind(kindSpec[config.Node]{
		module: "ltm", kind: "node", ckind: config.KindNode, title: "Node", plural: "nodes", createArgs: "address ADDR [PROPERTY …]",
		props:   nodeProps,
		objects: func(c *config.Config) map[string]*config.Node { return c.Nodes },
		newObj:  config.NewNode,
		print:   func(b *strings.Builder, _ *config.Config, n *config.Node, all bool) { printNode(b, n, all) },
	})
	PoolKind = newKind(kindSpec[config.Pool]{
		module: "ltm", kind: "pool", ckind: config.KindPool, title: "Pool", plural: "pools", createArgs: "[PROPERTY …]",
		props:   poolProps,
		objects: func(c *config.Config) map[string]*config.Pool { return c.Pools },
		newObj:  config.NewPool,
		print:   func(b *strings.Builder, _ *config.Config, p *config.Pool, all bool) { printPool(b, p, all) },
	})
	VirtualKind = newKind(kindSpec[config.Virtual]{
		module: "ltm", kind: "virtual", ckind: config.KindVirtual, title: "Virtual Server", plural: "virtual servers", createArgs: "destination ADDR:PORT [PROPERTY …]",
		props:   virtualProps,
		objects: func(c *config.Config) map[string]*config.Virtual { return c.Virtuals },
		newObj:  config.NewVirtual,
		print:   func(b *strings.Builder, _ *config.Config, v *config.Virtual, all bool) { printVirtual(b, v, all) },
	})

	// Kinds in the order bigip.conf prints them.
	Kinds = slices.Concat(
		[]*ObjKind{NodeKind},
		MonitorKinds,
		PersistKinds,
		ProfileKinds,
		[]*ObjKind{PoolKind, PolicyKind, SNATPoolKind, VirtualKind, SelfKind, RouteKind, UserKind},
		SysFileKinds,
	)
)

// inObject prefixes err with the object it is about, keeping its line.
func inObject(obj string, err error) error {
	var ce config.Coded
	if errors.As(err, &ce) {
		if _, ok := ce.(*config.ValidationError); !ok {
			return err
		}
	}
	var le *LineError
	if errors.As(err, &le) {
		return &LineError{Line: le.Line, Err: fmt.Errorf("%s: %w", obj, le.Err)}
	}
	return fmt.Errorf("%s: %w", obj, err)
}
