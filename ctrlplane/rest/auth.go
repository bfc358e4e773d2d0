package rest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"lbx/ctrlplane/config"
	"lbx/internal/clock"
)

// Token lifetimes: BIG-IP's default and ceiling, in seconds.
const (
	defaultTokenTimeout = 1200
	maxTokenTimeout     = 36000
	maxTokens           = 4096 // live tokens kept; the oldest go first
)

// principal is who a request runs as.
type principal struct {
	config.Access
	addr string // the client's address
}

// token is a login's token.
type token struct {
	user    string
	timeout int // seconds
	created time.Time
	expires time.Time
}

// tokens are the live login tokens.
type tokens struct {
	clk clock.Clock

	mu sync.Mutex
	m  map[string]*token
	// ok remembers passwords checked good (by a digest of user, stored
	// hash and password) for verifiedFor: Basic auth sends the password
	// with every request, and a bcrypt check per request would make each
	// cost tens of milliseconds. A changed password changes the stored
	// hash, so the entry no longer matches.
	ok map[[32]byte]time.Time
}

// verifiedFor is how long a good Basic password is remembered.
const verifiedFor = time.Minute

func newTokens(clk clock.Clock) *tokens {
	return &tokens{clk: clk, m: map[string]*token{}, ok: map[[32]byte]time.Time{}}
}

func pwKey(user, hash, pw string) [32]byte {
	return sha256.Sum256([]byte(user + "\x00" + hash + "\x00" + pw))
}

// verified reports whether this password was checked good lately.
func (ts *tokens) verified(user, hash, pw string) bool {
	k := pwKey(user, hash, pw)
	ts.mu.Lock()
	defer ts.mu.Unlock()
	until, ok := ts.ok[k]
	return ok && ts.clk.Now().Before(until)
}

// remember records a password checked good.
func (ts *tokens) remember(user, hash, pw string) {
	now := ts.clk.Now()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ts.ok) >= maxTokens {
		for k, until := range ts.ok {
			if !now.Before(until) || len(ts.ok) >= maxTokens {
				delete(ts.ok, k)
			}
		}
	}
	ts.ok[pwKey(user, hash, pw)] = now.Add(verifiedFor)
}

// issue makes a token for user.
func (ts *tokens) issue(user string) (string, *token) {
	var b [20]byte
	rand.Read(b[:])
	id := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])
	now := ts.clk.Now()
	t := &token{user: user, timeout: defaultTokenTimeout, created: now, expires: now.Add(defaultTokenTimeout * time.Second)}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.pruneLocked(now)
	ts.m[id] = t
	return id, t
}

// pruneLocked drops expired tokens and, past maxTokens, the oldest.
func (ts *tokens) pruneLocked(now time.Time) {
	for id, t := range ts.m {
		if !now.Before(t.expires) {
			delete(ts.m, id)
		}
	}
	for len(ts.m) >= maxTokens {
		var oldest string
		for id, t := range ts.m {
			if oldest == "" || t.created.Before(ts.m[oldest].created) {
				oldest = id
			}
		}
		delete(ts.m, oldest)
	}
}

// lookup returns a copy of the live token id.
func (ts *tokens) lookup(id string) (token, bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t := ts.m[id]
	if t == nil {
		return token{}, false
	}
	if !ts.clk.Now().Before(t.expires) {
		delete(ts.m, id)
		return token{}, false
	}
	return *t, true
}

// authenticate finds who a request runs as: its X-F5-Auth-Token, else its
// Basic credentials. Neither is a 401 asking for Basic credentials.
func (s *Server) authenticate(r *http.Request) (principal, error) {
	addr := hostOf(r.RemoteAddr)
	if tok := r.Header.Get("X-F5-Auth-Token"); tok != "" {
		t, ok := s.auth.lookup(tok)
		if !ok {
			return principal{}, errf(401, "X-F5-Auth-Token is invalid or has expired.")
		}
		a, err := s.access(t.user)
		if err != nil {
			return principal{}, err
		}
		return principal{Access: a, addr: addr}, nil
	}
	user, pw, ok := r.BasicAuth()
	if !ok {
		return principal{}, &apiError{code: 401, msg: "Authorization failed: no user authentication header or token detected.", challenge: true}
	}
	a, err := s.login(user, pw, addr)
	if err != nil {
		err.challenge = true
		return principal{}, err
	}
	return principal{Access: a, addr: addr}, nil
}

// access is the access of the auth user name: its role. A user gone or
// with role no-access is refused.
func (s *Server) access(name string) (config.Access, error) {
	u := s.cfg.Store.Running().Users[name]
	if u == nil || u.Role == config.RoleNoAccess {
		return config.Access{}, errf(401, "Authorization failed: user %s has no access.", name)
	}
	return config.Access{User: name, Role: u.Role}, nil
}

