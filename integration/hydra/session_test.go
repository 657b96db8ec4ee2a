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

// grant is a logged-in person's tokens and the client they were issued to.
type grant struct {
	d      discovery
	client hydra.Client
	tokens tokens
}

// loginGrant registers a public client, logs user in through the form and exchanges
// the code.
func loginGrant(t *testing.T, s *hydra.Server, user hydra.User) grant {
	t.Helper()
	d := discover(t, s)
	c := createClient(t, s, hydra.PublicClient("harness-"+randomString(t)[:8], []string{redirectURI}, "openid", "offline_access"))
	ar := newAuthRequest(t, c.ID, userScope)
	code := login(t, newBrowser(redirectURI), d, ar, user)
	return grant{d: d, client: c, tokens: exchange(t, d, c, code, ar.pkce)}
}

// TestRefresh checks rotation and what Hydra does when a rotated refresh token is
// presented again: with no grace period it refuses it and revokes the whole grant
// (RFC 9700 s4.14.2); within a grace period it accepts the reuse.
func TestRefresh(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		grace       time.Duration
		wantReuseOK bool
	}{
		{name: "strict", grace: 0, wantReuseOK: false},
		{name: "grace period", grace: time.Minute, wantReuseOK: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startHydra(t, hydra.Options{RotationGracePeriod: tc.grace})
			g := loginGrant(t, s, clinician)
			first := g.tokens

			second := refresh(t, g.d, g.client, first.RefreshToken)
			if second.status != http.StatusOK {
				t.Fatalf("refresh = %d %s: %s; want 200", second.status, second.Error, second.ErrorDescription)
			}
			if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
				t.Fatalf("refresh returned the same or no refresh token; want a rotated one")
			}
			if second.Scope != first.Scope {
				t.Errorf("refreshed scope = %q; want the grant's %q", second.Scope, first.Scope)
			}
			if second.IDToken == "" {
				t.Errorf("refresh returned no id_token")
			}
			// Hydra revokes the previous access token when it refreshes, grace period
			// or not; the previous refresh token lives on only within a grace period.
			if introspect(t, s, first.AccessToken).Active {
				t.Errorf("old access token active after refresh; want revoked")
			}
			if got := introspect(t, s, first.RefreshToken).Active; got != tc.wantReuseOK {
				t.Errorf("old refresh token active after refresh = %t; want %t", got, tc.wantReuseOK)
			}
			in := introspect(t, s, second.RefreshToken)
			if !in.Active || in.TokenUse != "refresh_token" {
				t.Errorf("new refresh token: active %t use %q; want true refresh_token", in.Active, in.TokenUse)
			}
			if got := strs(introspect(t, s, second.AccessToken).Ext["roles"]); !slices.Equal(got, clinician.Roles) {
				t.Errorf("refreshed access token ext.roles = %v; want %v", got, clinician.Roles)
			}

			reuse := refresh(t, g.d, g.client, first.RefreshToken)
			if tc.wantReuseOK {
				if reuse.status != http.StatusOK {
					t.Fatalf("reuse within grace period = %d %s; want 200", reuse.status, reuse.Error)
				}
				if next := refresh(t, g.d, g.client, second.RefreshToken); next.status != http.StatusOK {
					t.Errorf("newest refresh token after a grace reuse = %d %s; want 200", next.status, next.Error)
				}
				return
			}
			if reuse.status != http.StatusBadRequest || reuse.Error != "invalid_grant" {
				t.Fatalf("reuse = %d %q; want 400 invalid_grant", reuse.status, reuse.Error)
			}
			// The whole family is revoked: the newest tokens die with the reused one.
			if next := refresh(t, g.d, g.client, second.RefreshToken); next.status != http.StatusBadRequest || next.Error != "invalid_grant" {
				t.Errorf("newest refresh token after reuse = %d %q; want 400 invalid_grant", next.status, next.Error)
			}
			for name, tok := range map[string]string{"newest access token": second.AccessToken, "newest refresh token": second.RefreshToken} {
				if introspect(t, s, tok).Active {
					t.Errorf("%s active after reuse detection; want revoked", name)
				}
			}
		})
	}
}

