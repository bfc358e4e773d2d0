package ctlsock

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The limits of one message on the socket. A request or an answer is one
// JSON object of at most MaxMessage bytes: 64 MiB holds about three times
// the 1000 pools × 250 members a large BIG-IP carries (19 MB of tmsh), and
// both ends refuse a bigger message with an error naming the limit rather
// than cutting it. Values in a request nest at most maxDepth deep (a
// Request is flat; unknown fields are skipped but bounded too).
const (
	MaxMessage = 64 << 20
	maxDepth   = 8
)

// ErrTooLarge means a message exceeds the socket's limit (MaxMessage).
var ErrTooLarge = errors.New("larger than the control socket's limit")

// tooLarge names the limit a message went past.
func tooLarge(max int64) error {
	return fmt.Errorf("%w of %s per message", ErrTooLarge, size(max))
}

// size is n bytes in MiB when it is whole ones.
func size(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// countReader counts what it reads and stops after max bytes, so a
// decoder reading from it sees the end of the input there.
type countReader struct {
	r   io.Reader
	n   int64
	max int64
}

func (c *countReader) Read(p []byte) (int, error) {
	if c.n > c.max {
		return 0, io.EOF
	}
	if rest := c.max + 1 - c.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// over reports whether the input went past the limit.
func (c *countReader) over() bool { return c.n > c.max }

// decodeRequest reads one Request from r: a JSON object of at most max
// bytes whose values nest at most maxDepth deep. Its fields are read as
// encoding/json would (unknown ones skipped, null as empty), token by
// token, so a hostile message costs no more than its own size.
func decodeRequest(r io.Reader, max int64) (Request, error) {
	cr := &countReader{r: r, max: max}
	req, err := walkRequest(json.NewDecoder(cr))
	if err != nil && cr.over() {
		return Request{}, fmt.Errorf("control request: %w", tooLarge(max))
	}
	if err != nil {
		return Request{}, fmt.Errorf("control request: %w", err)
	}
	return req, nil
}

func walkRequest(dec *json.Decoder) (Request, error) {
	var req Request
	t, err := dec.Token()
	if err != nil {
		return req, err
	}
	if t == nil { // null: an empty request, as encoding/json reads it
		return req, nil
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return req, fmt.Errorf("want an object, got %v", t)
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return req, err
		}
		key, _ := t.(string) // object keys are strings
		var field *string
		// Names match regardless of case, as encoding/json matches them.
		switch {
		case strings.EqualFold(key, "op"):
			field = &req.Op
		case strings.EqualFold(key, "text"):
			field = &req.Text
		case strings.EqualFold(key, "session"):
			field = &req.Session
		case strings.EqualFold(key, "dialect"):
			field = &req.Dialect
		case strings.EqualFold(key, "output"):
			field = &req.Output
		case strings.EqualFold(key, "check"):
			t, err := dec.Token()
			if err != nil {
				return req, err
			}
			switch v := t.(type) {
			case bool:
				req.Check = v
			case nil:
			default:
				return req, fmt.Errorf("field %q: want a boolean, got %v", key, t)
			}
			continue
		case strings.EqualFold(key, "user"):
			field = &req.User
		default:
			if err := skipValue(dec, 1); err != nil {
				return req, err
			}
			continue
		}
		t, err = dec.Token()
		if err != nil {
			return req, err
		}
		switch v := t.(type) {
		case string:
			*field = v
		case nil:
		default:
			return req, fmt.Errorf("field %q: want a string, got %v", key, t)
		}
	}
	return req, wantDelim(dec, '}')
}

func wantDelim(dec *json.Decoder, want json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, got %v", want, t)
	}
	return nil
}

// errTooDeep means a request's values nest deeper than maxDepth.
var errTooDeep = fmt.Errorf("values nest deeper than the limit of %d", maxDepth)

// skipValue reads one value at depth (1 for a field of the request),
// refusing one that nests deeper than maxDepth.
func skipValue(dec *json.Decoder, depth int) error {
	open := 0
	for {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			open++
			if depth+open > maxDepth {
				return errTooDeep
			}
		case json.Delim('}'), json.Delim(']'):
			open--
		}
		if open == 0 {
			return nil
		}
	}
}

// writeMessage writes v as one message, JSON and a newline, or nothing
// and an error beyond max bytes. json.Encoder writes a message with one
// Write of its own buffer, so the check costs no copy.
func writeMessage(w io.Writer, v any, max int) error {
	return json.NewEncoder(&limitWriter{w: w, max: max}).Encode(v)
}

// limitWriter refuses a Write that would take it past max bytes.
type limitWriter struct {
	w       io.Writer
	n, max  int
	refused bool
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.refused || l.n+len(p) > l.max {
		l.refused = true
		return 0, &tooLargeError{size: l.n + len(p), err: tooLarge(int64(l.max))}
	}
	n, err := l.w.Write(p)
	l.n += n
	return n, err
}

// tooLargeError is a message refused for its size.
type tooLargeError struct {
	size int
	err  error
}

func (e *tooLargeError) Error() string { return fmt.Sprintf("%d bytes: %v", e.size, e.err) }
func (e *tooLargeError) Unwrap() error { return e.err }

// decodeResponse reads one Response of at most max bytes.
func decodeResponse(r io.Reader, max int64) (Response, error) {
	cr := &countReader{r: r, max: max}
	var resp Response
	err := json.NewDecoder(cr).Decode(&resp)
	if err != nil && cr.over() {
		return Response{}, tooLarge(max)
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return resp, err
}
