package hydra_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/integration/hydra"
	"github.com/cutover-dev/cutover/personas"
)

const userScope = "openid offline_access"

func TestDiscovery(t *testing.T) {
	t.Parallel()
	s := startHydra(t, hydra.Options{})
	d := discover(t, s)
	want := map[string]string{
		"issuer":                 s.Issuer,
		"authorization_endpoint": s.Issuer + "/oauth2/auth",
		"token_endpoint":         s.Issuer + "/oauth2/token",
		"revocation_endpoint":    s.Issuer + "/oauth2/revoke",
		"end_session_endpoint":   s.Issuer + "/oauth2/sessions/logout",
		"jwks_uri":               s.Issuer + "/.well-known/jwks.json",
		"userinfo_endpoint":      s.Issuer + "/userinfo",
		// Hydra serves introspection on the admin port only and does not advertise it.
		"introspection_endpoint": "",
	}
	got := map[string]string{
		"issuer":                 d.Issuer,
		"authorization_endpoint": d.AuthorizationEndpoint,
		"token_endpoint":         d.TokenEndpoint,
		"revocation_endpoint":    d.RevocationEndpoint,
		"end_session_endpoint":   d.EndSessionEndpoint,
		"jwks_uri":               d.JWKSURI,
		"userinfo_endpoint":      d.UserinfoEndpoint,
		"introspection_endpoint": d.IntrospectionEndpoint,
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("discovery %s = %q; want %q", k, got[k], w)
		}
	}
	if !slices.Contains(d.CodeChallengeMethods, "S256") {
		t.Errorf("code_challenge_methods_supported = %v; want S256 in it", d.CodeChallengeMethods)
	}
	if slices.Contains(d.GrantTypes, "password") {
		t.Errorf("grant_types_supported = %v; Hydra has no password grant", d.GrantTypes)
	}
	var jwks struct {
		Keys []struct{ Kty, Alg, Use string } `json:"keys"`
	}
	getJSON(t, d.JWKSURI, &jwks)
	if len(jwks.Keys) != 2 {
		t.Errorf("JWKS has %d keys; want 2 (ID token and JWT access token sets)", len(jwks.Keys))
	}
	for i, k := range jwks.Keys {
		if k.Kty != "RSA" || k.Alg != "RS256" || k.Use != "sig" {
			t.Errorf("JWKS key %d = %s %s %s; want RSA RS256 sig", i, k.Kty, k.Alg, k.Use)
		}
	}
	if got := introspect(t, s, "not-a-token"); got.Active {
		t.Errorf("Introspect(garbage).Active = true; want false")
	}
}