// TestRefreshScopeParameter records that Hydra ignores the scope parameter of a
// refresh request: a wider scope is not refused (nor granted) and a narrower one is
// not applied; the refreshed token always carries the grant's scope.
func TestRefreshScopeParameter(t *testing.T) {
	t.Parallel()
	s := startHydra(t, hydra.Options{})
	for _, tc := range []struct{ name, scope string }{
		{"wider", "openid offline_access admin"},
		{"narrower", "openid"},
		{"same", userScope},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := loginGrant(t, s, clinician)
			r := token(t, g.d, g.client, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {g.tokens.RefreshToken}, "scope": {tc.scope}})
			if r.status != http.StatusOK || r.Scope != userScope {
				t.Errorf("refresh with scope %q = %d %q scope %q; want 200 with the grant's %q", tc.scope, r.status, r.Error, r.Scope, userScope)
			}
			if got := introspect(t, s, r.AccessToken).Scope; got != userScope {
				t.Errorf("refreshed access token scope = %q; want %q", got, userScope)
			}
		})
	}
}

// TestRevocation checks RFC 7009 revocation at the public endpoint and its effect on
// both tokens of a grant: revoking either kills the other too.
func TestRevocation(t *testing.T) {
	t.Parallel()
	s := startHydra(t, hydra.Options{AccessTokens: hydra.JWT})
	for _, tc := range []struct {
		name   string
		revoke func(tokens) string
		hint   string
	}{
		{name: "refresh token", revoke: func(tk tokens) string { return tk.RefreshToken }, hint: "refresh_token"},
		{name: "access token", revoke: func(tk tokens) string { return tk.AccessToken }, hint: "access_token"},
		{name: "refresh token without hint", revoke: func(tk tokens) string { return tk.RefreshToken }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := loginGrant(t, s, billing)
			form := url.Values{"token": {tc.revoke(g.tokens)}}
			if tc.hint != "" {
				form.Set("token_type_hint", tc.hint)
			}
			if st := postForm(t, g.d.RevocationEndpoint, g.client, form, nil); st != http.StatusOK {
				t.Fatalf("revoke = %d; want 200", st)
			}
			for name, tok := range map[string]string{"access": g.tokens.AccessToken, "refresh": g.tokens.RefreshToken} {
				if introspect(t, s, tok).Active {
					t.Errorf("%s token active after revoking the %s; want inactive", name, tc.name)
				}
			}
			if r := refresh(t, g.d, g.client, g.tokens.RefreshToken); r.status != http.StatusBadRequest || r.Error != "invalid_grant" {
				t.Errorf("refresh after revocation = %d %q; want 400 invalid_grant", r.status, r.Error)
			}
			// A JWT access token stays valid by signature: only introspection knows.
			verifyJWT(t, g.d, g.tokens.AccessToken)
			// RFC 7009 s2.2: revoking again, or revoking garbage, is still 200.
			if st := postForm(t, g.d.RevocationEndpoint, g.client, form, nil); st != http.StatusOK {
				t.Errorf("second revoke = %d; want 200", st)
			}
		})
	}
	t.Run("other client's token", func(t *testing.T) {
		g := loginGrant(t, s, clinician)
		other := createClient(t, s, hydra.ConfidentialClient("portal", personas.NewSecret("portal-secret-0001"), []string{redirectURI}, "openid"))
		// Hydra answers 200 but leaves the token alone (RFC 7009 s2.1 would allow
		// unauthorized_client): a 200 from revocation proves nothing by itself.
		st := postForm(t, g.d.RevocationEndpoint, other, url.Values{"token": {g.tokens.RefreshToken}}, nil)
		if st != http.StatusOK {
			t.Errorf("revoking another client's token = %d; want 200", st)
		}
		if !introspect(t, s, g.tokens.RefreshToken).Active {
			t.Errorf("another client revoked the token")
		}
	})
}

