package tmsh

import (
	"fmt"
	"slices"
	"strings"

	"lbx/ctrlplane/config"
)

// LineError is an error at a line of tmsh text (a config file or a pushed
// script); the store points validation errors at lines with it too.
type LineError = config.LineError

// lineErrorf makes a LineError. A long string argument (a name or a value
// as typed, 1 MB of it perhaps) is quoted as a short excerpt.
func lineErrorf(line int, format string, args ...any) error {
	for i, a := range args {
		if s, ok := a.(string); ok && len(s) > maxQuotedArg {
			args = slices.Clone(args) // the caller's slice stays as it was
			args[i] = config.Excerpt(s, maxQuoted)
		}
	}
	return &LineError{Line: line, Err: fmt.Errorf(format, args...)}
}

// maxQuoted is how much of a token an error quotes; maxQuotedArg is the
// longest string argument lineErrorf passes whole (lists of the words
// expected are longer than maxQuoted).
const (
	maxQuoted    = 60
	maxQuotedArg = 200
)

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
	pos  int // byte offsets of the token in the source: src[pos:end]
	end  int
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
	return fmt.Sprintf("%q", config.Excerpt(t.text, maxQuoted))
}

// The limits of one text (a pushed script, a command line, a loaded
// file): braces nest at most MaxDepth deep and it holds at most MaxTokens
// tokens. BIG-IP's deepest stanzas nest 5 deep; 8M tokens are about a million
// pool members (1000 pools × 250 members are 2.0M tokens), and a token
// costs 48 bytes, so the tokens of a text cost at most 384 MB, allocated
// only once the text has been counted and found within the limits.
const (
	MaxDepth  = 64
	MaxTokens = 8 << 20
)

// lex splits tmsh text into tokens: words, quoted strings (with the escapes
// \" \\ \n \r \t; any other backslash is kept as written), braces and line
// ends. A '#' where a token could start comments out the rest of the line.
// A first pass counts the tokens and checks the limits without keeping
// anything, so text beyond them costs no memory; the second keeps them.
func lex(src string) ([]token, error) {
	n, err := scan(src, nil)
	if err != nil {
		return nil, err
	}
	toks := make([]token, 0, n)
	_, err = scan(src, &toks)
	return toks, err
}

// scan walks src's tokens, appending them to toks unless it is nil, and
// returns how many there are.
func scan(src string, toks *[]token) (int, error) {
	n, depth := 0, 0
	line := 1
	emit := func(t token) error {
		n++
		if n > MaxTokens {
			return lineErrorf(t.line, "more than %d tokens (words, strings, braces, line ends) in one text, the limit; send it in parts", MaxTokens)
		}
		if toks != nil {
			*toks = append(*toks, t)
		}
		return nil
	}
	for i := 0; i < len(src); {
		c := src[i]
		var t token
		switch c {
		case ' ', '\t', '\r', '\f', '\v':
			i++
			continue
		case '\n':
			t = token{kind: tokEOL, text: "\n", line: line, pos: i, end: i + 1}
			line++
			i++
		case ';':
			t = token{kind: tokEOL, text: ";", line: line, pos: i, end: i + 1}
			i++
		case '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			continue
		case '{':
			if depth++; depth > MaxDepth {
				return n, lineErrorf(line, `"{" nested more than %d deep, the limit`, MaxDepth)
			}
			t = token{kind: tokLBrace, text: "{", line: line, pos: i, end: i + 1}
			i++
		case '}':
			depth = max(depth-1, 0) // an unmatched "}" is splitStatements' to report
			t = token{kind: tokRBrace, text: "}", line: line, pos: i, end: i + 1}
			i++
		case '"':
			start, startPos := line, i
			var b strings.Builder
			keep := toks != nil
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
					e := src[i]
					switch e {
					case '"', '\\':
					case 'n':
						e = '\n'
					case 'r':
						e = '\r'
					case 't':
						e = '\t'
					default:
						if keep {
							b.WriteByte('\\')
						}
						continue // e is read again as an ordinary character
					}
					if keep {
						b.WriteByte(e)
					}
					i++
					continue
				}
				if c == '\n' {
					line++
				}
				if keep {
					b.WriteByte(c)
				}
				i++
			}
			if !closed {
				return n, lineErrorf(start, "unterminated quoted string")
			}
			t = token{kind: tokString, text: b.String(), line: start, pos: startPos, end: i}
		default:
			j := i
			for j < len(src) && !isDelim(src[j]) {
				j++
			}
			t = token{kind: tokWord, text: src[i:j], line: line, pos: i, end: j}
			i = j
		}
		if err := emit(t); err != nil {
			return n, err
		}
	}
	return n, nil
}

