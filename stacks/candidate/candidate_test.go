package candidate_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/cutover-dev/cutover/stacks/candidate"
	"github.com/cutover-dev/cutover/stacks/internal/driver"
	"github.com/cutover-dev/cutover/stacks/internal/passhash"
)

// Test users: id, username, password, legacy roles, hash scheme, panel.
var people = []struct {
	id, username, password, scheme string
	roles, panel                   []string
}{
	{"patient-00001", "pat1", "pw-pat1-long", passhash.Bcrypt, []string{"patient"}, nil},
	{"patient-00002", "pat2", "pw-pat2-long", passhash.SaltedSHA256, []string{"patient"}, nil},
	{"clinician-00001", "doc1", "pw-doc1-long", passhash.Bcrypt, []string{"clinician", "breakglass-eligible"}, []string{"patient-00001"}},
	{"clinician-00002", "doc2", "pw-doc2-long", passhash.Bcrypt, []string{"clinician"}, []string{"patient-00001"}},
	{"billing-00001", "bill1", "pw-bill1-long", passhash.SaltedSHA256, []string{"billing-clerk"}, nil},
	{"admin-00001", "adm1", "pw-adm1-long", passhash.Bcrypt, []string{"admin"}, nil},
	{"auditor-00001", "aud1", "pw-aud1-long", passhash.Bcrypt, []string{"auditor"}, nil},
}

const (
	labClient    = "svc-lab-feed-00001"
	labSecret    = "lab-secret-0123456789"
	harness      = candidate.HarnessClientID
	harnessRedir = candidate.HarnessRedirectURI
)

type stack struct {
	*candidate.Server
	url   string
	clock *driver.Clock
}

// newStack serves a seeded candidate on an httptest server with a settable clock.
func newStack(tb testing.TB, cfg candidate.Config) stack {
	tb.Helper()
	ts := httptest.NewUnstartedServer(nil)
	clock := driver.NewClock()
	cfg.Issuer = "http://" + ts.Listener.Addr().String()
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	cfg.BcryptCost = bcrypt.MinCost
	srv := candidate.New(cfg)
	for _, p := range people {
		h, err := passhash.New(p.scheme, p.password, bcrypt.MinCost)
		if err != nil {
			tb.Fatal(err)
		}
		err = srv.ImportUser(candidate.LegacyUser{ID: p.id, Username: p.username, Name: "Name " + p.username, Roles: p.roles, Panel: p.panel, Hash: h})
		if err != nil {
			tb.Fatal(err)
		}
	}
	srv.AddServiceAccount(candidate.ServiceAccount{ID: "service-00001", Username: labClient, Permissions: []string{"lab-results:read", "lab-results:write"}}, labSecret)
	ts.Config.Handler = srv
	ts.Start()
	tb.Cleanup(ts.Close)
	return stack{Server: srv, url: cfg.Issuer, clock: clock}
}

func (s stack) client(tb testing.TB) *driver.Client { return driver.New(tb, s.url) }

// login runs the code flow for the test user username.
func (s stack) login(tb testing.TB, username string) (*driver.Client, driver.Tokens) {
	tb.Helper()
	c := s.client(tb)
	for _, p := range people {
		if p.username == username {
			return c, c.Login(harness, harnessRedir, username, p.password, "openid offline_access").Tokens(tb)
		}
	}
	tb.Fatalf("no test user %s", username)
	return nil, driver.Tokens{}
}

func refresh(c *driver.Client, rt string) driver.Response {
	return c.PostForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {harness}})
}

func (s stack) introspect(c *driver.Client, token string) driver.Response {
	id, secret, _, _ := s.Clients()
	return c.PostForm("/introspect", url.Values{"token": {token}, "client_id": {id}, "client_secret": {secret}})
}

func active(r driver.Response) bool { v, _ := r.JSON()["active"].(bool); return v }

