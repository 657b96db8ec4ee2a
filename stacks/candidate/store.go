package candidate

import (
	"crypto/sha256"
	"slices"
	"time"
)

// authRequest is an authorization request waiting for the user to log in.
type authRequest struct {
	client    string
	redirect  string
	scopes    []string
	state     string
	nonce     string
	challenge string
	expires   time.Time
	// consent: the request asked for prompt=consent.
	consent bool
}

// code is an issued authorization code.
type code struct {
	authRequest
	user     string
	session  string
	authTime time.Time
	used     bool
	grant    string // the grant the code was exchanged for, revoked on replay
}

// ssoSession is the browser's single sign-on session at the provider.
type ssoSession struct {
	user     string
	authTime time.Time
	expires  time.Time
	ended    bool
	grants   []string // issued in this session, revoked at end_session
}

// grant is one authorization (a refresh token family): every refresh token rotated
// from it and every access token issued under it.
type grant struct {
	id      string
	user    string
	client  string
	scopes  []string
	session string
	expires time.Time
	revoked bool
	jtis    []string
	// noRefresh: no refresh token for this grant (consent-for-refresh).
	noRefresh bool
}

// refreshToken is the state of one refresh token, stored under its SHA-256.
type refreshToken struct {
	grant  string
	issued time.Time
	used   bool
	usedAt time.Time
}

// accessToken is what the provider remembers of an issued access token.
type accessToken struct {
	grant      string // empty for client_credentials
	breakGlass string // ehr grant id of an exchanged token
	expires    time.Time
	revoked    bool
}

// tokenStore holds all protocol state. Guarded by Server.mu.
type tokenStore struct {
	authRequests map[string]*authRequest
	codes        map[string]*code
	sessions     map[string]*ssoSession
	grants       map[string]*grant
	refresh      map[[32]byte]*refreshToken
	access       map[string]*accessToken // by jti (by accessKey without one)
	// opaque maps the handles of the opaque-access-tokens dialect to the JWTs
	// behind them.
	opaque map[string]opaqueToken
	// assertions are the jti of client assertions seen, until they expire.
	assertions map[string]time.Time
	// logouts are the end_session requests awaiting confirmation, by their
	// anti-forgery value.
	logouts map[string]pendingLogout
	minted  int // access tokens since the last prune
}

// opaqueToken is the JWT behind an opaque access token.
type opaqueToken struct {
	jwt     string
	expires time.Time
}

// pruneEvery is how many access tokens are minted between two sweeps of dead state,
// which keeps a long load run's memory flat.
const pruneEvery = 10000

func newTokenStore() tokenStore {
	return tokenStore{
		authRequests: make(map[string]*authRequest),
		codes:        make(map[string]*code),
		sessions:     make(map[string]*ssoSession),
		grants:       make(map[string]*grant),
		refresh:      make(map[[32]byte]*refreshToken),
		access:       make(map[string]*accessToken),
		opaque:       make(map[string]opaqueToken),
		assertions:   make(map[string]time.Time),
		logouts:      make(map[string]pendingLogout),
	}
}

func digest(token string) [32]byte { return sha256.Sum256([]byte(token)) }

// revokeGrant ends a grant: its refresh tokens and its access tokens die. Under drift
// logout-keeps-refresh only the access tokens die. Callers hold s.mu.
func (s *Server) revokeGrant(g *grant) {
	for _, jti := range g.jtis {
		if at, ok := s.tokens.access[jti]; ok {
			at.revoked = true
		}
	}
	if !s.cfg.Drifts.LogoutKeepsRefresh {
		g.revoked = true
	}
}

// revokeFamily ends a grant whose refresh token was replayed: reuse detection always
// kills the whole family, whatever the logout drift. Callers hold s.mu.
func (s *Server) revokeFamily(g *grant) {
	for _, jti := range g.jtis {
		if at, ok := s.tokens.access[jti]; ok {
			at.revoked = true
		}
	}
	g.revoked = true
}

// liveGrant reports whether g can still be used at now.
func liveGrant(g *grant, now time.Time) bool {
	return g != nil && !g.revoked && now.Before(g.expires)
}

// prune forgets state nothing can use any more: expired access tokens, codes,
// authorization requests and sessions, and grants past their absolute lifetime with
// their refresh tokens. Callers hold s.mu.
func (s *Server) prune(now time.Time) {
	t := &s.tokens
	for k, v := range t.access {
		if now.After(v.expires) {
			delete(t.access, k)
		}
	}
	for k, v := range t.opaque {
		if now.After(v.expires) {
			delete(t.opaque, k)
		}
	}
	for k, v := range t.codes {
		if now.After(v.expires) {
			delete(t.codes, k)
		}
	}
	for k, v := range t.authRequests {
		if now.After(v.expires) {
			delete(t.authRequests, k)
		}
	}
	for k, v := range t.sessions {
		if now.After(v.expires) {
			delete(t.sessions, k)
		}
	}
	for k, v := range t.refresh {
		if g := t.grants[v.grant]; g == nil || now.After(g.expires) {
			delete(t.refresh, k)
		}
	}
	for k, g := range t.grants {
		if now.After(g.expires) {
			delete(t.grants, k)
			continue
		}
		g.jtis = slices.DeleteFunc(g.jtis, func(jti string) bool { _, ok := t.access[jti]; return !ok })
	}
	t.minted = 0
}
