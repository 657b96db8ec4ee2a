package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/keyfunc/v3"

	"github.com/cutover-dev/cutover/journeys/adapter"
)

// Adapter is the adapter for any OpenID Connect / OAuth 2 candidate.
type Adapter struct {
	cfg   Config
	meta  discovery
	api   *url.URL
	tr    http.RoundTripper
	opt   adapter.Options
	audit *adapter.Feed

	// harnessAuth, introAuth and dirAuth are how the harness client, the
	// introspection client and the directory client authenticate.
	harnessAuth, introAuth, dirAuth adapter.ClientAuth
	// serviceAuth holds each service persona's authentication, built on first
	// use (a private key is parsed once).
	serviceAuth sync.Map

	mu          sync.Mutex
	keys        keyfunc.Keyfunc
	keysFetched time.Time
}

// New reads the provider's discovery document and JWKS and returns an adapter.
func New(ctx context.Context, cfg Config, tr http.RoundTripper, opts ...adapter.Option) (*Adapter, error) {
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
		switch {
		case strings.EqualFold(a, "none"):
			return nil, fmt.Errorf("oidc: algorithm %q is refused: an unsigned token proves nothing", a)
		case strings.HasPrefix(a, "HS") && cfg.ClientSecret == nil:
			return nil, fmt.Errorf("oidc: algorithm %q is refused: HMAC is accepted only on ID tokens of a confidential client (client_secret), keyed with its secret (OIDC Core s10.1)", a)
		}
	}
	o := &Adapter{cfg: cfg, tr: tr, opt: adapter.BuildOptions(opts)}
	ctx, cancel := adapter.Bound(ctx, o.opt.SetupTimeout)
	defer cancel()
	if err := o.discover(ctx); err != nil {
		return nil, err
	}
	if in := cfg.Introspection; in != nil && in.Endpoint != "" {
		o.meta.IntrospectionEndpoint = in.Endpoint
	}
	if err := o.clientAuths(); err != nil {
		return nil, err
	}
	if cfg.BrowserLogin != nil && o.opt.Browser == nil {
		return nil, errors.New("oidc: browser_login: no browser is available to sign in with (install Chromium: make chromium)")
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
		o.audit = adapter.NewFeed(a, o.api, tr, login)
	}
	return o, nil
}

func (o *Adapter) auditorLogin(a adapter.Auditor) (func(context.Context) (*adapter.Session, error), error) {
	switch {
	case a.ClientID != "" && a.ClientSecret != nil:
		auth := adapter.ClientAuth{ID: a.ClientID, Secret: a.ClientSecret.Secret().Reveal()}
		return func(ctx context.Context) (*adapter.Session, error) {
			tok, err := o.token(ctx, url.Values{"grant_type": {"client_credentials"}}, auth)
			if err != nil {
				return nil, err
			}
			return o.session(ctx, tok, nil, false)
		}, nil
	case a.Persona != "":
		p, err := adapter.ReaderPersona(o.opt.Population, a.Persona, "audit")
		if err != nil {
			return nil, fmt.Errorf("oidc: %w", err)
		}
		return func(ctx context.Context) (*adapter.Session, error) { return o.Login(ctx, p) }, nil
	}
	return nil, errors.New("oidc: audit.auditor names neither a persona kind nor a client_id with client_secret")
}

func (o *Adapter) client(jar http.CookieJar) *http.Client {
	return &http.Client{Transport: o.tr, Jar: jar, CheckRedirect: adapter.NoRedirect}
}

// clientAuths builds how each configured client authenticates.
func (o *Adapter) clientAuths() error {
	var err error
	aud := o.assertionTarget()
	if o.harnessAuth, err = o.cfg.ClientAuth.auth(o.cfg.ClientID, o.cfg.ClientSecret, aud); err != nil {
		return fmt.Errorf("oidc: %w", err)
	}
	if in := o.cfg.Introspection; in != nil {
		if o.introAuth, err = in.ClientAuth.auth(in.ClientID, in.ClientSecret, aud); err != nil {
			return fmt.Errorf("oidc: introspection: %w", err)
		}
	}
	if d := o.cfg.Directory; d != nil && d.HTTP == nil {
		if o.dirAuth, err = d.Client.ClientAuth.auth(d.Client.ClientID, d.Client.ClientSecret, aud); err != nil {
			return fmt.Errorf("oidc: directory: %w", err)
		}
	}
	return nil
}

// assertionTarget is what client assertions point at for this provider.
func (o *Adapter) assertionTarget() assertionTarget {
	return assertionTarget{tokenEndpoint: o.meta.TokenEndpoint, issuer: o.cfg.Issuer, algs: o.meta.AuthSigningAlgs}
}

// harness is how the harness client authenticates.
func (o *Adapter) harness() adapter.ClientAuth { return o.harnessAuth }

// Do implements Stack.
func (o *Adapter) Do(ctx context.Context, s *adapter.Session, r adapter.Request) (int, error) {
	return adapter.Do(ctx, o.tr, adapter.Resolve(o.api, r.Path), s, r)
}

// AuditEvents implements AuditReader.
func (o *Adapter) AuditEvents(ctx context.Context, actor string, since time.Time) ([]adapter.AuditEvent, error) {
	return o.audit.Events(ctx, actor, since)
}
