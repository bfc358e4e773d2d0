package conf

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"unsafe"
)

// allocated is how many bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Text beyond the parser's limits fails fast with an error naming the
// limit, and allocates next to nothing on the way: 15 MB of "{" once left
// the appliance at 4.4 GB.
func TestLexLimits(t *testing.T) {
	const mb15 = 15 << 20
	deep := strings.Repeat("ltm pool p { x ", MaxDepth) + strings.Repeat("}", MaxDepth)
	tests := []struct {
		name     string
		text     string
		err      string // "" means it lexes
		maxAlloc uint64
	}{
		{name: "15 MB of {", text: strings.Repeat("{", mb15), err: `line 1: "{" nested more than 64 deep, the limit`, maxAlloc: 64 << 10},
		{name: "deep nesting", text: strings.Repeat("a {\n", 1<<20), err: `line 65: "{" nested more than 64 deep, the limit`, maxAlloc: 64 << 10},
		{name: "15 MB of {}", text: strings.Repeat("{}", mb15/2), err: "more than 8388608 tokens (words, strings, braces, line ends) in one text, the limit; send it in parts", maxAlloc: 64 << 10},
		{name: "15 MB of ;", text: strings.Repeat(";", mb15), err: "more than 8388608 tokens", maxAlloc: 64 << 10},
		{name: "quoted strings", text: strings.Repeat(`"\n"`, MaxTokens+1), err: "more than 8388608 tokens", maxAlloc: 64 << 10},
		{name: "at the depth limit", text: deep, maxAlloc: 1 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			n := allocated(func() { _, err = Statements(tt.text) })
			if tt.err == "" && err != nil {
				t.Fatalf("error %v", err)
			}
			if tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("error %v, want %q", err, tt.err)
			}
			if n > tt.maxAlloc {
				t.Errorf("allocated %d bytes, want at most %d", n, tt.maxAlloc)
			}
		})
	}
}

// A text within the limits costs its tokens once: no growth by doubling,
// no copy per statement.
func TestLexAllocatesItsTokensOnce(t *testing.T) {
	var b strings.Builder
	for p := range 1000 {
		fmt.Fprintf(&b, "ltm pool /Common/p%d {\n    members {\n", p)
		for m := range 25 {
			fmt.Fprintf(&b, "        /Common/10.0.%d.%d:80 {\n            address 10.0.%d.%d\n        }\n", p%250, m, p%250, m)
		}
		b.WriteString("    }\n}\n")
	}
	text := b.String()
	var stmts []Statement
	var err error
	n := allocated(func() { stmts, err = Statements(text) })
	if err != nil || len(stmts) != 1000 {
		t.Fatalf("%d statements, %v", len(stmts), err)
	}
	ntok, _ := scan(text, nil)
	tokBytes := uint64(ntok) * uint64(unsafe.Sizeof(Token{}))
	// The token slice, and the statements' headers.
	if limit := tokBytes + 1000*64*2; n > limit {
		t.Errorf("allocated %d bytes for %d tokens (%d bytes), want at most %d", n, ntok, tokBytes, limit)
	}
}

// FuzzLex: the counting pass and the keeping pass of the lexer agree, and
// what lexes nests at most MaxDepth deep.
func FuzzLex(f *testing.F) {
	for _, s := range []string{
		"ltm pool p { members { 10.0.0.1:80 { address 10.0.0.1 } } }",
		"a \"b\\\"c\\q\" {\n} ; # x\nd",
		strings.Repeat("{", MaxDepth) + strings.Repeat("}", MaxDepth),
		strings.Repeat("{", MaxDepth+1),
		"}}{{",
		"\"unterminated",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		n, cerr := scan(src, nil)
		toks, err := lex(src)
		if (cerr == nil) != (err == nil) {
			t.Fatalf("count error %v, lex error %v", cerr, err)
		}
		if err != nil {
			return
		}
		if n != len(toks) {
			t.Fatalf("counted %d tokens, kept %d", n, len(toks))
		}
		depth := 0
		for _, tok := range toks {
			switch tok.Kind {
			case TokLBrace:
				if depth++; depth > MaxDepth {
					t.Fatalf("nesting %d passed the limit", depth)
				}
			case TokRBrace:
				depth = max(depth-1, 0)
			}
		}
	})
}
