package ctrlplane

import (
	"fmt"
	"strings"
)

// LineError is an error at a line of tmsh text (a config file or a pushed
// script). Line counts from 1.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

func lineErrorf(line int, format string, args ...any) error {
	return &LineError{Line: line, Err: fmt.Errorf(format, args...)}
}

type tokKind uint8

const (
	tokWord   tokKind = iota
	tokString         // a quoted string, unescaped
	tokLBrace
	tokRBrace
	tokEOL // a newline or ';'
)

type token struct {
	kind tokKind
	text string
	line int
}

func (t token) isWord(s string) bool { return t.kind == tokWord && t.text == s }

// describe names a token in an error message.
func (t token) describe() string {
	switch t.kind {
	case tokLBrace:
		return `"{"`
	case tokRBrace:
		return `"}"`
	case tokEOL:
		return "end of line"
	}
	return fmt.Sprintf("%q", t.text)
}

// lex splits tmsh text into tokens: words, quoted strings (with the escapes
// \" \\ \n \r \t; any other backslash is kept as written), braces and line
// ends. A '#' where a token could start comments out the rest of the line.
func lex(src string) ([]token, error) {
	var toks []token
	line := 1
	for i := 0; i < len(src); {
		c := src[i]
		switch c {
		case ' ', '\t', '\r', '\f', '\v':
			i++
		case '\n':
			toks = append(toks, token{kind: tokEOL, text: "\n", line: line})
			line++
			i++
		case ';':
			toks = append(toks, token{kind: tokEOL, text: ";", line: line})
			i++
		case '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case '{':
			toks = append(toks, token{kind: tokLBrace, text: "{", line: line})
			i++
		case '}':
			toks = append(toks, token{kind: tokRBrace, text: "}", line: line})
			i++
		case '"':
			start := line
			var b strings.Builder
			i++
			closed := false
			for i < len(src) {
				c := src[i]
				if c == '"' {
					closed = true
					i++
					break
				}
				if c == '\\' && i+1 < len(src) {
					i++
					switch e := src[i]; e {
					case '"', '\\':
						b.WriteByte(e)
					case 'n':
						b.WriteByte('\n')
					case 'r':
						b.WriteByte('\r')
					case 't':
						b.WriteByte('\t')
					default:
						b.WriteByte('\\')
						continue // e is read again as an ordinary character
					}
					i++
					continue
				}
				if c == '\n' {
					line++
				}
				b.WriteByte(c)
				i++
			}
			if !closed {
				return nil, lineErrorf(start, "unterminated quoted string")
			}
			toks = append(toks, token{kind: tokString, text: b.String(), line: start})
		default:
			j := i
			for j < len(src) && !isDelim(src[j]) {
				j++
			}
			toks = append(toks, token{kind: tokWord, text: src[i:j], line: line})
			i = j
		}
	}
	return toks, nil
}

func isDelim(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\f', '\v', '\n', ';', '{', '}', '"':
		return true
	}
	return false
}

// statement is one top-level unit of tmsh text: a config stanza or a
// command. Line ends inside braces are dropped, so a statement is a flat run
// of words, strings and balanced braces.
type statement struct {
	toks []token
	line int // of the first token
}

// splitStatements cuts tokens at line ends outside braces and checks the
// braces balance.
func splitStatements(toks []token) ([]statement, error) {
	var out []statement
	var cur []token
	var open []int // lines of the unclosed '{'
	for _, t := range toks {
		switch t.kind {
		case tokEOL:
			if len(open) > 0 {
				continue
			}
			if len(cur) > 0 {
				out = append(out, statement{toks: cur, line: cur[0].line})
				cur = nil
			}
			continue
		case tokLBrace:
			open = append(open, t.line)
		case tokRBrace:
			if len(open) == 0 {
				return nil, lineErrorf(t.line, `unexpected "}"`)
			}
			open = open[:len(open)-1]
		}
		cur = append(cur, t)
	}
	if len(open) > 0 {
		return nil, lineErrorf(open[len(open)-1], `"{" is never closed`)
	}
	if len(cur) > 0 {
		out = append(out, statement{toks: cur, line: cur[0].line})
	}
	return out, nil
}

// cursor walks the tokens of a statement or of a brace block. Braces in its
// range are balanced.
type cursor struct {
	toks []token
	i    int
	line int // reported when the tokens run out
}

func newCursor(toks []token, line int) *cursor {
	if len(toks) > 0 {
		line = toks[len(toks)-1].line
	}
	return &cursor{toks: toks, line: line}
}

func (c *cursor) done() bool { return c.i >= len(c.toks) }

func (c *cursor) peek() (token, bool) {
	if c.done() {
		return token{}, false
	}
	return c.toks[c.i], true
}

// peekLine is the line of the next token, or of the last one.
func (c *cursor) peekLine() int {
	if t, ok := c.peek(); ok {
		return t.line
	}
	return c.line
}

func (c *cursor) next() token {
	t := c.toks[c.i]
	c.i++
	return t
}

// value reads the value of property what: a word or a quoted string.
func (c *cursor) value(what string) (token, error) {
	t, ok := c.peek()
	if !ok {
		return token{}, lineErrorf(c.line, "%s: missing value", what)
	}
	if t.kind != tokWord && t.kind != tokString {
		return token{}, lineErrorf(t.line, "%s: want a value, got %s", what, t.describe())
	}
	c.i++
	return t, nil
}

// atBlock reports whether a brace block comes next.
func (c *cursor) atBlock() bool {
	t, ok := c.peek()
	return ok && t.kind == tokLBrace
}

// block reads a brace block and returns a cursor over its inside.
func (c *cursor) block(what string) (*cursor, error) {
	t, ok := c.peek()
	if !ok || t.kind != tokLBrace {
		got := "nothing"
		if ok {
			got = t.describe()
		}
		return nil, lineErrorf(c.peekLine(), "%s: want \"{\", got %s", what, got)
	}
	depth := 0
	for j := c.i; j < len(c.toks); j++ {
		switch c.toks[j].kind {
		case tokLBrace:
			depth++
		case tokRBrace:
			depth--
			if depth == 0 {
				inner := &cursor{toks: c.toks[c.i+1 : j], line: c.toks[j].line}
				c.i = j + 1
				return inner, nil
			}
		}
	}
	return nil, lineErrorf(t.line, `"{" is never closed`)
}
