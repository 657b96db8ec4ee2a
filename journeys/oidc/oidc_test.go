package oidc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cutover-dev/cutover/journeys/adapter"
	"github.com/cutover-dev/cutover/journeys/internal/testidp"
	"github.com/cutover-dev/cutover/personas"
)

func newTestOIDC(t *testing.T, idp *testidp.IdP, cfg Config) *Adapter {
	t.Helper()
	cfg.Issuer, cfg.ClientID = idp.URL, "harness"
	if cfg.RedirectURI == "" {
		cfg.RedirectURI = "http://localhost/cb"
	}
	o, err := New(t.Context(), cfg, http.DefaultTransport)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return o
}

var doctor = personas.Persona{ID: "d1", Kind: personas.Clinician, Username: "d1", Secret: personas.NewSecret(testidp.UserPassword)}

// TestOIDCAnotherProvider drives the OIDC adapter through what the embedded
// candidate does not do: the password grant, opaque tokens read by introspection,
// roles from introspection or userinfo, RP-initiated logout, a refresh token on
// client_credentials, and capabilities the provider does not publish.
func TestOIDCAnotherProvider(t *testing.T) {
	intro := &Client{ClientID: "introspector", ClientSecret: new(adapter.NewSecretRef(personas.NewSecret("intro-secret")))}
	t.Run("password grant, opaque tokens, introspection, end_session", func(t *testing.T) {
		idp := testidp.New(t, func(p *testidp.IdP) { p.Opaque = true })
		o := newTestOIDC(t, idp, Config{
			Login: "password", Scopes: []string{"openid", "api.read"}, Introspection: intro,
			RolesClaim: "ext.roles", RolesFrom: []string{RolesFromIntrospection},
			Logout: []string{LogoutEndSession}, PostLogoutRedirectURI: "http://localhost/bye",
		})
		s, err := o.Login(t.Context(), doctor)
		if err != nil {
			t.Fatalf("Login: %v", err)
		}
		if s.Subject != "d1" || !slices.Equal(s.Roles, []string{"doctor"}) || !slices.Equal(s.Scopes, []string{"api.read", "openid"}) || s.TTL != 10*time.Minute || len(s.MissingClaims) > 0 {
			t.Errorf("session: sub %q roles %v scopes %v ttl %s missing %v; want d1, [doctor] from introspection, [api.read openid], 10m, none", s.Subject, s.Roles, s.Scopes, s.TTL, s.MissingClaims)
		}
		next, err := o.Refresh(t.Context(), s)
		if err != nil || !*adapter.Rotated(s, next) {
			t.Fatalf("Refresh = %v, rotated %v; want a rotated refresh token", err, adapter.Rotated(s, next))
		}
		if _, err := o.Refresh(t.Context(), s); !isRefusal(err) {
			t.Errorf("replayed refresh = %v; want a refusal", err)
		}
		if got := o.Credentials(next); !slices.Equal(got, []string{"access_token", "refresh_token"}) {
			t.Errorf("Credentials = %v", got)
		}
		if err := o.Logout(t.Context(), next); err != nil {
			t.Fatalf("Logout (end_session) = %v", err)
		}
		if active, err := o.Active(t.Context(), next, "access_token"); err != nil || active {
			t.Errorf("Active after end_session = %t, %v; want inactive", active, err)
		}
		if _, err := o.Login(t.Context(), personas.Persona{ID: "x", Username: "x", Secret: personas.NewSecret("wrong")}); !isRefusal(err) {
			t.Errorf("Login with a wrong password = %v; want a refusal", err)
		}
	})
	t.Run("roles from userinfo when the token has none", func(t *testing.T) {
		idp := testidp.New(t, nil)
		o := newTestOIDC(t, idp, Config{Login: "password", Audience: "api", RolesFrom: []string{RolesFromAccessToken, RolesFromUserinfo}})
		s, err := o.Login(t.Context(), doctor)
		if err != nil {
			t.Fatal(err)
		}
		// The token carries roles [doctor]: the access token wins.
		if !slices.Equal(s.Roles, []string{"doctor"}) {
			t.Errorf("roles %v; want [doctor] from the access token", s.Roles)
		}
		o = newTestOIDC(t, idp, Config{Login: "password", Audience: "api", RolesClaim: "groups", RolesFrom: []string{RolesFromAccessToken, RolesFromUserinfo}})
		s, err = o.Login(t.Context(), doctor)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(s.Roles, []string{"ward-3"}) || !slices.Contains(s.MissingClaims, "groups") {
			t.Errorf("roles %v missing %v; want [ward-3] from userinfo and groups reported missing from the token", s.Roles, s.MissingClaims)
		}
	})
	t.Run("client_credentials that issues a refresh token", func(t *testing.T) {
		idp := testidp.New(t, nil)
		o := newTestOIDC(t, idp, Config{Audience: "api"})
		s, err := o.ServiceLogin(t.Context(), personas.Persona{ID: "svc", Kind: personas.Service, Username: "lab-feed", Secret: personas.NewSecret("k")})
		if err != nil {
			t.Fatal(err)
		}
		if s.Cred.Refresh == "" || s.Subject != "lab-feed" || !slices.Equal(s.Scopes, []string{"lab.read"}) || len(s.MissingClaims) > 0 {
			t.Errorf("service session: refresh %t sub %q scopes %v missing %v; want a refresh token, lab-feed, [lab.read], none", s.Cred.Refresh != "", s.Subject, s.Scopes, s.MissingClaims)
		}
	})
	t.Run("client_credentials whose answer and token name no scope grant what was asked", func(t *testing.T) {
		// RFC 6749 s5.1: scope is left out when it is the one requested; an
		// empty scope named in the answer is an empty grant.
		for _, tt := range []struct {
			name   string
			answer map[string]any
			want   []string
		}{
			{"left out", map[string]any{}, []string{"lab.read", "lab.write"}},
			{"named empty", map[string]any{"scope": ""}, nil},
		} {
			var idp *testidp.IdP
			idp = testidp.New(t, func(p *testidp.IdP) {
				p.Override = map[string]http.HandlerFunc{"POST /token": func(w http.ResponseWriter, r *http.Request) {
					c := idp.Claims("lab-feed", "", nil)
					delete(c, "scope")
					ans := map[string]any{"access_token": idp.Sign(c), "token_type": "Bearer", "expires_in": 600}
					maps.Copy(ans, tt.answer)
					w.Header().Set("Content-Type", "application/json")
					_ = json.NewEncoder(w).Encode(ans)
				}}
			})
			o := newTestOIDC(t, idp, Config{Audience: "api", Service: &Service{Scopes: []string{"lab.read", "lab.write", "lab.read"}}})
			s, err := o.ServiceLogin(t.Context(), personas.Persona{ID: "svc", Kind: personas.Service, Username: "lab-feed", Secret: personas.NewSecret("k")})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.Scopes, tt.want) {
				t.Errorf("scope %s: scopes %v; want %v", tt.name, s.Scopes, tt.want)
			}
		}
	})
	t.Run("what the provider does not offer is unsupported", func(t *testing.T) {
		idp := testidp.New(t, func(p *testidp.IdP) {
			p.Without = []string{"revocation_endpoint", "end_session_endpoint", "introspection_endpoint"}
			p.Grants = []string{"authorization_code", "refresh_token"}
		})
		o := newTestOIDC(t, idp, Config{Login: "password", Introspection: intro, BreakGlass: &BreakGlass{Method: "token_exchange"}})
		s := &adapter.Session{Cred: adapter.Credential{Access: "x", Refresh: "y"}}
		for name, err := range map[string]error{
			"login (password)":     func() error { _, err := o.Login(t.Context(), doctor); return err }(),
			"logout":               o.Logout(t.Context(), s),
			"service":              func() error { _, err := o.ServiceLogin(t.Context(), doctor); return err }(),
			"break-glass exchange": func() error { _, err := o.BreakGlass(t.Context(), s, "p1", "r"); return err }(),
			"introspection":        func() error { _, err := o.Active(t.Context(), s, "access_token"); return err }(),
			"audit":                func() error { _, err := o.AuditEvents(t.Context(), "d1", time.Now()); return err }(),
		} {
			if !errors.Is(err, adapter.ErrUnsupported) {
				t.Errorf("%s = %v; want adapter.ErrUnsupported", name, err)
			}
		}
		if c := o.Credentials(s); c != nil {
			t.Errorf("Credentials = %v; want none without an introspection endpoint", c)
		}
	})
}

