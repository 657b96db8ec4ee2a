package journeys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/keyfunc/v3"

	"github.com/cutover-dev/cutover/personas"
)

// OIDCConfig describes a standards candidate: where it is, how the harness is
// registered with it, and which of its optional capabilities to use. Discovery
// supplies the endpoints; whatever the provider does not publish is reported as
// not supported by this stack.
type OIDCConfig struct {
	Issuer   string `yaml:"issuer"`
	ClientID string `yaml:"client_id"`
	// ClientSecret makes the harness client confidential (client_secret_basic).
	ClientSecret *SecretRef `yaml:"client_secret"`
	// RedirectURI is registered for the harness client; it is never contacted: the
	// adapter captures the code from the redirect itself.
	RedirectURI string   `yaml:"redirect_uri"`
	Scopes      []string `yaml:"scopes"`
	// Login is "code" (authorization code with PKCE S256 through the login form,
	// the default) or "password" (the resource owner password grant, where the
	// provider still allows it).
	Login string `yaml:"login"`
	// FormID picks the login form by id; empty picks the first form with a password.
	FormID        string `yaml:"form_id"`
	UsernameField string `yaml:"username_field"`
	// APIBaseURL is where the protected resources live; empty means the issuer.
	APIBaseURL string `yaml:"api_base_url"`
	// Audience the access tokens must carry; empty skips the check. When set it
	// is also sent as the audience parameter of the authorization and
	// client_credentials requests: providers such as Ory Hydra and Auth0 put an
	// audience in a token only when it is asked for.
	Audience string `yaml:"audience"`
	// Algorithms are the JWS algorithms accepted for tokens; default every
	// asymmetric one. "none" and HMAC algorithms are always refused.
	Algorithms []string `yaml:"algorithms"`
	// RolesClaim is the path of the roles in a token, an introspection answer or
	// userinfo; default "roles".
	RolesClaim string `yaml:"roles_claim"`
	// RolesFrom lists where roles are looked up, the first that has them winning:
	// access_token, introspection, id_token, userinfo. Default: all four in that
	// order.
	RolesFrom []string `yaml:"roles_from"`
	// RequiredClaims must be present in every JWT access token; default the RFC 9068
	// set plus the roles claim.
	RequiredClaims []string `yaml:"required_claims"`
	// Logout lists how a user logs out: revoke (RFC 7009) and/or end_session
	// (RP-initiated logout). Default: revoke when the provider offers it, else
	// end_session.
	Logout []string `yaml:"logout"`
	// PostLogoutRedirectURI is sent with end_session; never contacted.
	PostLogoutRedirectURI string `yaml:"post_logout_redirect_uri"`
	// Introspection is the confidential client that may call the introspection
	// endpoint (RFC 7662), and where that endpoint is when discovery does not say;
	// without it nothing is introspected.
	Introspection *ClientConfig `yaml:"introspection"`
	// Service tunes client_credentials for service personas (client id = the
	// persona's username, secret = its secret).
	Service    *OIDCService    `yaml:"service"`
	BreakGlass *OIDCBreakGlass `yaml:"breakglass"`
	Audit      *AuditConfig    `yaml:"audit"`
	// Directory lists the provider's users (SCIM) for the pre-run parity check.
	Directory *SCIMDirectory `yaml:"directory"`
}

// ClientConfig is a confidential OAuth client and the endpoint it calls.
type ClientConfig struct {
	ClientID     string    `yaml:"client_id"`
	ClientSecret SecretRef `yaml:"client_secret"`
	// AuthMethod is client_secret_basic (default) or client_secret_post.
	AuthMethod string `yaml:"auth_method"`
	// Endpoint is the URL the client calls, overriding discovery: a provider may
	// serve introspection without advertising it (Ory Hydra serves it on its
	// admin port only).
	Endpoint string `yaml:"endpoint"`
}

func (c *ClientConfig) auth() clientAuth {
	return clientAuth{id: c.ClientID, secret: c.ClientSecret.Secret().Reveal(), post: c.AuthMethod == "client_secret_post"}
}