// TestIntrospectionIgnoresClientAuth records that Hydra's admin introspection answers
// anyone who reaches the admin port: client credentials are neither needed nor checked.
func TestIntrospectionIgnoresClientAuth(t *testing.T) {
	t.Parallel()
	s := startHydra(t, hydra.Options{})
	g := loginGrant(t, s, clinician)
	rs := createClient(t, s, hydra.ConfidentialClient("resource-server", personas.NewSecret("rs-secret-000001"), nil))
	bad := rs
	bad.Secret = personas.NewSecret("wrong")
	for _, tc := range []struct {
		name   string
		client hydra.Client
	}{
		{"no credentials", hydra.Client{}},
		{"resource server", rs},
		{"wrong secret", bad},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in hydra.Introspection
			var st int
			if tc.client.ID == "" {
				in, st = introspect(t, s, g.tokens.AccessToken), http.StatusOK
			} else {
				st = postForm(t, s.IntrospectionURL(), tc.client, url.Values{"token": {g.tokens.AccessToken}}, &in)
			}
			if st != http.StatusOK || !in.Active {
				t.Errorf("introspect = %d active %t; want 200 true", st, in.Active)
			}
		})
	}
	t.Run("public port", func(t *testing.T) {
		st := postForm(t, s.Issuer+"/oauth2/introspect", rs, url.Values{"token": {g.tokens.AccessToken}}, nil)
		if st != http.StatusNotFound {
			t.Errorf("introspect on the public port = %d; want 404", st)
		}
	})
}

// TestRPInitiatedLogout ends the session through end_session and records what it
// does to the session and to the tokens: it ends Hydra's login session (when there is
// one) but revokes no token, so a logout journey must also revoke (RFC 7009).
func TestRPInitiatedLogout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		remember bool
	}{
		{name: "remembered session", remember: true},
		{name: "no remembered session", remember: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startHydra(t, hydra.Options{RememberLogin: tc.remember})
			d := discover(t, s)
			c := createClient(t, s, hydra.PublicClient("harness", []string{redirectURI}, "openid", "offline_access"))
			b := newBrowser(redirectURI)
			ar := newAuthRequest(t, c.ID, userScope)
			tk := exchange(t, d, c, login(t, b, d, ar, clinician), ar.pkce)

			// A second authorize in the same browser skips the form only when the
			// login was remembered.
			again := newAuthRequest(t, c.ID, userScope)
			p := b.get(t, again.url(d))
			if skipped := strings.HasPrefix(p.location, redirectURI); skipped != tc.remember {
				t.Fatalf("second authorize went straight to the client: %t; want %t", skipped, tc.remember)
			}

			b.resetHops()
			state := randomString(t)
			p = b.get(t, d.EndSessionEndpoint+"?"+url.Values{
				"id_token_hint":            {tk.IDToken},
				"post_logout_redirect_uri": {redirectURI},
				"state":                    {state},
			}.Encode())
			loc, err := url.Parse(p.location)
			if err != nil || !strings.HasPrefix(p.location, redirectURI) {
				t.Fatalf("end_session ended on %s (%d); want a redirect to %s", p.url.Redacted(), p.status, redirectURI)
			}
			if got := loc.Query().Get("state"); got != state {
				t.Errorf("post-logout redirect state = %q; want the request's", got)
			}
			if through := b.visited(s.LoginURL + "/logout"); through != tc.remember {
				t.Errorf("logout went through the login app: %t; want %t", through, tc.remember)
			}

			// Logout ends the browser session: the next authorize shows the form.
			p = b.get(t, newAuthRequest(t, c.ID, userScope).url(d))
			if p.status != http.StatusOK || !strings.Contains(p.body, `id="login-form"`) {
				t.Errorf("authorize after logout = %d at %s; want the login form", p.status, p.url.Redacted())
			}
			// ...but revokes no token.
			if !introspect(t, s, tk.AccessToken).Active {
				t.Errorf("access token inactive after end_session; Hydra was expected to leave it active")
			}
			if r := refresh(t, d, c, tk.RefreshToken); r.status != http.StatusOK {
				t.Errorf("refresh after end_session = %d %q; Hydra was expected to allow it", r.status, r.Error)
			}
		})
	}
}
