package policy

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Request is what the conditions of a policy look at, taken from one HTTP
// request. FromHTTP fills it without copying the headers.
type Request struct {
	Method string
	Host   string // the Host header as sent (host[:port])
	URI    string // the request target in origin form: path and query
	Path   string
	Query  string // without the "?"
	Header http.Header
	Client netip.AddrPort
}

// FromHTTP takes a Request from an HTTP request; client is the client's
// address (the proxy knows it; r.RemoteAddr may be the appliance's own).
// It copies no headers and compiles nothing.
func FromHTTP(r *http.Request, client netip.AddrPort) Request {
	q := Request{Method: r.Method, Host: r.Host, URI: r.RequestURI, Header: r.Header, Client: client}
	if r.URL != nil {
		q.Path, q.Query = r.URL.Path, r.URL.RawQuery
		if !strings.HasPrefix(q.URI, "/") {
			// absolute-form (a proxy request) or none: the origin-form.
			q.URI = r.URL.RequestURI()
		}
	}
	if q.Path == "" {
		q.Path, q.Query, _ = strings.Cut(q.URI, "?")
	}
	return q
}

// HostName is the Host header without its port.
func (r *Request) HostName() string {
	h := r.Host
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
}

// HostPort is the Host header's port, "" when it has none.
func (r *Request) HostPort() string {
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		return port
	}
	return ""
}

// Extension is the path's file extension without the dot: "jpg" for
// /img/a.jpg, "" for /img/ or /README.
func (r *Request) Extension() string {
	seg := r.Path[strings.LastIndexByte(r.Path, '/')+1:]
	if i := strings.LastIndexByte(seg, '.'); i >= 0 {
		return seg[i+1:]
	}
	return ""
}

// UserAgent is the User-Agent header.
func (r *Request) UserAgent() string { return headerValue(r.Header, "User-Agent") }

// headerValue is the first value of a header by its canonical name.
func headerValue(h http.Header, canon string) string {
	if v := h[canon]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Cookie returns the value of the request's cookie name, and whether it
// has one, scanning the Cookie headers without allocating.
func (r *Request) Cookie(name string) (string, bool) {
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			k, v, ok := strings.Cut(part, "=")
			if !ok || k != name {
				continue
			}
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v, true
		}
	}
	return "", false
}

// BrowserType classifies the user agent as BIG-IP's browser-type selector
// does: ie, edge, opera, opera-mini, chrome, firefox, android,
// mobile-safari, safari, blackberry; "" when unknown.
func BrowserType(ua string) string {
	has := func(s string) bool { return strings.Contains(ua, s) }
	switch {
	case ua == "":
		return ""
	case has("Opera Mini"):
		return "opera-mini"
	case has("OPR/") || has("Opera"):
		return "opera"
	case has("Edg/") || has("Edge/"):
		return "edge"
	case has("MSIE ") || has("Trident/"):
		return "ie"
	case has("BlackBerry") || has("BB10"):
		return "blackberry"
	case has("Firefox/") || has("FxiOS/"):
		return "firefox"
	case has("CriOS/") || has("Chrome/") && !has("; wv)"):
		return "chrome"
	case has("Android"):
		return "android"
	case has("Mobile") && has("Safari/") && (has("iPhone") || has("iPad") || has("iPod")):
		return "mobile-safari"
	case has("Safari/"):
		return "safari"
	}
	return ""
}