// OIDCService tunes the client_credentials grant of service personas.
type OIDCService struct {
	// Scopes to request from every service persona; empty requests none (the
	// provider's default for the client).
	Scopes []string `yaml:"scopes"`
	// PermissionScopes, when set, adds to Scopes the scopes each persona's legacy
	// permissions map to (an unmapped permission is requested as it is), so each
	// client asks for what it held on legacy. Providers such as Ory Hydra and Okta
	// grant no scope unless asked, and refuse a scope the client was not given.
	PermissionScopes map[string]string `yaml:"permission_scopes"`
	// AuthMethod is client_secret_basic (default) or client_secret_post.
	AuthMethod string `yaml:"auth_method"`
}

// OIDCBreakGlass says how a candidate grants emergency access.
type OIDCBreakGlass struct {
	// Method is token_exchange (RFC 8693), step_up (a new authorization request
	// asking for more, re-entering the password) or http (a custom API call).
	Method string `yaml:"method"`
	// Resource, Audience and Scope are sent with a token exchange (placeholder
	// {patient}); Resource defaults to "patient:{patient}".
	Resource string `yaml:"resource"`
	Audience string `yaml:"audience"`
	Scope    string `yaml:"scope"`
	// ReasonParam names the parameter carrying the reason (token exchange and step
	// up); default "reason".
	ReasonParam string `yaml:"reason_param"`
	// StepUpScopes and ACRValues are added to the step-up authorization request
	// (placeholder {patient}).
	StepUpScopes []string `yaml:"step_up_scopes"`
	ACRValues    string   `yaml:"acr_values"`
	// HTTP is the call of method http, made with the session's access token at
	// the API base URL.
	HTTP *HTTPBreakGlass `yaml:"http"`
}

// Logout methods.
const (
	LogoutRevoke     = "revoke"
	LogoutEndSession = "end_session"
)

// Sources of roles.
const (
	RolesFromAccessToken   = "access_token"
	RolesFromIntrospection = "introspection"
	RolesFromIDToken       = "id_token"
	RolesFromUserinfo      = "userinfo"
)

// discovery is the subset of the OpenID provider metadata the adapter uses.
type discovery struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	RevocationEndpoint    string   `json:"revocation_endpoint"`
	IntrospectionEndpoint string   `json:"introspection_endpoint"`
	UserinfoEndpoint      string   `json:"userinfo_endpoint"`
	EndSessionEndpoint    string   `json:"end_session_endpoint"`
	GrantTypesSupported   []string `json:"grant_types_supported"`
}

// Grant types.
const (
	grantPassword      = "password"
	grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeAccess    = "urn:ietf:params:oauth:token-type:access_token"
)

// OIDC is the adapter for any OpenID Connect / OAuth 2 candidate.
type OIDC struct {
	cfg   OIDCConfig
	meta  discovery
	api   *url.URL
	tr    http.RoundTripper
	opt   options
	audit *auditFeed

	mu          sync.Mutex
	keys        keyfunc.Keyfunc
	keysFetched time.Time
}

var (
	_ Stack                = (*OIDC)(nil)
	_ Refresher            = (*OIDC)(nil)
	_ Introspector         = (*OIDC)(nil)
	_ BreakGlasser         = (*OIDC)(nil)
	_ ServiceAuthenticator = (*OIDC)(nil)
	_ AuditReader          = (*OIDC)(nil)
)