func isRefusal(err error) bool {
	var re *adapter.RefusedError
	return errors.As(err, &re)
}

// TestVerifyRefusesCraftedTokens signs tokens the way an attacker or a broken
// provider would: each must be refused with a precise reason.
func TestVerifyRefusesCraftedTokens(t *testing.T) {
	idp := testidp.New(t, nil)
	o := newTestOIDC(t, idp, Config{Audience: "api", Algorithms: []string{"RS256"}})
	good := idp.Claims("d1", "openid", []string{"doctor"})
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for kk, vv := range good {
			c[kk] = vv
		}
		c[k] = v
		if v == nil {
			delete(c, k)
		}
		return c
	}
	pub, _ := x509.MarshalPKIXPublicKey(&idp.Key.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sign := func(m jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(m, c)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// unsigned is a token with the given header and the good claims, its
	// signature a copy of a real one: a header golang-jwt cannot sign.
	unsigned := func(header string) string {
		real := strings.Split(sign(jwt.SigningMethodRS256, idp.Key, "k1", good), ".")
		return base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + real[1] + "." + real[2]
	}
	retyped := func(typ string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, good)
		tok.Header["kid"], tok.Header["typ"] = "k1", typ
		s, err := tok.SignedString(idp.Key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name, token, check string
	}{
		{"alg none", sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "k1", good), adapter.CheckAlgorithm},
		{"HS256 keyed with the public key", sign(jwt.SigningMethodHS256, pubPEM, "k1", good), adapter.CheckAlgorithm},
		{"ES256, not an allowed algorithm", sign(jwt.SigningMethodES256, ec, "k1", good), adapter.CheckAlgorithm},
		{"unknown key", sign(jwt.SigningMethodRS256, idp.Key, "k9", good), adapter.CheckKey},
		{"another key under k1", sign(jwt.SigningMethodRS256, mustRSA(t), "k1", good), adapter.CheckSignature},
		{"expired", sign(jwt.SigningMethodRS256, idp.Key, "k1", with("exp", time.Now().Add(-time.Hour).Unix())), adapter.CheckExpiry},
		{"no expiry", sign(jwt.SigningMethodRS256, idp.Key, "k1", with("exp", nil)), adapter.CheckExpiry},
		{"not valid yet", sign(jwt.SigningMethodRS256, idp.Key, "k1", with("nbf", time.Now().Add(time.Hour).Unix())), adapter.CheckNotBefore},
		{"another issuer", sign(jwt.SigningMethodRS256, idp.Key, "k1", with("iss", "https://evil.example")), adapter.CheckIssuer},
		{"another audience", sign(jwt.SigningMethodRS256, idp.Key, "k1", with("aud", "other-api")), adapter.CheckAudience},
		{"not a JWT", "a.b.c", adapter.CheckFormat},
		{"an algorithm nobody knows", unsigned(`{"alg":"XY999","kid":"k1"}`), adapter.CheckAlgorithm},
		{"no alg", unsigned(`{"kid":"k1"}`), adapter.CheckAlgorithm},
		{"typed as an ID token's logout token", retyped("logout+jwt"), adapter.CheckType},
		{"truncated", sign(jwt.SigningMethodRS256, idp.Key, "k1", good)[:40] + ".x.y", adapter.CheckFormat},
	}
	access := expected{kind: adapter.TokenAccess, audience: "api"}
	if _, err := o.validate(t.Context(), sign(jwt.SigningMethodRS256, idp.Key, "k1", good), access); err != nil {
		t.Fatalf("validate(good token) = %v", err)
	}
	for _, tt := range tests {
		_, err := o.validate(t.Context(), tt.token, access)
		var ie *adapter.InvalidTokenError
		if !errors.As(err, &ie) || ie.Check != tt.check || ie.Token != adapter.TokenAccess {
			t.Errorf("validate(%s) = %v; want an invalid access token, check %q", tt.name, err, tt.check)
			continue
		}
		if tt.name == "an algorithm nobody knows" && !strings.Contains(ie.Detail, "alg XY999 is not among") ||
			tt.name == "no alg" && !strings.Contains(ie.Detail, "alg none") {
			t.Errorf("validate(%s) detail = %q; want it to name the algorithm", tt.name, ie.Detail)
		}
	}
	if _, err := New(t.Context(), Config{Issuer: idp.URL, Algorithms: []string{"RS256", "none"}}, http.DefaultTransport); err == nil || !strings.Contains(err.Error(), `"none" is refused`) {
		t.Errorf("New with alg none allowed = %v; want a refusal", err)
	}
}

