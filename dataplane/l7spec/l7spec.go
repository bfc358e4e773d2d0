package l7spec

import (
	"time"

	"lbx/pools"
)

// Spec is an HTTP virtual's layer-7 spec, compiled from its http profile,
// its one-connect profile and its cookie persistence; the appliance hands
// it to the proxy.
type Spec struct {
	InsertXFF       bool
	HeaderInsert    []string // "Name: value"
	HeaderErase     []string
	RedirectRewrite string // none, all, matching or nodes
	ServerAgent     string
	MaxHeaderSize   int
	MaxRequests     int // 0: no limit

	OneConnect *OneConnect // nil: one server connection per client connection
	Cookie     *Cookie     // nil: no cookie persistence
	Universal  *Universal  // nil: no universal (header) persistence

	// ClientTLS terminates TLS (client-ssl profiles, in the virtual's
	// order): the client's SNI chooses among them, else the Default one,
	// else the first. ServerTLS re-encrypts to the members (server-ssl);
	// nil for plain TCP.
	ClientTLS []Cert
	ServerTLS *Cert

	// Pools are the pools the virtual's local traffic policies forward
	// to besides its own: the runtime builds them as it builds a
	// virtual's pool, so the proxy selects from them with live member
	// state. Policies is the virtual's compiled policies (a
	// *policy.Compiled of lbx/l7/policy, which the appliance's proxy
	// evaluates per request); the dataplane never looks at it.
	Pools    []*pools.PoolConfig
	Policies any
}

// Cert is one TLS profile: its PEM files or the PEM given inline
// (CertPEM, KeyPEM, used instead of the files when set; the appliance
// loads them at install), the SNI name it serves and whether it is the
// default. CertObj and KeyObj name the sys file objects they come from
// ("": the profile gave a file path), for messages.
type Cert struct {
	Profile    string
	CertFile   string
	KeyFile    string
	CertPEM    string
	KeyPEM     string
	Passphrase string // the key's
	CertObj    string
	KeyObj     string
	SNI        string
	Default    bool
}

// Configured reports whether a certificate and a key are given (a
// server-ssl profile may have neither: no client certificate).
func (c *Cert) Configured() bool {
	return (c.CertFile != "" || c.CertPEM != "") && (c.KeyFile != "" || c.KeyPEM != "")
}

// OneConnect is a one-connect profile: server-side connection reuse.
type OneConnect struct {
	SourceMask  int // prefix length of the source mask
	MaxReuse    int
	MaxSize     int
	IdleTimeout time.Duration
}

// Cookie is cookie persistence: method insert by default.
type Cookie struct {
	Name    string // "": BIGipServer<pool>
	Expire  time.Duration
	Passive bool // honour the cookie, never set it (method passive)
	Rewrite bool // rewrite the value of the cookie the member sets (method rewrite)
	// Hash (method hash) keys on the hash of the value of the cookie the
	// member sets: Persist holds the records (Key set per request), made
	// when the member sets the cookie; a value without a record maps
	// consistently (Persist.Consistent) to an available member.
	Hash    bool
	Persist *pools.Persist
}

// Universal is universal persistence keyed on a request header's value
// (lbx's header-name; Host gives host-name affinity). Persist holds the
// records; the proxy sets Key per request.
type Universal struct {
	Header  string
	Persist *pools.Persist
}
