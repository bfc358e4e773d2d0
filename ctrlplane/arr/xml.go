package arr

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The bounds of one input: a real applicationHost.config is tens of
// kilobytes and nests about 8 deep.
const (
	MaxInput = 16 << 20
	MaxDepth = 64
)

// node is one XML element: its name, attributes, line and children.
type node struct {
	name     string
	attrs    []xml.Attr
	line     int
	children []*node
}

func (n *node) attr(name string) string {
	for _, a := range n.attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// hasAttr reports whether the element sets the attribute.
func (n *node) hasAttr(name string) bool {
	for _, a := range n.attrs {
		if a.Name.Local == name {
			return true
		}
	}
	return false
}

// child returns the first child element of that name, or nil.
func (n *node) child(name string) *node {
	if n == nil {
		return nil
	}
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// all returns the children of that name.
func (n *node) all(name string) []*node {
	if n == nil {
		return nil
	}
	var out []*node
	for _, c := range n.children {
		if c.name == name {
			out = append(out, c)
		}
	}
	return out
}

// path follows child names from n.
func (n *node) path(names ...string) *node {
	for _, name := range names {
		n = n.child(name)
	}
	return n
}

// parseXML reads the document into a tree of elements with their lines.
func parseXML(text []byte) (*node, error) {
	if len(text) > MaxInput {
		return nil, fmt.Errorf("input of %d bytes: more than %d", len(text), MaxInput)
	}
	d := xml.NewDecoder(strings.NewReader(string(text)))
	root := &node{name: "#document"}
	stack := []*node{root}
	for {
		line, _ := d.InputPos()
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) > MaxDepth {
				return nil, fmt.Errorf("line %d: elements nest more than %d deep", line, MaxDepth)
			}
			n := &node{name: t.Name.Local, attrs: t.Copy().Attr, line: line}
			top := stack[len(stack)-1]
			top.children = append(top.children, n)
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.Directive:
			if strings.HasPrefix(strings.TrimSpace(string(t)), "DOCTYPE") {
				return nil, fmt.Errorf("line %d: a DOCTYPE is not accepted", line)
			}
		}
	}
	if len(stack) != 1 {
		return nil, errors.New("not XML: unclosed elements")
	}
	if len(root.children) != 1 || root.children[0].name != "configuration" {
		return nil, errors.New("not an applicationHost.config: want one <configuration> root element")
	}
	return root.children[0], nil
}
