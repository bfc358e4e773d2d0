package ctrlplane

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// objKind is one kind of configuration object (ltm node, ltm pool, ltm
// virtual) seen from the parser and the commands: how to find, define,
// modify, delete and print it. Built once from typed parts by newKind, so
// the commands stay generic over kinds.
type objKind struct {
	module string // "ltm"
	kind   string // "pool"
	title  string // BIG-IP's word in messages: "Pool", "Virtual Server"
	props  []string

	exists func(c *Config, name string) bool
	names  func(c *Config) []string // sorted
	// define makes a new object from props, replacing any of that name.
	define func(c *Config, name string, body *cursor, mode propMode) error
	modify func(c *Config, name string, body *cursor) error
	remove func(c *Config, name string)
	inUse  func(c *Config, name string) error // why name cannot be deleted
	print  func(b *strings.Builder, c *Config, name string, all bool)
}

// objectName is how errors name an object: "ltm pool /Common/web".
func (k *objKind) objectName(name string) string { return k.module + " " + k.kind + " " + name }

func newKind[T any](module, kind, title string, props []property[T],
	objects func(*Config) map[string]*T, newObj func(name string) *T,
	inUse func(*Config, string) error, printObj func(*strings.Builder, *T, bool)) *objKind {
	k := &objKind{module: module, kind: kind, title: title}
	for _, p := range props {
		k.props = append(k.props, p.name)
	}
	k.exists = func(c *Config, name string) bool { _, ok := objects(c)[name]; return ok }
	k.names = func(c *Config) []string { return slices.Sorted(maps.Keys(objects(c))) }
	k.define = func(c *Config, name string, body *cursor, mode propMode) error {
		obj := newObj(name)
		if err := parseProps(body, obj, props, mode); err != nil {
			return inObject(k.objectName(name), err)
		}
		c.init()
		objects(c)[name] = obj
		return nil
	}
	k.modify = func(c *Config, name string, body *cursor) error {
		if err := parseProps(body, objects(c)[name], props, inModify); err != nil {
			return inObject(k.objectName(name), err)
		}
		return nil
	}
	k.remove = func(c *Config, name string) { delete(objects(c), name) }
	k.inUse = inUse
	k.print = func(b *strings.Builder, c *Config, name string, all bool) { printObj(b, objects(c)[name], all) }
	return k
}

var (
	nodeKind = newKind("ltm", "node", "Node", nodeProps,
		func(c *Config) map[string]*Node { return c.Nodes },
		func(name string) *Node { return &Node{Name: name} },
		func(c *Config, name string) error {
			for _, p := range c.PoolList() {
				for _, m := range p.Members {
					if m.Node == name {
						return coded("01070110:3: Node address '%s' is referenced by a member of pool '%s'.", name, p.Name)
					}
				}
			}
			return nil
		},
		printNode)
	poolKind = newKind("ltm", "pool", "Pool", poolProps,
		func(c *Config) map[string]*Pool { return c.Pools },
		func(name string) *Pool { return &Pool{Name: name} },
		func(c *Config, name string) error {
			for _, v := range c.VirtualList() {
				if v.Pool == name {
					return coded("01070265:3: The Pool (%s) cannot be deleted because it is in use by a Virtual Server (%s).", name, v.Name)
				}
			}
			return nil
		},
		printPool)
	virtualKind = newKind("ltm", "virtual", "Virtual Server", virtualProps,
		func(c *Config) map[string]*Virtual { return c.Virtuals },
		func(name string) *Virtual { return &Virtual{Name: name} },
		func(*Config, string) error { return nil },
		printVirtual)

	// kinds in the order bigip.conf prints them.
	kinds = []*objKind{nodeKind, poolKind, virtualKind}
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
