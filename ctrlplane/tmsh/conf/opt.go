package conf

import (
	"slices"
	"strings"

	"lbx/ctrlplane/config"
)

// optField is one inheritable property of a profile-like object (monitors,
// persistence profiles): how to read it, print it and take it from the
// parent. Kinds that take it are given by types (a bit per type; 0 is all).
type optField[T any] struct {
	name    string
	help    string
	types   uint32
	parse   func(c *Cursor, obj *T) error
	value   func(obj *T) (string, bool) // printed value, and whether set
	inherit func(dst, parent *T)        // dst takes parent's value unless set
}

// on restricts f to some types.
func (f optField[T]) on(types ...uint8) optField[T] {
	for _, t := range types {
		f.types |= 1 << t
	}
	return f
}

func (f optField[T]) appliesTo(typ uint8) bool { return f.types == 0 || f.types&(1<<typ) != 0 }

func inheritOpt[T any, V comparable](get func(*T) *config.Opt[V]) func(dst, parent *T) {
	return func(dst, parent *T) {
		if d := get(dst); !d.Set {
			*d = *get(parent)
		}
	}
}

func optUint[T any](name, help string, r config.Range, get func(*T) *config.Opt[uint32]) optField[T] {
	return optField[T]{
		name: name, help: help,
		parse: func(c *Cursor, o *T) error {
			n, err := uintValue(c, name, r.Lo, r.Hi)
			*get(o) = config.Some(n)
			return err
		},
		value:   func(o *T) (string, bool) { v := get(o); return u32(v.V), v.Set },
		inherit: inheritOpt(get),
	}
}

// optText reads free text; none is the empty string.
func optText[T any](name, help string, get func(*T) *config.Opt[string]) optField[T] {
	return optField[T]{
		name: name, help: help,
		parse: func(c *Cursor, o *T) error {
			var s string
			err := textValue(c, name, &s)
			*get(o) = config.Some(s)
			return err
		},
		value: func(o *T) (string, bool) {
			v := get(o)
			if v.V == "" {
				return "none", v.Set
			}
			return quote(v.V), v.Set
		},
		inherit: inheritOpt(get),
	}
}

// optWord reads one of words.
func optWord[T any](name string, get func(*T) *config.Opt[string], words ...string) optField[T] {
	return optField[T]{
		name: name, help: strings.Join(words, ", "),
		parse: func(c *Cursor, o *T) error {
			i, err := wordValue(c, name, words...)
			*get(o) = config.Some(words[i])
			return err
		},
		value:   func(o *T) (string, bool) { v := get(o); return v.V, v.Set },
		inherit: inheritOpt(get),
	}
}

// optSwitch reads enabled or disabled.
func optSwitch[T any](name, help string, get func(*T) *config.Opt[bool]) optField[T] {
	return optField[T]{
		name: name, help: help + ": enabled or disabled",
		parse: func(c *Cursor, o *T) error {
			i, err := wordValue(c, name, "enabled", "disabled")
			*get(o) = config.Some(i == 0)
			return err
		},
		value:   func(o *T) (string, bool) { v := get(o); return YesNo(v.V, "enabled", "disabled"), v.Set },
		inherit: inheritOpt(get),
	}
}

// optProps turns the fields a type takes into its property table, after the
// common defaults-from and description.
func optProps[T any](typ uint8, fields []optField[T], defaultsFrom func(*T) *string, desc func(*T) *string) []property[T] {
	props := []property[T]{
		refProp("defaults-from", "parent whose settings are inherited", defaultsFrom),
		textProp("description", "free text", desc),
	}
	for _, f := range fields {
		if f.appliesTo(typ) {
			props = append(props, property[T]{f.name, f.help, func(c *Cursor, o *T, _ PropMode) error { return f.parse(c, o) }})
		}
	}
	return props
}

// printOpt prints a profile-like object: its set properties (defaults-from
// always), all of them with all, in name order. eff is obj with inherited
// values filled in, for all-properties.
func printOpt[T any](b *strings.Builder, header string, typ uint8, fields []optField[T], obj, eff *T, defaultsFrom, desc string, extras config.Extras, all bool) {
	type line struct{ name, value string }
	var lines []line
	if defaultsFrom == "" {
		defaultsFrom = "none"
	}
	lines = append(lines, line{"defaults-from", defaultsFrom})
	if desc != "" || all {
		d := "none"
		if desc != "" {
			d = quote(desc)
		}
		lines = append(lines, line{"description", d})
	}
	for _, f := range fields {
		if !f.appliesTo(typ) {
			continue
		}
		if v, ok := f.value(obj); ok {
			lines = append(lines, line{f.name, v})
		} else if all {
			v, _ := f.value(eff)
			lines = append(lines, line{f.name, v})
		}
	}
	slices.SortFunc(lines, func(a, b line) int { return strings.Compare(a.name, b.name) })
	b.WriteString(header + " {\n")
	for _, l := range lines {
		Prop(b, 1, l.name, l.value)
	}
	extrasOut(b, 1, extras)
	b.WriteString("}\n")
}