// DefaultAlgorithms are the JWS algorithms accepted when none are configured.
var DefaultAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// NewOIDC reads the provider's discovery document and JWKS and returns an adapter.
func NewOIDC(ctx context.Context, cfg OIDCConfig, tr http.RoundTripper, opts ...Option) (*OIDC, error) {
	if cfg.RolesClaim == "" {
		cfg.RolesClaim = "roles"
	}
	if cfg.UsernameField == "" {
		cfg.UsernameField = "username"
	}
	if cfg.RequiredClaims == nil {
		cfg.RequiredClaims = []string{"iss", "sub", "aud", "exp", "iat", "jti", "client_id", cfg.RolesClaim}
	}
	if cfg.RolesFrom == nil {
		cfg.RolesFrom = []string{RolesFromAccessToken, RolesFromIntrospection, RolesFromIDToken, RolesFromUserinfo}
	}
	if cfg.Algorithms == nil {
		cfg.Algorithms = DefaultAlgorithms
	}
	for _, a := range cfg.Algorithms {
		if a == "none" || strings.HasPrefix(a, "HS") {
			return nil, fmt.Errorf("oidc: algorithm %q is refused: tokens must be signed with the provider's private key", a)
		}
	}
	o := &OIDC{cfg: cfg, tr: tr, opt: buildOptions(opts)}
	if err := o.discover(ctx); err != nil {
		return nil, err
	}
	if in := cfg.Introspection; in != nil && in.Endpoint != "" {
		o.meta.IntrospectionEndpoint = in.Endpoint
	}
	apiBase := cfg.APIBaseURL
	if apiBase == "" {
		apiBase = cfg.Issuer
	}
	var err error
	if o.api, err = url.Parse(apiBase); err != nil {
		return nil, fmt.Errorf("oidc: api_base_url %q: %w", apiBase, err)
	}
	if o.meta.JWKSURI != "" {
		if err := o.refreshKeys(ctx); err != nil {
			return nil, err
		}
	}
	if len(cfg.Logout) == 0 {
		switch {
		case o.meta.RevocationEndpoint != "":
			o.cfg.Logout = []string{LogoutRevoke}
		case o.meta.EndSessionEndpoint != "":
			o.cfg.Logout = []string{LogoutEndSession}
		}
	}
	if a := cfg.Audit; a != nil {
		login, err := o.auditorLogin(a.Auditor)
		if err != nil {
			return nil, err
		}
		o.audit = newAuditFeed(a, o.api, tr, login)
	}
	return o, nil
}

func (o *OIDC) discover(ctx context.Context) error {
	const op = "oidc discovery"
	wk := strings.TrimSuffix(o.cfg.Issuer, "/") + "/.well-known/openid-configuration"
	var meta discovery
	if err := getJSON(ctx, o.tr, wk, nil, op, &meta); err != nil {
		return err
	}
	if meta.Issuer != o.cfg.Issuer {
		return protocolErr(op, "issuer %q in the metadata differs from the configured %q", meta.Issuer, o.cfg.Issuer)
	}
	if meta.TokenEndpoint == "" || meta.AuthorizationEndpoint == "" && o.cfg.Login != grantPassword {
		return protocolErr(op, "metadata lacks authorization_endpoint or token_endpoint")
	}
	o.meta = meta
	return nil
}

// Check implements Checker: the provider still serves its discovery document.
func (o *OIDC) Check(ctx context.Context) error {
	cp := &OIDC{cfg: o.cfg, tr: o.tr}
	return cp.discover(ctx)
}

func (o *OIDC) auditorLogin(a Auditor) (func(context.Context) (*Session, error), error) {
	switch {
	case a.ClientID != "" && a.ClientSecret != nil:
		auth := clientAuth{id: a.ClientID, secret: a.ClientSecret.Secret().Reveal()}
		return func(ctx context.Context) (*Session, error) {
			tok, err := o.token(ctx, url.Values{"grant_type": {"client_credentials"}}, auth)
			if err != nil {
				return nil, err
			}
			return o.session(ctx, tok, nil, false)
		}, nil
	case a.Persona != "":
		p, err := readerPersona(o.opt.pop, a.Persona, "audit")
		if err != nil {
			return nil, fmt.Errorf("oidc: %w", err)
		}
		return func(ctx context.Context) (*Session, error) { return o.Login(ctx, p) }, nil
	}
	return nil, errors.New("oidc: audit.auditor names neither a persona kind nor a client_id with client_secret")
}

func (o *OIDC) client(jar http.CookieJar) *http.Client {
	return &http.Client{Transport: o.tr, Jar: jar, CheckRedirect: noRedirect}
}

