package journeys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/cutover-dev/cutover/personas"
)

// OIDCConfig describes a standards candidate: where it is and how the harness is
// registered with it.
type OIDCConfig struct {
	Issuer   string `yaml:"issuer"`
	ClientID string `yaml:"client_id"`
	// RedirectURI is registered for the harness client; it is never contacted: the
	// adapter captures the code from the redirect itself.
	RedirectURI string   `yaml:"redirect_uri"`
	Scopes      []string `yaml:"scopes"`
	// FormID picks the login form by id; empty picks the first form with a password.
	FormID        string `yaml:"form_id"`
	UsernameField string `yaml:"username_field"`
	// APIBaseURL is where the protected resources live; empty means the issuer.
	APIBaseURL string `yaml:"api_base_url"`
	// Audience the access tokens must carry; empty skips the check.
	Audience string `yaml:"audience"`
	// RolesClaim is the claim (dotted path) holding roles; default "roles".
	RolesClaim string `yaml:"roles_claim"`
	// RequiredClaims must be present in every access token; default the RFC 9068
	// set plus the roles claim.
	RequiredClaims []string `yaml:"required_claims"`
}

// discovery is the subset of the OpenID provider metadata the adapter uses.
type discovery struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
	RevocationEndpoint    string `json:"revocation_endpoint"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
	UserinfoEndpoint      string `json:"userinfo_endpoint"`
	EndSessionEndpoint    string `json:"end_session_endpoint"`
}

// OIDC is the adapter for any OpenID Connect / OAuth 2 candidate.
type OIDC struct {
	cfg  OIDCConfig
	meta discovery
	api  *url.URL
	tr   http.RoundTripper

	mu   sync.Mutex
	keys keyfunc.Keyfunc
}

var _ Stack = (*OIDC)(nil)

// NewOIDC reads the provider's discovery document and JWKS and returns an adapter.
func NewOIDC(ctx context.Context, cfg OIDCConfig, tr http.RoundTripper) (*OIDC, error) {
	if cfg.RolesClaim == "" {
		cfg.RolesClaim = "roles"
	}
	if cfg.UsernameField == "" {
		cfg.UsernameField = "username"
	}
	if cfg.RequiredClaims == nil {
		cfg.RequiredClaims = []string{"iss", "sub", "aud", "exp", "iat", "jti", "client_id", cfg.RolesClaim}
	}
	o := &OIDC{cfg: cfg, tr: tr}
	const op = "oidc discovery"
	wk := strings.TrimSuffix(cfg.Issuer, "/") + "/.well-known/openid-configuration"
	req, err := newRequest(ctx, http.MethodGet, wk, nil)
	if err != nil {
		return nil, err
	}
	resp, err := send(o.client(nil), req, op)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		drain(resp)
		return nil, protocolErr(op, "GET %s: HTTP %d", wk, resp.StatusCode)
	}
	if err := decodeJSON(resp, op, &o.meta); err != nil {
		return nil, err
	}
	if o.meta.Issuer != cfg.Issuer {
		return nil, protocolErr(op, "issuer %q in the metadata differs from the configured %q", o.meta.Issuer, cfg.Issuer)
	}
	if o.meta.AuthorizationEndpoint == "" || o.meta.TokenEndpoint == "" {
		return nil, protocolErr(op, "metadata lacks authorization_endpoint or token_endpoint")
	}
	apiBase := cfg.APIBaseURL
	if apiBase == "" {
		apiBase = cfg.Issuer
	}
	if o.api, err = url.Parse(apiBase); err != nil {
		return nil, fmt.Errorf("oidc: api_base_url %q: %w", apiBase, err)
	}
	if o.meta.JWKSURI != "" {
		if err := o.refreshKeys(ctx); err != nil {
			return nil, err
		}
	}
	return o, nil
}

func (o *OIDC) client(jar http.CookieJar) *http.Client {
	return &http.Client{Transport: o.tr, Jar: jar, CheckRedirect: noRedirect}
}

func (o *OIDC) refreshKeys(ctx context.Context) error {
	const op = "oidc jwks"
	req, err := newRequest(ctx, http.MethodGet, o.meta.JWKSURI, nil)
	if err != nil {
		return err
	}
	resp, err := send(o.client(nil), req, op)
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := decodeJSON(resp, op, &raw); err != nil {
		return err
	}
	kf, err := keyfunc.NewJWKSetJSON(raw)
	if err != nil {
		return protocolErr(op, "%v", err)
	}
	o.mu.Lock()
	o.keys = kf
	o.mu.Unlock()
	return nil
}

// tokenResponse is the RFC 6749 s5.1 answer.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Scope        string `json:"scope"`
	Error        string `json:"error"`
}

// Login implements Stack: authorization code with PKCE S256 through the login form.
func (o *OIDC) Login(ctx context.Context, p personas.Persona) (*Session, error) {
	c := o.client(newJar())
	verifier := randomString(32)
	sum := sha256.Sum256([]byte(verifier))
	state := randomString(16)
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {o.cfg.ClientID},
		"redirect_uri":          {o.cfg.RedirectURI},
		"scope":                 {strings.Join(o.cfg.Scopes, " ")},
		"state":                 {state},
		"nonce":                 {randomString(16)},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	resp, err := o.follow(ctx, c, http.MethodGet, o.meta.AuthorizationEndpoint+"?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	if resp.code != "" {
		return nil, protocolErr("oidc authorize", "code issued before any login form")
	}
	f, err := LoginForm(resp.forms, o.cfg.FormID)
	if err != nil {
		return nil, protocolErr("oidc login page", "HTTP %d: %v", resp.status, err)
	}
	f.Values.Set(o.cfg.UsernameField, p.Username)
	f.Values.Set(f.Password, p.Secret.Reveal())
	resp, err = o.follow(ctx, c, f.Method, f.Action.String(), f.Values)
	if err != nil {
		return nil, err
	}
	if resp.code == "" {
		return nil, &RefusedError{Status: resp.status, Reason: "login form did not lead to the redirect URI"}
	}
	if resp.state != state {
		return nil, protocolErr("oidc callback", "state does not match the one sent")
	}
	tok, err := o.token(ctx, url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {resp.code},
		"redirect_uri":  {o.cfg.RedirectURI},
		"client_id":     {o.cfg.ClientID},
		"code_verifier": {verifier},
	})
	if err != nil {
		return nil, err
	}
	return o.session(ctx, tok)
}

// page is where a chain of redirects ended: a page with its forms, or the redirect
// URI with its code.
type page struct {
	status      int
	forms       []Form
	code, state string
}

// follow sends a request and follows redirects (at most 10) until a page answers or
// the redirect URI is reached.
func (o *OIDC) follow(ctx context.Context, c *http.Client, method, target string, form url.Values) (page, error) {
	const op = "oidc login"
	for hop := 0; hop < 10; hop++ {
		var req *http.Request
		var err error
		if method == http.MethodPost {
			req, err = newRequest(ctx, method, target, strings.NewReader(form.Encode()))
			if err == nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
		} else {
			if form != nil {
				target += "?" + form.Encode()
			}
			req, err = newRequest(ctx, http.MethodGet, target, nil)
		}
		if err != nil {
			return page{}, err
		}
		resp, err := send(c, req, op)
		if err != nil {
			return page{}, err
		}
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode >= 400 || loc == "" {
			forms, err := ParseForms(resp.Body, resp.Request.URL)
			drain(resp)
			if err != nil {
				return page{}, protocolErr(op, "HTTP %d: %v", resp.StatusCode, err)
			}
			return page{status: resp.StatusCode, forms: forms}, nil
		}
		drain(resp)
		next, err := resp.Request.URL.Parse(loc)
		if err != nil {
			return page{}, protocolErr(op, "bad Location header: %v", err)
		}
		if strings.HasPrefix(next.String(), o.cfg.RedirectURI) {
			q := next.Query()
			if e := q.Get("error"); e != "" {
				return page{}, &RefusedError{Status: resp.StatusCode, Reason: e}
			}
			return page{status: resp.StatusCode, code: q.Get("code"), state: q.Get("state")}, nil
		}
		method, target, form = http.MethodGet, next.String(), nil
	}
	return page{}, protocolErr(op, "more than 10 redirects (a redirect loop?)")
}

// token calls the token endpoint.
func (o *OIDC) token(ctx context.Context, form url.Values) (*tokenResponse, error) {
	op := "oidc token " + form.Get("grant_type")
	req, err := newRequest(ctx, http.MethodPost, o.meta.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := send(o.client(nil), req, op)
	if err != nil {
		return nil, err
	}
	var tok tokenResponse
	status := resp.StatusCode
	if err := decodeJSON(resp, op, &tok); err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, &RefusedError{Status: status, Reason: tok.Error}
	}
	if tok.AccessToken == "" {
		return nil, protocolErr(op, "HTTP 200 without access_token")
	}
	return &tok, nil
}

// session verifies the access token and extracts the session facts.
func (o *OIDC) session(ctx context.Context, tok *tokenResponse) (*Session, error) {
	s := &Session{cred: credential{header: "Authorization", value: "Bearer " + tok.AccessToken, refresh: tok.RefreshToken, idToken: tok.IDToken}}
	s.Scopes = strings.Fields(tok.Scope)
	if tok.ExpiresIn > 0 {
		s.TTL = time.Duration(tok.ExpiresIn) * time.Second
	}
	if strings.Count(tok.AccessToken, ".") != 2 {
		// Opaque access token: the facts come from introspection (not yet wired).
		return s, nil
	}
	claims, err := o.verify(ctx, tok.AccessToken)
	if err != nil {
		return nil, err
	}
	for _, c := range o.cfg.RequiredClaims {
		if _, err := lookupPath(map[string]any(claims), c); err != nil {
			s.MissingClaims = append(s.MissingClaims, c)
		}
	}
	s.Subject, _ = claims["sub"].(string)
	if roles, err := stringsAt(map[string]any(claims), o.cfg.RolesClaim); err == nil {
		s.Roles = MapRoles(roles, nil)
	}
	if sc, ok := claims["scope"].(string); ok {
		s.Scopes = strings.Fields(sc)
	}
	exp, _ := claims.GetExpirationTime()
	iat, _ := claims.GetIssuedAt()
	if exp != nil && iat != nil {
		s.TTL = exp.Sub(iat.Time)
	}
	slices.Sort(s.Scopes)
	return s, nil
}

// verify checks a JWT access token's signature against the JWKS (refetched once on
// an unknown key), its algorithm, issuer, audience and expiry.
func (o *OIDC) verify(ctx context.Context, raw string) (jwt.MapClaims, error) {
	const op = "oidc access token"
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{"RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"}),
		jwt.WithIssuer(o.cfg.Issuer),
		jwt.WithLeeway(5 * time.Second),
	}
	if o.cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(o.cfg.Audience))
	}
	o.mu.Lock()
	keys := o.keys
	o.mu.Unlock()
	if keys == nil {
		return nil, protocolErr(op, "a JWT but the provider publishes no jwks_uri")
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, keys.Keyfunc, opts...)
	if err != nil && strings.Contains(err.Error(), "kid") {
		if rerr := o.refreshKeys(ctx); rerr == nil {
			o.mu.Lock()
			keys = o.keys
			o.mu.Unlock()
			claims = jwt.MapClaims{}
			_, err = jwt.ParseWithClaims(raw, claims, keys.Keyfunc, opts...)
		}
	}
	if err != nil {
		return nil, protocolErr(op, "%v", err)
	}
	return claims, nil
}

// Do implements Stack.
func (o *OIDC) Do(ctx context.Context, s *Session, r Request) (int, error) {
	return do(ctx, o.tr, resolve(o.api, r.Path), s, r)
}

// Logout implements Stack: revoke the refresh and access tokens (RFC 7009).
func (o *OIDC) Logout(ctx context.Context, s *Session) error {
	if o.meta.RevocationEndpoint == "" {
		return ErrUnsupported
	}
	for _, t := range []struct{ tok, hint string }{
		{s.cred.refresh, "refresh_token"},
		{strings.TrimPrefix(s.cred.value, "Bearer "), "access_token"},
	} {
		if t.tok == "" {
			continue
		}
		if err := o.revoke(ctx, t.tok, t.hint); err != nil {
			return err
		}
	}
	return nil
}

func (o *OIDC) revoke(ctx context.Context, tok, hint string) error {
	const op = "oidc revoke"
	form := url.Values{"token": {tok}, "token_type_hint": {hint}, "client_id": {o.cfg.ClientID}}
	req, err := newRequest(ctx, http.MethodPost, o.meta.RevocationEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := send(o.client(nil), req, op)
	if err != nil {
		return err
	}
	drain(resp)
	if resp.StatusCode != http.StatusOK {
		return &RefusedError{Status: resp.StatusCode, Reason: "revocation refused"}
	}
	return nil
}

func newJar() http.CookieJar {
	jar, _ := cookiejar.New(nil) // never fails with nil options
	return jar
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}