func TestDiscoveryAndJWKSVerifyAccessToken(t *testing.T) {
	s := newStack(t, candidate.Config{})
	c, tok := s.login(t, "doc1")
	d := c.Get("/.well-known/openid-configuration").JSON()
	if d["issuer"] != s.url {
		t.Errorf("issuer = %v; want %s", d["issuer"], s.url)
	}
	for _, k := range []string{"authorization_endpoint", "token_endpoint", "jwks_uri", "revocation_endpoint", "introspection_endpoint", "userinfo_endpoint", "end_session_endpoint"} {
		if v, _ := d[k].(string); !strings.HasPrefix(v, s.url+"/") {
			t.Errorf("discovery %s = %q; want a URL under the issuer", k, v)
		}
	}
	jwks := c.Get("/jwks.json").JSON()
	key := jwks["keys"].([]any)[0].(map[string]any)
	coord := func(k string) *big.Int {
		b, err := base64.RawURLEncoding.DecodeString(key[k].(string))
		if err != nil {
			t.Fatal(err)
		}
		return new(big.Int).SetBytes(b)
	}
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: coord("x"), Y: coord("y")}
	parsed, err := jwt.Parse(tok.AccessToken, func(tk *jwt.Token) (any, error) {
		if tk.Header["kid"] != key["kid"] {
			t.Errorf("kid = %v; want %v", tk.Header["kid"], key["kid"])
		}
		return pub, nil
	}, jwt.WithValidMethods([]string{"ES256"}), jwt.WithTimeFunc(s.clock.Now), jwt.WithAudience(candidate.Audience), jwt.WithIssuer(s.url))
	if err != nil || !parsed.Valid {
		t.Fatalf("access token does not verify with the JWKS: %v", err)
	}
}

func TestAccessTokenClaimsRFC9068(t *testing.T) {
	s := newStack(t, candidate.Config{})
	_, tok := s.login(t, "doc1")
	h, c := driver.Claims(t, tok.AccessToken)
	if h["typ"] != "at+jwt" {
		t.Errorf("typ = %v; want at+jwt", h["typ"])
	}
	for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope", "roles"} {
		if _, ok := c[k]; !ok {
			t.Errorf("claim %s missing", k)
		}
	}
	if aud := toStrings(c["aud"]); c["sub"] != "clinician-00001" || c["client_id"] != harness || !slices.Equal(aud, []string{candidate.Audience}) {
		t.Errorf("sub, client_id, aud = %v, %v, %v; want clinician-00001, %s, %s", c["sub"], c["client_id"], c["aud"], harness, candidate.Audience)
	}
	if got, want := c["scope"], "appointments.read notes.read notes.write offline_access openid patient.read"; got != want {
		t.Errorf("scope = %q; want %q", got, want)
	}
	if got := c["roles"]; !slices.Equal(toStrings(got), []string{"breakglass", "clinician"}) {
		t.Errorf("roles = %v; want [breakglass clinician]", got)
	}
	if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 300 || tok.ExpiresIn != 300 {
		t.Errorf("lifetime = %v s, expires_in %d; want 300", exp-iat, tok.ExpiresIn)
	}
	_, idc := driver.Claims(t, tok.IDToken)
	if !slices.Equal(toStrings(idc["aud"]), []string{harness}) || idc["nonce"] != "nonce-1" || idc["sid"] == nil {
		t.Errorf("id token aud, nonce, sid = %v, %v, %v; want %s, nonce-1, a session", idc["aud"], idc["nonce"], idc["sid"], harness)
	}
}

