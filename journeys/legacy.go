package journeys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/personas"
)

// LegacyConfig describes a homegrown stack declaratively: how to log in, how the
// session travels, where the roles are, and the optional renew, service-account,
// break-glass and audit endpoints. A typical homegrown stack needs only this.
type LegacyConfig struct {
	BaseURL string        `yaml:"base_url"`
	Login   LegacyLogin   `yaml:"login"`
	Session LegacySession `yaml:"session"`
	Me      LegacyMe      `yaml:"me"`
	// Renew is the keep-alive that extends a session; TTL is the path of the new
	// remaining lifetime (seconds) in its answer.
	Renew  *LegacyRenew `yaml:"renew"`
	Logout Endpoint     `yaml:"logout"`
	// RoleMap maps each legacy role to its candidate roles, so recorded roles are in
	// the candidate vocabulary. A legacy role absent from the map is recorded as is.
	RoleMap map[string][]string `yaml:"role_map"`
	// PermissionMap maps each legacy service permission to the candidate scope it
	// becomes, so service scopes compare like with like.
	PermissionMap map[string]string `yaml:"permission_map"`
	// Service says how API-key service accounts authenticate.
	Service    *LegacyService  `yaml:"service"`
	BreakGlass *HTTPBreakGlass `yaml:"breakglass"`
	Audit      *AuditConfig    `yaml:"audit"`
	// Directory lists the stack's users for the pre-run parity check.
	Directory *LegacyDirectory `yaml:"directory"`
}

// LegacyLogin says how a persona logs in.
type LegacyLogin struct {
	// Mode is "form" (an HTML form, CSRF fields carried over) or "json".
	Mode          string `yaml:"mode"`
	Path          string `yaml:"path"`
	FormID        string `yaml:"form_id"`
	UsernameField string `yaml:"username_field"`
	PasswordField string `yaml:"password_field"`
	// SessionPath, in json mode, is the path of the session id in the answer, used
	// when the session travels in a header or as a bearer token.
	SessionPath string `yaml:"session_path"`
	// CSRF, in json mode, is where a CSRF token comes from and how it is sent.
	CSRF *LegacyCSRF `yaml:"csrf"`
}

// LegacyCSRF fetches a CSRF token before a JSON login and sends it along.
type LegacyCSRF struct {
	// Path is requested (GET) first; its answer sets the cookie or holds the token.
	Path string `yaml:"path"`
	// Cookie names the cookie holding the token, or JSON the path of the token in
	// the answer of Path.
	Cookie string `yaml:"cookie"`
	JSON   string `yaml:"json"`
	// Header and Field say where the token goes: a request header, a member of the
	// login body, or both.
	Header string `yaml:"header"`
	Field  string `yaml:"field"`
}

// LegacySession says how the session travels: a cookie, a header carrying the
// session id, or the id as a bearer token.
type LegacySession struct {
	Cookie string `yaml:"cookie"`
	Header string `yaml:"header"`
	Bearer bool   `yaml:"bearer"`
}

// LegacyMe is the who-am-I endpoint and where its answer holds the facts.
type LegacyMe struct {
	Path    string `yaml:"path"`
	Subject string `yaml:"subject"`
	Roles   string `yaml:"roles"`
	// TTL is the path of the session's remaining lifetime in seconds, if any.
	TTL string `yaml:"ttl"`
}

// LegacyRenew is the keep-alive endpoint.
type LegacyRenew struct {
	Method string `yaml:"method"`
	Path   string `yaml:"path"`
	TTL    string `yaml:"ttl"`
}

// LegacyService describes API-key service accounts: the header carrying the key and
// the who-am-I that lists the key's permissions.
type LegacyService struct {
	Header      string `yaml:"header"`
	Whoami      string `yaml:"whoami"`
	Subject     string `yaml:"subject"`
	Permissions string `yaml:"permissions"`
}

// Endpoint is a method and a path.
type Endpoint struct {
	Method string `yaml:"method"`
	Path   string `yaml:"path"`
}

// Legacy is the declarative adapter for homegrown stacks.
type Legacy struct {
	cfg   LegacyConfig
	base  *url.URL
	tr    http.RoundTripper
	opt   options
	audit *auditFeed
}

var (
	_ Stack                = (*Legacy)(nil)
	_ Refresher            = (*Legacy)(nil)
	_ Introspector         = (*Legacy)(nil)
	_ BreakGlasser         = (*Legacy)(nil)
	_ ServiceAuthenticator = (*Legacy)(nil)
	_ AuditReader          = (*Legacy)(nil)
)

