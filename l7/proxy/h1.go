package proxy

import (
	"bufio"
	"bytes"
)

// The proxy's own HTTP/1.1 reader for the common case, over the
// connection's bufio buffers: the request line and headers (or the status
// line and headers of a response) are parsed in place, as slices into the
// peeked buffer, into a header table reused from one message to the next.
// It is strict by design: whatever it does not fully understand (obs-fold,
// bare LF, Transfer-Encoding, Expect, an absolute-form target, a second
// Host or Content-Length, a header beyond the buffer...) makes it decline,
// and the proxy then reads the same bytes with net/http as before, which
// answers or refuses them as it always did. FuzzFastRequest checks that
// what it accepts, net/http accepts too and reads the same way.

// hdr is one header field; name and value are slices into the buffer the
// message was parsed from (value without its surrounding whitespace).
type hdr struct{ name, value []byte }

// maxFastHeaders bounds the header table; a message with more fields
// takes the net/http path.
const maxFastHeaders = 128

// h1msg is the part request and response parsing share.
type h1msg struct {
	hdrs   []hdr
	tokens [][]byte // the Connection header's tokens other than close and keep-alive
	length int64    // Content-Length; -1 when absent
	size   int      // bytes of the start line and the header, final CRLF included
	// closeTok and keepTok: the Connection header names close or
	// keep-alive; chunked: Transfer-Encoding is exactly "chunked".
	closeTok, keepTok, chunked bool
}

// fastReq is a request read by parseRequest.
type fastReq struct {
	h1msg
	method, target []byte
	host           []byte
	minor          int // HTTP/1.minor
}

// fastResp is a response read by parseResponse.
type fastResp struct {
	h1msg
	status     int
	statusLine []byte // without its CRLF
}

// parse results.
const (
	parseOK      = iota
	parseMore    // the header is not complete in the buffer
	parseDecline // leave the message to net/http
)

func isTokenByte(c byte) bool {
	return c < 0x80 && tokenTable[c]
}

var tokenTable = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// validHostByte is httpguts.ValidHostHeader's set, ASCII only.
var hostTable = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!$&'()*+,-.:;=[]_~" {
		t[c] = true
	}
	return t
}()

