package conf

import (
	"fmt"
	"slices"
	"strings"

	"lbx/ctrlplane/config"
)

// LineError is an error at a line of tmsh text (a config file or a pushed
// script); the store points validation errors at lines with it too.
type LineError = config.LineError

// LineErrorf makes a LineError. A long string argument (a name or a value
// as typed, 1 MB of it perhaps) is quoted as a short excerpt.
func LineErrorf(line int, format string, args ...any) error {
	for i, a := range args {
		if s, ok := a.(string); ok && len(s) > maxQuotedArg {
			args = slices.Clone(args) // the caller's slice stays as it was
			args[i] = config.Excerpt(s, maxQuoted)
		}
	}
	return &LineError{Line: line, Err: fmt.Errorf(format, args...)}
}

// maxQuoted is how much of a token an error quotes; maxQuotedArg is the
// longest string argument LineErrorf passes whole (lists of the words
// expected are longer than maxQuoted).
const (
	maxQuoted    = 60
	maxQuotedArg = 200
)

type TokKind uint8

const (
	TokWord   TokKind = iota
	TokString         // a quoted string, unescaped
	TokLBrace
	TokRBrace
	TokEOL // a newline or ';'
)

type Token struct {
	Kind TokKind
	Text string
	Line int
	pos  int // byte offsets of the token in the source: src[pos:end]
	end  int
}

func (t Token) IsWord(s string) bool { return t.Kind == TokWord && t.Text == s }