// NewLegacy returns an adapter for cfg, sending through tr. It contacts nothing:
// Check does.
func NewLegacy(cfg LegacyConfig, tr http.RoundTripper, opts ...Option) (*Legacy, error) {
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
	l := &Legacy{cfg: cfg, base: base, tr: tr, opt: buildOptions(opts)}
	if a := cfg.Audit; a != nil {
		login, err := l.auditorLogin(a.Auditor)
		if err != nil {
			return nil, err
		}
		l.audit = newAuditFeed(a, base, tr, login)
	}
	return l, nil
}

func (l *Legacy) auditorLogin(a Auditor) (func(context.Context) (*Session, error), error) {
	switch {
	case a.APIKey != nil:
		header := valueOr(a.Header, "X-API-Key")
		key := a.APIKey.Secret().Reveal()
		return func(context.Context) (*Session, error) {
			return &Session{cred: credential{header: header, value: key}}, nil
		}, nil
	case a.Persona != "":
		p, err := readerPersona(l.opt.pop, a.Persona, "audit")
		if err != nil {
			return nil, fmt.Errorf("legacy: %w", err)
		}
		return func(ctx context.Context) (*Session, error) { return l.Login(ctx, p) }, nil
	}
	return nil, errors.New("legacy: audit.auditor names neither a persona kind nor an api_key")
}

// url resolves a configured path (which may carry a query) against the base URL.
func (l *Legacy) url(path string) string { return resolve(l.base, path) }

// Check implements Checker: the stack answers its login (or who-am-I) path.
func (l *Legacy) Check(ctx context.Context) error {
	path := l.cfg.Login.Path
	if l.cfg.Login.Mode == "json" {
		path = l.cfg.Me.Path
	}
	status, err := do(ctx, l.tr, l.url(path), nil, Request{Method: http.MethodGet, Path: path})
	if err != nil {
		return err
	}
	if status == http.StatusNotFound {
		return protocolErr("legacy pre-flight", "GET %s: HTTP 404: is base_url right?", path)
	}
	return nil
}

// Login implements Stack.
func (l *Legacy) Login(ctx context.Context, p personas.Persona) (*Session, error) {
	c := &http.Client{Transport: l.tr, Jar: newJar(), CheckRedirect: noRedirect}
	var (
		s   *Session
		err error
	)
	switch l.cfg.Login.Mode {
	case "json":
		s, err = l.loginJSON(ctx, c, p)
	default:
		s, err = l.loginForm(ctx, c, p)
	}
	if err != nil {
		return nil, err
	}
	if err := l.whoami(ctx, s); err != nil {
		return nil, err
	}
	return s, nil
}

