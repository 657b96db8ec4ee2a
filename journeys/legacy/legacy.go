package legacy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/cutover-dev/cutover/journeys/adapter"
)

// Adapter is the declarative adapter for homegrown stacks.
type Adapter struct {
	cfg   Config
	base  *url.URL
	tr    http.RoundTripper
	opt   adapter.Options
	audit *adapter.Feed
}

// New returns an adapter for cfg, sending through tr. It contacts nothing:
// Check does.
func New(cfg Config, tr http.RoundTripper, opts ...adapter.Option) (*Adapter, error) {
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("legacy: base_url %q is not an absolute URL", cfg.BaseURL)
	}
	if cfg.Login.UsernameField == "" {
		cfg.Login.UsernameField = "username"
	}
	if cfg.Login.PasswordField == "" {
		cfg.Login.PasswordField = "password"
	}
	l := &Adapter{cfg: cfg, base: base, tr: tr, opt: adapter.BuildOptions(opts)}
	if a := cfg.Audit; a != nil {
		login, err := l.auditorLogin(a.Auditor)
		if err != nil {
			return nil, err
		}
		l.audit = adapter.NewFeed(a, base, tr, login)
	}
	return l, nil
}

func (l *Adapter) auditorLogin(a adapter.Auditor) (func(context.Context) (*adapter.Session, error), error) {
	switch {
	case a.APIKey != nil:
		header := cmp.Or(a.Header, "X-API-Key")
		key := adapter.WithScheme(a.Scheme, a.APIKey.Secret().Reveal())
		return func(context.Context) (*adapter.Session, error) {
			return &adapter.Session{Cred: adapter.Credential{Header: header, Value: key}}, nil
		}, nil
	case a.Persona != "":
		p, err := adapter.ReaderPersona(l.opt.Population, a.Persona, "audit")
		if err != nil {
			return nil, fmt.Errorf("legacy: %w", err)
		}
		return func(ctx context.Context) (*adapter.Session, error) { return l.Login(ctx, p) }, nil
	}
	return nil, errors.New("legacy: audit.auditor names neither a persona kind nor an api_key")
}

// url resolves a configured path (which may carry a query) against the base URL.
func (l *Adapter) url(path string) string { return adapter.Resolve(l.base, path) }

// Check implements Checker: the stack answers its login form's path or,
// where the sign-in is a POST (json, request), its who-am-I path.
func (l *Adapter) Check(ctx context.Context) error {
	path := l.cfg.Me.Path
	if l.cfg.Login.Mode == "" || l.cfg.Login.Mode == "form" {
		path = l.cfg.Login.Path
	}
	status, err := adapter.Do(ctx, l.tr, l.url(path), nil, adapter.Request{Method: http.MethodGet, Path: path})
	if err != nil {
		return err
	}
	if status == http.StatusNotFound {
		return adapter.ProtocolErr("legacy pre-flight", "GET %s: HTTP 404: is base_url right?", path)
	}
	return nil
}

// Do implements Stack.
func (l *Adapter) Do(ctx context.Context, s *adapter.Session, r adapter.Request) (int, error) {
	return adapter.Do(ctx, l.tr, l.url(r.Path), s, r)
}

// Logout implements Stack.
func (l *Adapter) Logout(ctx context.Context, s *adapter.Session) error {
	status, err := adapter.Do(ctx, l.tr, l.url(l.cfg.Logout.Path), s, adapter.Request{Method: l.cfg.Logout.Method, Path: l.cfg.Logout.Path})
	if err != nil {
		return err
	}
	if status >= 400 {
		return &adapter.RefusedError{Status: status, Reason: "logout refused"}
	}
	return nil
}

// BreakGlass implements BreakGlasser with the configured endpoint.
func (l *Adapter) BreakGlass(ctx context.Context, s *adapter.Session, patient, reason string) (*adapter.Grant, error) {
	if l.cfg.BreakGlass == nil {
		return nil, adapter.ErrUnsupported
	}
	return l.cfg.BreakGlass.Obtain(ctx, l.tr, l.base, s, patient, reason)
}

// EndBreakGlass implements BreakGlasser.
func (l *Adapter) EndBreakGlass(ctx context.Context, g *adapter.Grant) error {
	if l.cfg.BreakGlass == nil {
		return adapter.ErrUnsupported
	}
	return l.cfg.BreakGlass.Finish(ctx, l.tr, l.base, g)
}

// AuditEvents implements AuditReader.
func (l *Adapter) AuditEvents(ctx context.Context, actor string, since time.Time) ([]adapter.AuditEvent, error) {
	return l.audit.Events(ctx, actor, since)
}

// AuditFeed returns the stack's audit feed, read with the configured
// auditor's credential; nil when the config describes none.
func (l *Adapter) AuditFeed() *adapter.Feed { return l.audit }