// harness is how the harness client authenticates.
func (o *OIDC) harness() clientAuth {
	a := clientAuth{id: o.cfg.ClientID}
	if o.cfg.ClientSecret != nil {
		a.secret = o.cfg.ClientSecret.Secret().Reveal()
	}
	return a
}

func (o *OIDC) offers(grant string) bool {
	return o.meta.GrantTypesSupported == nil || slices.Contains(o.meta.GrantTypesSupported, grant)
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

// Login implements Stack: authorization code with PKCE S256 through the login
// form, or the password grant where configured.
func (o *OIDC) Login(ctx context.Context, p personas.Persona) (*Session, error) {
	if o.cfg.Login == grantPassword {
		if !o.offers(grantPassword) {
			return nil, ErrUnsupported
		}
		tok, err := o.token(ctx, url.Values{
			"grant_type": {grantPassword}, "username": {p.Username}, "password": {p.Secret.Reveal()},
			"scope": {strings.Join(o.cfg.Scopes, " ")},
		}, o.harness())
		if err != nil {
			return nil, err
		}
		return o.session(ctx, tok, nil, true)
	}
	jar := newJar()
	tok, err := o.authorize(ctx, jar, p, nil)
	if err != nil {
		return nil, err
	}
	s, err := o.session(ctx, tok, nil, true)
	if err != nil {
		return nil, err
	}
	s.cred.jar, s.cred.who = jar, p
	return s, nil
}

// authorize runs the authorization code flow with PKCE S256 in jar: the login form
// is filled with p's credentials when the provider shows one. extra adds
// parameters to the authorization request (step-up).
func (o *OIDC) authorize(ctx context.Context, jar http.CookieJar, p personas.Persona, extra url.Values) (*tokenResponse, error) {
	c := o.client(jar)
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
	if o.cfg.Audience != "" {
		q.Set("audience", o.cfg.Audience)
	}
	for k, v := range extra {
		q[k] = v
	}
	pg, err := o.follow(ctx, c, http.MethodGet, o.meta.AuthorizationEndpoint+"?"+q.Encode(), nil, o.cfg.RedirectURI)
	if err != nil {
		return nil, err
	}
	if pg.query == nil {
		f, err := LoginForm(pg.forms, o.cfg.FormID)
		if err != nil {
			return nil, protocolErr("oidc login page", "HTTP %d: %v", pg.status, err)
		}
		f.Values.Set(o.cfg.UsernameField, p.Username)
		f.Values.Set(f.Password, p.Secret.Reveal())
		if pg, err = o.follow(ctx, c, f.Method, f.Action.String(), f.Values, o.cfg.RedirectURI); err != nil {
			return nil, err
		}
		if pg.query == nil {
			return nil, &RefusedError{Status: pg.status, Reason: "login form did not lead to the redirect URI"}
		}
	}
	if e := pg.query.Get("error"); e != "" {
		return nil, &RefusedError{Status: pg.status, Reason: e}
	}
	if pg.query.Get("state") != state {
		return nil, protocolErr("oidc callback", "state does not match the one sent")
	}
	code := pg.query.Get("code")
	if code == "" {
		return nil, protocolErr("oidc callback", "redirect without a code")
	}
	return o.token(ctx, url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {o.cfg.RedirectURI},
		"code_verifier": {verifier},
	}, o.harness())
}

// page is where a chain of redirects ended: a page with its forms, or the stop URI
// with its query.
type page struct {
	status int
	forms  []Form
	// query is the query of the stop URI, nil when a page answered instead.
	query url.Values
}

const maxRedirects = 10

// follow sends a request and follows redirects (at most 10) until a page answers or
// a redirect leads to stop, which is never contacted.
func (o *OIDC) follow(ctx context.Context, c *http.Client, method, target string, form url.Values, stop string) (page, error) {
	const op = "oidc redirect"
	for range maxRedirects {
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
			return page{}, protocolErr(op, "HTTP %d with a Location that is not a URL", resp.StatusCode)
		}
		if stop != "" && sameEndpoint(next, stop) {
			return page{status: resp.StatusCode, query: next.Query()}, nil
		}
		method, target, form = http.MethodGet, next.String(), nil
	}
	return page{}, protocolErr(op, "more than %d redirects (a redirect loop?)", maxRedirects)
}