func (l *Legacy) loginForm(ctx context.Context, c *http.Client, p personas.Persona) (*Session, error) {
	const op = "legacy login form"
	req, err := newRequest(ctx, http.MethodGet, l.url(l.cfg.Login.Path), nil)
	if err != nil {
		return nil, err
	}
	resp, err := send(c, req, op)
	if err != nil {
		return nil, err
	}
	forms, err := ParseForms(resp.Body, resp.Request.URL)
	drain(resp)
	if err != nil {
		return nil, protocolErr(op, "%v", err)
	}
	f, err := LoginForm(forms, l.cfg.Login.FormID)
	if err != nil {
		return nil, protocolErr(op, "HTTP %d: %v", resp.StatusCode, err)
	}
	f.Values.Set(l.cfg.Login.UsernameField, p.Username)
	f.Values.Set(l.cfg.Login.PasswordField, p.Secret.Reveal())
	req, err = newRequest(ctx, http.MethodPost, f.Action.String(), strings.NewReader(f.Values.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = send(c, req, "legacy login submit")
	if err != nil {
		return nil, err
	}
	drain(resp)
	if refusalStatus(resp.StatusCode) {
		return nil, &RefusedError{Status: resp.StatusCode, Reason: "login refused"}
	}
	if resp.StatusCode >= 400 {
		return nil, protocolErr("legacy login submit", "HTTP %d is neither a session nor a refusal", resp.StatusCode)
	}
	return l.sessionFrom(c, "")
}

func (l *Legacy) loginJSON(ctx context.Context, c *http.Client, p personas.Persona) (*Session, error) {
	const op = "legacy login"
	body := map[string]string{l.cfg.Login.UsernameField: p.Username, l.cfg.Login.PasswordField: p.Secret.Reveal()}
	req := Request{Method: http.MethodPost, Path: l.cfg.Login.Path, ContentType: "application/json"}
	var csrfHeader, csrf string
	if x := l.cfg.Login.CSRF; x != nil {
		var err error
		if csrf, err = l.csrfToken(ctx, c, x); err != nil {
			return nil, err
		}
		csrfHeader = x.Header
		if x.Field != "" {
			body[x.Field] = csrf
		}
	}
	req.Body, _ = json.Marshal(body) // a map of strings always marshals
	hr, err := newRequest(ctx, req.Method, l.url(req.Path), strings.NewReader(string(req.Body)))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", req.ContentType)
	if csrfHeader != "" {
		hr.Header.Set(csrfHeader, csrf)
	}
	resp, err := send(c, hr, op)
	if err != nil {
		return nil, err
	}
	if refusalStatus(resp.StatusCode) {
		return nil, refusal(resp)
	}
	if resp.StatusCode >= 400 {
		drain(resp)
		return nil, protocolErr(op, "HTTP %d is neither a session nor a refusal", resp.StatusCode)
	}
	if l.cfg.Login.SessionPath == "" {
		drain(resp)
		return l.sessionFrom(c, "")
	}
	var doc any
	if err := decodeJSON(resp, op, &doc); err != nil {
		return nil, err
	}
	id, err := stringAt(doc, l.cfg.Login.SessionPath)
	if err != nil || id == "" {
		return nil, protocolErr(op, "HTTP %d: no session id at %q in the answer", resp.StatusCode, l.cfg.Login.SessionPath)
	}
	return l.sessionFrom(c, id)
}

// csrfToken fetches the CSRF token of a JSON login.
func (l *Legacy) csrfToken(ctx context.Context, c *http.Client, x *LegacyCSRF) (string, error) {
	const op = "legacy csrf"
	path := valueOr(x.Path, l.cfg.Login.Path)
	req, err := newRequest(ctx, http.MethodGet, l.url(path), nil)
	if err != nil {
		return "", err
	}
	resp, err := send(c, req, op)
	if err != nil {
		return "", err
	}
	if x.JSON != "" {
		var doc any
		if err := decodeJSON(resp, op, &doc); err != nil {
			return "", err
		}
		tok, err := stringAt(doc, x.JSON)
		if err != nil || tok == "" {
			return "", protocolErr(op, "GET %s: no CSRF token at %q", path, x.JSON)
		}
		return tok, nil
	}
	drain(resp)
	for _, ck := range c.Jar.Cookies(resp.Request.URL) {
		if ck.Name == x.Cookie && ck.Value != "" {
			return ck.Value, nil
		}
	}
	return "", protocolErr(op, "GET %s: HTTP %d set no %q cookie", path, resp.StatusCode, x.Cookie)
}

// sessionFrom builds the session credential: the id from the answer in the
// configured header or as a bearer token, or the configured cookie from the jar.
func (l *Legacy) sessionFrom(c *http.Client, id string) (*Session, error) {
	s := &Session{}
	switch {
	case l.cfg.Session.Bearer && id != "":
		s.cred = credential{header: "Authorization", value: "Bearer " + id}
		return s, nil
	case l.cfg.Session.Header != "" && id != "":
		s.cred = credential{header: l.cfg.Session.Header, value: id}
		return s, nil
	}
	name := l.cfg.Session.Cookie
	if name == "" {
		return nil, protocolErr("legacy login", "logged in but the answer held no session id to send")
	}
	for _, ck := range c.Jar.Cookies(l.base) {
		if ck.Name == name {
			s.cred = credential{cookie: &http.Cookie{Name: ck.Name, Value: ck.Value}}
			return s, nil
		}
	}
	return nil, protocolErr("legacy login", "logged in but no %q session cookie was set", name)
}

// whoami fills the session's facts from the who-am-I endpoint.
func (l *Legacy) whoami(ctx context.Context, s *Session) error {
	const op = "legacy who-am-i"
	resp, err := call(ctx, l.tr, l.url(l.cfg.Me.Path), s, Request{Method: http.MethodGet, Path: l.cfg.Me.Path})
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		drain(resp)
		return protocolErr(op, "HTTP %d right after login", resp.StatusCode)
	}
	var doc any
	if err := decodeJSON(resp, op, &doc); err != nil {
		return err
	}
	if l.cfg.Me.Subject != "" {
		if s.Subject, err = stringAt(doc, l.cfg.Me.Subject); err != nil {
			return protocolErr(op, "%v", err)
		}
	}
	roles, err := stringsAt(doc, l.cfg.Me.Roles)
	if err != nil {
		return protocolErr(op, "%v", err)
	}
	s.Roles = MapRoles(roles, l.cfg.RoleMap)
	if l.cfg.Me.TTL != "" {
		if secs, err := numberAt(doc, l.cfg.Me.TTL); err == nil {
			s.TTL = time.Duration(secs) * time.Second
		}
	}
	return nil
}

// MapRoles maps legacy roles through m into a sorted, de-duplicated set.
func MapRoles(roles []string, m map[string][]string) []string {
	out := []string{}
	for _, r := range roles {
		if mapped, ok := m[r]; ok {
			out = append(out, mapped...)
		} else {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// MapPermissions maps legacy service permissions through m into a sorted set of
// scopes; an unmapped permission is kept as is.
func MapPermissions(perms []string, m map[string]string) []string {
	out := []string{}
	for _, p := range perms {
		if s, ok := m[p]; ok {
			p = s
		}
		out = append(out, p)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Do implements Stack.
func (l *Legacy) Do(ctx context.Context, s *Session, r Request) (int, error) {
	return do(ctx, l.tr, l.url(r.Path), s, r)
}

// Logout implements Stack.
func (l *Legacy) Logout(ctx context.Context, s *Session) error {
	status, err := do(ctx, l.tr, l.url(l.cfg.Logout.Path), s, Request{Method: l.cfg.Logout.Method, Path: l.cfg.Logout.Path})
	if err != nil {
		return err
	}
	if status >= 400 {
		return &RefusedError{Status: status, Reason: "logout refused"}
	}
	return nil
}

// Refresh implements Refresher with the keep-alive: the session is renewed in
// place, so the returned session carries the same credential.
func (l *Legacy) Refresh(ctx context.Context, s *Session) (*Session, error) {
	const op = "legacy renew"
	rn := l.cfg.Renew
	if rn == nil {
		return nil, ErrUnsupported
	}
	resp, err := call(ctx, l.tr, l.url(rn.Path), s, Request{Method: valueOr(rn.Method, http.MethodPost), Path: rn.Path})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return nil, refusal(resp)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		drain(resp)
		return nil, protocolErr(op, "HTTP %d", resp.StatusCode)
	}
	next := *s
	if rn.TTL == "" {
		drain(resp)
		return &next, nil
	}
	var doc any
	if err := decodeJSON(resp, op, &doc); err != nil {
		return nil, err
	}
	secs, err := numberAt(doc, rn.TTL)
	if err != nil {
		return nil, protocolErr(op, "%v", err)
	}
	next.TTL = time.Duration(secs) * time.Second
	return &next, nil
}

// Credentials implements Introspector: a legacy session is one credential.
func (l *Legacy) Credentials(*Session) []string { return []string{"session"} }

// Active implements Introspector: the who-am-I endpoint still knows the session.
func (l *Legacy) Active(ctx context.Context, s *Session, _ string) (bool, error) {
	status, err := do(ctx, l.tr, l.url(l.cfg.Me.Path), s, Request{Method: http.MethodGet, Path: l.cfg.Me.Path})
	if err != nil {
		return false, err
	}
	switch {
	case status == http.StatusOK:
		return true, nil
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return false, nil
	}
	return false, protocolErr("legacy who-am-i", "HTTP %d is neither active nor inactive", status)
}

// BreakGlass implements BreakGlasser with the configured endpoint.
func (l *Legacy) BreakGlass(ctx context.Context, s *Session, patient, reason string) (*Grant, error) {
	if l.cfg.BreakGlass == nil {
		return nil, ErrUnsupported
	}
	return l.cfg.BreakGlass.request(ctx, l.tr, l.base, s, patient, reason)
}

// EndBreakGlass implements BreakGlasser.
func (l *Legacy) EndBreakGlass(ctx context.Context, g *Grant) error {
	if l.cfg.BreakGlass == nil {
		return ErrUnsupported
	}
	return l.cfg.BreakGlass.end(ctx, l.tr, l.base, g)
}

// ServiceLogin implements ServiceAuthenticator: the persona's secret is its API
// key, checked and described by the service who-am-I. API keys do not expire and
// come with no refresh token.
func (l *Legacy) ServiceLogin(ctx context.Context, p personas.Persona) (*Session, error) {
	const op = "legacy api key"
	sv := l.cfg.Service
	if sv == nil {
		return nil, ErrUnsupported
	}
	s := &Session{TTL: -1, cred: credential{header: valueOr(sv.Header, "X-API-Key"), value: p.Secret.Reveal()}}
	resp, err := call(ctx, l.tr, l.url(sv.Whoami), s, Request{Method: http.MethodGet, Path: sv.Whoami})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return nil, refusal(resp)
	}
	if resp.StatusCode != http.StatusOK {
		drain(resp)
		return nil, protocolErr(op, "HTTP %d", resp.StatusCode)
	}
	var doc any
	if err := decodeJSON(resp, op, &doc); err != nil {
		return nil, err
	}
	if sv.Subject != "" {
		if s.Subject, err = stringAt(doc, sv.Subject); err != nil {
			return nil, protocolErr(op, "%v", err)
		}
	}
	perms, err := stringsAt(doc, valueOr(sv.Permissions, "permissions"))
	if err != nil {
		return nil, protocolErr(op, "%v", err)
	}
	s.Scopes = MapPermissions(perms, l.cfg.PermissionMap)
	return s, nil
}

// AuditEvents implements AuditReader.
func (l *Legacy) AuditEvents(ctx context.Context, actor string, since time.Time) ([]AuditEvent, error) {
	return l.audit.events(ctx, actor, since)
}
