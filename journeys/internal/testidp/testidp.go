// Package testidp is a small OAuth 2 / OIDC provider for the adapters' tests:
// what the embedded candidate does not offer (the password grant, opaque tokens,
// roles in userinfo, metadata without some endpoints) and misbehaviour on demand.
// It is test support: only tests import it.
//
// It imports nothing of this module.
package testidp

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// IdP is a small OAuth 2 / OIDC provider written for these tests, unlike the
// embedded candidate in what it offers: the password grant, opaque access tokens
// known only through introspection (roles under "ext"), roles in userinfo,
// RP-initiated logout by redirect, a client_credentials grant that wrongly issues a
// refresh token, and switches to drop endpoints from its metadata.
type IdP struct {
	*httptest.Server
	// Key signs its tokens; its public half is served as the JWKS.
	Key *rsa.PrivateKey
	// Opaque issues random access tokens instead of JWTs.
	Opaque bool
	// Without lists metadata members left out ("revocation_endpoint", ...).
	Without []string
	// Grants is grant_types_supported; nil leaves it out.
	Grants []string
	// Override replaces the handler of "METHOD /path", for misbehaving providers.
	Override map[string]http.HandlerFunc

	mu      sync.Mutex
	active  map[string]map[string]any // opaque access token -> introspection answer
	refresh map[string]string         // refresh token -> user
	ended   bool
}

// UserPassword is every user's password.
const UserPassword = "correct horse battery staple"

// New starts a provider, tuned by configure (nil: the defaults), closed with t.
func New(t testing.TB, configure func(*IdP)) *IdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &IdP{Key: key, active: map[string]map[string]any{}, refresh: map[string]string{}}
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
		if h, ok := p.Override[r.Method+" "+r.URL.Path]; ok {
			h(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *IdP) discovery(w http.ResponseWriter, _ *http.Request) {
	meta := map[string]any{
		"issuer": p.URL, "authorization_endpoint": p.URL + "/authorize", "token_endpoint": p.URL + "/token",
		"jwks_uri": p.URL + "/jwks", "introspection_endpoint": p.URL + "/introspect", "userinfo_endpoint": p.URL + "/userinfo",
		"revocation_endpoint": p.URL + "/revoke", "end_session_endpoint": p.URL + "/end_session",
	}
	if p.Grants != nil {
		meta["grant_types_supported"] = p.Grants
	}
	for _, k := range p.Without {
		delete(meta, k)
	}
	writeJSON(w, 200, meta)
}

func (p *IdP) jwks(w http.ResponseWriter, _ *http.Request) {
	enc := base64.RawURLEncoding.EncodeToString
	writeJSON(w, 200, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
		"n": enc(p.Key.N.Bytes()), "e": enc(big.NewInt(int64(p.Key.E)).Bytes()),
	}}})
}

// Sign returns a JWT of claims signed with the provider's key under kid k1.
func (p *IdP) Sign(claims jwt.MapClaims) string {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = "k1"
	s, _ := t.SignedString(p.Key)
	return s
}

// Claims are the access-token claims the provider issues for sub.
func (p *IdP) Claims(sub, scope string, roles []string) jwt.MapClaims {
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
func (p *IdP) issue(w http.ResponseWriter, sub, scope string, roles []string, withRefresh bool) {
	c := p.Claims(sub, scope, roles)
	access := p.Sign(c)
	if p.Opaque {
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

func (p *IdP) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	switch r.PostForm.Get("grant_type") {
	case "password":
		if r.PostForm.Get("password") != UserPassword {
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

func (p *IdP) introspect(w http.ResponseWriter, r *http.Request) {
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

func (p *IdP) userinfo(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, map[string]any{"sub": "someone", "groups": []string{"ward-3"}, "roles": []string{"doctor", "on-call"}})
}

func (p *IdP) endSession(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.ended = true
	p.mu.Unlock()
	http.Redirect(w, r, r.URL.Query().Get("post_logout_redirect_uri")+"?state="+url.QueryEscape(r.URL.Query().Get("state")), http.StatusFound)
}

// NewRSA returns a fresh 2048-bit RSA key.
func NewRSA() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