// TestAuthorizationCodePKCE logs in through the login form and checks what ends up
// in the tokens for each access token strategy.
func TestAuthorizationCodePKCE(t *testing.T) {
	t.Parallel()
	ttl := hydra.TTLs{AccessToken: 10 * time.Minute, IDToken: 5 * time.Minute}
	for _, tc := range []struct {
		name     string
		opt      hydra.Options
		user     hydra.User
		wantJWT  bool
		topRoles bool // roles also at the top level of a JWT access token
	}{
		{name: "opaque", opt: hydra.Options{AccessTokens: hydra.Opaque, TTL: ttl}, user: clinician},
		{name: "jwt", opt: hydra.Options{AccessTokens: hydra.JWT, TTL: ttl}, user: billing, wantJWT: true},
		{name: "jwt-top-level-roles", opt: hydra.Options{AccessTokens: hydra.JWT, TTL: ttl, AllowedTopLevelClaims: []string{"roles"}}, user: clinician, wantJWT: true, topRoles: true},
		{name: "no-roles", opt: hydra.Options{TTL: ttl}, user: patient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startHydra(t, tc.opt)
			d := discover(t, s)
			c := createClient(t, s, hydra.PublicClient("harness", []string{redirectURI}, "openid", "offline_access"))
			ar := newAuthRequest(t, c.ID, userScope)
			code := login(t, newBrowser(redirectURI), d, ar, tc.user)
			tk := exchange(t, d, c, code, ar.pkce)

			if tk.TokenType != "bearer" {
				t.Errorf("token_type = %q; want bearer (lower case)", tk.TokenType)
			}
			if max := int64(ttl.AccessToken / time.Second); tk.ExpiresIn <= 0 || tk.ExpiresIn > max {
				t.Errorf("expires_in = %d; want 1..%d", tk.ExpiresIn, max)
			}
			if tk.Scope != userScope {
				t.Errorf("scope = %q; want %q", tk.Scope, userScope)
			}
			if tk.RefreshToken == "" || tk.IDToken == "" {
				t.Fatalf("refresh_token or id_token missing (got %t, %t)", tk.RefreshToken != "", tk.IDToken != "")
			}
			wantRoles := tc.user.Roles
			if wantRoles == nil {
				wantRoles = []string{}
			}

			id := verifyJWT(t, d, tk.IDToken)
			for k, want := range map[string]string{"iss": s.Issuer, "sub": tc.user.ID, "nonce": ar.nonce} {
				if got := id.claims[k]; got != want {
					t.Errorf("id_token %s = %v; want %q", k, got, want)
				}
			}
			if aud := strs(id.claims["aud"]); !slices.Equal(aud, []string{c.ID}) {
				t.Errorf("id_token aud = %v; want [%s]", aud, c.ID)
			}
			if got := strs(id.claims["roles"]); !slices.Equal(got, wantRoles) {
				t.Errorf("id_token roles = %v; want %v", got, wantRoles)
			}
			if id.claims["sid"] == nil {
				t.Errorf("id_token has no sid; RP-initiated logout needs it")
			}

			in := introspect(t, s, tk.AccessToken)
			if !in.Active || in.Subject != tc.user.ID || in.ClientID != c.ID || in.Scope != userScope || in.TokenUse != "access_token" {
				t.Errorf("introspection = active %t sub %q client %q scope %q use %q; want true %q %q %q access_token",
					in.Active, in.Subject, in.ClientID, in.Scope, in.TokenUse, tc.user.ID, c.ID, userScope)
			}
			if got := strs(in.Ext["roles"]); !slices.Equal(got, wantRoles) {
				t.Errorf("introspection ext.roles = %v; want %v", got, wantRoles)
			}

			var ui map[string]any
			if st := bearerGet(t, d.UserinfoEndpoint, tk.AccessToken, &ui); st != http.StatusOK {
				t.Errorf("userinfo = %d; want 200", st)
			} else if ui["sub"] != tc.user.ID || !slices.Equal(strs(ui["roles"]), wantRoles) {
				t.Errorf("userinfo sub %v roles %v; want %q %v", ui["sub"], ui["roles"], tc.user.ID, wantRoles)
			}

			isJWT := strings.Count(tk.AccessToken, ".") == 2 && !strings.HasPrefix(tk.AccessToken, "ory_at_")
			if isJWT != tc.wantJWT {
				t.Fatalf("access token is a JWT: %t; want %t", isJWT, tc.wantJWT)
			}
			if !tc.wantJWT {
				if !strings.HasPrefix(tk.AccessToken, "ory_at_") || !strings.HasPrefix(tk.RefreshToken, "ory_rt_") {
					t.Errorf("opaque tokens do not carry Hydra's ory_at_/ory_rt_ prefixes")
				}
				return
			}
			at := verifyJWT(t, d, tk.AccessToken)
			for k, want := range map[string]any{"iss": s.Issuer, "sub": tc.user.ID, "client_id": c.ID} {
				if got := at.claims[k]; got != want {
					t.Errorf("access token %s = %v; want %v", k, got, want)
				}
			}
			for _, k := range []string{"exp", "iat", "nbf", "jti"} {
				if _, ok := at.claims[k]; !ok {
					t.Errorf("access token has no %s claim", k)
				}
			}
			// aud is present but empty: Hydra puts only the granted audience there (the
			// audience request parameter, within the client's allowed audience), never
			// the client_id.
			if aud, ok := at.claims["aud"].([]any); !ok || len(aud) != 0 {
				t.Errorf("access token aud = %v; want []", at.claims["aud"])
			}
			if got := strs(at.claims["scp"]); !slices.Equal(got, strings.Fields(userScope)) {
				t.Errorf("access token scp = %v; want %v", got, strings.Fields(userScope))
			}
			if _, ok := at.claims["scope"]; ok {
				t.Errorf("access token has a scope claim; Hydra's default scope_claim is the scp list")
			}
			ext, _ := at.claims["ext"].(map[string]any)
			if got := strs(ext["roles"]); !slices.Equal(got, wantRoles) {
				t.Errorf("access token ext.roles = %v; want %v", got, wantRoles)
			}
			_, top := at.claims["roles"]
			if top != tc.topRoles {
				t.Errorf("access token has top-level roles: %t; want %t", top, tc.topRoles)
			}
			if typ := at.header["typ"]; typ != "JWT" {
				t.Errorf("access token typ = %v; want JWT (not RFC 9068 at+jwt)", typ)
			}
		})
	}
}