func toStrings(v any) []string {
	var out []string
	xs, _ := v.([]any)
	for _, x := range xs {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func TestAuthorizeRejects(t *testing.T) {
	s := newStack(t, candidate.Config{})
	base := url.Values{
		"response_type": {"code"}, "client_id": {harness}, "redirect_uri": {harnessRedir}, "scope": {"openid"},
		"state": {"x"}, "code_challenge": {driver.Challenge(driver.Verifier)}, "code_challenge_method": {"S256"},
	}
	tests := []struct {
		name       string
		key, value string
		status     int
		wantError  string
	}{
		{"no PKCE", "code_challenge", "", http.StatusFound, "invalid_request"},
		{"plain PKCE", "code_challenge_method", "plain", http.StatusFound, "invalid_request"},
		{"implicit", "response_type", "token", http.StatusFound, "unsupported_response_type"},
		{"unregistered redirect", "redirect_uri", "http://evil.example/cb", http.StatusBadRequest, "invalid_request"},
		{"unknown client", "client_id", "nobody", http.StatusBadRequest, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := url.Values{}
			for k, v := range base {
				q[k] = v
			}
			q.Set(tt.key, tt.value)
			r := s.client(t).Get("/authorize?" + q.Encode())
			got := r.Str("error")
			if r.Status == http.StatusFound {
				got = r.Location().Query().Get("error")
			}
			if r.Status != tt.status || got != tt.wantError {
				t.Errorf("authorize with %s=%q = %d %q; want %d %q", tt.key, tt.value, r.Status, got, tt.status, tt.wantError)
			}
		})
	}
}

func TestCodeExchange(t *testing.T) {
	s := newStack(t, candidate.Config{})
	c := s.client(t)
	redirect := c.SubmitLogin(c.Authorize(harness, harnessRedir, "openid offline_access"), "doc1", "pw-doc1-long")
	if redirect.Status != http.StatusSeeOther || redirect.Location().Query().Get("state") != "state-1" || redirect.Location().Query().Get("iss") != s.url {
		t.Fatalf("login = %d to %s; want 303 with state and iss", redirect.Status, redirect.Location())
	}
	code := redirect.Location().Query().Get("code")
	form := func(verifier string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {harnessRedir}, "client_id": {harness}, "code_verifier": {verifier}}
	}
	if r := c.PostForm("/token", form(driver.Verifier+"-wrong")); r.Status != http.StatusBadRequest || r.Str("error") != "invalid_grant" {
		t.Errorf("wrong verifier = %d %s; want 400 invalid_grant", r.Status, r.Body)
	}
	tok := c.PostForm("/token", form(driver.Verifier)).Tokens(t)
	if r := c.PostForm("/token", form(driver.Verifier)); r.Status != http.StatusBadRequest {
		t.Errorf("replayed code = %d; want 400", r.Status)
	}
	if r := refresh(c, tok.RefreshToken); r.Status != http.StatusBadRequest {
		t.Errorf("refresh after code replay = %d; want 400 (grant revoked)", r.Status)
	}
	s.clock.Advance(2 * time.Minute)
	late := c.CodeRedirect(harness, harnessRedir, "doc1", "pw-doc1-long", "openid")
	s.clock.Advance(candidate.DefaultCodeTTL)
	if r := c.Redeem(late, harness, harnessRedir); r.Status != http.StatusBadRequest {
		t.Errorf("expired code = %d; want 400", r.Status)
	}
}

func TestRefreshRotationReuseAndFamilyRevocation(t *testing.T) {
	s := newStack(t, candidate.Config{})
	c, t0 := s.login(t, "doc1")
	t1 := refresh(c, t0.RefreshToken).Tokens(t)
	if t1.RefreshToken == t0.RefreshToken {
		t.Fatal("refresh returned the same refresh token; want rotation")
	}
	t2 := refresh(c, t1.RefreshToken).Tokens(t)
	if r := refresh(c, t0.RefreshToken); r.Status != http.StatusBadRequest || r.Str("error") != "invalid_grant" {
		t.Errorf("reused refresh token = %d %s; want 400 invalid_grant", r.Status, r.Body)
	}
	if r := refresh(c, t2.RefreshToken); r.Status != http.StatusBadRequest {
		t.Errorf("newest refresh token after reuse = %d; want 400 (family revoked)", r.Status)
	}
	if r := c.Get("/api/patients/patient-00001/notes", driver.Bearer(t2.AccessToken)...); r.Status != http.StatusUnauthorized {
		t.Errorf("access token of revoked family = %d; want 401", r.Status)
	}
}