// sameEndpoint reports whether u is the URI stop, ignoring the query.
func sameEndpoint(u *url.URL, stop string) bool {
	s, err := url.Parse(stop)
	return err == nil && u.Scheme == s.Scheme && u.Host == s.Host && u.Path == s.Path
}

// token calls the token endpoint.
func (o *OIDC) token(ctx context.Context, form url.Values, a clientAuth) (*tokenResponse, error) {
	op := "oidc token " + form.Get("grant_type")
	if gt := form.Get("grant_type"); strings.HasPrefix(gt, "urn:") {
		op = "oidc token exchange"
	}
	resp, err := postForm(ctx, o.tr, o.meta.TokenEndpoint, form, a, op)
	if err != nil {
		return nil, err
	}
	status := resp.StatusCode
	var tok tokenResponse
	if err := decodeJSON(resp, op, &tok); err != nil {
		return nil, err
	}
	switch {
	case status == http.StatusOK:
	case refusalStatus(status):
		r := &RefusedError{Status: status}
		if errorCode.MatchString(tok.Error) {
			r.Reason = tok.Error
		}
		return nil, r
	default:
		return nil, protocolErr(op, "HTTP %d is neither tokens nor an OAuth error", status)
	}
	if tok.AccessToken == "" {
		return nil, protocolErr(op, "HTTP 200 without access_token")
	}
	return &tok, nil
}