// TestLoginForm checks the login app refuses wrong credentials without ending the
// flow: the form comes back with 401 and the right password still gets through.
func TestLoginForm(t *testing.T) {
	t.Parallel()
	s := startHydra(t, hydra.Options{})
	d := discover(t, s)
	c := createClient(t, s, hydra.PublicClient("harness", []string{redirectURI}, "openid", "offline_access"))
	for _, tc := range []struct {
		name, username, password string
	}{
		{"wrong password", clinician.Username, "not the password"},
		{"unknown user", "nobody", clinician.Password.Reveal()},
		{"empty password", clinician.Username, ""},
		{"other user's password", clinician.Username, billing.Password.Reveal()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(redirectURI)
			ar := newAuthRequest(t, c.ID, userScope)
			p := b.get(t, ar.url(d))
			if !strings.HasPrefix(p.url.String(), s.LoginURL) || p.status != http.StatusOK {
				t.Fatalf("authorize ended on %s with %d; want the login app's form", p.url.Redacted(), p.status)
			}
			f, err := parseForm(strings.NewReader(p.body), "login-form")
			if err != nil {
				t.Fatal(err)
			}
			if f.method != "post" || f.fields.Get("login_challenge") == "" {
				t.Fatalf("form method %q, login_challenge set %t; want post, true", f.method, f.fields.Get("login_challenge") != "")
			}
			f.fields.Set("username", tc.username)
			f.fields.Set("password", tc.password)
			bad := b.post(t, f.target(p.url), f.fields)
			if bad.status != http.StatusUnauthorized || !strings.Contains(bad.body, `id="login-error"`) {
				t.Fatalf("bad credentials: status %d, error shown %t; want 401, true", bad.status, strings.Contains(bad.body, `id="login-error"`))
			}
			if strings.Contains(bad.body, tc.password) && tc.password != "" {
				t.Errorf("the login page echoes the password")
			}
			again, err := parseForm(strings.NewReader(bad.body), "login-form")
			if err != nil {
				t.Fatal(err)
			}
			again.fields.Set("username", clinician.Username)
			again.fields.Set("password", clinician.Password.Reveal())
			code := codeFrom(t, b.post(t, again.target(bad.url), again.fields), ar.state)
			if tk := exchange(t, d, c, code, ar.pkce); tk.AccessToken == "" {
				t.Errorf("no access token after a retried login")
			}
		})
	}
}

// TestPKCERequired checks Hydra refuses a public client's code without the right
// verifier, and a public client's authorize request without a challenge.
func TestPKCERequired(t *testing.T) {
	t.Parallel()
	s := startHydra(t, hydra.Options{})
	d := discover(t, s)
	c := createClient(t, s, hydra.PublicClient("harness", []string{redirectURI}, "openid", "offline_access"))

	t.Run("wrong verifier", func(t *testing.T) {
		ar := newAuthRequest(t, c.ID, userScope)
		code := login(t, newBrowser(redirectURI), d, ar, clinician)
		tk := token(t, d, c, url.Values{
			"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {redirectURI}, "code_verifier": {newPKCE(t).verifier},
		})
		if tk.status != http.StatusBadRequest || tk.Error != "invalid_grant" {
			t.Errorf("exchange with another verifier = %d %s; want 400 invalid_grant", tk.status, tk.Error)
		}
	})
	t.Run("no challenge", func(t *testing.T) {
		// Hydra checks PKCE when it issues the code, after login and consent: the
		// person signs in and the client then gets an error redirect, not a code.
		ar := newAuthRequest(t, c.ID, userScope)
		u, _ := url.Parse(ar.url(d))
		q := u.Query()
		q.Del("code_challenge")
		q.Del("code_challenge_method")
		u.RawQuery = q.Encode()
		p := submitLogin(t, newBrowser(redirectURI), u.String(), clinician)
		loc, err := url.Parse(p.location)
		if err != nil || !strings.HasPrefix(p.location, redirectURI) {
			t.Fatalf("authorize without PKCE ended on %s (%d); want a redirect to %s", p.url.Redacted(), p.status, redirectURI)
		}
		if got := loc.Query(); got.Get("error") != "invalid_request" || got.Get("code") != "" {
			t.Errorf("redirect error %q, code present %t; want invalid_request, false", got.Get("error"), got.Get("code") != "")
		}
	})
}