func TestRefreshScope(t *testing.T) {
	s := newStack(t, candidate.Config{})
	c, t0 := s.login(t, "doc1")
	widen := c.PostForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {t0.RefreshToken}, "client_id": {harness}, "scope": {"openid admin.users"}})
	if widen.Status != http.StatusBadRequest || widen.Str("error") != "invalid_scope" {
		t.Errorf("refresh widening scope = %d %s; want 400 invalid_scope", widen.Status, widen.Body)
	}
	narrow := c.PostForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {t0.RefreshToken}, "client_id": {harness}, "scope": {"openid notes.read"}}).Tokens(t)
	if narrow.Scope != "notes.read openid" {
		t.Errorf("narrowed scope = %q; want %q", narrow.Scope, "notes.read openid")
	}
	if back := refresh(c, narrow.RefreshToken).Tokens(t); back.Scope != t0.Scope {
		t.Errorf("scope after a narrowed refresh = %q; want the grant's %q", back.Scope, t0.Scope)
	}
}

func TestRefreshAbsoluteLifetime(t *testing.T) {
	s := newStack(t, candidate.Config{RefreshTokenTTL: time.Hour})
	c, t0 := s.login(t, "doc1")
	s.clock.Advance(59 * time.Minute)
	t1 := refresh(c, t0.RefreshToken).Tokens(t)
	s.clock.Advance(time.Minute)
	if r := refresh(c, t1.RefreshToken); r.Status != http.StatusBadRequest {
		t.Errorf("refresh past the grant's absolute lifetime = %d; want 400", r.Status)
	}
}

func TestAccessTokenExpires(t *testing.T) {
	s := newStack(t, candidate.Config{})
	c, tok := s.login(t, "doc1")
	s.clock.Advance(candidate.DefaultAccessTokenTTL)
	if r := c.Get("/api/patients/patient-00001/record", driver.Bearer(tok.AccessToken)...); r.Status != http.StatusUnauthorized {
		t.Errorf("expired access token = %d; want 401", r.Status)
	}
}

func TestRevocation(t *testing.T) {
	for _, which := range []string{"refresh_token", "access_token"} {
		t.Run(which, func(t *testing.T) {
			s := newStack(t, candidate.Config{})
			c, tok := s.login(t, "doc1")
			revoke := map[string]string{"refresh_token": tok.RefreshToken, "access_token": tok.AccessToken}[which]
			if r := c.PostForm("/revoke", url.Values{"token": {revoke}, "client_id": {harness}}); r.Status != http.StatusOK {
				t.Fatalf("revoke = %d; want 200", r.Status)
			}
			if r := c.Get("/api/patients/patient-00001/record", driver.Bearer(tok.AccessToken)...); r.Status != http.StatusUnauthorized {
				t.Errorf("probe after revoking the %s = %d; want 401", which, r.Status)
			}
			if r := refresh(c, tok.RefreshToken); r.Status != http.StatusBadRequest {
				t.Errorf("refresh after revoking the %s = %d; want 400", which, r.Status)
			}
			for _, tk := range []string{tok.AccessToken, tok.RefreshToken} {
				if active(s.introspect(c, tk)) {
					t.Errorf("introspection after revoking the %s: active; want inactive", which)
				}
			}
			if r := c.PostForm("/revoke", url.Values{"token": {"garbage"}, "client_id": {harness}}); r.Status != http.StatusOK {
				t.Errorf("revoke of an unknown token = %d; want 200 (RFC 7009 s2.2)", r.Status)
			}
		})
	}
}