// session builds a session from a token answer: the credential, and the facts
// from the verified access token (or introspection of an opaque one). prev, on a
// refresh, lends what the answer may omit: the refresh token, the ID token, the
// single sign-on cookies. human sessions look roles up; service sessions do not.
func (o *OIDC) session(ctx context.Context, tok *tokenResponse, prev *Session, human bool) (*Session, error) {
	s := &Session{cred: credential{
		header: "Authorization", value: "Bearer " + tok.AccessToken, access: tok.AccessToken,
		refresh: tok.RefreshToken, idToken: tok.IDToken,
	}}
	if prev != nil {
		if s.cred.refresh == "" {
			s.cred.refresh = prev.cred.refresh
		}
		if s.cred.idToken == "" {
			s.cred.idToken = prev.cred.idToken
		}
		s.cred.jar, s.cred.who = prev.cred.jar, prev.cred.who
	}
	s.Scopes = strings.Fields(tok.Scope)
	if tok.ExpiresIn > 0 {
		s.TTL = time.Duration(tok.ExpiresIn) * time.Second
	}
	facts, err := o.accessFacts(ctx, tok.AccessToken)
	if err != nil {
		return nil, err
	}
	if facts.claims != nil {
		if facts.jwt {
			for _, c := range o.cfg.RequiredClaims {
				if c == o.cfg.RolesClaim && !human {
					continue
				}
				if _, err := lookupPath(facts.claims, c); err != nil {
					s.MissingClaims = append(s.MissingClaims, c)
				}
			}
		}
		s.Subject, _ = facts.claims["sub"].(string)
		if sc, err := stringsAt(facts.claims, "scope"); err == nil && len(sc) > 0 {
			s.Scopes = sc
		} else if sc, err := stringsAt(facts.claims, "scp"); err == nil && len(sc) > 0 {
			s.Scopes = sc
		}
		if ttl, ok := lifetime(facts.claims); ok {
			s.TTL = ttl
		}
	} else if tok.ExpiresIn == 0 {
		s.TTL = -1 // neither the answer nor the token says when it ends
	}
	slices.Sort(s.Scopes)
	s.Scopes = slices.Compact(s.Scopes)
	if human {
		if s.Roles, err = o.roles(ctx, s, facts); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// lifetime is exp - iat of a token or introspection answer.
func lifetime(claims map[string]any) (time.Duration, bool) {
	exp, ok1 := claims["exp"].(float64)
	iat, ok2 := claims["iat"].(float64)
	if !ok1 || !ok2 {
		return 0, false
	}
	return time.Duration(exp-iat) * time.Second, true
}

// accessFacts are the claims of an access token: verified from a JWT, or the
// introspection answer for an opaque token (nil when the provider cannot be asked).
type accessFacts struct {
	claims map[string]any
	jwt    bool
	// introspected reports that claims came from introspection.
	introspected bool
}

func (o *OIDC) accessFacts(ctx context.Context, access string) (accessFacts, error) {
	if strings.Count(access, ".") == 2 {
		claims, err := o.verify(ctx, access, o.cfg.Audience)
		if err != nil {
			return accessFacts{}, err
		}
		return accessFacts{claims: claims, jwt: true}, nil
	}
	if o.cfg.Introspection == nil || o.meta.IntrospectionEndpoint == "" {
		return accessFacts{}, nil
	}
	doc, err := o.introspect(ctx, access, "access_token")
	if err != nil {
		return accessFacts{}, err
	}
	if active, _ := doc["active"].(bool); !active {
		return accessFacts{}, protocolErr("oidc introspection", "a token just issued is not active")
	}
	return accessFacts{claims: doc, introspected: true}, nil
}

// roles looks the session's roles up in the configured sources, in order; the
// first source that holds the roles claim wins.
func (o *OIDC) roles(ctx context.Context, s *Session, facts accessFacts) ([]string, error) {
	for _, src := range o.cfg.RolesFrom {
		var doc map[string]any
		switch src {
		case RolesFromAccessToken:
			if facts.jwt {
				doc = facts.claims
			}
		case RolesFromIntrospection:
			if facts.introspected {
				doc = facts.claims
			}
		case RolesFromIDToken:
			if s.cred.idToken != "" {
				claims, err := o.verify(ctx, s.cred.idToken, o.cfg.ClientID)
				if err != nil {
					return nil, fmt.Errorf("id token: %w", err)
				}
				doc = claims
			}
		case RolesFromUserinfo:
			if o.meta.UserinfoEndpoint != "" {
				var err error
				if doc, err = o.userinfo(ctx, s); err != nil {
					return nil, err
				}
			}
		}
		if doc == nil {
			continue
		}
		if roles, err := stringsAt(doc, o.cfg.RolesClaim); err == nil {
			return MapRoles(roles, nil), nil
		}
	}
	return []string{}, nil
}

func (o *OIDC) userinfo(ctx context.Context, s *Session) (map[string]any, error) {
	var doc map[string]any
	if err := getJSON(ctx, o.tr, o.meta.UserinfoEndpoint, s, "oidc userinfo", &doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// Do implements Stack.
func (o *OIDC) Do(ctx context.Context, s *Session, r Request) (int, error) {
	return do(ctx, o.tr, resolve(o.api, r.Path), s, r)
}

// Logout implements Stack: revocation (RFC 7009) of the refresh and access
// tokens and/or RP-initiated logout, as configured.
func (o *OIDC) Logout(ctx context.Context, s *Session) error {
	if len(o.cfg.Logout) == 0 {
		return ErrUnsupported
	}
	for _, m := range o.cfg.Logout {
		var err error
		switch m {
		case LogoutRevoke:
			err = o.revokeAll(ctx, s)
		case LogoutEndSession:
			err = o.endSession(ctx, s)
		default:
			err = fmt.Errorf("oidc logout: unknown method %q", m)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (o *OIDC) revokeAll(ctx context.Context, s *Session) error {
	if o.meta.RevocationEndpoint == "" {
		return ErrUnsupported
	}
	for _, t := range []struct{ tok, hint string }{{s.cred.refresh, "refresh_token"}, {s.cred.access, "access_token"}} {
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
	resp, err := postForm(ctx, o.tr, o.meta.RevocationEndpoint, url.Values{"token": {tok}, "token_type_hint": {hint}}, o.harness(), op)
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusOK {
		drain(resp)
		return nil
	}
	if refusalStatus(resp.StatusCode) {
		return refusal(resp)
	}
	drain(resp)
	return protocolErr(op, "HTTP %d", resp.StatusCode)
}

// endSession is RP-initiated logout: the end_session endpoint with the ID token
// as a hint and the single sign-on cookies, redirects followed until the
// post-logout redirect URI or a page.
func (o *OIDC) endSession(ctx context.Context, s *Session) error {
	const op = "oidc end_session"
	if o.meta.EndSessionEndpoint == "" {
		return ErrUnsupported
	}
	q := url.Values{"client_id": {o.cfg.ClientID}}
	if s.cred.idToken != "" {
		q.Set("id_token_hint", s.cred.idToken)
	}
	if o.cfg.PostLogoutRedirectURI != "" {
		q.Set("post_logout_redirect_uri", o.cfg.PostLogoutRedirectURI)
		q.Set("state", randomString(8))
	}
	jar := s.cred.jar
	if jar == nil {
		jar = newJar()
	}
	pg, err := o.follow(ctx, o.client(jar), http.MethodGet, o.meta.EndSessionEndpoint, q, o.cfg.PostLogoutRedirectURI)
	if err != nil {
		return err
	}
	switch {
	case pg.query != nil && pg.query.Get("error") != "":
		return &RefusedError{Status: pg.status, Reason: pg.query.Get("error")}
	case pg.query != nil, pg.status >= 200 && pg.status < 300:
		return nil
	case refusalStatus(pg.status):
		return &RefusedError{Status: pg.status, Reason: "end_session refused"}
	}
	return protocolErr(op, "HTTP %d", pg.status)
}

// Refresh implements Refresher with the refresh_token grant.
func (o *OIDC) Refresh(ctx context.Context, s *Session) (*Session, error) {
	if s.cred.refresh == "" {
		return nil, fmt.Errorf("%w: no refresh token was issued (is offline_access among the scopes?)", ErrUnsupported)
	}
	tok, err := o.token(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {s.cred.refresh}}, o.harness())
	if err != nil {
		return nil, err
	}
	return o.session(ctx, tok, s, true)
}

// Credentials implements Introspector: the tokens the session holds, when an
// introspection client is configured and the provider offers the endpoint.
func (o *OIDC) Credentials(s *Session) []string {
	if o.cfg.Introspection == nil || o.meta.IntrospectionEndpoint == "" {
		return nil
	}
	var out []string
	if s.cred.access != "" {
		out = append(out, "access_token")
	}
	if s.cred.refresh != "" {
		out = append(out, "refresh_token")
	}
	return out
}

// Active implements Introspector with RFC 7662 introspection.
func (o *OIDC) Active(ctx context.Context, s *Session, credential string) (bool, error) {
	if o.cfg.Introspection == nil || o.meta.IntrospectionEndpoint == "" {
		return false, ErrUnsupported
	}
	tok := s.cred.access
	if credential == "refresh_token" {
		tok = s.cred.refresh
	}
	doc, err := o.introspect(ctx, tok, credential)
	if err != nil {
		return false, err
	}
	active, _ := doc["active"].(bool)
	return active, nil
}

func (o *OIDC) introspect(ctx context.Context, tok, hint string) (map[string]any, error) {
	const op = "oidc introspection"
	resp, err := postForm(ctx, o.tr, o.meta.IntrospectionEndpoint, url.Values{"token": {tok}, "token_type_hint": {hint}}, o.cfg.Introspection.auth(), op)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		drain(resp)
		return nil, protocolErr(op, "HTTP %d: is the introspection client right?", resp.StatusCode)
	}
	var doc map[string]any
	if err := decodeJSON(resp, op, &doc); err != nil {
		return nil, err
	}
	if _, ok := doc["active"].(bool); !ok {
		return nil, protocolErr(op, "answer without a boolean active member")
	}
	return doc, nil
}

// BreakGlass implements BreakGlasser by the configured method.
func (o *OIDC) BreakGlass(ctx context.Context, s *Session, patient, reason string) (*Grant, error) {
	bg := o.cfg.BreakGlass
	if bg == nil {
		return nil, ErrUnsupported
	}
	reasonParam := valueOr(bg.ReasonParam, "reason")
	fill := func(t string) string { return strings.ReplaceAll(t, "{patient}", patient) }
	switch bg.Method {
	case "token_exchange":
		if !o.offers(grantTokenExchange) {
			return nil, ErrUnsupported
		}
		form := url.Values{
			"grant_type":         {grantTokenExchange},
			"subject_token":      {s.cred.access},
			"subject_token_type": {tokenTypeAccess},
			"resource":           {fill(valueOr(bg.Resource, "patient:{patient}"))},
		}
		if bg.Audience != "" {
			form.Set("audience", fill(bg.Audience))
		}
		if bg.Scope != "" {
			form.Set("scope", fill(bg.Scope))
		}
		if reason != "" {
			form.Set(reasonParam, reason)
		}
		tok, err := o.token(ctx, form, o.harness())
		if err != nil {
			return nil, err
		}
		return o.grant(s, tok), nil
	case "step_up":
		if s.cred.jar == nil {
			return nil, fmt.Errorf("%w: step-up needs a session from the authorization code flow", ErrUnsupported)
		}
		extra := url.Values{"scope": {strings.Join(append(slices.Clone(o.cfg.Scopes), mapStrings(bg.StepUpScopes, fill)...), " ")}}
		if bg.ACRValues != "" {
			extra.Set("acr_values", bg.ACRValues)
		}
		if reason != "" {
			extra.Set(reasonParam, reason)
		}
		tok, err := o.authorize(ctx, s.cred.jar, s.cred.who, extra)
		if err != nil {
			return nil, err
		}
		return o.grant(s, tok), nil
	case "http":
		if bg.HTTP == nil {
			return nil, ErrUnsupported
		}
		return bg.HTTP.request(ctx, o.tr, o.api, s, patient, reason)
	}
	return nil, fmt.Errorf("oidc: break-glass method %q is unknown", bg.Method)
}

// grant is the emergency access a token answer carries.
func (o *OIDC) grant(s *Session, tok *tokenResponse) *Grant {
	gs := *s
	gs.cred = credential{header: "Authorization", value: "Bearer " + tok.AccessToken, access: tok.AccessToken}
	return &Grant{Session: &gs, TTL: time.Duration(tok.ExpiresIn) * time.Second}
}

// EndBreakGlass implements BreakGlasser: revoking the emergency token, or the
// configured end call.
func (o *OIDC) EndBreakGlass(ctx context.Context, g *Grant) error {
	bg := o.cfg.BreakGlass
	switch {
	case bg == nil:
		return ErrUnsupported
	case bg.Method == "http" && bg.HTTP != nil:
		return bg.HTTP.end(ctx, o.tr, o.api, g)
	case o.meta.RevocationEndpoint == "" || g.Session.cred.access == "":
		return ErrUnsupported
	}
	return o.revoke(ctx, g.Session.cred.access, "access_token")
}

// ServiceLogin implements ServiceAuthenticator with the client_credentials grant:
// the persona's username is its client id, its secret the client secret.
func (o *OIDC) ServiceLogin(ctx context.Context, p personas.Persona) (*Session, error) {
	if !o.offers("client_credentials") {
		return nil, ErrUnsupported
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	a := clientAuth{id: p.Username, secret: p.Secret.Reveal()}
	if o.cfg.Audience != "" {
		form.Set("audience", o.cfg.Audience)
	}
	if sv := o.cfg.Service; sv != nil {
		scopes := slices.Clone(sv.Scopes)
		if sv.PermissionScopes != nil {
			scopes = append(scopes, MapPermissions(p.Permissions, sv.PermissionScopes)...)
		}
		if len(scopes) > 0 {
			form.Set("scope", strings.Join(scopes, " "))
		}
		a.post = sv.AuthMethod == "client_secret_post"
	}
	tok, err := o.token(ctx, form, a)
	if err != nil {
		return nil, err
	}
	return o.session(ctx, tok, nil, false)
}

// AuditEvents implements AuditReader.
func (o *OIDC) AuditEvents(ctx context.Context, actor string, since time.Time) ([]AuditEvent, error) {
	return o.audit.events(ctx, actor, since)
}

func mapStrings(xs []string, f func(string) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
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