// Describe names a token in an error message.
func (t Token) Describe() string {
	switch t.Kind {
	case TokLBrace:
		return `"{"`
	case TokRBrace:
		return `"}"`
	case TokEOL:
		return "end of line"
	}
	return fmt.Sprintf("%q", config.Excerpt(t.Text, maxQuoted))
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
func lex(src string) ([]Token, error) {
	n, err := scan(src, nil)
	if err != nil {
		return nil, err
	}
	toks := make([]Token, 0, n)
	_, err = scan(src, &toks)
	return toks, err
}

// scan walks src's tokens, appending them to toks unless it is nil, and
// returns how many there are.
func scan(src string, toks *[]Token) (int, error) {
	n, depth := 0, 0
	line := 1
	emit := func(t Token) error {
		n++
		if n > MaxTokens {
			return LineErrorf(t.Line, "more than %d tokens (words, strings, braces, line ends) in one text, the limit; send it in parts", MaxTokens)
		}
		if toks != nil {
			*toks = append(*toks, t)
		}
		return nil
	}
	for i := 0; i < len(src); {
		c := src[i]
		var t Token
		switch c {
		case ' ', '\t', '\r', '\f', '\v':
			i++
			continue
		case '\n':
			t = Token{Kind: TokEOL, Text: "\n", Line: line, pos: i, end: i + 1}
			line++
			i++
		case ';':
			t = Token{Kind: TokEOL, Text: ";", Line: line, pos: i, end: i + 1}
			i++
		case '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			continue
		case '{':
			if depth++; depth > MaxDepth {
				return n, LineErrorf(line, `"{" nested more than %d deep, the limit`, MaxDepth)
			}
			t = Token{Kind: TokLBrace, Text: "{", Line: line, pos: i, end: i + 1}
			i++
		case '}':
			depth = max(depth-1, 0) // an unmatched "}" is splitStatements' to report
			t = Token{Kind: TokRBrace, Text: "}", Line: line, pos: i, end: i + 1}
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
				return n, LineErrorf(start, "unterminated quoted string")
			}
			t = Token{Kind: TokString, Text: b.String(), Line: start, pos: startPos, end: i}
		default:
			j := i
			for j < len(src) && !isDelim(src[j]) {
				j++
			}
			t = Token{Kind: TokWord, Text: src[i:j], Line: line, pos: i, end: j}
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

// Statement is one top-level unit of tmsh text: a config stanza or a
// command: a run of words, strings and balanced braces. Line ends inside
// braces are kept, since they end an unknown property kept verbatim; the
// cursor skips them everywhere else.
type Statement struct {
	Toks []Token
	Line int // of the first token
}

// splitStatements cuts tokens at line ends outside braces and checks the
// braces balance. A statement is a slice of toks, not a copy.
func splitStatements(toks []Token) ([]Statement, error) {
	var out []Statement
	start := -1    // of the statement being read; -1 between statements
	var open []int // lines of the unclosed '{'
	for i, t := range toks {
		switch t.Kind {
		case TokEOL:
			if len(open) > 0 {
				continue
			}
			if start >= 0 {
				out = append(out, Statement{Toks: toks[start:i:i], Line: toks[start].Line})
				start = -1
			}
			continue
		case TokLBrace:
			open = append(open, t.Line)
		case TokRBrace:
			if len(open) == 0 {
				return nil, LineErrorf(t.Line, `unexpected "}"`)
			}
			open = open[:len(open)-1]
		}
		if start < 0 {
			start = i
		}
	}
	if len(open) > 0 {
		return nil, LineErrorf(open[len(open)-1], `"{" is never closed`)
	}
	if start >= 0 {
		out = append(out, Statement{Toks: toks[start:len(toks):len(toks)], Line: toks[start].Line})
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

// Cursor walks the tokens of a statement or of a brace block. Braces in its
// range are balanced. Line ends are skipped by every method except rawUntilEOL.
type Cursor struct {
	toks []Token
	i    int
	Line int       // reported when the tokens run out
	ctx  *parseCtx // nil unless reading a config file
}

func NewCursor(toks []Token, line int) *Cursor {
	if len(toks) > 0 {
		line = toks[len(toks)-1].Line
	}
	return &Cursor{toks: toks, Line: line}
}

// Rest is the tokens not read yet, line ends included.
func (c *Cursor) Rest() []Token { return c.toks[c.i:] }

func (c *Cursor) skipEOL() {
	for c.i < len(c.toks) && c.toks[c.i].Kind == TokEOL {
		c.i++
	}
}

func (c *Cursor) Done() bool { c.skipEOL(); return c.i >= len(c.toks) }

func (c *Cursor) Peek() (Token, bool) {
	if c.Done() {
		return Token{}, false
	}
	return c.toks[c.i], true
}

// PeekLine is the line of the next token, or of the last one.
func (c *Cursor) PeekLine() int {
	if t, ok := c.Peek(); ok {
		return t.Line
	}
	return c.Line
}

func (c *Cursor) Next() Token {
	c.skipEOL()
	t := c.toks[c.i]
	c.i++
	return t
}

// Value reads the value of property what: a word or a quoted string.
func (c *Cursor) Value(what string) (Token, error) {
	t, ok := c.Peek()
	if !ok {
		return Token{}, LineErrorf(c.Line, "%s: missing value", what)
	}
	if t.Kind != TokWord && t.Kind != TokString {
		return Token{}, LineErrorf(t.Line, "%s: want a value, got %s", what, t.Describe())
	}
	c.i++
	return t, nil
}

// AtBlock reports whether a brace block comes next.
func (c *Cursor) AtBlock() bool {
	t, ok := c.Peek()
	return ok && t.Kind == TokLBrace
}

// Block reads a brace block and returns a cursor over its inside.
func (c *Cursor) Block(what string) (*Cursor, error) {
	t, ok := c.Peek()
	if !ok || t.Kind != TokLBrace {
		got := "nothing"
		if ok {
			got = t.Describe()
		}
		return nil, LineErrorf(c.PeekLine(), "%s: want \"{\", got %s", what, got)
	}
	j, err := c.closing()
	if err != nil {
		return nil, err
	}
	inner := &Cursor{toks: c.toks[c.i+1 : j], Line: c.toks[j].Line, ctx: c.ctx}
	c.i = j + 1
	return inner, nil
}

// closing finds the "}" matching the "{" at the cursor.
func (c *Cursor) closing() (int, error) {
	depth := 0
	for j := c.i; j < len(c.toks); j++ {
		switch c.toks[j].Kind {
		case TokLBrace:
			depth++
		case TokRBrace:
			depth--
			if depth == 0 {
				return j, nil
			}
		}
	}
	return 0, LineErrorf(c.toks[c.i].Line, `"{" is never closed`)
}

// rawUntilEOL reads from the token just read (start) to the end of its line
// or of the block, braces included, and returns that source text verbatim.
func (c *Cursor) rawUntilEOL(start Token) string {
	end := start.end
	for c.i < len(c.toks) {
		t := c.toks[c.i]
		if t.Kind == TokEOL {
			break
		}
		if t.Kind == TokLBrace {
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

// Statements lexes text and splits it into statements.
func Statements(text string) ([]Statement, error) {
	toks, err := lex(text)
	if err != nil {
		return nil, err
	}
	return splitStatements(toks)
}