// lineEnd returns the index of the CRLF ending the line that starts at
// b[i:], -1 when the buffer ends first, -2 on a bare CR or LF or another
// control byte (HTAB aside) in the line.
func lineEnd(b []byte, i int) int {
	for j := i; j < len(b); j++ {
		c := b[j]
		if c >= 0x20 && c != 0x7f || c == '\t' {
			continue
		}
		if c == '\r' {
			if j+1 == len(b) {
				return -1
			}
			if b[j+1] == '\n' {
				return j
			}
		}
		return -2
	}
	return -1
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// foldEq compares ASCII case-insensitively.
func foldEq[T string | []byte](a T, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// parseDigits reads a Content-Length: 1 to 18 digits, nothing else.
func parseDigits(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// parseHeaders reads header lines from b[i:] up to the empty line into
// m. It returns parseOK with m.size set, parseMore or parseDecline;
// onField sees every field (a false return declines the message).
func (m *h1msg) parseHeaders(b []byte, i int, onField func(name, value []byte) bool) int {
	m.hdrs, m.tokens = m.hdrs[:0], m.tokens[:0]
	m.length, m.closeTok, m.keepTok, m.chunked = -1, false, false, false
	sawLength, sawTE := false, false
	for {
		e := lineEnd(b, i)
		switch e {
		case -1:
			return parseMore
		case -2:
			return parseDecline
		}
		if e == i {
			m.size = e + 2
			return parseOK
		}
		line := b[i:e]
		i = e + 2
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return parseDecline // obs-fold, no name, no colon
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		for _, c := range name {
			if !isTokenByte(c) {
				return parseDecline
			}
		}
		if len(m.hdrs) == maxFastHeaders {
			return parseDecline
		}
		switch {
		case foldEq(name, "Content-Length"):
			n, ok := parseDigits(value)
			if !ok || sawLength {
				return parseDecline
			}
			m.length, sawLength = n, true
		case foldEq(name, "Transfer-Encoding"):
			if sawTE || !foldEq(value, "chunked") {
				return parseDecline
			}
			m.chunked, sawTE = true, true
		case foldEq(name, "Connection"):
			m.connTokens(value)
		}
		if !onField(name, value) {
			return parseDecline
		}
		m.hdrs = append(m.hdrs, hdr{name, value})
	}
}

// connTokens records a Connection header's tokens.
func (m *h1msg) connTokens(v []byte) {
	for len(v) > 0 {
		var t []byte
		if j := bytes.IndexByte(v, ','); j >= 0 {
			t, v = v[:j], v[j+1:]
		} else {
			t, v = v, nil
		}
		t = trimOWS(t)
		switch {
		case len(t) == 0:
		case foldEq(t, "close"):
			m.closeTok = true
		case foldEq(t, "keep-alive"):
			m.keepTok = true
		case foldEq(t, "Host") || foldEq(t, "Content-Length") || foldEq(t, "Transfer-Encoding"):
			// Never removed: the message's own framing and target (net/http
			// writes them from its parsed fields whatever the header says).
		default:
			if len(m.tokens) < maxFastHeaders {
				m.tokens = append(m.tokens, t)
			}
		}
	}
}

// hop reports whether a header is connection-level: never forwarded.
func (m *h1msg) hop(name []byte) bool {
	switch len(name) {
	case 2:
		if foldEq(name, "Te") {
			return true
		}
	case 7:
		if foldEq(name, "Trailer") || foldEq(name, "Upgrade") {
			return true
		}
	case 10:
		if foldEq(name, "Connection") || foldEq(name, "Keep-Alive") {
			return true
		}
	case 16:
		if foldEq(name, "Proxy-Connection") {
			return true
		}
	case 18:
		if foldEq(name, "Proxy-Authenticate") {
			return true
		}
	}
	for _, t := range m.tokens {
		if bytes.EqualFold(t, name) {
			return true
		}
	}
	return false
}

// validTarget accepts an origin-form request target that url.ParseRequestURI
// takes as it is: a path starting with "/", no control bytes, no space,
// every '%' followed by two hex digits.
func validTarget(t []byte) bool {
	if len(t) == 0 || t[0] != '/' {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c <= ' ' || c >= 0x7f {
			return false
		}
		if c == '%' {
			if i+2 >= len(t) || !isHex(t[i+1]) || !isHex(t[i+2]) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// parseRequest reads a request's line and header from b. A request the
// fast path takes: HTTP/1.0 or 1.1, a token method other than CONNECT, an
// origin-form target, exactly one valid ASCII Host (as net/http
// writes an HTTP/1.0 request without one its own way), no Expect, and
// at most one Content-Length or (HTTP/1.1) Transfer-Encoding "chunked",
// not both.
func (r *fastReq) parse(b []byte) int {
	e := lineEnd(b, 0)
	switch e {
	case -1:
		return parseMore
	case -2:
		return parseDecline
	}
	line := b[:e]
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return parseDecline
	}
	sp2 := bytes.IndexByte(line[sp1+1:], ' ')
	if sp2 < 0 {
		return parseDecline
	}
	sp2 += sp1 + 1
	r.method, r.target = line[:sp1], line[sp1+1:sp2]
	switch string(line[sp2+1:]) {
	case "HTTP/1.1":
		r.minor = 1
	case "HTTP/1.0":
		r.minor = 0
	default:
		return parseDecline
	}
	for _, c := range r.method {
		if !isTokenByte(c) {
			return parseDecline
		}
	}
	if string(r.method) == "CONNECT" || !validTarget(r.target) {
		return parseDecline
	}
	r.host = nil
	hosts := 0
	res := r.parseHeaders(b, e+2, func(name, value []byte) bool {
		switch {
		case foldEq(name, "Host"):
			hosts++
			r.host = value
		case foldEq(name, "Expect"):
			return false
		}
		return true
	})
	if res != parseOK {
		return res
	}
	if hosts != 1 || r.chunked && (r.length >= 0 || r.minor == 0) {
		return parseDecline
	}
	for _, c := range r.host {
		if c >= 0x80 || !hostTable[c] {
			return parseDecline
		}
	}
	return parseOK
}

// keepAlive is whether the client keeps its connection after this
// request (net/http's shouldClose, inverted).
func (r *fastReq) keepAlive() bool {
	if r.closeTok {
		return false
	}
	return r.minor == 1 || r.keepTok
}

// parse reads a response's status line and header from b. A response the
// fast path takes: HTTP/1.1, a final status (200 to 599), at most one
// Content-Length or Transfer-Encoding "chunked", not both.
func (r *fastResp) parse(b []byte) int {
	e := lineEnd(b, 0)
	switch e {
	case -1:
		return parseMore
	case -2:
		return parseDecline
	}
	line := b[:e]
	if len(line) < 12 || string(line[:9]) != "HTTP/1.1 " || len(line) > 12 && line[12] != ' ' {
		return parseDecline
	}
	st := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return parseDecline
		}
		st = st*10 + int(c-'0')
	}
	if st < 200 || st > 599 {
		return parseDecline
	}
	r.status, r.statusLine = st, line
	res := r.parseHeaders(b, e+2, acceptField)
	if res == parseOK && r.chunked && r.length >= 0 {
		return parseDecline // both: net/http drops the Content-Length
	}
	return res
}

func acceptField(_, _ []byte) bool { return true }

// peekHeader peeks at br until parse accepts or declines a whole header
// or the buffer is full (declined: too large for the fast path). A read
// error declines too: net/http reads the same bytes again and meets it.
// beforeRead, when set, is called before each read.
func peekHeader(br *bufio.Reader, parse func([]byte) int, beforeRead func()) int {
	for {
		b, _ := br.Peek(br.Buffered())
		res := parse(b)
		if res != parseMore {
			return res
		}
		if len(b) >= br.Size() {
			return parseDecline
		}
		if beforeRead != nil {
			beforeRead()
		}
		if _, err := br.Peek(len(b) + 1); err != nil {
			return parseDecline
		}
	}
}

// copyN copies n bytes from br to w through br's buffer (no allocation);
// it reports whether a read (true) or a write failed.
func copyN(w *bufio.Writer, br *bufio.Reader, n int64) (readErr bool, err error) {
	for n > 0 {
		if br.Buffered() == 0 {
			if _, err := br.Peek(1); err != nil {
				return true, err
			}
		}
		k := br.Buffered()
		if int64(k) > n {
			k = int(n)
		}
		b, _ := br.Peek(k)
		if _, err := w.Write(b); err != nil {
			return false, err
		}
		_, _ = br.Discard(k)
		n -= int64(k)
	}
	return false, nil
}

// chunkError is a malformed chunked body from a member.
type chunkError struct{}

func (chunkError) Error() string { return "malformed chunked body" }

// copyChunked relays a chunked body as it is, chunk by chunk, through
// the trailer's empty line, parsing only what delimits it (chunk sizes,
// extensions skipped; lines of at most the buffer's size).
func copyChunked(w *bufio.Writer, br *bufio.Reader) (readErr bool, err error) {
	line := func() ([]byte, bool, error) {
		for {
			b, _ := br.Peek(br.Buffered())
			switch i := lineEnd(b, 0); i {
			case -2:
				return nil, true, chunkError{}
			case -1:
			default:
				return b[:i+2], false, nil
			}
			if len(b) >= br.Size() {
				return nil, true, chunkError{}
			}
			if _, err := br.Peek(len(b) + 1); err != nil {
				return nil, true, err
			}
		}
	}
	for {
		l, rd, err := line()
		if err != nil {
			return rd, err
		}
		sz := l[:len(l)-2]
		if i := bytes.IndexByte(sz, ';'); i >= 0 {
			sz = sz[:i]
		}
		for len(sz) > 0 && (sz[len(sz)-1] == ' ' || sz[len(sz)-1] == '\t') {
			sz = sz[:len(sz)-1]
		}
		var n int64
		if len(sz) == 0 || len(sz) > 15 {
			return true, chunkError{}
		}
		for _, c := range sz {
			var d byte
			switch {
			case '0' <= c && c <= '9':
				d = c - '0'
			case 'a' <= c && c <= 'f':
				d = c - 'a' + 10
			case 'A' <= c && c <= 'F':
				d = c - 'A' + 10
			default:
				return true, chunkError{}
			}
			n = n<<4 | int64(d)
		}
		if _, err := w.Write(l); err != nil {
			return false, err
		}
		_, _ = br.Discard(len(l))
		if n == 0 {
			for { // trailer fields, then the empty line
				l, rd, err := line()
				if err != nil {
					return rd, err
				}
				if len(l) > 2 && !validField(l[:len(l)-2]) {
					return true, chunkError{}
				}
				if _, err := w.Write(l); err != nil {
					return false, err
				}
				_, _ = br.Discard(len(l))
				if len(l) == 2 {
					return false, nil
				}
			}
		}
		if rd, err := copyN(w, br, n); err != nil {
			return rd, err
		}
		l, rd, err = line()
		if err != nil {
			return rd, err
		}
		if len(l) != 2 {
			return true, chunkError{}
		}
		if _, err := w.Write(l); err != nil {
			return false, err
		}
		_, _ = br.Discard(2)
	}
}

var crlf = []byte("\r\n")

// validField reports whether a trailer line is a header field: a token,
// a colon, a value.
func validField(line []byte) bool {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return false
	}
	for _, c := range line[:colon] {
		if !isTokenByte(c) {
			return false
		}
	}
	return true
}