func TestIntrospection(t *testing.T) {
	s := newStack(t, candidate.Config{})
	c, tok := s.login(t, "doc1")
	at := s.introspect(c, tok.AccessToken).JSON()
	if at["active"] != true || at["sub"] != "clinician-00001" || at["client_id"] != harness || at["token_type"] != "Bearer" {
		t.Errorf("introspect access token = %v; want active, sub, client_id, Bearer", at)
	}
	rt := s.introspect(c, tok.RefreshToken).JSON()
	if rt["active"] != true || rt["token_type"] != "refresh_token" {
		t.Errorf("introspect refresh token = %v; want active refresh_token", rt)
	}
	if r := c.PostForm("/introspect", url.Values{"token": {tok.AccessToken}, "client_id": {harness}}); r.Status != http.StatusUnauthorized {
		t.Errorf("introspection by a public client = %d; want 401", r.Status)
	}
	id, _, _, _ := s.Clients()
	if r := c.PostForm("/introspect", url.Values{"token": {tok.AccessToken}, "client_id": {id}, "client_secret": {"wrong"}}); r.Status != http.StatusUnauthorized {
		t.Errorf("introspection with a wrong secret = %d; want 401", r.Status)
	}
	if r := c.Get("/end_session?" + url.Values{"id_token_hint": {tok.IDToken}}.Encode()); r.Status != http.StatusOK {
		t.Fatalf("end_session = %d; want 200", r.Status)
	}
	for name, tk := range map[string]string{"access": tok.AccessToken, "refresh": tok.RefreshToken} {
		if active(s.introspect(c, tk)) {
			t.Errorf("introspect %s token after logout: active; want inactive", name)
		}
	}
}

func TestEndSessionRevokesOnlyThatSession(t *testing.T) {
	s := newStack(t, candidate.Config{})
	c1, a := s.login(t, "doc1")
	c2, b := s.login(t, "doc1")
	q := url.Values{"id_token_hint": {a.IDToken}, "post_logout_redirect_uri": {"http://localhost/cutover/logged-out"}, "state": {"bye"}}
	r := c1.Get("/end_session?" + q.Encode())
	if r.Status != http.StatusFound || r.Location().Query().Get("state") != "bye" {
		t.Fatalf("end_session = %d to %s; want 302 with state", r.Status, r.Location())
	}
	if r := c1.Get("/api/patients/patient-00001/notes", driver.Bearer(a.AccessToken)...); r.Status != http.StatusUnauthorized {
		t.Errorf("token of the ended session = %d; want 401", r.Status)
	}
	if r := c2.Get("/api/patients/patient-00001/notes", driver.Bearer(b.AccessToken)...); r.Status != http.StatusOK {
		t.Errorf("token of the other session = %d; want 200", r.Status)
	}
	if r := c1.Authorize(harness, harnessRedir, "openid"); r.Status != http.StatusOK {
		t.Errorf("authorize after end_session = %d; want 200 with the login form (no SSO)", r.Status)
	}
	if r := c2.Authorize(harness, harnessRedir, "openid"); r.Status != http.StatusSeeOther {
		t.Errorf("authorize in the other session = %d; want 303 (SSO)", r.Status)
	}
	bad := url.Values{"id_token_hint": {b.IDToken}, "post_logout_redirect_uri": {"http://evil.example/"}}
	if r := c2.Get("/end_session?" + bad.Encode()); r.Status != http.StatusBadRequest {
		t.Errorf("end_session to an unregistered URI = %d; want 400", r.Status)
	}
}

func TestUserinfo(t *testing.T) {
	s := newStack(t, candidate.Config{})
	c, tok := s.login(t, "doc1")
	u := c.Get("/userinfo", driver.Bearer(tok.AccessToken)...).JSON()
	if u["sub"] != "clinician-00001" || u["preferred_username"] != "doc1" {
		t.Errorf("userinfo = %v; want sub clinician-00001, preferred_username doc1", u)
	}
	if r := c.Get("/userinfo", driver.Bearer("nope")...); r.Status != http.StatusUnauthorized {
		t.Errorf("userinfo without a valid token = %d; want 401", r.Status)
	}
}

func exchange(c *driver.Client, subject, patient, reason string) driver.Response {
	f := url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "client_id": {harness},
		"subject_token": {subject}, "subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
		"resource": {"patient:" + patient},
	}
	if reason != "" {
		f.Set("reason", reason)
	}
	return c.PostForm("/token", f)
}

func auditKinds(t *testing.T, c *driver.Client, token, actor string) []string {
	t.Helper()
	r := c.Get("/api/audit?actor="+actor, driver.Bearer(token)...)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /api/audit = %d; want 200", r.Status)
	}
	var kinds []string
	for _, e := range r.JSON()["events"].([]any) {
		kinds = append(kinds, e.(map[string]any)["kind"].(string))
	}
	return kinds
}
