package journeys

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// testIdP is a small OAuth 2 / OIDC provider written for these tests, unlike the
// embedded candidate in what it offers: the password grant, opaque access tokens
// known only through introspection (roles under "ext"), roles in userinfo,
// RP-initiated logout by redirect, a client_credentials grant that wrongly issues a
// refresh token, and switches to drop endpoints from its metadata.
type testIdP struct {
	*httptest.Server
	key *rsa.PrivateKey
	// opaque issues random access tokens instead of JWTs.
	opaque bool
	// without lists metadata members left out ("revocation_endpoint", ...).
	without []string
	// grants is grant_types_supported; nil leaves it out.
	grants []string
	// override replaces the handler of "METHOD /path", for misbehaving providers.
	override map[string]http.HandlerFunc

	mu      sync.Mutex
	active  map[string]map[string]any // opaque access token -> introspection answer
	refresh map[string]string         // refresh token -> user
	ended   bool
}

const idpUserPassword = "correct horse battery staple"

func newTestIdP(t testing.TB, configure func(*testIdP)) *testIdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &testIdP{key: key, active: map[string]map[string]any{}, refresh: map[string]string{}}
	if configure != nil {
		configure(p)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("POST /introspect", p.introspect)
	mux.HandleFunc("GET /userinfo", p.userinfo)
	mux.HandleFunc("POST /revoke", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) })
	mux.HandleFunc("GET /end_session", p.endSession)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := p.override[r.Method+" "+r.URL.Path]; ok {
			h(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *testIdP) discovery(w http.ResponseWriter, _ *http.Request) {
	meta := map[string]any{
		"issuer": p.URL, "authorization_endpoint": p.URL + "/authorize", "token_endpoint": p.URL + "/token",
		"jwks_uri": p.URL + "/jwks", "introspection_endpoint": p.URL + "/introspect", "userinfo_endpoint": p.URL + "/userinfo",
		"revocation_endpoint": p.URL + "/revoke", "end_session_endpoint": p.URL + "/end_session",
	}
	if p.grants != nil {
		meta["grant_types_supported"] = p.grants
	}
	for _, k := range p.without {
		delete(meta, k)
	}
	writeJSON(w, 200, meta)
}

func (p *testIdP) jwks(w http.ResponseWriter, _ *http.Request) {
	enc := base64.RawURLEncoding.EncodeToString
	writeJSON(w, 200, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
		"n": enc(p.key.N.Bytes()), "e": enc(big.NewInt(int64(p.key.E)).Bytes()),
	}}})
}

// sign returns a JWT of claims signed with the provider's key under kid k1.
func (p *testIdP) sign(claims jwt.MapClaims) string {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = "k1"
	s, _ := t.SignedString(p.key)
	return s
}

func (p *testIdP) claims(sub, scope string, roles []string) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{
		"iss": p.URL, "sub": sub, "aud": "api", "exp": now.Add(10 * time.Minute).Unix(), "iat": now.Unix(),
		"jti": newToken(), "client_id": "harness", "scope": scope,
	}
	if roles != nil {
		c["roles"] = roles
	}
	return c
}

// issue answers a token request for sub.
func (p *testIdP) issue(w http.ResponseWriter, sub, scope string, roles []string, withRefresh bool) {
	c := p.claims(sub, scope, roles)
	access := p.sign(c)
	if p.opaque {
		access = newToken()
		answer := map[string]any{"active": true, "sub": sub, "scope": scope, "exp": c["exp"], "iat": c["iat"], "client_id": "harness", "ext": map[string]any{"roles": roles}}
		p.mu.Lock()
		p.active[access] = answer
		p.mu.Unlock()
	}
	ans := map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 600, "scope": scope}
	if withRefresh {
		rt := newToken()
		p.mu.Lock()
		p.refresh[rt] = sub
		p.mu.Unlock()
		ans["refresh_token"] = rt
	}
	writeJSON(w, 200, ans)
}

func (p *testIdP) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	switch r.PostForm.Get("grant_type") {
	case "password":
		if r.PostForm.Get("password") != idpUserPassword {
			writeJSON(w, 400, map[string]string{"error": "invalid_grant"})
			return
		}
		p.issue(w, r.PostForm.Get("username"), "openid api.read", []string{"doctor"}, true)
	case "refresh_token":
		p.mu.Lock()
		sub, ok := p.refresh[r.PostForm.Get("refresh_token")]
		delete(p.refresh, r.PostForm.Get("refresh_token"))
		p.mu.Unlock()
		if !ok {
			writeJSON(w, 400, map[string]string{"error": "invalid_grant"})
			return
		}
		p.issue(w, sub, "openid api.read", []string{"doctor"}, true)
	case "client_credentials":
		id, _, _ := r.BasicAuth()
		p.issue(w, id, "lab.read", nil, true)
	default:
		writeJSON(w, 400, map[string]string{"error": "unsupported_grant_type"})
	}
}

func (p *testIdP) introspect(w http.ResponseWriter, r *http.Request) {
	if id, secret, _ := r.BasicAuth(); id != "introspector" || secret != "intro-secret" {
		writeJSON(w, 401, map[string]string{"error": "invalid_client"})
		return
	}
	_ = r.ParseForm()
	p.mu.Lock()
	defer p.mu.Unlock()
	if ans, ok := p.active[r.PostForm.Get("token")]; ok && !p.ended {
		writeJSON(w, 200, ans)
		return
	}
	writeJSON(w, 200, map[string]any{"active": false})
}

func (p *testIdP) userinfo(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, map[string]any{"sub": "someone", "groups": []string{"ward-3"}, "roles": []string{"doctor", "on-call"}})
}

func (p *testIdP) endSession(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.ended = true
	p.mu.Unlock()
	http.Redirect(w, r, r.URL.Query().Get("post_logout_redirect_uri")+"?state="+url.QueryEscape(r.URL.Query().Get("state")), http.StatusFound)
}

func newRSA() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) }