// dummyHash is checked against when the user does not exist, so a wrong
// user name costs as much as a wrong password.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("lbx-no-such-user"), bcrypt.DefaultCost)
	return h
})

// login checks a password within the rate limit of the client's address,
// and logs the attempt.
func (s *Server) login(user, pw, addr string) (config.Access, *apiError) {
	if d := s.lim.Blocked(addr); d > 0 {
		s.log.Warn("rest login refused: too many failed logins", "user", user, "addr", addr, "retry_in", d.Round(time.Millisecond))
		return config.Access{}, errf(401, "Authentication failed: too many failed logins from %s; try again later.", addr)
	}
	u := s.cfg.Store.Running().Users[user]
	if u != nil && u.Role != config.RoleNoAccess && s.auth.verified(user, u.PasswordHash, pw) {
		return config.Access{User: user, Role: u.Role}, nil
	}
	ok := false
	if u == nil {
		bcrypt.CompareHashAndPassword(dummyHash(), []byte(pw))
	} else {
		ok = u.Role != config.RoleNoAccess && u.CheckPassword(pw)
	}
	if !ok {
		pause := s.lim.Failed(addr)
		s.log.Warn("rest login failed", "user", user, "addr", addr, "blocked_for", pause)
		return config.Access{}, errf(401, "Authentication failed.")
	}
	s.lim.Succeeded(addr)
	s.auth.remember(user, u.PasswordHash, pw)
	s.log.Debug("rest login", "user", user, "addr", addr)
	return config.Access{User: user, Role: u.Role}, nil
}

// tokenJSON is a token as /mgmt/shared/authz/tokens shows it.
func tokenJSON(id string, t token) map[string]any {
	return map[string]any{
		"token": id, "name": id, "userName": t.user, "timeout": t.timeout,
		"startTime": t.created.UTC().Format(time.RFC3339Nano), "expirationMicros": t.expires.UnixMicro(),
		"lastUpdateMicros": t.created.UnixMicro(), "generation": 1,
		"kind":     "shared:authz:tokens:authtokenitemstate",
		"selfLink": "https://localhost/mgmt/shared/authz/tokens/" + id,
	}
}

// postLogin is POST /mgmt/shared/authn/login.
func (s *Server) postLogin(req *request) (int, any, error) {
	if req.method != http.MethodPost {
		return 0, nil, errMethod(req)
	}
	var in struct {
		Username, Password, LoginProviderName string
	}
	if err := json.Unmarshal(req.body, &in); err != nil {
		return 0, nil, errf(400, "Login body: %v", err)
	}
	if _, err := s.login(in.Username, in.Password, req.who.addr); err != nil {
		return 0, nil, err
	}
	id, t := s.auth.issue(in.Username)
	return 200, map[string]any{
		"username": in.Username, "loginProviderName": "tmos", "token": tokenJSON(id, *t),
		"generation": 0, "lastUpdateMicros": 0,
	}, nil
}

// tokenOp is GET, PATCH {"timeout":N} and DELETE of
// /mgmt/shared/authz/tokens/ID: a user changes only its own tokens.
func (s *Server) tokenOp(req *request, id string) (int, any, error) {
	t, ok := s.auth.lookup(id)
	if !ok || t.user != req.who.User {
		return 0, nil, errf(404, "Token %s not found.", id)
	}
	switch req.method {
	case http.MethodGet:
		return 200, tokenJSON(id, t), nil
	case http.MethodDelete:
		s.auth.mu.Lock()
		delete(s.auth.m, id)
		s.auth.mu.Unlock()
		return 200, tokenJSON(id, t), nil
	case http.MethodPatch, http.MethodPut:
		var in struct {
			Timeout *json.Number `json:"timeout"`
		}
		if err := json.Unmarshal(req.body, &in); err != nil || in.Timeout == nil {
			return 0, nil, errf(400, "Token update: want {\"timeout\": SECONDS}.")
		}
		n, err := in.Timeout.Int64()
		if err != nil || n <= 0 || n > maxTokenTimeout {
			return 0, nil, errf(400, "Token timeout %s: want 1 to %d seconds.", in.Timeout.String(), maxTokenTimeout)
		}
		s.auth.mu.Lock()
		if cur := s.auth.m[id]; cur != nil {
			cur.timeout = int(n)
			cur.expires = s.clk.Now().Add(time.Duration(n) * time.Second)
			t = *cur
		}
		s.auth.mu.Unlock()
		return 200, tokenJSON(id, t), nil
	}
	return 0, nil, errMethod(req)
}

func errMethod(req *request) *apiError {
	return errf(405, "Method %s is not supported on %s.", req.method, req.path)
}
