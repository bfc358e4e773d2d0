package ctlsock

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzRequest: the request decoder reads no further than its limit,
// refuses nesting beyond maxDepth, and otherwise reads exactly what
// encoding/json would.
func FuzzRequest(f *testing.F) {
	const limit = 1024
	for _, s := range []string{
		`{"op":"exec","text":"list ltm pool"}`,
		`{"op":"push","text":"a\nb\n","session":"s","dialect":"alteon"}` + "\n",
		`{"op":"exec","text":null,"extra":{"a":[1,2,{"b":null}]}}`,
		`{"OP":"exec","Text":"x"}`,
		`{"op":"exec","op":"push"}`,
		`{"op":1}`,
		`{"op":"exec"`,
		`{not json`,
		`[]`,
		`"x"`,
		`{"x":` + strings.Repeat("[", 20) + strings.Repeat("]", 20) + `}`,
		`{"x":` + strings.Repeat("{\"a\":", 7) + "1" + strings.Repeat("}", 7) + `}`,
		strings.Repeat("{", 2000),
		`{"text":"` + strings.Repeat("x", 2000) + `"}`,
		`{"op":"exec"}trailing`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		got, err := decodeRequest(r, limit)
		if read := int64(len(in)) - int64(r.Len()); read > limit+1 {
			t.Fatalf("read %d bytes, limit %d", read, limit)
		}
		if errors.Is(err, ErrTooLarge) {
			if len(in) <= limit {
				t.Fatalf("%d bytes refused as too large (limit %d): %v", len(in), limit, err)
			}
			return
		}
		var want Request
		werr := json.NewDecoder(bytes.NewReader(in)).Decode(&want)
		switch {
		case err == nil && werr != nil:
			t.Fatalf("accepted %q that encoding/json refuses: %v", in, werr)
		case err != nil && werr == nil && !errors.Is(err, errTooDeep):
			t.Fatalf("refused %q that encoding/json reads: %v", in, err)
		case err == nil && got != want:
			t.Fatalf("decoded %q as %+v, encoding/json as %+v", in, got, want)
		}
	})
}