// TestClientCredentials checks the service account journey: scopes never widen, no
// refresh token, lifetime within the configured TTL.
func TestClientCredentials(t *testing.T) {
	t.Parallel()
	const ttl = 5 * time.Minute
	for _, strategy := range []hydra.TokenStrategy{hydra.Opaque, hydra.JWT} {
		t.Run(string(strategy), func(t *testing.T) {
			s := startHydra(t, hydra.Options{AccessTokens: strategy, TTL: hydra.TTLs{AccessToken: ttl}})
			d := discover(t, s)
			svc := createClient(t, s, hydra.ServiceClient("lab-feed", personas.NewSecret("s3rvice-secret-lab-feed"), "lab-results:read", "lab-results:write"))
			noSecret := createClient(t, s, hydra.ServiceClient("analytics", personas.Secret{}, "analytics:export"))
			if noSecret.Secret.IsZero() {
				t.Errorf("CreateClient without a secret: Hydra generated none")
			}
			wrong := svc
			wrong.Secret = personas.NewSecret("wrong")

			for _, tc := range []struct {
				name       string
				client     hydra.Client
				scope      string // "-" sends no scope parameter
				wantStatus int
				wantError  string
				wantScope  string
			}{
				{"subset", svc, "lab-results:read", 200, "", "lab-results:read"},
				{"all", svc, "lab-results:read lab-results:write", 200, "", "lab-results:read lab-results:write"},
				{"no scope parameter grants none", svc, "-", 200, "", ""},
				{"generated secret", noSecret, "analytics:export", 200, "", "analytics:export"},
				{"scope not allowed", svc, "analytics:export", 400, "invalid_scope", ""},
				{"offline_access not allowed", svc, "lab-results:read offline_access", 400, "invalid_scope", ""},
				{"wrong secret", wrong, "lab-results:read", 401, "invalid_client", ""},
			} {
				t.Run(tc.name, func(t *testing.T) {
					form := url.Values{"grant_type": {"client_credentials"}}
					if tc.scope != "-" {
						form.Set("scope", tc.scope)
					}
					tk := token(t, d, tc.client, form)
					if tk.status != tc.wantStatus || tk.Error != tc.wantError {
						t.Fatalf("client_credentials = %d %q (%s); want %d %q", tk.status, tk.Error, tk.ErrorDescription, tc.wantStatus, tc.wantError)
					}
					if tk.status != http.StatusOK {
						return
					}
					if tk.Scope != tc.wantScope {
						t.Errorf("scope = %q; want %q", tk.Scope, tc.wantScope)
					}
					if tk.RefreshToken != "" {
						t.Errorf("client_credentials returned a refresh token")
					}
					if max := int64(ttl / time.Second); tk.ExpiresIn <= 0 || tk.ExpiresIn > max {
						t.Errorf("expires_in = %d; want 1..%d", tk.ExpiresIn, max)
					}
					in := introspect(t, s, tk.AccessToken)
					if !in.Active || in.Subject != tc.client.ID || in.ClientID != tc.client.ID || in.Scope != tc.wantScope {
						t.Errorf("introspection = active %t sub %q client %q scope %q; want true, sub = client_id = %q, scope %q",
							in.Active, in.Subject, in.ClientID, in.Scope, tc.client.ID, tc.wantScope)
					}
					if strategy == hydra.JWT {
						at := verifyJWT(t, d, tk.AccessToken)
						if at.claims["sub"] != tc.client.ID || at.claims["client_id"] != tc.client.ID {
							t.Errorf("JWT sub %v client_id %v; want both %q", at.claims["sub"], at.claims["client_id"], tc.client.ID)
						}
					}
				})
			}
		})
	}
}