// FuzzVerify feeds arbitrary tokens to the verifier: errors, never a panic, and
// never a token accepted without the provider's signature.
func FuzzVerify(f *testing.F) {
	idp := testidp.New(f, nil)
	o, err := New(f.Context(), Config{Issuer: idp.URL, ClientID: "h"}, http.DefaultTransport)
	if err != nil {
		f.Fatal(err)
	}
	good := idp.Sign(idp.Claims("d1", "openid", nil))
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	f.Add("a.b.c")
	f.Add(strings.Repeat(".", 3))
	f.Fuzz(func(t *testing.T, tok string) {
		claims, err := o.validate(t.Context(), tok, expected{kind: adapter.TokenAccess})
		if err == nil && tok != good {
			parts := strings.Split(tok, ".")
			if len(parts) != 3 || parts[2] == "" {
				t.Fatalf("accepted an unsigned token: %v", claims)
			}
		}
	})
}

func mustRSA(t *testing.T) any {
	t.Helper()
	k, err := testidp.NewRSA()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestTokenEndpointAnswers classifies the token endpoint's answers by RFC 6749
// s5.2: a 400 or 401 is a refusal whatever its body (empty, HTML, JSON with an
// error code), 429 and 5xx are outages, and any other status is a protocol error.
func TestTokenEndpointAnswers(t *testing.T) {
	for _, tt := range []struct {
		name   string
		status int
		body   string
		check  func(error) bool
		want   string
	}{
		{"400, empty body", 400, "", isRefusal, "refused (HTTP 400)"},
		{"400, HTML", 400, "<html>Bad Request</html>", isRefusal, "refused (HTTP 400)"},
		{"400, OAuth error", 400, `{"error":"invalid_grant"}`, isRefusal, "refused (HTTP 400): invalid_grant"},
		{"401, empty body", 401, "", isRefusal, "refused (HTTP 401)"},
		{"429", 429, "", isUnavailable, "unavailable (HTTP 429)"},
		{"503", 503, "", isUnavailable, "unavailable (HTTP 503)"},
		{"418", 418, "", isProtocol, "HTTP 418 is neither tokens nor an OAuth error"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			idp := testidp.New(t, func(p *testidp.IdP) {
				p.Override = map[string]http.HandlerFunc{"POST /token": func(w http.ResponseWriter, _ *http.Request) {
					w.WriteHeader(tt.status)
					_, _ = w.Write([]byte(tt.body))
				}}
			})
			o := newTestOIDC(t, idp, Config{Login: "password"})
			_, err := o.Refresh(t.Context(), &adapter.Session{Cred: adapter.Credential{Refresh: "r1"}})
			if !tt.check(err) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("refresh answered %d %q: %v; want %q", tt.status, tt.body, err, tt.want)
			}
		})
	}
}

func isUnavailable(err error) bool {
	var ue *adapter.UnavailableError
	return errors.As(err, &ue)
}

func isProtocol(err error) bool {
	var pe *adapter.ProtocolError
	return errors.As(err, &pe)
}