func isDelim(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\f', '\v', '\n', ';', '{', '}', '"':
		return true
	}
	return false
}

// statement is one top-level unit of tmsh text: a config stanza or a
// command: a run of words, strings and balanced braces. Line ends inside
// braces are kept, since they end an unknown property kept verbatim; the
// cursor skips them everywhere else.
type statement struct {
	toks []token
	line int // of the first token
}

// splitStatements cuts tokens at line ends outside braces and checks the
// braces balance. A statement is a slice of toks, not a copy.
func splitStatements(toks []token) ([]statement, error) {
	var out []statement
	start := -1    // of the statement being read; -1 between statements
	var open []int // lines of the unclosed '{'
	for i, t := range toks {
		switch t.kind {
		case tokEOL:
			if len(open) > 0 {
				continue
			}
			if start >= 0 {
				out = append(out, statement{toks: toks[start:i:i], line: toks[start].line})
				start = -1
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
		if start < 0 {
			start = i
		}
	}
	if len(open) > 0 {
		return nil, lineErrorf(open[len(open)-1], `"{" is never closed`)
	}
	if start >= 0 {
		out = append(out, statement{toks: toks[start:len(toks):len(toks)], line: toks[start].line})
	}
	return out, nil
}

// parseCtx is what a cursor knows about the text it walks: the source, for
// keeping unknown properties verbatim, and where notices about them go. A
// nil parseCtx (commands) refuses unknown properties.
type parseCtx struct {
	src     string
	notices []notice
}

// notice is something the parser kept without implementing it.
type notice struct {
	line int
	msg  string
}

func (n notice) String() string { return fmt.Sprintf("line %d: %s", n.line, n.msg) }

// cursor walks the tokens of a statement or of a brace block. Braces in its
// range are balanced. Line ends are skipped by every method except rawUntilEOL.
type cursor struct {
	toks []token
	i    int
	line int       // reported when the tokens run out
	ctx  *parseCtx // nil unless reading a config file
}

func newCursor(toks []token, line int) *cursor {
	if len(toks) > 0 {
		line = toks[len(toks)-1].line
	}
	return &cursor{toks: toks, line: line}
}

func (c *cursor) skipEOL() {
	for c.i < len(c.toks) && c.toks[c.i].kind == tokEOL {
		c.i++
	}
}

func (c *cursor) done() bool { c.skipEOL(); return c.i >= len(c.toks) }

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
	c.skipEOL()
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
	j, err := c.closing()
	if err != nil {
		return nil, err
	}
	inner := &cursor{toks: c.toks[c.i+1 : j], line: c.toks[j].line, ctx: c.ctx}
	c.i = j + 1
	return inner, nil
}

// closing finds the "}" matching the "{" at the cursor.
func (c *cursor) closing() (int, error) {
	depth := 0
	for j := c.i; j < len(c.toks); j++ {
		switch c.toks[j].kind {
		case tokLBrace:
			depth++
		case tokRBrace:
			depth--
			if depth == 0 {
				return j, nil
			}
		}
	}
	return 0, lineErrorf(c.toks[c.i].line, `"{" is never closed`)
}

// rawUntilEOL reads from the token just read (start) to the end of its line
// or of the block, braces included, and returns that source text verbatim.
func (c *cursor) rawUntilEOL(start token) string {
	end := start.end
	for c.i < len(c.toks) {
		t := c.toks[c.i]
		if t.kind == tokEOL {
			break
		}
		if t.kind == tokLBrace {
			j, err := c.closing()
			if err != nil { // cannot happen: blocks are balanced
				break
			}
			c.i = j
			t = c.toks[j]
		}
		end = t.end
		c.i++
	}
	return c.ctx.src[start.pos:end]
}
